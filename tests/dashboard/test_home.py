"""The staff dashboard's home at /admin/ (product.md §§4, 6, 7): the front desk's panel (today's
arrivals with a check-in button, requests to confirm, every doctor's queue), the doctor's panel
(their day, waiting room, requests, records to finish), and the menu each role gets.

The clock is frozen at 08:30 on Monday `TODAY` (clinic zone UTC). Dr Ada Hart and Dr Ben Okafor
work 09:00-13:00 every day with a 30-minute visit type (grid 09:00, 09:40, ... 12:20).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import dateformat

from booking import services
from booking.models import Status
from clinic_site.accounts.roles import Role
from clinic_site.policies import clinic_tz
from records import services as record_services
from tests.factories import at, book, make_user, write_record

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
YESTERDAY = TODAY - dt.timedelta(days=1)
DAY = TODAY + dt.timedelta(days=2)
HOME = "/admin/"
GRID = ("09:00", "09:40", "10:20", "11:00", "11:40", "12:20")
# Pinned, the same for a quiet day and a full one (more rows than the panels show). Fourteen
# are the page's furniture: session, user with its role (one read), the user's permissions (two
# reads), Wagtail's user profile, Wagtail's menu (page and collection permissions, locales),
# Wagtail's own home panels (workflow states, tasks twice, approval groups, recent edits, pages);
# no session save (an unchanged session is refreshed at most once a minute). The front desk's
# panel adds five: arrivals and their count, requests and their count, the queues (one aggregate
# over the doctors).
DESK_HOME_QUERIES = 19
# A doctor's panel adds five too: their doctor profile, today's schedule, requests and their
# count, records to finish.
DOCTOR_HOME_QUERIES = 19


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "08:30"), tick=False)
    return time_machine


def patient(name):
    return make_user(Role.PATIENT, full_name=name)


def confirmed(visit_type, day, hhmm, name=None):
    """Booked yesterday by the front desk: CONFIRMED."""
    return book(
        visit_type,
        at(day, hhmm),
        patient=patient(name) if name else None,
        actor=make_user(Role.RECEPTIONIST),
        now=at(day, hhmm) - dt.timedelta(days=1),
    )


def requested(visit_type, day, hhmm, name=None):
    """Booked yesterday by the patient: REQUESTED."""
    return book(
        visit_type,
        at(day, hhmm),
        patient=patient(name) if name else None,
        now=at(YESTERDAY, "08:00"),
    )


def checked_in(visit_type, hhmm, name=None, at_hhmm="08:10"):
    a = confirmed(visit_type, TODAY, hhmm, name)
    return services.appointment_act(
        appointment=a, actor=make_user(Role.RECEPTIONIST), action="check_in", now=at(TODAY, at_hhmm)
    )


@pytest.fixture
def day(visit_type, other_clinic):
    """Today: Ada has two arrivals, one patient waiting and one request for Wednesday; Ben has
    one arrival and one cancelled visit; a request of Ada's yesterday is past."""
    cancelled = confirmed(other_clinic[1], TODAY, "11:00", "Carl Gone")
    services.appointment_act(
        appointment=cancelled, actor=make_user(Role.RECEPTIONIST), action="cancel", reason="x"
    )
    return {
        "arrivals": [
            confirmed(visit_type, TODAY, "09:00", "Amy Early"),
            confirmed(visit_type, TODAY, "09:40", "Bea Later"),
            confirmed(other_clinic[1], TODAY, "10:20", "Ola Other"),
        ],
        "waiting": checked_in(visit_type, "10:20", "Wes Waiting"),
        "request": requested(visit_type, DAY, "11:00", "Rae Request"),
        "their_request": requested(other_clinic[1], DAY, "11:00", "Tom Theirs"),
        "cancelled": cancelled,
    }


def refs(appointments) -> list[str]:
    return [a.reference for a in appointments]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def count_queries(client, url=HOME) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


# --- The front desk ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_front_desk_home_shows_arrivals_requests_and_queues(client, day, doctor, role):
    client.force_login(make_user(role))
    response = client.get(HOME)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Front desk · Monday 3 March" in page
    assert "Your day ·" not in page
    ctx = response.context
    assert refs(ctx["arrivals"]) == refs(day["arrivals"])  # by start, every doctor
    assert ctx["arrivals_count"] == 3
    assert sorted(refs(ctx["requests"])) == sorted(refs([day["request"], day["their_request"]]))
    queues = {d.name: (d.waiting, d.with_doctor, d.today_total) for d in ctx["queues"]}
    assert queues == {"Dr Ada Hart": (1, 0, 3), "Dr Ben Okafor": (0, 0, 1)}
    for name in ("Amy Early", "Bea Later", "Ola Other", "Rae Request", "Tom Theirs"):
        assert name in page
    assert "Carl Gone" not in page
    assert 'data-waiting-since="2031-03-03T08:10:00+00:00"' in page


def test_arrival_rows_check_in_and_request_rows_confirm_back_to_home(desk, day):
    page = desk.get(HOME).content.decode()
    for a in day["arrivals"]:
        assert f'action="/admin/clinic/appointments/{a.reference}/"' in page
    assert page.count('name="action" value="check_in"') == 3
    assert page.count('name="action" value="confirm"') == 2
    assert page.count('name="next" value="/admin/"') == 5


def test_check_in_from_the_panel_returns_home_and_fills_the_queue(desk, day, receptionist):
    arrival = day["arrivals"][0]
    response = desk.post(
        f"/admin/clinic/appointments/{arrival.reference}/",
        {"action": "check_in", "next": HOME},
    )
    assert response.status_code == 302
    assert response["Location"] == HOME
    arrival.refresh_from_db()
    assert arrival.status == Status.CHECKED_IN
    assert arrival.checked_in_at == at(TODAY, "08:30")
    assert arrival.transitions.order_by("pk").last().by == receptionist
    home = desk.get(HOME)
    name, doctor = arrival.patient.full_name, arrival.doctor.name
    time = f"{arrival.start.astimezone(clinic_tz()):%H:%M}"
    assert f"Checked in {name} for {time} with {doctor}: they are in the queue." in messages_of(
        home
    )
    assert arrival.reference not in refs(home.context["arrivals"])
    assert {d.name: d.waiting for d in home.context["queues"]}["Dr Ada Hart"] == 2


def test_confirm_from_the_panel_returns_home_and_leaves_the_requests(desk, day):
    request = day["request"]
    response = desk.post(
        f"/admin/clinic/appointments/{request.reference}/", {"action": "confirm", "next": HOME}
    )
    assert response["Location"] == HOME
    request.refresh_from_db()
    assert request.status == Status.CONFIRMED
    home = desk.get(HOME)
    when = dateformat.format(request.start.astimezone(clinic_tz()), r"D j M \a\t H:i")
    assert (
        f"Confirmed {request.patient.full_name}’s visit on {when} with {request.doctor.name}. "
        "They get an e-mail." in messages_of(home)
    )
    assert refs(home.context["requests"]) == [day["their_request"].reference]


def test_a_refused_check_in_from_the_panel_returns_home_with_the_reason(desk, day):
    tomorrow = confirmed(day["request"].visit_type, TODAY + dt.timedelta(days=1), "09:00")
    response = desk.post(
        f"/admin/clinic/appointments/{tomorrow.reference}/",
        {"action": "check_in", "next": HOME},
        follow=True,
    )
    assert response.redirect_chain == [(HOME, 302)]
    assert messages_of(response)
    tomorrow.refresh_from_db()
    assert tomorrow.status == Status.CONFIRMED


def test_panels_show_eight_rows_and_link_to_the_rest(desk, visit_type, other_clinic):
    for vt in (visit_type, other_clinic[1]):
        for hhmm in GRID[1:]:
            confirmed(vt, TODAY, hhmm)
    response = desk.get(HOME)
    assert response.context["arrivals_count"] == 10
    assert len(response.context["arrivals"]) == 8
    page = response.content.decode()
    assert "All 10 arrivals" in page
    assert "status=CONFIRMED&amp;date_from=2031-03-03&amp;date_to=2031-03-03" in page


def test_quiet_day_says_so(desk, doctor):
    page = desk.get(HOME).content.decode()
    assert "Nobody else is expected today." in page
    assert "No requests are waiting." in page
    assert "No doctor has appointments today." in page


# --- A doctor ---------------------------------------------------------------------------------


def test_doctor_home_shows_their_day_queue_requests_and_records_to_finish(client, doctor, day):
    client.force_login(doctor.user)
    response = client.get(HOME)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your day · Monday 3 March" in page
    assert "Front desk ·" not in page
    ctx = response.context
    assert refs(ctx["schedule"]) == refs([*day["arrivals"][:2], day["waiting"]])
    assert refs(ctx["queue"]) == [day["waiting"].reference]
    assert ctx["anyone_waiting"] is True
    assert refs(ctx["requests"]) == [day["request"].reference]
    assert ctx["requests_count"] == 1
    assert refs(ctx["unfinished"]) == [day["waiting"].reference]
    for absent in ("Ola Other", "Tom Theirs", "Carl Gone"):
        assert absent not in page
    assert 'data-waiting-since="2031-03-03T08:10:00+00:00"' in page


def test_doctor_confirms_a_request_from_the_panel(client, doctor, day):
    client.force_login(doctor.user)
    page = client.get(HOME).content.decode()
    assert page.count('name="next" value="/admin/"') == 1
    response = client.post(
        f"/admin/clinic/appointments/{day['request'].reference}/",
        {"action": "confirm", "next": HOME},
    )
    assert response["Location"] == HOME
    day["request"].refresh_from_db()
    assert day["request"].status == Status.CONFIRMED
    assert client.get(HOME).context["requests"] == []


def test_doctor_panel_lists_drafts_until_they_are_finalised(client, doctor, day):
    write_record(day["waiting"], now=at(TODAY, "08:20"))
    client.force_login(doctor.user)
    assert refs(client.get(HOME).context["unfinished"]) == [day["waiting"].reference]
    record_services.record_finalise(
        appointment=day["waiting"], actor=doctor.user, complete=True, now=at(TODAY, "08:25")
    )
    response = client.get(HOME)
    assert response.context["unfinished"] == []
    assert "Every record is finalised." in response.content.decode()
    assert response.context["queue"] == []


def test_doctor_panel_calls_the_next_patient(client, doctor, day):
    client.force_login(doctor.user)
    page = client.get(HOME).content.decode()
    assert 'action="/admin/clinic/queue/"' in page
    response = client.post("/admin/clinic/queue/", {"action": "call"})
    assert response["Location"] == f"/admin/clinic/appointments/{day['waiting'].reference}/record/"
    home = client.get(HOME)
    assert home.context["anyone_waiting"] is False
    assert "With you" in home.content.decode()


# --- Editors and menus ------------------------------------------------------------------------


def test_editor_home_has_neither_panel(client, day):
    client.force_login(make_user(Role.EDITOR))
    response = client.get(HOME)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Front desk ·" not in page
    assert "Your day ·" not in page
    for name in ("Amy Early", "Wes Waiting", "Rae Request"):
        assert name not in page


MENU = ("dashboard-appointments", "dashboard-queue", "dashboard-calendar", "dashboard-schedules")


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (Role.RECEPTIONIST, (*MENU, "dashboard-book"), ()),
        (Role.ADMIN, (*MENU, "dashboard-book"), ()),
        (Role.DOCTOR, MENU, ("dashboard-book",)),
        (Role.EDITOR, (), (*MENU, "dashboard-book")),
    ],
)
def test_each_role_gets_its_menu_items(client, doctor, role, shown, hidden):
    client.force_login(doctor.user if role == Role.DOCTOR else make_user(role))
    page = client.get(HOME).content.decode()
    for name in shown:
        assert f'"{name}"' in page
    for name in hidden:
        assert f'"{name}"' not in page


def test_patients_do_not_reach_the_staff_home(client, day):
    client.force_login(day["request"].patient)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"  # their own portal, not a sign-in loop


# --- Query counts -----------------------------------------------------------------------------


def _fill_the_day(visit_type, other_clinic):
    """More arrivals, waiting patients and requests than before, and than the panels show."""
    for hhmm in ("11:00", "11:40"):
        confirmed(visit_type, TODAY, hhmm)
    checked_in(visit_type, "12:20", at_hhmm="08:15")
    for hhmm in ("09:00", "09:40", "11:00", "11:40", "12:20"):
        checked_in(other_clinic[1], hhmm, at_hhmm="08:05")
    for vt in (visit_type, other_clinic[1]):
        for hhmm in GRID:
            requested(vt, DAY + dt.timedelta(days=1), hhmm)


def test_front_desk_home_queries_are_pinned(desk, day, visit_type, other_clinic):
    count_queries(desk)  # warm caches
    quiet = count_queries(desk)
    _fill_the_day(visit_type, other_clinic)
    assert quiet == count_queries(desk) == DESK_HOME_QUERIES


def test_doctor_home_queries_are_pinned(client, doctor, day, visit_type, other_clinic):
    client.force_login(doctor.user)
    count_queries(client)
    quiet = count_queries(client)
    _fill_the_day(visit_type, other_clinic)
    assert quiet == count_queries(client) == DOCTOR_HOME_QUERIES


def test_the_dashboard_carries_the_clinics_brand_not_wagtails(desk, settings):
    settings.WAGTAIL_SITE_NAME = "Riverside Clinic"
    page = desk.get(HOME).content.decode()
    assert "<title>Dashboard - Riverside Clinic</title>" in page
    assert re.search(r'<img class="cp-brand-logo" src="/static/img/logo[.\w]*\.svg"', page)
    assert "wagtailadmin/images/favicon.ico" not in page
    assert re.search(r'<link rel="icon" href="/static/img/favicon[.\w]*\.svg"', page)
