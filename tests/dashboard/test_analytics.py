"""The analytics screen (product.md §9; permissions.md "analytics, CSV export").

A small clinic in Europe/London (summer time, UTC+1), the week Monday 2 - Sunday 8 June 2031,
every figure worked out by hand:

Dr Ada Hart: 30-minute visits, weekly windows Mon-Fri 09:00-13:00, a day off on Wednesday and
extra hours 10:00-12:00 on Saturday → offered 4 x 240 + 120 = 1,080 minutes.

    day  start  status      booked (lead)  checked in → completed (wait)  payment
    Mon  09:00  COMPLETED   7 d            08:55 → 09:25 (30 min)          paid 40
    Mon  09:40  COMPLETED   3 d            09:40 → 10:00 (20 min)          paid 40
    Mon  10:20  NO_SHOW     1 d
    Mon  11:00  CANCELLED   2 d                                             refunded 40
    Tue  09:00  COMPLETED   2 d            09:00 → 09:40 (40 min)
    Tue  09:40  COMPLETED   4 d            09:45 → 09:55 (10 min)
    Tue  10:20  CONFIRMED   5 d            (past, never marked)
    Sat  10:00  CHECKED_IN  12 h           10:00
    Sat  10:40  COMPLETED   walk-in        10:40 → 11:30 (50 min)

Dr Ben Okafor: 15-minute visits, weekly windows Mon and Tue 14:00-18:00 → offered 480 minutes.

    Mon  00:30  CONFIRMED   2 d    (Sunday 23:30 UTC: a Monday appointment in clinic time)
    Mon  14:00  NO_SHOW     10 d
    Mon  14:25  CANCELLED   1 d
    Tue  14:00  COMPLETED   6 d    13:55 → 14:10 (15 min)                   paid 50
    Tue  14:25  REQUESTED   1 d
    Tue  14:50  CONFIRMED   3 d

Left out: a HELD and a RELEASED row in the week (holds are not appointments), Sunday 1 June
23:30 and Monday 9 June 00:15 clinic time (outside the week, though 9 June 00:15 is still
Sunday in UTC), and Dr Cy Inactive (inactive, no appointments).

Hand-computed:
* per day: Mon 2 completed, 1 confirmed, 2 no-shows, 2 cancelled (7); Tue 3 completed,
  2 confirmed, 1 requested (6); Sat 1 completed, 1 checked in (2); other days 0. 15 in all.
* cancellation rate = cancelled ÷ appointments: 2/15 overall, Hart 1/9, Okafor 1/6;
  Mon 2/7, Tue 0/6, Sat 0/2.
* no-show rate = no-shows ÷ (checked in + completed + no-shows): 2/9 overall, Hart 1/7,
  Okafor 1/2; Mon 2/4, Tue 0/3, Sat 0/2, other days — (nothing due).
* peak hours (not cancelled, by local start): Tue 14:00 has 3 (Okafor 14:00, 14:25, 14:50).
* utilisation: Hart 8 x 30 = 240 of 1,080 min (22.2 %), Okafor 5 x 15 = 75 of 480 (15.6 %),
  all 315 of 1,560 (20.2 %).
* waiting (percentile_cont, h = (n - 1) · 0.9): Hart 10, 20, 30, 40, 50 → average 30,
  p90 at h = 3.6 → 40 + 0.6 · 10 = 46 min; Okafor 15 → 15; everyone 10, 15, 20, 30, 40, 50 →
  average 27.5, p90 at h = 4.5 → 40 + 0.5 · 10 = 45 min.
* lead time (not cancelled, no walk-ins): Hart 0.5, 1, 2, 3, 4, 5, 7 days → average 22.5 / 7;
  Okafor 1, 2, 3, 6, 10 → average 4.4; everyone (12 values) → 44.5 / 12 ≈ 3.7 days. (The
  percentile helpers are checked on these values too: Hart's median 3, p90 at h = 5.4 → 5.8
  days, 25th percentile at h = 1.5 → 1.5 days.)
* revenue 130.00 (Hart 80, Okafor 50), refunds 40.00 (Hart).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import random
import re
from decimal import Decimal
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Avg
from django.test.utils import CaptureQueriesContext

from booking.models import Appointment, HoldKind, PaymentStatus, Status
from clinic_site.accounts.roles import Role
from dashboard.analytics import (
    APPOINTMENT_STATUSES,
    LEAD,
    WAIT,
    Report,
    Scope,
    offered_minutes,
    offered_minutes_per_doctor,
    window_percentiles,
)
from dashboard.charts import nice_ticks
from doctors import rules
from doctors.models import ExceptionKind, ScheduleException
from tests.conftest import on_postgres
from tests.factories import DoctorFactory, VisitTypeFactory, give_week, make_user

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
MONDAY = dt.date(2031, 6, 2)
SUNDAY = MONDAY + dt.timedelta(days=6)
URL = "/admin/clinic/analytics/"
WEEK = {"date_from": "2031-06-02", "date_to": "2031-06-08"}
_references = itertools.count(1)


@pytest.fixture(autouse=True)
def clinic_zone(settings, time_machine):
    settings.TIME_ZONE = "Europe/London"
    time_machine.move_to(dt.datetime(2031, 6, 20, 12, 0, tzinfo=LONDON), tick=False)


def local(day: dt.date, hhmm: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=LONDON)


def add(
    visit_type,
    day_offset: int,
    hhmm: str,
    status: str,
    *,
    lead: dt.timedelta | None = None,
    waited: tuple[str, str] | None = None,
    payment: str = PaymentStatus.AT_DESK,
    walk_in: bool = False,
    **extra,
) -> Appointment:
    """One appointment row, consistent with the booking service's invariants (blocked range =
    start - 5 min … end + 5 min, unique reference, one patient each)."""
    day = MONDAY + dt.timedelta(days=day_offset)
    start = local(day, hhmm)
    end = start + dt.timedelta(minutes=visit_type.duration_minutes)
    buffer = dt.timedelta(minutes=5)
    created = start - lead if lead is not None else start - dt.timedelta(minutes=5)
    checked_in = completed = None
    if waited:
        checked_in = local(day, waited[0])
        completed = local(day, waited[1]) if waited[1] else None
    return Appointment.objects.create(
        reference=f"AN{next(_references):06d}",
        doctor=visit_type.doctor,
        patient=make_user(Role.PATIENT),
        visit_type=visit_type,
        start=start,
        end=end,
        buffer_before=buffer,
        buffer_after=buffer,
        blocked_start=start - buffer,
        blocked_end=end + buffer,
        status=status,
        created_at=created,
        checked_in_at=checked_in,
        completed_at=completed,
        price=visit_type.price,
        payment_status=payment,
        walk_in=walk_in,
        **extra,
    )


DAY = dt.timedelta(days=1)


@pytest.fixture
def clinic():
    hart = DoctorFactory(name="Dr Ada Hart", slug="ada-hart")
    give_week(hart, (("09:00", "13:00"),), weekdays=range(5))
    ScheduleException.objects.create(
        doctor=hart,
        kind=ExceptionKind.DAY_OFF,
        date_from=MONDAY + 2 * DAY,
        date_to=MONDAY + 2 * DAY,
    )
    ScheduleException.objects.create(
        doctor=hart,
        kind=ExceptionKind.EXTRA_HOURS,
        date_from=MONDAY + 5 * DAY,
        date_to=MONDAY + 5 * DAY,
        start=dt.time(10),
        end=dt.time(12),
    )
    okafor = DoctorFactory(name="Dr Ben Okafor", slug="ben-okafor")
    give_week(okafor, (("14:00", "18:00"),), weekdays=(0, 1))
    inactive = DoctorFactory(name="Dr Cy Inactive", slug="cy-inactive", is_active=False)
    give_week(inactive, (("09:00", "17:00"),), weekdays=range(5))

    ada = VisitTypeFactory(doctor=hart, duration_minutes=30, price=40)
    ben = VisitTypeFactory(doctor=okafor, duration_minutes=15, price=50)
    paid, refunded = PaymentStatus.PAID, PaymentStatus.REFUNDED
    add(ada, 0, "09:00", Status.COMPLETED, lead=7 * DAY, waited=("08:55", "09:25"), payment=paid)
    add(ada, 0, "09:40", Status.COMPLETED, lead=3 * DAY, waited=("09:40", "10:00"), payment=paid)
    add(ada, 0, "10:20", Status.NO_SHOW, lead=1 * DAY)
    add(ada, 0, "11:00", Status.CANCELLED, lead=2 * DAY, payment=refunded)
    add(ada, 1, "09:00", Status.COMPLETED, lead=2 * DAY, waited=("09:00", "09:40"))
    add(ada, 1, "09:40", Status.COMPLETED, lead=4 * DAY, waited=("09:45", "09:55"))
    add(ada, 1, "10:20", Status.CONFIRMED, lead=5 * DAY)
    add(ada, 5, "10:00", Status.CHECKED_IN, lead=DAY / 2, waited=("10:00", None))
    add(ada, 5, "10:40", Status.COMPLETED, walk_in=True, waited=("10:40", "11:30"))
    add(ben, 0, "00:30", Status.CONFIRMED, lead=2 * DAY)
    add(ben, 0, "14:00", Status.NO_SHOW, lead=10 * DAY)
    add(ben, 0, "14:25", Status.CANCELLED, lead=1 * DAY)
    add(ben, 1, "14:00", Status.COMPLETED, lead=6 * DAY, waited=("13:55", "14:10"), payment=paid)
    add(ben, 1, "14:25", Status.REQUESTED, lead=1 * DAY)
    add(ben, 1, "14:50", Status.CONFIRMED, lead=3 * DAY)
    # Not appointments, or not in the week:
    add(
        ada,
        3,
        "09:00",
        Status.HELD,
        hold_kind=HoldKind.PAYMENT,
        hold_expires_at=local(MONDAY + 3 * DAY, "08:00"),
    )
    add(ada, 4, "09:00", Status.RELEASED, lead=DAY)
    add(ada, -1, "23:30", Status.COMPLETED, lead=DAY, waited=("23:30", "23:50"))
    add(ada, 7, "00:15", Status.CONFIRMED, lead=DAY)
    return {"hart": hart, "okafor": okafor, "inactive": inactive}


def report(doctor=None) -> Report:
    return Report(Scope(MONDAY, SUNDAY, doctor.pk if doctor else None))


def minutes(value: dt.timedelta) -> float:
    return value.total_seconds() / 60


def days(value: dt.timedelta) -> float:
    return value.total_seconds() / 86400


# --- The figures ------------------------------------------------------------------------------


def test_appointments_per_day_by_local_date_and_status(clinic):
    rows = {row.day: row.counts for row in report().per_day}
    assert list(rows) == [MONDAY + i * DAY for i in range(7)]
    monday, tuesday, saturday = rows[MONDAY], rows[MONDAY + DAY], rows[MONDAY + 5 * DAY]
    assert (monday.completed, monday.confirmed, monday.no_show, monday.cancelled) == (2, 1, 2, 2)
    assert monday.total == 7
    assert (tuesday.completed, tuesday.confirmed, tuesday.requested, tuesday.total) == (3, 2, 1, 6)
    assert (saturday.completed, saturday.checked_in, saturday.total) == (1, 1, 2)
    assert [rows[MONDAY + i * DAY].total for i in (2, 3, 4, 6)] == [0, 0, 0, 0]


def test_appointments_per_doctor_by_status_skip_inactive_doctor_without_appointments(clinic):
    rows = {row.name: row.counts for row in report().per_doctor}
    assert list(rows) == ["Dr Ada Hart", "Dr Ben Okafor"]
    hart, okafor = rows["Dr Ada Hart"], rows["Dr Ben Okafor"]
    assert (hart.completed, hart.checked_in, hart.confirmed, hart.no_show, hart.cancelled) == (
        5,
        1,
        1,
        1,
        1,
    )
    assert hart.total == 9
    assert (okafor.completed, okafor.confirmed, okafor.requested, okafor.no_show) == (1, 2, 1, 1)
    assert (okafor.cancelled, okafor.total) == (1, 6)


def test_no_show_and_cancellation_rates_overall_per_doctor_and_per_weekday(clinic):
    figures = report()
    assert figures.overall.total == 15
    assert figures.overall.no_show_rate == pytest.approx(2 / 9)
    assert figures.overall.cancellation_rate == pytest.approx(2 / 15)
    by_doctor = {row.name: row.counts for row in figures.per_doctor}
    assert by_doctor["Dr Ada Hart"].no_show_rate == pytest.approx(1 / 7)
    assert by_doctor["Dr Ada Hart"].cancellation_rate == pytest.approx(1 / 9)
    assert by_doctor["Dr Ben Okafor"].no_show_rate == pytest.approx(1 / 2)
    assert by_doctor["Dr Ben Okafor"].cancellation_rate == pytest.approx(1 / 6)
    by_weekday = {row.name: row.counts for row in figures.per_weekday}
    assert by_weekday["Monday"].no_show_rate == pytest.approx(1 / 2)
    assert by_weekday["Monday"].cancellation_rate == pytest.approx(2 / 7)
    assert by_weekday["Tuesday"].no_show_rate == 0
    assert by_weekday["Tuesday"].cancellation_rate == 0
    assert by_weekday["Saturday"].no_show_rate == 0
    assert by_weekday["Wednesday"].no_show_rate is None
    assert by_weekday["Wednesday"].cancellation_rate is None


def test_peak_hour_is_tuesday_two_pm_in_clinic_time(clinic):
    peak = report().peak_hours
    assert peak.peak == (2, 14, 3)
    assert peak.count(1, 0) == 1  # Okafor's 00:30 on Monday (23:30 on Sunday in UTC)
    assert peak.count(1, 9) == 2
    assert peak.count(1, 11) == 0  # Hart's 11:00 was cancelled
    assert peak.count(6, 10) == 2
    assert peak.hours == list(range(0, 19))


def test_utilisation_is_booked_over_offered_minutes_of_the_working_windows(clinic):
    figure = report().utilisation
    rows = {row.name: row for row in figure.rows}
    assert list(rows) == ["Dr Ada Hart", "Dr Ben Okafor"]
    hart, okafor = rows["Dr Ada Hart"], rows["Dr Ben Okafor"]
    assert (hart.offered_minutes, hart.booked_minutes) == (1080, 240)
    assert hart.rate == pytest.approx(240 / 1080)
    assert (okafor.offered_minutes, okafor.booked_minutes) == (480, 75)
    assert (figure.total.offered_minutes, figure.total.booked_minutes) == (1560, 315)


def test_waiting_time_average_and_interpolated_90th_percentile(clinic):
    figure = report().waiting
    hart = {row.name: row.stats for row in figure.rows}["Dr Ada Hart"]
    okafor = {row.name: row.stats for row in figure.rows}["Dr Ben Okafor"]
    assert (hart.count, minutes(hart.average), minutes(hart.p90)) == (5, 30, 46)
    assert (okafor.count, minutes(okafor.average), minutes(okafor.p90)) == (1, 15, 15)
    total = figure.total.stats
    assert (total.count, minutes(total.average), minutes(total.p90)) == (6, 27.5, 45)


def test_lead_time_average_without_walk_ins(clinic):
    figure = report().lead_time
    rows = {row.name: row.stats for row in figure.rows}
    hart, okafor, total = rows["Dr Ada Hart"], rows["Dr Ben Okafor"], figure.total.stats
    assert (hart.count, days(hart.average)) == (7, pytest.approx(22.5 / 7))
    assert (okafor.count, days(okafor.average)) == (5, pytest.approx(4.4))
    assert (total.count, days(total.average)) == (12, pytest.approx((22.5 + 22) / 12))


def test_revenue_and_refunds_by_payment_status(clinic):
    figure = report().money
    rows = {row.name: (row.revenue, row.refunds) for row in figure.rows}
    assert rows == {
        "Dr Ada Hart": (Decimal("80.00"), Decimal("40.00")),
        "Dr Ben Okafor": (Decimal("50.00"), Decimal("0.00")),
    }
    assert (figure.total.revenue, figure.total.refunds) == (Decimal("130.00"), Decimal("40.00"))


def test_one_doctor_scope_covers_only_their_appointments(clinic):
    figures = report(clinic["okafor"])
    assert figures.overall.total == 6
    assert [row.name for row in figures.per_doctor] == ["Dr Ben Okafor"]
    assert figures.utilisation.total.offered_minutes == 480
    assert minutes(figures.waiting.total.stats.p90) == 15


def test_empty_period_gives_zeros_and_no_rates(clinic):
    figures = Report(Scope(dt.date(2030, 1, 1), dt.date(2030, 1, 31)))
    assert figures.overall.total == 0
    assert figures.overall.no_show_rate is None
    assert figures.waiting.total.stats.p90 is None
    assert figures.lead_time.total.stats.average is None
    assert figures.money.total.revenue == Decimal("0.00")
    assert figures.peak_hours.peak is None


def test_window_percentiles_match_percentile_cont_on_every_database(clinic):
    """The portable (window function) percentiles give PostgreSQL's percentile_cont values —
    on PostgreSQL the same query runs too, so both paths are checked against each other."""
    from dashboard.analytics import LEAD, LEAD_CONDITION, appointments_in

    qs = appointments_in(Scope(MONDAY, SUNDAY)).filter(LEAD_CONDITION)
    found = window_percentiles(qs, LEAD, [0.5, 0.9, 0.25], group="doctor_id")
    hart = found[clinic["hart"].pk]
    assert days(hart[0.5]) == 3
    assert days(hart[0.9]) == pytest.approx(5.8)
    assert days(hart[0.25]) == pytest.approx(1.5)  # h = 1.5 between 1 and 2 days
    if on_postgres():
        from dashboard.analytics import grouped_percentile

        native = grouped_percentile(qs, LEAD, 0.25)
        assert native[None] == window_percentiles(qs, LEAD, [0.25])[None][0.25]
        assert native[clinic["hart"].pk] == hart[0.25]


# --- The screen -------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """The cells of every table in a page, as text (empty cells shown as —)."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell, self._in_table = [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "table" and "cp-analytics__table-grid" in (dict(attrs).get("class") or ""):
            self.tables.append([])
            self._in_table = True
        elif tag == "table":
            self._in_table = False
        elif tag == "tr" and self._in_table:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self._in_table:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def page_tables(html: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def admin(client):
    client.force_login(make_user(Role.ADMIN))
    return client


@pytest.fixture
def desk(client):
    client.force_login(make_user(Role.RECEPTIONIST))
    return client


def test_admin_sees_every_figure_with_chart_table_and_export(admin, clinic):
    response = admin.get(URL, WEEK)
    assert response.status_code == 200
    html = response.content.decode()
    for key in (
        "per_day",
        "per_doctor",
        "rates_doctor",
        "rates_weekday",
        "peak_hours",
        "utilisation",
        "waiting",
        "lead_time",
        "revenue",
    ):
        assert f'id="figure-{key}"' in html
        assert f"export={key}" in html
    assert html.count('role="img"') == 9
    assert "<title" in html and "<desc" in html
    assert "<script" not in html.split('id="figure-per_day"')[1].split("</section>")[0]
    assert "Tuesday 14:00 with 3" in html


def test_every_csv_export_equals_its_table_on_the_page(admin, clinic):
    html = admin.get(URL, WEEK).content.decode()
    keys = re.findall(r"export=([a-z_]+)", html)
    assert len(keys) == 9
    tables = page_tables(html)
    assert len(tables) == 9
    for key, table in zip(keys, tables, strict=True):
        response = admin.get(URL, {**WEEK, "export": key})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = csv_rows(response)
        assert [[cell or "—" for cell in row] for row in rows] == table, key


def test_csv_exports_carry_the_hand_computed_figures(admin, clinic):
    rates = csv_rows(admin.get(URL, {**WEEK, "export": "rates_doctor"}))
    assert rates[0] == [
        "Doctor",
        "Appointments",
        "Cancelled",
        "Cancellation rate (%)",
        "Visits due",
        "No-shows",
        "No-show rate (%)",
    ]
    assert rates[1:] == [
        ["Dr Ada Hart", "9", "1", "11.1", "7", "1", "14.3"],
        ["Dr Ben Okafor", "6", "1", "16.7", "2", "1", "50.0"],
        ["All doctors", "15", "2", "13.3", "9", "2", "22.2"],
    ]
    per_day = csv_rows(admin.get(URL, {**WEEK, "export": "per_day"}))
    assert per_day[0] == [
        "Date",
        "Completed",
        "Checked in",
        "Confirmed",
        "Requested",
        "No-show",
        "Cancelled",
        "Total",
    ]
    assert per_day[1] == ["2031-06-02", "2", "0", "1", "0", "2", "2", "7"]
    assert per_day[-1] == ["All days", "6", "1", "3", "1", "2", "2", "15"]
    assert len(per_day) == 1 + 7 + 1
    waiting = csv_rows(admin.get(URL, {**WEEK, "export": "waiting"}))
    assert waiting[1:] == [
        ["Dr Ada Hart", "5", "30.0", "46.0"],
        ["Dr Ben Okafor", "1", "15.0", "15.0"],
        ["All doctors", "6", "27.5", "45.0"],
    ]
    lead = csv_rows(admin.get(URL, {**WEEK, "export": "lead_time"}))
    assert lead[-1] == ["All doctors", "12", "3.7"]
    utilisation = csv_rows(admin.get(URL, {**WEEK, "export": "utilisation"}))
    assert utilisation[1:] == [
        ["Dr Ada Hart", "18.0", "4.0", "22.2"],
        ["Dr Ben Okafor", "8.0", "1.2", "15.6"],
        ["All doctors", "26.0", "5.2", "20.2"],
    ]
    peak = csv_rows(admin.get(URL, {**WEEK, "export": "peak_hours"}))
    assert peak[0][:3] == ["Weekday", "00:00", "01:00"]
    assert peak[2][peak[0].index("14:00")] == "3"
    revenue = csv_rows(admin.get(URL, {**WEEK, "export": "revenue"}))
    assert revenue[0] == ["Doctor", "Revenue (£)", "Refunds (£)"]  # the cells stay numbers
    assert revenue[-1] == ["All doctors", "130.00", "40.00"]


def test_receptionist_sees_operational_figures_without_revenue(desk, clinic):
    response = desk.get(URL, WEEK)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="figure-waiting"' in html
    assert 'id="figure-revenue"' not in html
    assert "Revenue" not in html
    assert desk.get(URL, {**WEEK, "export": "revenue"}).status_code == 404
    assert desk.get(URL, {**WEEK, "export": "per_doctor"}).status_code == 200


def test_receptionist_can_narrow_to_one_doctor(desk, clinic):
    rows = csv_rows(desk.get(URL, {**WEEK, "doctor": clinic["hart"].pk, "export": "per_doctor"}))
    assert [row[0] for row in rows[1:]] == ["Dr Ada Hart", "All doctors"]
    assert rows[-1][-1] == "9"


def test_doctor_sees_only_their_own_figures_whatever_the_query_asks(client, clinic):
    user = make_user(Role.DOCTOR)
    clinic["okafor"].user = user
    clinic["okafor"].save()
    client.force_login(user)
    html = client.get(URL, {**WEEK, "doctor": clinic["hart"].pk}).content.decode()
    assert "Dr Ada Hart" not in html
    assert 'id="figure-revenue"' in html  # their own money
    rows = csv_rows(client.get(URL, {**WEEK, "doctor": clinic["hart"].pk, "export": "per_doctor"}))
    assert rows[1:] == [
        ["Dr Ben Okafor", "1", "0", "2", "1", "1", "1", "6"],
        ["All doctors", "1", "0", "2", "1", "1", "1", "6"],
    ]
    revenue = csv_rows(client.get(URL, {**WEEK, "export": "revenue"}))
    assert revenue[-1] == ["All doctors", "50.00", "0.00"]


def test_doctor_without_a_doctor_profile_sees_no_figures(client, clinic):
    client.force_login(make_user(Role.DOCTOR))
    response = client.get(URL, WEEK)
    assert response.status_code == 200
    assert "not linked to a doctor profile" in response.content.decode()
    assert client.get(URL, {**WEEK, "export": "per_day"}).status_code == 404


@pytest.mark.parametrize("role", [Role.PATIENT, Role.EDITOR])
def test_patients_and_editors_are_refused(client, role):
    client.force_login(make_user(role))
    response = client.get(URL)
    assert response.status_code == 302
    assert client.get(URL, {"export": "per_day"}).status_code == 302


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_default_period_is_the_last_30_days_up_to_today(admin, clinic):
    response = admin.get(URL)
    assert response.status_code == 200
    report_ = response.context["report"]
    assert (report_.scope.date_from, report_.scope.date_to) == (
        dt.date(2031, 5, 22),
        dt.date(2031, 6, 20),
    )
    assert report_.overall.total == 17  # with Sunday 1 and Monday 9 June


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "not-a-date"},
        {"date_to": "2031-02-30"},
        {"date_from": "2031-06-08", "date_to": "2031-06-01"},
        {"date_from": "2027-01-01", "date_to": "2031-06-01"},
        {"date_from": "0001-01-01", "date_to": "0001-01-02"},
        {"date_to": "9999-12-31"},
        {"date_from": "99999-01-01"},
        {"doctor": "nobody"},
        {"doctor": "999999"},
        {"doctor": "-1"},
        {"date_from": "2031-06-01\x00"},
    ],
)
def test_bad_filters_are_refused_with_a_message_never_a_crash(admin, clinic, params):
    response = admin.get(URL, params)
    assert response.status_code == 400
    assert "could not be shown" in response.content.decode()
    assert admin.get(URL, {**params, "export": "per_day"}).status_code == 400


def test_three_years_is_the_longest_period(admin, clinic):
    assert admin.get(URL, {"date_from": "2028-06-08", "date_to": "2031-06-08"}).status_code == 200
    assert admin.get(URL, {"date_from": "2028-06-07", "date_to": "2031-06-08"}).status_code == 400


def test_unknown_figure_is_not_found(admin, clinic):
    assert admin.get(URL, {**WEEK, "export": "secrets"}).status_code == 404


def test_analytics_is_in_the_menu_of_clinic_staff(admin, clinic):
    html = admin.get("/admin/").content.decode()
    assert URL in html


# --- The fast paths against a straightforward computation -------------------------------------


def _random_week(rng: random.Random) -> dict[int, list[tuple[dt.time, dt.time]]]:
    """Random weekly windows on a quarter-hour grid, often around 00:00-03:00, where the
    clocks change."""
    weekly: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday in range(7):
        windows = []
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            start = rng.choice((0, 1, 4, 5, 6, 8, 36, 40, 52, 80)) * 15
            end = min(start + rng.randrange(1, 24) * 15, 23 * 60 + 45)
            windows.append((dt.time(start // 60, start % 60), dt.time(end // 60, end % 60)))
        if windows:
            weekly[weekday] = windows
    return weekly


def _random_changes(rng: random.Random, first: dt.date, days: int) -> list[rules.ScheduleChange]:
    changes = []
    for _ in range(rng.randrange(0, 6)):
        date_from = first + dt.timedelta(days=rng.randrange(-5, days + 5))
        date_to = date_from + dt.timedelta(days=rng.choice((0, 0, 1, 3, 10)))
        if rng.random() < 0.5:
            changes.append(rules.ScheduleChange(ExceptionKind.DAY_OFF, date_from, date_to))
        else:
            start = rng.randrange(0, 80) * 15
            end = min(start + rng.randrange(1, 20) * 15, 23 * 60 + 45)
            changes.append(
                rules.ScheduleChange(
                    ExceptionKind.EXTRA_HOURS,
                    date_from,
                    date_to,
                    dt.time(start // 60, start % 60),
                    dt.time(end // 60, end % 60),
                )
            )
    return changes


@pytest.mark.parametrize(
    "zone",
    ["Europe/London", "Australia/Lord_Howe", "America/Havana", "America/Santiago", "UTC"],
)
def test_offered_minutes_per_doctor_equal_the_day_by_day_computation(zone):
    """Utilisation counts each doctor's steady days per weekday instead of working out every
    doctor-day; on random schedules, with exceptions and across daylight-saving changes
    (30-minute ones, and at midnight), it gives the minutes of the day-by-day computation."""
    tz = ZoneInfo(zone)
    rng = random.Random(zone)
    for first, length in ((dt.date(2031, 1, 1), 365), (dt.date(2031, 3, 28), 5), (MONDAY, 1)):
        days_ = [first + dt.timedelta(days=i) for i in range(length)]
        weekly = {pk: _random_week(rng) for pk in range(1, 13)}
        weekly[13] = {}  # no weekly hours, only exceptions
        changes = {pk: _random_changes(rng, first, length) for pk in range(1, 14)}
        expected = {
            pk: offered_minutes(
                {day: rules.windows_of_date(day, weekly[pk], changes[pk]) for day in days_}, tz
            )
            for pk in weekly
        }
        assert offered_minutes_per_doctor(list(weekly), days_, weekly, changes, tz) == expected


def _add_at(visit_type, start: dt.datetime, status: str, rng: random.Random) -> Appointment:
    """An appointment at an instant (either reading of an hour that occurs twice), with random
    payment, walk-in, lead and waiting times to the microsecond."""
    end = start + dt.timedelta(minutes=visit_type.duration_minutes)
    buffer = dt.timedelta(minutes=5)
    checked_in = completed = None
    if status in (Status.COMPLETED, Status.CHECKED_IN) and rng.random() < 0.9:
        checked_in = start + dt.timedelta(seconds=rng.randrange(-600, 900))
        if status == Status.COMPLETED and rng.random() < 0.9:
            completed = checked_in + dt.timedelta(
                microseconds=rng.randrange(60 * 10**6, 4000 * 10**6)
            )
    return Appointment.objects.create(
        reference=f"AN{next(_references):06d}",
        doctor=visit_type.doctor,
        patient=make_user(Role.PATIENT),
        visit_type=visit_type,
        start=start,
        end=end,
        buffer_before=buffer,
        buffer_after=buffer,
        blocked_start=start - buffer,
        blocked_end=end + buffer,
        status=status,
        created_at=start - dt.timedelta(microseconds=rng.randrange(1, 20 * 86400 * 10**6)),
        checked_in_at=checked_in,
        completed_at=completed,
        price=visit_type.price,
        payment_status=rng.choice(list(PaymentStatus.values)),
        walk_in=rng.random() < 0.1,
        hold_kind=HoldKind.PAYMENT if status == Status.HELD else "",
        hold_expires_at=start if status == Status.HELD else None,
    )


@pytest.mark.parametrize(
    ("zone", "first"),
    [("Europe/London", dt.date(2031, 10, 22)), ("Australia/Lord_Howe", dt.date(2031, 10, 1))],
)
def test_grouped_figures_equal_a_row_by_row_computation(settings, zone, first):
    """The per-doctor figures come from one query per doctor and status (averages = sums ÷
    counts) and the date x hour cells from counts per start time moved into the zone
    afterwards; on random appointments across a daylight-saving change (both readings of the
    repeated hour, a 30-minute change) they equal a computation row by row in Python, and
    the averages equal the database's own AVG to the microsecond."""
    settings.TIME_ZONE = zone
    tz = ZoneInfo(zone)
    rng = random.Random(zone)
    last = first + dt.timedelta(days=7)
    visit_types = []
    for n in range(3):
        doctor = DoctorFactory(name=f"Dr Random {n}", slug=f"random-{n}")
        give_week(doctor, (("00:00", "23:45"),))
        visit_types.append(VisitTypeFactory(doctor=doctor, duration_minutes=30, price=10 + n))
    statuses = [*APPOINTMENT_STATUSES, Status.HELD, Status.RELEASED]
    begin = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(20), tzinfo=tz)
    for visit_type in visit_types:
        for k in range(0, 9 * 36, 3):  # every 2 hours over 9 days, some left free
            if rng.random() < 0.6:
                start = (begin + dt.timedelta(minutes=40 * k + 40 * rng.randrange(3))).astimezone(
                    dt.UTC
                )
                _add_at(visit_type, start, rng.choice(statuses), rng)

    scope = Scope(first, last)
    figures = Report(scope)
    lower, upper = scope.bounds
    rows = [
        a
        for a in Appointment.objects.all()
        if a.status in APPOINTMENT_STATUSES and lower <= a.start < upper
    ]
    assert len(rows) > 100

    def counts(group) -> dict:
        return {s: sum(1 for a in group if a.status == s) for s in APPOINTMENT_STATUSES}

    def average(values):
        return sum(values, dt.timedelta()) / len(values) if values else None

    for row in figures.per_doctor:
        own = [a for a in rows if a.doctor_id == row.doctor_id]
        assert {s: row.counts.of(s) for s in APPOINTMENT_STATUSES} == counts(own)
    booked = [a for a in rows if a.status != Status.CANCELLED]
    for row in figures.utilisation.rows:
        own = [a for a in booked if a.doctor_id == row.doctor_id]
        minutes_ = sum((a.end - a.start for a in own), dt.timedelta()).total_seconds() / 60
        assert row.booked_minutes == round(minutes_)
    waits = {
        a.pk: a.completed_at - a.checked_in_at
        for a in rows
        if a.status == Status.COMPLETED and a.checked_in_at and a.completed_at
    }
    leads = {a.pk: a.start - a.created_at for a in booked if not a.walk_in}
    for figure, values, expression in (
        (figures.waiting, waits, WAIT),
        (figures.lead_time, leads, LEAD),
    ):
        in_db = dict(
            Appointment.objects.filter(pk__in=list(values))
            .values("doctor_id")
            .annotate(average=Avg(expression))
            .values_list("doctor_id", "average")
        )
        for row in figure.rows:
            own = [v for a in rows if a.doctor_id == row.doctor_id for v in [values.get(a.pk)] if v]
            assert (row.stats.count, row.stats.average) == (len(own), average(own))
            assert abs(row.stats.average - in_db[row.doctor_id]) <= dt.timedelta(microseconds=1)
        assert figure.total.stats.average == average(list(values.values()))
    for row in figures.money.rows:
        own = [a for a in rows if a.doctor_id == row.doctor_id]
        for status, found in (
            (PaymentStatus.PAID, row.revenue),
            (PaymentStatus.REFUNDED, row.refunds),
        ):
            assert found == sum((a.price for a in own if a.payment_status == status), Decimal("0"))

    local = [(a, a.start.astimezone(tz)) for a in rows]
    for row in figures.per_day:
        on_day = [a for a, when in local if when.date() == row.day]
        assert {s: row.counts.of(s) for s in APPOINTMENT_STATUSES} == counts(on_day)
    for row in figures.per_weekday:
        on_weekday = [a for a, when in local if when.isoweekday() == row.weekday]
        assert {s: row.counts.of(s) for s in APPOINTMENT_STATUSES} == counts(on_weekday)
    cells: dict[tuple[int, int], int] = {}
    for a, when in local:
        if a.status != Status.CANCELLED:
            key = (when.isoweekday(), when.hour)
            cells[key] = cells.get(key, 0) + 1
    assert figures.peak_hours.cells == cells


# --- Queries ----------------------------------------------------------------------------------

# Pinned: the same for a week and three years, for 15 appointments and 45. Session, the user
# with its role (one read) and permissions, Wagtail's user profile and menu (locales, page and
# collection permissions; no session save: it is refreshed at most once a minute), the doctors
# of the filter, then the figures:
# per doctor, per date and hour, weekly windows and exceptions; then the waiting time's 90th
# percentile: on PostgreSQL the report's SET LOCAL and one percentile_cont query (per doctor and
# everyone, GROUPING SETS), on SQLite two window-function queries (overall and per doctor).
PAGE_QUERIES_SQLITE = 18
PAGE_QUERIES_POSTGRES = PAGE_QUERIES_SQLITE - 2 + 2


def count_page_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(queries)


def test_page_queries_are_fixed_whatever_the_data_and_the_period(admin, clinic):
    expected = PAGE_QUERIES_POSTGRES if on_postgres() else PAGE_QUERIES_SQLITE
    assert count_page_queries(admin, WEEK) == expected
    three_years = {"date_from": "2028-06-09", "date_to": "2031-06-08"}
    assert count_page_queries(admin, three_years) == expected
    extra = DoctorFactory(name="Dr Dee More", slug="dee-more")
    give_week(extra)
    visit_type = VisitTypeFactory(doctor=extra, duration_minutes=30)
    for offset in range(30):
        add(visit_type, offset - 10, "09:00", Status.COMPLETED, lead=DAY, waited=("09:00", "09:20"))
    assert count_page_queries(admin, WEEK) == expected
    assert count_page_queries(admin, three_years) == expected


def test_nice_ticks_cover_the_largest_value():
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0) == [0, 1]
