"""Today's queue in the staff dashboard (product.md §6; scheduling-rules.md "Queue";
permissions.md "reorder queue"): checked-in patients of one doctor in queue order with their
waiting time, the front desk moving them up or down, the doctor calling the next one in, and the
fragment the page polls for live updates.

The clock is frozen at 10:00 on Monday `TODAY` (clinic zone UTC). Dr Ada Hart sees 15-minute
visits 09:00-13:00; her three patients were checked in at 08:50, 09:35 and 09:45, so they have
waited 70, 25 and 15 minutes.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from booking import selectors, services
from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from clinic_site.exceptions import Forbidden
from tests.factories import at, book, bookable_doctor, give_week, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
YESTERDAY = TODAY - dt.timedelta(days=1)
QUEUE_URL = "/admin/clinic/queue/"
CHECK_INS = ("08:50", "09:35", "09:45")
# Pinned, the same for 3 and 9 patients in the queue. The front desk: session, user with its
# role (one read), the user's permissions (two reads), Wagtail's user profile, the doctor asked
# for, the queue (doctor, patient, visit type and record joined), the doctor tabs with their
# counts and Wagtail's menu (locales, page and collection permissions). No session save: an
# unchanged session is refreshed at most once a minute.
DESK_QUEUE_QUERIES = 11
# A doctor: their own doctor profile instead of the doctor asked for, and no tabs.
DOCTOR_QUEUE_QUERIES = 10


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "10:00"), tick=False)
    return time_machine


@pytest.fixture
def clinic():
    return bookable_doctor(name="Dr Ada Hart", slug="ada-hart", duration=15)


@pytest.fixture
def other_clinic():
    return bookable_doctor(name="Dr Ben Okafor", slug="ben-okafor", duration=15)


def todays_starts(visit_type) -> list[dt.datetime]:
    slots = selectors.slot_search(
        visit_type=visit_type, date_from=TODAY, date_to=TODAY, now=at(YESTERDAY, "08:00")
    )
    return [slot.start for slot in slots]


def confirmed_today(visit_type, count: int, *, skip: int = 0, names=()) -> list[Appointment]:
    """Booked yesterday by the front desk for today: CONFIRMED."""
    names = list(names)
    booked = []
    for index, start in enumerate(todays_starts(visit_type)[skip : skip + count]):
        patient = make_user(Role.PATIENT, full_name=names[index]) if index < len(names) else None
        booked.append(
            book(
                visit_type,
                start,
                patient=patient,
                actor=make_user(Role.RECEPTIONIST),
                now=at(YESTERDAY, "08:00"),
            )
        )
    return booked


def check_in(appointment, hhmm: str):
    return services.appointment_act(
        appointment=appointment,
        actor=make_user(Role.RECEPTIONIST),
        action="check_in",
        now=at(TODAY, hhmm),
    )


@pytest.fixture
def waiting(visit_type) -> list[Appointment]:
    """Three patients checked in at 08:50, 09:35 and 09:45, in that order."""
    booked = confirmed_today(visit_type, 3, names=["Amy First", "Ben Second", "Cat Third"])
    return [check_in(a, hhmm) for a, hhmm in zip(booked, CHECK_INS, strict=True)]


def order(doctor) -> list[str]:
    return [a.reference for a in selectors.queue_for(doctor, TODAY)]


def refs(appointments) -> list[str]:
    return [a.reference for a in appointments]


def queue_of(client, doctor=None, **headers):
    query = {"doctor": doctor.pk} if doctor is not None else {}
    return client.get(QUEUE_URL, query, headers=headers)


def entries(response) -> list[tuple[str, int, int, bool]]:
    assert response.status_code == 200
    return [
        (e["appointment"].reference, e["position"], e["waiting"], e["called"])
        for e in response.context["entries"]
    ]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def assert_refused(response):
    """Wagtail's admin answers PermissionDenied with a redirect home (or to sign in)."""
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] in ("/admin/", "/portal/") or response["Location"].startswith(
            "/accounts/login/"
        )


def move(client, doctor, appointment, direction):
    return client.post(
        QUEUE_URL, {"action": direction, "appointment": appointment.reference, "doctor": doctor.pk}
    )


# --- Reading the queue ------------------------------------------------------------------------


def test_queue_url_is_where_the_dashboard_mounts_it():
    assert reverse("dashboard:queue") == QUEUE_URL


def test_queue_lists_checked_in_patients_in_order_with_whole_waiting_minutes(desk, doctor, waiting):
    response = queue_of(desk, doctor)
    assert entries(response) == [
        (waiting[0].reference, 1, 70, False),
        (waiting[1].reference, 2, 25, False),
        (waiting[2].reference, 3, 15, False),
    ]
    page = response.content.decode()
    assert page.index("Amy First") < page.index("Ben Second") < page.index("Cat Third")
    assert ">70 min<" in page
    assert ">25 min<" in page


def test_waiting_time_is_live_markup_with_the_check_in_time(desk, doctor, waiting):
    page = queue_of(desk, doctor).content.decode()
    for hhmm in CHECK_INS:
        assert f'data-waiting-since="{TODAY.isoformat()}T{hhmm}:00+00:00"' in page
    assert page.count('data-long-after="30"') == 3
    assert page.count("cp-waiting--long") == 1  # only the 70-minute wait is long
    assert 'data-refresh-url="/admin/clinic/queue/?doctor=' in page


def test_waiting_minutes_move_with_the_clock(desk, doctor, waiting, clock):
    clock.move_to(at(TODAY, "10:20:59"), tick=False)  # within the 30-minute idle timeout
    assert [e[2] for e in entries(queue_of(desk, doctor))] == [90, 45, 35]


def test_queue_leaves_out_other_statuses_days_and_doctors(
    desk, doctor, visit_type, other_clinic, waiting
):
    not_arrived = confirmed_today(visit_type, 1, skip=5)[0]
    theirs = check_in(confirmed_today(other_clinic[1], 1)[0], "09:00")
    tomorrow = book(
        visit_type,
        at(TODAY + dt.timedelta(days=1), "09:00"),
        actor=make_user(Role.RECEPTIONIST),
        now=at(YESTERDAY, "08:00"),
    )
    shown = [e[0] for e in entries(queue_of(desk, doctor))]
    assert shown == refs(waiting)
    for absent in (not_arrived, theirs, tomorrow):
        assert absent.reference not in shown
    assert [e[0] for e in entries(queue_of(desk, other_clinic[0]))] == [theirs.reference]


def test_front_desk_gets_a_tab_per_doctor_with_their_waiting_count(
    desk, doctor, other_clinic, waiting
):
    response = queue_of(desk, doctor)
    tabs = {d.name: d.waiting for d in response.context["tabs"]}
    assert tabs == {"Dr Ada Hart": 3, "Dr Ben Okafor": 0}
    assert response.context["can_reorder"] is True
    assert response.context["can_call"] is False


def test_front_desk_without_a_doctor_gets_the_first_doctor_with_someone_waiting(
    desk, doctor, other_clinic
):
    theirs = check_in(confirmed_today(other_clinic[1], 1)[0], "09:00")
    response = queue_of(desk)
    assert response.context["doctor"] == other_clinic[0]
    assert [e[0] for e in entries(response)] == [theirs.reference]


@pytest.mark.parametrize("wanted", ["abc", "99999", "1.5", "-1", "\x00", "9" * 40])
def test_an_unknown_doctor_is_not_found(desk, doctor, wanted):
    assert desk.get(QUEUE_URL, {"doctor": wanted}).status_code == 404
    response = desk.post(QUEUE_URL, {"doctor": wanted, "action": "up", "appointment": "X"})
    assert response.status_code == 404


def test_doctor_always_sees_their_own_queue(client, doctor, other_clinic, waiting):
    check_in(confirmed_today(other_clinic[1], 1)[0], "09:00")
    client.force_login(doctor.user)
    response = queue_of(client, other_clinic[0])
    assert response.context["doctor"] == doctor
    assert [e[0] for e in entries(response)] == refs(waiting)
    assert response.context["tabs"] == []
    assert response.context["can_reorder"] is False
    assert response.context["can_call"] is True
    page = response.content.decode()
    assert 'value="up"' not in page
    assert "Call the next patient" in page


def test_empty_queue_says_so(desk, doctor):
    response = queue_of(desk, doctor)
    assert entries(response) == []
    assert "Nobody is checked in for Dr Ada Hart yet." in response.content.decode()


@pytest.mark.parametrize("role", [Role.PATIENT, Role.EDITOR])
def test_patients_and_editors_never_reach_the_queue(client, doctor, waiting, role):
    user = waiting[0].patient if role == Role.PATIENT else make_user(role)
    client.force_login(user)
    assert_refused(queue_of(client, doctor))
    assert_refused(queue_of(client, doctor, x_requested_with="fetch"))
    assert_refused(move(client, doctor, waiting[1], "up"))
    assert_refused(client.post(QUEUE_URL, {"action": "call", "doctor": doctor.pk}))
    assert order(doctor) == refs(waiting)
    assert not Appointment.objects.filter(called_at__isnull=False).exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, doctor):
    response = queue_of(client, doctor)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- The live fragment ------------------------------------------------------------------------


def test_fetch_gets_the_entries_fragment_without_the_page_shell(desk, doctor, waiting):
    fragment = queue_of(desk, doctor, x_requested_with="fetch")
    assert fragment.status_code == 200
    body = fragment.content.decode()
    for shell in ("<html", "<body", "<head", "cp-queue-head", "wagtail", "sidebar"):
        assert shell not in body.lower()
    assert body.lstrip().startswith('<div class="cp-scroll"')  # the table's scrolling region
    assert "<table" in body
    assert body.count("data-waiting-since=") == 3
    assert "Amy First" in body
    full = queue_of(desk, doctor).content.decode()
    assert "<html" in full
    assert 'id="cp-queue"' in full


def test_fetch_fragment_for_a_doctor_has_no_move_buttons(client, doctor, waiting):
    client.force_login(doctor.user)
    body = queue_of(client, x_requested_with="fetch").content.decode()
    assert "<html" not in body
    assert 'value="down"' not in body
    assert body.count("data-waiting-since=") == 3


# --- Reordering (front desk) ------------------------------------------------------------------


def test_front_desk_moves_a_patient_down_and_up(desk, doctor, waiting):
    first, second, third = waiting
    response = move(desk, doctor, first, "down")
    assert response.status_code == 302
    moved = f"moved={first.reference}&to=down"
    assert response["Location"] == f"{QUEUE_URL}?doctor={doctor.pk}&{moved}"
    assert order(doctor) == refs([second, first, third])
    move(desk, doctor, third, "up")
    assert order(doctor) == refs([second, third, first])
    positions = dict(
        Appointment.objects.filter(doctor=doctor).values_list("reference", "queue_position")
    )
    assert [positions[r] for r in refs([second, third, first])] == [1, 2, 3]
    shown = entries(queue_of(desk, doctor))
    assert [(ref, pos) for ref, pos, _, _ in shown] == [
        (second.reference, 1),
        (third.reference, 2),
        (first.reference, 3),
    ]


def test_a_move_can_be_undone_from_the_page_it_lands_on(desk, doctor, waiting):
    first, second, third = waiting
    landed = desk.get(move(desk, doctor, first, "down")["Location"]).content.decode()
    name = first.patient.full_name
    assert f"Moved <strong>{name}</strong> down to number 2." in landed
    undo = re.search(r'<div class="cp-undo".*?</div>', landed, re.S).group(0)
    assert f'name="appointment" value="{first.reference}"' in undo
    assert 'name="action" value="up"' in undo
    move(desk, doctor, first, "up")  # what the Undo button posts
    assert order(doctor) == refs([first, second, third])


def test_no_undo_without_a_move_or_for_someone_not_in_the_queue(desk, doctor, waiting):
    first, *_ = waiting
    assert "cp-undo" not in queue_of(desk, doctor).content.decode()
    stranger = f"{QUEUE_URL}?doctor={doctor.pk}&moved=NOTQUEUED&to=down"
    assert "cp-undo" not in desk.get(stranger).content.decode()
    odd = f"{QUEUE_URL}?doctor={doctor.pk}&moved={first.reference}&to=sideways"
    assert "cp-undo" not in desk.get(odd).content.decode()


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_front_desk_roles_may_reorder(client, doctor, waiting, role):
    client.force_login(make_user(role))
    move(client, doctor, waiting[2], "up")
    assert order(doctor) == refs([waiting[0], waiting[2], waiting[1]])


def test_moving_past_either_end_or_an_unknown_patient_changes_nothing(
    desk, doctor, visit_type, waiting
):
    before = order(doctor)
    move(desk, doctor, waiting[0], "up")
    move(desk, doctor, waiting[2], "down")
    outsider = confirmed_today(visit_type, 1, skip=5)[0]
    move(desk, doctor, outsider, "up")
    desk.post(QUEUE_URL, {"action": "up", "appointment": "", "doctor": doctor.pk})
    desk.post(QUEUE_URL, {"action": "down", "appointment": "\x00", "doctor": doctor.pk})
    assert order(doctor) == before


def test_reordering_one_doctor_never_touches_another(desk, doctor, other_clinic, waiting):
    theirs = [
        check_in(a, hhmm)
        for a, hhmm in zip(confirmed_today(other_clinic[1], 2), ("09:00", "09:10"), strict=True)
    ]
    move(desk, other_clinic[0], waiting[0], "down")  # Ada's patient, Ben's queue
    assert order(doctor) == refs(waiting)
    assert order(other_clinic[0]) == refs(theirs)


def test_doctor_cannot_reorder_their_queue(client, doctor, waiting):
    client.force_login(doctor.user)
    assert_refused(move(client, doctor, waiting[0], "down"))
    response = client.post(
        QUEUE_URL,
        {"action": "down", "appointment": waiting[0].reference, "doctor": doctor.pk},
        headers={"x-requested-with": "XMLHttpRequest"},
    )
    assert response.status_code == 403
    assert order(doctor) == refs(waiting)


def test_queue_reorder_service_refuses_doctors(doctor, waiting):
    with pytest.raises(Forbidden):
        services.queue_reorder(
            doctor=doctor, day=TODAY, order=refs(waiting)[::-1], actor=doctor.user
        )
    assert order(doctor) == refs(waiting)


def test_an_unknown_queue_action_is_not_found(desk, doctor, waiting):
    for action in ("", "delete", "call_all"):
        assert desk.post(QUEUE_URL, {"action": action, "doctor": doctor.pk}).status_code == 404


# --- Calling the next patient (doctor) --------------------------------------------------------


def test_doctor_calls_the_first_waiting_patient_and_goes_to_the_record(client, doctor, waiting):
    client.force_login(doctor.user)
    response = client.post(QUEUE_URL, {"action": "call"}, follow=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:record", args=[waiting[0].reference])
    called = Appointment.objects.get(pk=waiting[0].pk)
    assert called.called_at == at(TODAY, "10:00")
    assert called.status == Status.CHECKED_IN
    assert not Appointment.objects.filter(
        pk__in=[w.pk for w in waiting[1:]], called_at__isnull=False
    )
    shown = entries(queue_of(client))
    assert shown[0] == (waiting[0].reference, 1, 70, True)
    assert "With the doctor since 10:00" in queue_of(client).content.decode()


def test_calling_again_calls_the_next_one_then_nobody(client, doctor, waiting, clock):
    client.force_login(doctor.user)
    for expected in waiting:
        response = client.post(QUEUE_URL, {"action": "call"})
        assert response["Location"] == reverse("dashboard:record", args=[expected.reference])
        clock.shift(dt.timedelta(minutes=5))
    response = client.post(QUEUE_URL, {"action": "call"}, follow=True)
    assert response.redirect_chain[0][0] == f"{QUEUE_URL}?doctor={doctor.pk}"
    assert "Nobody is waiting." in messages_of(response)
    called = dict(Appointment.objects.filter(doctor=doctor).values_list("reference", "called_at"))
    assert [called[w.reference] for w in waiting] == [
        at(TODAY, "10:00"),
        at(TODAY, "10:05"),
        at(TODAY, "10:10"),
    ]


def test_doctor_calls_in_the_front_desks_order(client, desk, doctor, waiting):
    move(desk, doctor, waiting[2], "up")
    move(desk, doctor, waiting[2], "up")
    client.force_login(doctor.user)
    response = client.post(QUEUE_URL, {"action": "call"})
    assert response["Location"] == reverse("dashboard:record", args=[waiting[2].reference])
    assert Appointment.objects.get(pk=waiting[2].pk).called_at is not None
    assert Appointment.objects.get(pk=waiting[0].pk).called_at is None


def test_doctor_calls_only_from_their_own_queue(client, doctor, other_clinic, waiting):
    theirs = check_in(confirmed_today(other_clinic[1], 1)[0], "08:30")
    client.force_login(doctor.user)
    client.post(QUEUE_URL, {"action": "call", "doctor": other_clinic[0].pk})
    assert Appointment.objects.get(pk=theirs.pk).called_at is None
    assert Appointment.objects.get(pk=waiting[0].pk).called_at is not None
    with pytest.raises(Forbidden):
        services.queue_call_next(doctor=other_clinic[0], actor=doctor.user)


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_front_desk_cannot_call_patients_in(client, doctor, waiting, role):
    client.force_login(make_user(role))
    assert_refused(client.post(QUEUE_URL, {"action": "call", "doctor": doctor.pk}))
    assert not Appointment.objects.filter(called_at__isnull=False).exists()


def test_call_button_is_disabled_when_nobody_waits(client, doctor):
    client.force_login(doctor.user)
    response = queue_of(client)
    assert response.context["anyone_waiting"] is False
    assert "disabled>" in response.content.decode().split("Call the next patient")[0][-200:]


# --- Query counts -----------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_queue_queries_are_pinned_for_3_and_9_patients(desk, client, doctor, visit_type, waiting):
    url = f"{QUEUE_URL}?doctor={doctor.pk}"
    count_queries(desk, url)  # warm caches
    few = count_queries(desk, url)
    give_week(doctor, (("14:00", "18:00"),))  # room for six more today
    for index, a in enumerate(confirmed_today(visit_type, 6, skip=3)):
        check_in(a, f"09:{50 + index}")
    assert len(order(doctor)) == 9
    assert few == count_queries(desk, url) == DESK_QUEUE_QUERIES
    assert count_queries(desk, url.replace("?", "?x=1&")) == DESK_QUEUE_QUERIES


def test_doctor_queue_queries_are_pinned_for_3_and_9_patients(client, doctor, visit_type, waiting):
    client.force_login(doctor.user)
    count_queries(client, QUEUE_URL)
    few = count_queries(client, QUEUE_URL)
    give_week(doctor, (("14:00", "18:00"),))
    for index, a in enumerate(confirmed_today(visit_type, 6, skip=3)):
        check_in(a, f"09:{50 + index}")
    assert few == count_queries(client, QUEUE_URL) == DOCTOR_QUEUE_QUERIES
