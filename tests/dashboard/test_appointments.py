"""Appointments in the staff dashboard (product.md §§3-5, 8; permissions.md; scheduling-rules.md
"Lifecycle", "Rescheduling"): the filtered, sorted, paginated list and its CSV / XLSX exports,
the appointment screen with its timeline and the actions each role may take, rescheduling on a
patient's behalf, and the day / week calendar.

The clock is frozen at 08:00 on Monday `TODAY` in the clinic's zone (UTC unless a test says
otherwise). Dr Ada Hart and Dr Ben Okafor work 09:00-13:00 every day with a 30-minute visit type
and 5/5-minute buffers, so a day's grid is 09:00, 09:40, 10:20, 11:00, 11:40, 12:20. Policies
are the defaults: confirmation required, 60-minute notice, 2-hour patient cut-offs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import conditional_escape

from booking import selectors, services
from booking.exceptions import RescheduleCutoff
from booking.models import Appointment, Reschedule, Status, Transition
from booking.permissions import action_context
from booking.rules import check
from clinic_site.accounts.roles import Role
from clinic_site.policies import get_policies
from tests.factories import at, book, bookable_doctor, completed_visit, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
DAY = TODAY + dt.timedelta(days=2)
YESTERDAY = TODAY - dt.timedelta(days=1)
LIST_URL = "/admin/clinic/appointments/"
# An explicit (empty) filter: the whole list. The bare URL opens the front desk on today.
ALL = {"q": ""}
CALENDAR_URL = "/admin/clinic/calendar/"
GRID = ("09:00", "09:40", "10:20", "11:00", "11:40", "12:20")
CSV_HEADER = ["Reference", "When", "Patient", "Doctor", "Visit", "Status", "Booked"]
CLINICAL_WORDS = ("Acute bronchitis", "Amoxicillin", "Full blood count", "Cough for ten days")
# Pinned for the list, whatever the number of appointments and with or without filters: session,
# user with its role (one read), the user's permissions (two reads), Wagtail's user profile, the
# paginator's count, Wagtail's menu (locales, page and collection permissions), the count of the
# doctor choices and the page of rows (doctor, patient, visit type and record joined). No session
# save: an unchanged session is refreshed at most once a minute.
LIST_QUERIES = 11
# Filtering by doctor validates the chosen doctor: one more read.
LIST_QUERIES_FILTERED_BY_DOCTOR = LIST_QUERIES + 1
# With two doctors the doctor filter is shown, and rendering its <select> reads the doctors.
LIST_QUERIES_WITH_DOCTOR_SELECT = LIST_QUERIES + 1


# --- clock, people, helpers -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "08:00"), tick=False)
    return time_machine


def free_starts(visit_type, count: int, first_day: dt.date = DAY) -> list[dt.datetime]:
    """The first `count` offered starts of `visit_type` from `first_day` on."""
    slots = selectors.slot_search(
        visit_type=visit_type,
        date_from=first_day,
        date_to=first_day + dt.timedelta(days=count // 6 + 2),
    )
    assert len(slots) >= count
    return [slot.start for slot in slots[:count]]


def book_many(visit_type, count: int, first_day: dt.date = DAY, **kwargs) -> list[Appointment]:
    return [
        book(visit_type, start, **kwargs) for start in free_starts(visit_type, count, first_day)
    ]


def staff_book(visit_type, start, *, patient=None):
    """Booked by the front desk the day before: CONFIRMED."""
    return book(
        visit_type,
        start,
        patient=patient,
        actor=make_user(Role.RECEPTIONIST),
        now=start - dt.timedelta(days=1),
    )


def listed(response) -> list[str]:
    """The references on the shown page of the table, in order."""
    assert response.status_code == 200
    table = response.context["table"]
    rows = table.page.object_list if table.page else table.rows
    return [row.record.reference for row in rows]


def refs(appointments) -> list[str]:
    return [a.reference for a in appointments]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def detail_url(appointment) -> str:
    return reverse("dashboard:appointment", args=[appointment.reference])


def reschedule_url(appointment, **query) -> str:
    url = reverse("dashboard:reschedule", args=[appointment.reference])
    return f"{url}?{urlencode(query)}" if query else url


def assert_refused(response):
    """Wagtail's admin answers PermissionDenied with a redirect home and an error message."""
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"] in ("/admin/", "/portal/") or response["Location"].startswith(
            "/accounts/login/"
        )


# --- The list: who sees what ------------------------------------------------------------------


def test_urls_are_where_the_dashboard_mounts_them():
    assert reverse("dashboard:appointments") == LIST_URL
    assert reverse("dashboard:calendar") == CALENDAR_URL


def test_doctor_lists_only_their_own_appointments(client, doctor, visit_type, other_clinic):
    mine = book_many(visit_type, 3)
    theirs = book_many(other_clinic[1], 2)
    client.force_login(doctor.user)
    shown = listed(client.get(LIST_URL, ALL))
    assert sorted(shown) == sorted(refs(mine))
    assert not set(shown) & set(refs(theirs))


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_front_desk_lists_every_doctors_appointments(client, visit_type, other_clinic, role):
    everyone = book_many(visit_type, 3) + book_many(other_clinic[1], 2)
    client.force_login(make_user(role))
    assert sorted(listed(client.get(LIST_URL, ALL))) == sorted(refs(everyone))


def test_the_front_desk_list_opens_on_today(desk, visit_type):
    today = book_many(visit_type, 2, first_day=TODAY)
    later = book_many(visit_type, 2, first_day=DAY)
    response = desk.get(LIST_URL)
    assert sorted(listed(response)) == sorted(refs(today))
    html = response.content.decode()
    assert f'name="date_from" value="{TODAY.isoformat()}"' in html
    assert f'name="date_to" value="{TODAY.isoformat()}"' in html
    # Sorting and paging keep today; the exports export what is shown.
    assert sorted(listed(desk.get(LIST_URL, {"sort": "-start"}))) == sorted(refs(today))
    export = re.search(r'href="(\?[^"]*export=csv[^"]*)"', html).group(1)
    assert f"date_from={TODAY.isoformat()}" in unescape(export)
    # Any submitted filter lists what it asks for: emptied dates list everything.
    emptied = desk.get(LIST_URL, {"q": "", "date_from": "", "date_to": ""})
    assert sorted(listed(emptied)) == sorted(refs(today + later))


def test_a_doctors_list_opens_on_all_of_their_appointments(client, doctor, visit_type):
    mine = book_many(visit_type, 1, first_day=TODAY) + book_many(visit_type, 2, first_day=DAY)
    client.force_login(doctor.user)
    assert sorted(listed(client.get(LIST_URL))) == sorted(refs(mine))


def test_held_and_released_rows_are_not_appointments_in_the_list(desk, visit_type):
    booked = book_many(visit_type, 2)
    released = book(visit_type, free_starts(visit_type, 3)[2])
    Appointment.objects.filter(pk=released.pk).update(status=Status.RELEASED)
    assert sorted(listed(desk.get(LIST_URL, ALL))) == sorted(refs(booked))


@pytest.mark.parametrize("role", [Role.PATIENT, Role.EDITOR])
def test_patients_and_editors_do_not_reach_the_list(client, visit_type, role):
    book_many(visit_type, 1)
    client.force_login(make_user(role))
    assert_refused(client.get(LIST_URL, ALL))
    assert_refused(client.get(LIST_URL + "?q=&export=csv"))


# --- Filters ----------------------------------------------------------------------------------


def test_status_filter_takes_several_statuses(desk, visit_type, receptionist):
    requested, confirmed, cancelled, untouched = book_many(visit_type, 4)
    services.appointment_act(appointment=confirmed, actor=receptionist, action="confirm")
    services.appointment_act(
        appointment=cancelled, actor=receptionist, action="decline", reason="Doctor away"
    )
    one = desk.get(LIST_URL, {**ALL, "status": "CONFIRMED"})
    assert listed(one) == [confirmed.reference]
    several = desk.get(LIST_URL, {**ALL, "status": ["REQUESTED", "CANCELLED"]})
    assert sorted(listed(several)) == sorted(refs([requested, cancelled, untouched]))


def test_date_range_filter_is_inclusive_of_both_days(desk, visit_type):
    first_day = book_many(visit_type, 2, DAY)
    second_day = book_many(visit_type, 2, DAY + dt.timedelta(days=1))
    later = book_many(visit_type, 1, DAY + dt.timedelta(days=3))
    day = DAY.isoformat()
    assert sorted(listed(desk.get(LIST_URL, {**ALL, "date_from": day, "date_to": day}))) == sorted(
        refs(first_day)
    )
    both = desk.get(
        LIST_URL, {"date_from": day, "date_to": (DAY + dt.timedelta(days=1)).isoformat()}
    )
    assert sorted(listed(both)) == sorted(refs(first_day + second_day))
    since = desk.get(LIST_URL, {**ALL, "date_from": (DAY + dt.timedelta(days=1)).isoformat()})
    assert sorted(listed(since)) == sorted(refs(second_day + later))


def test_date_range_uses_the_clinics_local_dates(settings, client):
    """In Auckland (UTC+13 in March) a 09:00 visit on `DAY` is the evening before in UTC: the
    filter must still find it on `DAY`, not on the UTC date."""
    settings.TIME_ZONE = "Pacific/Auckland"
    _, visit_type = bookable_doctor()
    morning = book(visit_type, at(DAY, "09:00"))
    assert morning.start.astimezone(dt.UTC).date() == DAY - dt.timedelta(days=1)
    client.force_login(make_user(Role.RECEPTIONIST))
    on_day = client.get(LIST_URL, {**ALL, "date_from": DAY.isoformat(), "date_to": DAY.isoformat()})
    assert listed(on_day) == [morning.reference]
    day_before = (DAY - dt.timedelta(days=1)).isoformat()
    assert listed(client.get(LIST_URL, {**ALL, "date_to": day_before})) == []


def test_doctor_filter_narrows_the_front_desks_list(desk, doctor, visit_type, other_clinic):
    mine = book_many(visit_type, 2)
    theirs = book_many(other_clinic[1], 3)
    assert sorted(listed(desk.get(LIST_URL, {**ALL, "doctor": doctor.pk}))) == sorted(refs(mine))
    assert sorted(listed(desk.get(LIST_URL, {**ALL, "doctor": other_clinic[0].pk}))) == sorted(
        refs(theirs)
    )


def test_doctor_cannot_filter_their_list_to_another_doctor(
    client, doctor, visit_type, other_clinic
):
    """A doctor's `doctor` is ignored, as on the queue, calendar and analytics: they get their
    own list, never the colleague's (dashboard.permissions.doctor_param)."""
    mine = book_many(visit_type, 2)
    theirs = book_many(other_clinic[1], 2)
    client.force_login(doctor.user)
    response = client.get(LIST_URL, {**ALL, "doctor": other_clinic[0].pk})
    assert sorted(listed(response)) == sorted(refs(mine))
    body = response.content.decode()
    assert not any(reference in body for reference in refs(theirs))
    assert "help-critical" not in body  # not an error: the filter is theirs


def test_patient_filter_lists_one_patients_appointments_with_a_banner(desk, visit_type):
    patient = make_user(Role.PATIENT, full_name="Zoe Quinn")
    theirs = [book(visit_type, start, patient=patient) for start in free_starts(visit_type, 2)]
    others = book_many(visit_type, 2, DAY + dt.timedelta(days=1))
    response = desk.get(LIST_URL, {**ALL, "patient": patient.pk})
    assert sorted(listed(response)) == sorted(refs(theirs))
    assert response.context["patient_filter"] == patient
    page = response.content.decode()
    assert "Showing the appointments of <strong>Zoe Quinn</strong>" in page
    assert others[0].patient.full_name not in page
    assert "Showing the appointments of" not in desk.get(LIST_URL, ALL).content.decode()


def test_patient_banner_never_names_a_patient_the_doctor_does_not_see(
    client, doctor, visit_type, other_clinic
):
    stranger = make_user(Role.PATIENT, full_name="Stella Stranger")
    book(other_clinic[1], free_starts(other_clinic[1], 1)[0], patient=stranger)
    client.force_login(doctor.user)
    response = client.get(LIST_URL, {**ALL, "patient": stranger.pk})
    assert listed(response) == []
    assert response.context["patient_filter"] is None
    assert "Stella Stranger" not in response.content.decode()


def test_search_finds_a_reference_exactly_in_any_case(desk, visit_type):
    wanted, _other = book_many(visit_type, 2)
    assert listed(desk.get(LIST_URL, {**ALL, "q": wanted.reference})) == [wanted.reference]
    assert listed(desk.get(LIST_URL, {**ALL, "q": f"  {wanted.reference.lower()} "})) == [
        wanted.reference
    ]
    # A fragment of a reference is not a reference (and no name contains it).
    assert listed(desk.get(LIST_URL, {**ALL, "q": wanted.reference[:5] + "#"})) == []


def test_search_finds_patients_by_part_of_their_name(desk, visit_type):
    starts = free_starts(visit_type, 3)
    hugo = book(
        visit_type, starts[0], patient=make_user(Role.PATIENT, full_name="Hugo Fairweather")
    )
    ines = book(visit_type, starts[1], patient=make_user(Role.PATIENT, full_name="Ines Fairley"))
    book(visit_type, starts[2], patient=make_user(Role.PATIENT, full_name="Carl Brown"))
    assert sorted(listed(desk.get(LIST_URL, {**ALL, "q": "fair"}))) == sorted(refs([hugo, ines]))
    assert listed(desk.get(LIST_URL, {**ALL, "q": "weather"})) == [hugo.reference]


BAD_QUERIES = [
    {"date_from": "garbage"},
    {"date_from": "2031-02-30"},
    {"date_from": "0001-01-01"},
    {"date_to": "9999-12-31"},
    {"date_from": "\x00"},
    {"status": "BOGUS"},
    {"status": ["REQUESTED", "\x00"]},
    {"doctor": "abc"},
    {"doctor": "99999"},
    {"doctor": "\x00"},
    {"patient": "abc"},
    {"patient": "-1"},
    {"patient": "1e309"},
    {"patient": "NaN"},
    {"patient": "99999999999999999999999"},
    {"patient": "\x00"},
    {"q": "\x00"},
    {"q": "x" * 5000},
    {"page": "abc"},
    {"page": "999"},
    {"page": "-1"},
    {"sort": "nonsense"},
    {"sort": "-visit_type"},
    {"export": "pdf"},
]


@pytest.mark.parametrize("query", BAD_QUERIES, ids=lambda q: urlencode(q, doseq=True)[:40])
def test_bad_filter_input_never_answers_500(desk, visit_type, query):
    book_many(visit_type, 2)
    desk.raise_request_exception = False
    response = desk.get(LIST_URL, query)
    assert response.status_code == 200
    for export in ("csv", "xlsx"):
        assert desk.get(LIST_URL, {**ALL, **query, "export": export}).status_code == 200


def test_an_invalid_filter_lists_nothing_rather_than_everything(desk, visit_type):
    book_many(visit_type, 3)
    response = desk.get(LIST_URL, {**ALL, "date_from": "not-a-date"})
    assert listed(response) == []
    assert "help-critical" in response.content.decode()


# --- Sorting and pages ------------------------------------------------------------------------


@pytest.fixture
def sortable(visit_type, other_clinic, receptionist):
    """Four appointments whose start, patient, doctor and status orders all differ."""
    starts = free_starts(visit_type, 4)
    other_starts = free_starts(other_clinic[1], 4)
    rows = [
        book(visit_type, starts[3], patient=make_user(Role.PATIENT, full_name="Anna Able")),
        book(
            other_clinic[1], other_starts[0], patient=make_user(Role.PATIENT, full_name="Dan Dee")
        ),
        book(visit_type, starts[1], patient=make_user(Role.PATIENT, full_name="Cleo Cray")),
        book(other_clinic[1], other_starts[2], patient=make_user(Role.PATIENT, full_name="Bo Bee")),
    ]
    services.appointment_act(appointment=rows[0], actor=receptionist, action="confirm")
    services.appointment_act(
        appointment=rows[2], actor=receptionist, action="decline", reason="Full"
    )
    return rows


def _ordered(rows, key):
    return [a.reference for a in sorted(rows, key=key)]


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("start", lambda a: (a.start, a.pk)),
        ("patient", lambda a: a.patient.full_name),
        ("doctor", lambda a: (a.doctor.name, a.start)),
        ("status", lambda a: (a.status, a.start)),
    ],
)
def test_list_sorts_by_column_both_ways(desk, sortable, sort, key):
    for row in sortable:
        row.refresh_from_db()
    ascending = listed(desk.get(LIST_URL, {**ALL, "sort": sort}))
    descending = listed(desk.get(LIST_URL, {**ALL, "sort": f"-{sort}"}))
    expected = _ordered(sortable, key)
    if sort in ("doctor", "status"):  # ties keep no promised order: compare the sort keys
        by_ref = {a.reference: key(a)[0] for a in sortable}
        assert [by_ref[r] for r in ascending] == sorted(by_ref[r] for r in expected)
        assert [by_ref[r] for r in descending] == sorted(
            (by_ref[r] for r in expected), reverse=True
        )
    else:
        assert ascending == expected
        assert descending == expected[::-1]


def test_default_order_is_by_start(desk, sortable):
    assert listed(desk.get(LIST_URL, ALL)) == _ordered(sortable, lambda a: a.start)


def test_list_pages_by_25_and_the_pages_cover_every_row_once(desk, visit_type):
    everyone = book_many(visit_type, 30)
    first = desk.get(LIST_URL, ALL)
    second = desk.get(LIST_URL, {**ALL, "page": 2})
    assert len(listed(first)) == 25
    assert len(listed(second)) == 5
    assert listed(first) + listed(second) == refs(sorted(everyone, key=lambda a: a.start))
    page = first.content.decode()
    assert "Page 1 of 2 · 30 appointments" in page
    assert "page=2" in page


def test_next_page_link_keeps_the_filters(desk, visit_type):
    book_many(visit_type, 30)
    page = desk.get(LIST_URL, {**ALL, "status": "REQUESTED", "sort": "-start"}).content.decode()
    link = unescape(re.search(r'<li class="next"><a [^>]*href="([^"]+)"', page).group(1))
    query = parse_qs(urlsplit(link).query)
    assert query == {"status": ["REQUESTED"], "sort": ["-start"], "page": ["2"]}


# --- Exports ----------------------------------------------------------------------------------


@pytest.fixture
def documented(visit_type):
    """A completed visit with a diagnosis, notes, a prescription and a test on record."""
    return completed_visit(visit_type, at(TODAY - dt.timedelta(days=3), "09:00"))


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("reader", [csv_rows, xlsx_rows], ids=["csv", "xlsx"])
def test_export_holds_exactly_the_filtered_rows_of_every_page(
    desk, visit_type, receptionist, documented, reader
):
    everyone = book_many(visit_type, 30)
    for a in everyone[:3]:
        services.appointment_act(appointment=a, actor=receptionist, action="confirm")
    fmt = "csv" if reader is csv_rows else "xlsx"
    rows = reader(desk.get(LIST_URL, {**ALL, "status": "REQUESTED", "export": fmt, "page": 2}))
    assert rows[0] == CSV_HEADER
    exported = [row[0] for row in rows[1:]]
    assert sorted(exported) == sorted(refs(everyone[3:]))  # 27 rows, more than one page
    assert len(exported) == 27


@pytest.mark.parametrize("reader", [csv_rows, xlsx_rows], ids=["csv", "xlsx"])
def test_export_values_are_plain_local_booking_facts(desk, visit_type, reader):
    patient = make_user(Role.PATIENT, full_name="Mia Plain")
    a = book(visit_type, at(DAY, "10:20"), patient=patient)
    fmt = "csv" if reader is csv_rows else "xlsx"
    rows = reader(desk.get(LIST_URL, {**ALL, "export": fmt}))
    assert rows[1] == [
        a.reference,
        f"{DAY:%Y-%m-%d} 10:20",
        "Mia Plain",
        "Dr Ada Hart",
        "Consultation",
        "Requested",
        f"{TODAY:%Y-%m-%d} 08:00",
    ]


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN, Role.DOCTOR])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_never_carry_clinical_content(client, doctor, documented, role, fmt):
    client.force_login(doctor.user if role == Role.DOCTOR else make_user(role))
    response = client.get(LIST_URL, {**ALL, "export": fmt})
    rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)
    assert rows[0] == CSV_HEADER
    assert [row[0] for row in rows[1:]] == [documented.reference]
    text = "\n".join(",".join(row) for row in rows)
    for word in CLINICAL_WORDS:
        assert word not in text
    if fmt == "csv":
        assert b"bronchitis" not in response.content


def test_doctors_export_holds_only_their_own_rows(client, doctor, visit_type, other_clinic):
    mine = book_many(visit_type, 2)
    book_many(other_clinic[1], 2)
    client.force_login(doctor.user)
    rows = csv_rows(client.get(LIST_URL, {**ALL, "export": "csv"}))
    assert sorted(row[0] for row in rows[1:]) == sorted(refs(mine))


def test_export_links_carry_the_filters_but_not_the_page(desk, visit_type):
    book_many(visit_type, 1)
    response = desk.get(LIST_URL, {**ALL, "status": "REQUESTED", "q": "x", "page": "1"})
    links = dict(response.context["export_links"])
    assert parse_qs(urlsplit(links["CSV"]).query) == {
        "status": ["REQUESTED"],
        "q": ["x"],
        "export": ["csv"],
    }
    assert parse_qs(urlsplit(links["Excel (XLSX)"]).query)["export"] == ["xlsx"]


def _cells(html: str) -> list[list[str]]:
    """The cells of each body row of the list's table, as HTML, whitespace between tags gone."""
    body = re.search(r'<table class="listing">.*?<tbody\s*>(.*?)</tbody>', html, re.S).group(1)
    return [
        [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def test_list_rows_show_what_the_tables_columns_render(settings, client):
    """The rows are written in one pass (not cell by cell through django-tables2): every cell is
    what the column renders — clinic-zone times, escaped names — and rows alternate even/odd."""
    settings.TIME_ZONE = "Pacific/Auckland"
    _, visit_type = bookable_doctor(name="Dr <i>Ada</i> & Co")
    patients = [make_user(Role.PATIENT, full_name=f"Ann <b>{n}</b> & Sons") for n in range(3)]
    for patient, start in zip(patients, free_starts(visit_type, 3), strict=True):
        book(visit_type, start, patient=patient)
    client.force_login(make_user(Role.RECEPTIONIST))
    response = client.get(LIST_URL, ALL)
    table = response.context["table"]
    expected = [  # as django-tables2's template shows each cell: {{ cell }}, autoescaped
        [conditional_escape(row.get_cell(column.name)) for column in table.columns]
        for row in table.rows
    ]
    assert _cells(response.content.decode()) == expected
    html = response.content.decode()
    assert "Ann &lt;b&gt;0&lt;/b&gt; &amp; Sons" in html and "<b>0</b>" not in html
    assert "Dr &lt;i&gt;Ada&lt;/i&gt; &amp; Co" in html
    first = table.rows[0].record
    local = first.start.astimezone(dt.timezone(dt.timedelta(hours=13)))  # NZDT in March
    assert expected[0][1] == local.strftime("%a %-d %b %Y, %H:%M")
    assert re.findall(r'<tr class="(even|odd)">', html) == ["even", "odd", "even"]


def test_an_empty_list_says_so_across_the_table(desk):
    cells = _cells(desk.get(LIST_URL, {**ALL, "q": "nobody at all"}).content.decode())
    assert cells == [["No appointments match."]]


def test_a_warm_list_compiles_no_template(desk, visit_type, monkeypatch):
    """Templates come compiled from the cached loader: nothing is compiled per request (the
    date columns of django-tables2 compiled one template per cell)."""
    from django.template import base

    book_many(visit_type, 3)
    assert desk.get(LIST_URL, ALL).status_code == 200  # fills the template cache
    compiled = []
    original = base.Template.__init__

    def counting(self, template_string, *args, **kwargs):
        compiled.append(str(template_string)[:60])
        original(self, template_string, *args, **kwargs)

    monkeypatch.setattr(base.Template, "__init__", counting)
    assert desk.get(LIST_URL, ALL).status_code == 200
    assert compiled == []


# --- Query counts -----------------------------------------------------------------------------


def test_list_queries_are_pinned_for_3_and_30_appointments_with_and_without_filters(
    desk, visit_type, doctor
):
    urls = [
        LIST_URL + "?q=",
        LIST_URL + "?q=&status=REQUESTED&status=CONFIRMED&sort=patient",
        LIST_URL + f"?date_from={DAY}&date_to={DAY + dt.timedelta(days=9)}&q=a&doctor={doctor.pk}",
    ]
    book_many(visit_type, 3)
    count_queries(desk, LIST_URL + "?q=")  # warm caches (policies, site)
    few = [count_queries(desk, url) for url in urls]
    book_many(visit_type, 27, DAY + dt.timedelta(days=1))
    many = [count_queries(desk, url) for url in urls]
    assert few == many == [LIST_QUERIES, LIST_QUERIES, LIST_QUERIES_FILTERED_BY_DOCTOR]


def test_list_queries_with_the_doctor_filter_shown_are_pinned(desk, visit_type, other_clinic):
    book_many(visit_type, 3)
    count_queries(desk, LIST_URL + "?q=")
    assert count_queries(desk, LIST_URL + "?q=") == LIST_QUERIES_WITH_DOCTOR_SELECT
    book_many(other_clinic[1], 27)
    assert count_queries(desk, LIST_URL + "?q=") == LIST_QUERIES_WITH_DOCTOR_SELECT
    assert count_queries(desk, LIST_URL + "?q=&page=2") == LIST_QUERIES_WITH_DOCTOR_SELECT


def test_export_queries_do_not_grow_with_rows(desk, visit_type):
    book_many(visit_type, 3)
    count_queries(desk, LIST_URL + "?q=&export=csv")
    few = count_queries(desk, LIST_URL + "?q=&export=csv")
    book_many(visit_type, 27, DAY + dt.timedelta(days=1))
    assert count_queries(desk, LIST_URL + "?q=&export=csv") == few


# --- The appointment screen -------------------------------------------------------------------


def test_screen_shows_the_appointments_details(desk, visit_type):
    patient = make_user(Role.PATIENT, full_name="Omar Vale", phone="+44 20 7946 0123")
    a = book(visit_type, at(DAY, "10:20"), patient=patient, reason="Persistent cough")
    response = desk.get(detail_url(a))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        a.reference,
        "Omar Vale",
        "+44 20 7946 0123",
        patient.email,
        "Dr Ada Hart",
        "Consultation · 30 min",
        "Persistent cough",
        f"{DAY:%A} {DAY.day} {DAY:%B %Y}, 10:20–10:50",
        f"?patient={patient.pk}",
        "<dt>Price</dt><dd>£40.00 · ",  # with the currency, as everywhere
    ):
        assert text in page


def test_timeline_has_a_row_per_transition_and_move_with_who_did_it(
    desk, doctor, visit_type, receptionist
):
    patient = make_user(Role.PATIENT, full_name="Pia Long")
    a = book(visit_type, at(TODAY, "09:40"), patient=patient, now=at(YESTERDAY, "08:00"))
    services.appointment_act(
        appointment=a, actor=receptionist, action="confirm", now=at(YESTERDAY, "08:10")
    )
    services.appointment_reschedule(
        appointment=a,
        actor=receptionist,
        new_start=at(TODAY, "10:20"),
        reason="Patient asked",
        now=at(YESTERDAY, "08:20"),
    )
    services.appointment_act(
        appointment=a, actor=doctor.user, action="check_in", now=at(TODAY, "08:00")
    )
    response = desk.get(detail_url(a))
    timeline = response.context["timeline"]
    assert [(e.title, e.who) for e in timeline] == [
        ("Booked as requested", "Pia Long"),
        ("Requested → Confirmed", "Rita Desk"),
        (f"Moved from {TODAY:%a %d %b} 09:40 to {TODAY:%a %d %b} 10:20", "Rita Desk"),
        ("Confirmed → Checked in", doctor.user.full_name),
    ]
    assert timeline[2].detail == "Patient asked"
    assert len(timeline) == Transition.objects.filter(appointment=a).count() + 1
    page = response.content.decode()
    assert page.count("<li><strong>") >= 4
    assert "Reschedule history" in page
    assert "Patient asked" in page
    assert "data-waiting-since=" in page


def test_declines_and_no_shows_read_as_such_in_the_timeline(desk, visit_type, receptionist):
    declined, missed = book_many(visit_type, 2, TODAY)
    services.appointment_act(
        appointment=declined, actor=receptionist, action="decline", reason="Doctor away"
    )
    services.appointment_act(appointment=missed, actor=receptionist, action="confirm")
    services.appointment_act(
        appointment=missed,
        actor=receptionist,
        action="no_show",
        excused=True,
        now=missed.start + dt.timedelta(minutes=20),
    )
    assert desk.get(detail_url(declined)).context["timeline"][-1].title == "Declined"
    last = desk.get(detail_url(missed)).context["timeline"][-1]
    assert last.title == "Confirmed → No-show (excused)"
    assert last.who == "Rita Desk"


def test_screen_of_another_doctors_appointment_is_not_found(
    client, doctor, visit_type, other_clinic
):
    theirs = book(other_clinic[1], at(TODAY, "11:00"), actor=make_user(Role.RECEPTIONIST))
    client.force_login(doctor.user)
    assert client.get(detail_url(theirs)).status_code == 404
    for action in ("confirm", "cancel", "check_in", "no_show", "decline"):
        response = client.post(
            detail_url(theirs),
            {"action": action, "cancel-reason": "x", "decline-reason": "x"},
        )
        assert response.status_code == 404
    assert client.get(reschedule_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.CONFIRMED
    assert Transition.objects.filter(appointment=theirs).count() == 1


def test_unknown_references_and_actions_are_not_found(desk, visit_type):
    a = book_many(visit_type, 1)[0]
    assert desk.get("/admin/clinic/appointments/NOSUCH99/").status_code == 404
    assert desk.get("/admin/clinic/appointments/x%00y/").status_code == 404
    assert desk.post(detail_url(a), {"action": "complete"}).status_code == 404
    assert desk.post(detail_url(a), {"action": "delete"}).status_code == 404
    assert desk.post(detail_url(a), {}).status_code == 404


@pytest.mark.parametrize("role", [Role.PATIENT, Role.EDITOR])
def test_patients_and_editors_never_act_from_the_screen(client, visit_type, role):
    a = book_many(visit_type, 1)[0]
    user = a.patient if role == Role.PATIENT else make_user(role)
    client.force_login(user)
    assert_refused(client.get(detail_url(a)))
    assert_refused(client.post(detail_url(a), {"action": "cancel", "cancel-reason": "x"}))
    a.refresh_from_db()
    assert a.status == Status.REQUESTED


# What each staff role may do, by the appointment's state (scheduling-rules.md, Lifecycle);
# "complete" belongs to the record screen, "reschedule" to its own screen.
STATES = {
    "requested": {"confirm", "decline", "cancel"},
    "confirmed_before_start": {"cancel", "check_in"},
    "confirmed_after_start": {"cancel", "check_in", "no_show"},
    "confirmed_tomorrow": {"cancel"},
    "checked_in": set(),
    "cancelled": set(),
}
RESCHEDULABLE = {
    "requested",
    "confirmed_before_start",
    "confirmed_after_start",
    "confirmed_tomorrow",
}
STAFF = ["receptionist", "admin", "own_doctor"]
ACTIONS = ("confirm", "decline", "cancel", "check_in", "no_show")
AFTER = {
    "confirm": Status.CONFIRMED,
    "decline": Status.CANCELLED,
    "cancel": Status.CANCELLED,
    "check_in": Status.CHECKED_IN,
    "no_show": Status.NO_SHOW,
}


def _in_state(state, visit_type, clock) -> Appointment:
    day = TODAY + dt.timedelta(days=1) if state == "confirmed_tomorrow" else TODAY
    a = book(visit_type, at(day, "11:00"), now=at(YESTERDAY, "08:00"))
    doctor_user = visit_type.doctor.user
    if state != "requested":
        services.appointment_act(
            appointment=a, actor=doctor_user, action="confirm", now=at(YESTERDAY, "09:00")
        )
    if state == "checked_in":
        services.appointment_act(appointment=a, actor=doctor_user, action="check_in")
    if state == "cancelled":
        services.appointment_act(appointment=a, actor=doctor_user, action="cancel", reason="x")
    if state == "confirmed_after_start":
        clock.move_to(at(TODAY, "11:15"), tick=False)
    a.refresh_from_db()
    return a


def _staff_user(who, doctor):
    return doctor.user if who == "own_doctor" else make_user(Role(who))


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize("state", list(STATES))
def test_screen_offers_exactly_the_actions_the_rules_allow(client, clock, visit_type, who, state):
    a = _in_state(state, visit_type, clock)
    user = _staff_user(who, visit_type.doctor)
    client.force_login(user)
    response = client.get(detail_url(a))
    assert response.status_code == 200
    assert {action["name"] for action in response.context["actions"]} == STATES[state]
    # Staff move requested and confirmed appointments at any time before check-in.
    assert response.context["can_reschedule"] == (state in RESCHEDULABLE)


@pytest.mark.parametrize("who", STAFF)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", list(STATES))
def test_each_action_is_taken_or_refused_exactly_as_the_rules_say(
    client, clock, visit_type, who, action, state
):
    a = _in_state(state, visit_type, clock)
    user = _staff_user(who, visit_type.doctor)
    before = Transition.objects.filter(appointment=a).count()
    status_before = a.status
    client.force_login(user)
    response = client.post(
        detail_url(a),
        {
            "action": action,
            "decline-reason": "The doctor is away",
            "cancel-reason": "Clinic closed",
            "no_show-excused": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    a.refresh_from_db()
    transitions = Transition.objects.filter(appointment=a).order_by("pk")
    if action in STATES[state]:
        assert a.status == AFTER[action]
        assert transitions.count() == before + 1
        last = transitions.last()
        assert (last.by, last.to_status) == (user, AFTER[action])
        assert any(
            m.startswith(("Confirmed ", "Declined ", "Cancelled ", "Checked in ", "Marked "))
            for m in messages_of(response)
        )
        if action == "decline":
            assert a.cancellation_reason == "The doctor is away"
            assert last.details.get("declined") is True
        if action == "cancel":
            assert a.cancellation_reason == "Clinic closed"
        if action == "no_show":
            assert a.no_show_excused is True
        if action == "check_in":
            assert a.queue_position == 1
    else:
        assert a.status == status_before
        assert transitions.count() == before
        assert messages_of(response)  # the refusal is said, not silent


@pytest.mark.parametrize("action", ["decline", "cancel"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_decline_or_cancel_without_a_reason_is_400_with_the_error_and_changes_nothing(
    desk, visit_type, action, reason
):
    a = book_many(visit_type, 1)[0]
    response = desk.post(detail_url(a), {"action": action, f"{action}-reason": reason})
    assert response.status_code == 400
    assert "Please give a reason; the patient will see it." in response.content.decode()
    form = next(x["form"] for x in response.context["actions"] if x["name"] == action)
    assert form.errors["reason"]
    a.refresh_from_db()
    assert a.status == Status.REQUESTED
    assert Transition.objects.filter(appointment=a).count() == 1


def test_a_too_long_reason_is_400_next_to_the_field(desk, visit_type):
    a = book_many(visit_type, 1)[0]
    response = desk.post(detail_url(a), {"action": "decline", "decline-reason": "x" * 2001})
    assert response.status_code == 400
    a.refresh_from_db()
    assert a.status == Status.REQUESTED


def test_next_on_the_same_host_is_followed(desk, visit_type):
    a = book_many(visit_type, 1)[0]
    response = desk.post(detail_url(a), {"action": "confirm", "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    a.refresh_from_db()
    assert a.status == Status.CONFIRMED


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/phish",
        "http://evil.example/admin/",
        "javascript:alert(1)",
        "https:///evil.example",
        "\\\\evil.example",
    ],
)
def test_next_to_another_host_is_ignored(desk, visit_type, target):
    a = book_many(visit_type, 1)[0]
    response = desk.post(detail_url(a), {"action": "confirm", "next": target})
    assert response.status_code == 302
    assert response["Location"] == detail_url(a)


def test_refused_action_with_next_still_returns_and_says_why(desk, visit_type):
    a = book_many(visit_type, 1)[0]
    response = desk.post(detail_url(a), {"action": "check_in", "next": "/admin/"}, follow=True)
    assert response.redirect_chain[0] == ("/admin/", 302)
    assert messages_of(response)
    a.refresh_from_db()
    assert a.status == Status.REQUESTED


# --- Rescheduling on the patient's behalf -----------------------------------------------------


@pytest.fixture
def soon(visit_type):
    """Confirmed for 09:40 today: inside the patient's 2-hour reschedule cut-off."""
    return book(
        visit_type,
        at(TODAY, "09:40"),
        actor=make_user(Role.RECEPTIONIST),
        now=at(YESTERDAY, "08:00"),
    )


def slot_links(response) -> list[str]:
    return [
        unescape(u)
        for u in re.findall(r'<a class="cp-slot" href="([^"]+)"', response.content.decode())
    ]


def test_reschedule_screen_offers_the_doctors_free_times_inside_the_patient_cut_off(
    desk, soon, visit_type
):
    ctx = action_context(soon.patient, soon, now=at(TODAY, "08:00"), policies=get_policies())
    with pytest.raises(RescheduleCutoff):
        check("reschedule", ctx)  # the patient could no longer move it online
    response = desk.get(reschedule_url(soon))
    assert response.status_code == 200
    starts = [
        dt.datetime.fromisoformat(parse_qs(urlsplit(u).query)["start"][0])
        for u in slot_links(response)
    ]
    today_starts = [s for s in starts if s.date() == TODAY]
    # The whole grid, its own 09:40 included (its own time does not block its new one); 09:00
    # is exactly the 60-minute notice away.
    assert [f"{s:%H:%M}" for s in today_starts] == list(GRID)
    assert len(starts) == response.context["slot_count"]


def test_choosing_a_slot_shows_the_confirmation(desk, soon):
    new = at(TODAY, "11:00")
    response = desk.get(reschedule_url(soon, start=new.isoformat()))
    assert response.status_code == 200
    assert response.context["new_start"] == new
    assert "Move the appointment" in response.content.decode()


def test_front_desk_moves_the_appointment_and_the_move_is_recorded(
    desk, soon, receptionist, visit_type
):
    new = at(TODAY, "11:00")
    response = desk.post(
        reschedule_url(soon),
        {"start": new.isoformat(), "visit_type": visit_type.pk, "move-reason": "Running late"},
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(soon)
    soon.refresh_from_db()
    assert soon.start == new
    assert soon.status == Status.CONFIRMED
    assert soon.reschedule_count == 0  # staff moves do not count against the patient's limit
    move = Reschedule.objects.get(appointment=soon)
    assert (move.old_start, move.new_start) == (at(TODAY, "09:40"), new)
    assert move.changed_by == receptionist
    assert move.reason == "Running late"
    history = desk.get(detail_url(soon)).content.decode()
    assert "Rita Desk" in history
    assert "Running late" in history


def test_doctor_moves_their_own_appointment(client, doctor, soon):
    client.force_login(doctor.user)
    new = at(TODAY, "12:20")
    response = client.post(reschedule_url(soon), {"start": new.isoformat()})
    assert response.status_code == 302
    soon.refresh_from_db()
    assert soon.start == new
    assert Reschedule.objects.get(appointment=soon).changed_by == doctor.user


def test_a_taken_slot_is_refused_with_a_message_and_nothing_moves(desk, soon, visit_type):
    taken = book(
        visit_type,
        at(TODAY, "11:00"),
        actor=make_user(Role.RECEPTIONIST),
        now=at(YESTERDAY, "08:00"),
    )
    response = desk.post(reschedule_url(soon), {"start": taken.start.isoformat()}, follow=True)
    assert response.redirect_chain[0][0] == reschedule_url(soon)
    assert "That time has just been taken; please choose another." in messages_of(response)
    soon.refresh_from_db()
    assert soon.start == at(TODAY, "09:40")
    assert not Reschedule.objects.exists()


@pytest.mark.parametrize("start", ["", "tomorrow", "2031-03-03T11:00", "0001-01-01T00:00+00:00"])
def test_a_missing_or_unreadable_new_time_is_400_and_nothing_moves(desk, soon, start):
    response = desk.post(reschedule_url(soon), {"start": start})
    assert response.status_code == 400
    soon.refresh_from_db()
    assert soon.start == at(TODAY, "09:40")
    assert not Reschedule.objects.exists()


def test_a_time_off_the_grid_is_refused(desk, soon):
    response = desk.post(reschedule_url(soon), {"start": at(TODAY, "10:05").isoformat()})
    assert response.status_code == 302
    soon.refresh_from_db()
    assert soon.start == at(TODAY, "09:40")
    assert not Reschedule.objects.exists()


def test_a_checked_in_appointment_can_no_longer_be_moved(desk, soon, receptionist):
    services.appointment_act(appointment=soon, actor=receptionist, action="check_in")
    response = desk.get(reschedule_url(soon), follow=True)
    assert response.redirect_chain[0][0] == detail_url(soon)
    assert "This appointment can no longer be moved." in messages_of(response)
    response = desk.post(reschedule_url(soon), {"start": at(TODAY, "11:00").isoformat()})
    soon.refresh_from_db()
    assert soon.start == at(TODAY, "09:40")
    assert not Reschedule.objects.exists()


# --- The calendar -----------------------------------------------------------------------------


def _calendar_refs(response) -> dict[dt.date, list[str]]:
    assert response.status_code == 200
    return {
        column["day"]: [item["appointment"].reference for item in column["appointments"]]
        for column in response.context["columns"]
    }


def test_front_desk_sees_any_doctors_day(desk, doctor, visit_type, other_clinic):
    mine = staff_book(visit_type, at(DAY, "09:40"))
    theirs = staff_book(other_clinic[1], at(DAY, "11:00"))
    response = desk.get(CALENDAR_URL, {"doctor": other_clinic[0].pk, "date": DAY, "view": "day"})
    assert response.context["doctor"] == other_clinic[0]
    assert _calendar_refs(response) == {DAY: [theirs.reference]}
    assert len(response.context["doctors"]) == 2
    response = desk.get(CALENDAR_URL, {"doctor": doctor.pk, "date": DAY, "view": "day"})
    assert _calendar_refs(response) == {DAY: [mine.reference]}


def test_week_view_places_each_appointment_on_its_day(desk, doctor, visit_type):
    monday = staff_book(visit_type, at(TODAY, "12:20"))
    wednesday = staff_book(visit_type, at(DAY, "09:00"))
    sunday = staff_book(visit_type, at(TODAY + dt.timedelta(days=6), "10:20"))
    next_week = staff_book(visit_type, at(TODAY + dt.timedelta(days=7), "10:20"))
    response = desk.get(CALENDAR_URL, {"doctor": doctor.pk, "date": DAY, "view": "week"})
    by_day = _calendar_refs(response)
    assert list(by_day) == [TODAY + dt.timedelta(days=i) for i in range(7)]
    assert by_day[TODAY] == [monday.reference]
    assert by_day[DAY] == [wednesday.reference]
    assert by_day[TODAY + dt.timedelta(days=6)] == [sunday.reference]
    assert next_week.reference not in str(by_day)
    page = response.content.decode()
    assert detail_url(wednesday) in page
    assert wednesday.patient.full_name in page


def test_week_is_the_default_view(desk, doctor):
    response = desk.get(CALENDAR_URL, {"doctor": doctor.pk})
    assert response.context["week"] is True
    assert len(response.context["columns"]) == 7


def test_doctor_always_sees_their_own_calendar(client, doctor, visit_type, other_clinic):
    mine = staff_book(visit_type, at(DAY, "09:40"))
    staff_book(other_clinic[1], at(DAY, "11:00"))
    client.force_login(doctor.user)
    for view in ("day", "week"):
        response = client.get(
            CALENDAR_URL, {"doctor": other_clinic[0].pk, "date": DAY, "view": view}
        )
        assert response.context["doctor"] == doctor
        assert response.context["doctors"] == []
        found = [ref for refs_ in _calendar_refs(response).values() for ref in refs_]
        assert found == [mine.reference]
        assert "Dr Ben Okafor" not in response.content.decode()


def test_calendar_days_are_the_clinics_local_days(settings, client):
    settings.TIME_ZONE = "Pacific/Auckland"
    doctor, visit_type = bookable_doctor()
    morning = staff_book(visit_type, at(DAY, "09:00"))
    client.force_login(make_user(Role.RECEPTIONIST))
    response = client.get(CALENDAR_URL, {"doctor": doctor.pk, "date": DAY, "view": "week"})
    by_day = _calendar_refs(response)
    assert by_day[DAY] == [morning.reference]
    assert by_day[DAY - dt.timedelta(days=1)] == []


def test_cancelled_appointments_stay_on_the_calendar_but_holds_do_not(desk, doctor, visit_type):
    cancelled = staff_book(visit_type, at(DAY, "09:00"))
    services.appointment_act(
        appointment=cancelled, actor=make_user(Role.RECEPTIONIST), action="cancel", reason="x"
    )
    Appointment.objects.filter(pk=cancelled.pk)  # still listed, shown with its status
    response = desk.get(CALENDAR_URL, {"doctor": doctor.pk, "date": DAY, "view": "day"})
    assert _calendar_refs(response) == {DAY: [cancelled.reference]}
    assert "cp-cal__appt--cancelled" in response.content.decode()


def test_calendar_days_are_labelled_sections_with_lists_of_appointments(desk, doctor, visit_type):
    """Regression (axe: aria-required-children): the calendar claimed table roles (table, rowgroup,
    row) without cells; each day is now a section named by its heading, its visits a list."""
    booked = staff_book(visit_type, at(DAY, "09:00"))
    response = desk.get(CALENDAR_URL, {"doctor": doctor.pk, "date": DAY, "view": "week"})
    html = response.content.decode()
    assert 'role="table"' not in html and 'role="row"' not in html
    assert 'role="rowgroup"' not in html
    days = re.findall(r'<section class="cp-cal__day[^"]*" aria-labelledby="([^"]+)">', html)
    assert len(days) == 7
    for label in days:
        assert f'id="{label}"' in html
    item = re.search(r'<ul class="cp-cal__list" role="list">\s*<li><a [^>]*href="([^"]+)"', html)
    assert item and booked.reference in item.group(1)


@pytest.mark.parametrize(
    "date",
    ["garbage", "2031-02-30", "0001-01-01", "9999-12-31", "99999-01-01", "\x00", "2031-13-01"],
)
@pytest.mark.parametrize("view", ["day", "week", "bogus"])
def test_a_bad_calendar_date_falls_back_to_today(desk, doctor, date, view):
    response = desk.get(CALENDAR_URL, {"doctor": doctor.pk, "date": date, "view": view})
    assert response.status_code == 200
    assert response.context["chosen"] == TODAY


@pytest.mark.parametrize("wanted", ["abc", "99999", "\x00", ""])
def test_a_bad_doctor_on_the_calendar_falls_back_to_the_first(desk, doctor, wanted):
    response = desk.get(CALENDAR_URL, {"doctor": wanted})
    assert response.status_code == 200
    assert response.context["doctor"] == doctor


@pytest.mark.parametrize("role", [Role.PATIENT, Role.EDITOR])
def test_patients_and_editors_do_not_reach_the_calendar(client, doctor, role):
    client.force_login(make_user(role))
    assert_refused(client.get(CALENDAR_URL))
