"""The figures of the analytics screen (product.md §9), computed by the database.

Every count, sum, average and percentile is an SQL aggregate over the appointments whose start
falls in the chosen local dates (clinic time zone); Python only fills in empty days, divides one
aggregate by another and adds up the doctors' working windows. The number of queries is fixed:
it depends neither on the number of appointments nor on the length of the range.

Definitions (the screen shows them next to each figure):

* **Appointments**: rows in REQUESTED, CONFIRMED, CHECKED_IN, COMPLETED, NO_SHOW or CANCELLED.
  HELD and RELEASED rows are slot holds, not appointments, and never count.
* **Booked**: an appointment that is not CANCELLED (it takes time in a doctor's day).
* **Cancellation rate** = CANCELLED ÷ appointments.
* **No-show rate** = NO_SHOW ÷ visits due, where visits due = CHECKED_IN + COMPLETED + NO_SHOW,
  the appointments whose attendance is known. REQUESTED / CONFIRMED rows (future, or past and
  never marked) have no known outcome and stay out of both sides.
* **Peak hours**: booked appointments counted by the weekday and hour of their local start.
* **Utilisation** = booked minutes (end - start of booked appointments) ÷ offered minutes (the
  doctor's merged working windows of every date in the range: today's weekly windows plus the
  exceptions of each date, as the slot engine sees them). Walk-ins outside the windows count as
  booked, so utilisation can pass 100 %.
* **Waiting time** = completed_at - checked_in_at of COMPLETED appointments (check-in until the
  visit is completed, so it includes the consultation).
* **Lead time** = start - created_at of booked appointments, walk-ins left out (they are booked
  at the desk as the visit begins).
* **Percentiles** are PostgreSQL's `percentile_cont`: sort the n values, h = (n - 1) · p, and
  interpolate linearly between the values at positions ⌊h⌋ and ⌈h⌉ (0-based). SQLite has no
  such aggregate; there a window query (ROW_NUMBER over the same ordering) returns just those one
  or two neighbours per group and Python interpolates, which gives the same value.
* **Revenue** = the sum of `price` of appointments with payment status PAID; **refunds** the same
  for REFUNDED — by the date of the visit, as payments carry no date of their own.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property

from django.db import connection, transaction
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import RowNumber, TruncDate

from booking.models import Appointment, PaymentStatus, Status
from booking.selectors import _schedules
from clinic_site.policies import clinic_tz
from doctors import rules
from doctors.models import Doctor

# The statuses of an appointment, in the order the charts stack them.
APPOINTMENT_STATUSES = (
    Status.COMPLETED,
    Status.CHECKED_IN,
    Status.CONFIRMED,
    Status.REQUESTED,
    Status.NO_SHOW,
    Status.CANCELLED,
)
BOOKED_STATUSES = tuple(s for s in APPOINTMENT_STATUSES if s != Status.CANCELLED)
OUTCOME_STATUSES = (Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW)
PERCENTILES = {"median": 0.5, "p90": 0.9}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DURATION = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())
WAIT = ExpressionWrapper(F("completed_at") - F("checked_in_at"), output_field=DurationField())
LEAD = ExpressionWrapper(F("start") - F("created_at"), output_field=DurationField())
WAIT_CONDITION = Q(status=Status.COMPLETED, checked_in_at__isnull=False, completed_at__isnull=False)
LEAD_CONDITION = Q(status__in=BOOKED_STATUSES, walk_in=False)
BOOKED_CONDITION = Q(status__in=BOOKED_STATUSES)


# --- Filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What the figures cover: local dates `date_from`..`date_to` (both included), one doctor or
    all of them (`doctor_id=None`)."""

    date_from: date
    date_to: date
    doctor_id: int | None = None

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        tz = clinic_tz()
        return (
            datetime.combine(self.date_from, time.min, tzinfo=tz),
            datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=tz),
        )

    @property
    def days(self) -> list[date]:
        count = (self.date_to - self.date_from).days + 1
        return [self.date_from + timedelta(days=i) for i in range(count)]


def appointments_in(scope: Scope) -> QuerySet:
    """The appointments (no holds) that start in the scope's local dates, unordered."""
    lower, upper = scope.bounds
    qs = Appointment.objects.filter(
        start__gte=lower, start__lt=upper, status__in=APPOINTMENT_STATUSES
    )
    if scope.doctor_id is not None:
        qs = qs.filter(doctor_id=scope.doctor_id)
    return qs.order_by()


# --- Plain results ----------------------------------------------------------------------------


def _ratio(part: int | float, whole: int | float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class StatusCounts:
    completed: int = 0
    checked_in: int = 0
    confirmed: int = 0
    requested: int = 0
    no_show: int = 0
    cancelled: int = 0

    @classmethod
    def from_row(cls, row: dict) -> StatusCounts:
        return cls(**{s.lower(): row.get(f"n_{s.lower()}") or 0 for s in APPOINTMENT_STATUSES})

    def of(self, status: str) -> int:
        return getattr(self, status.lower())

    @property
    def total(self) -> int:
        return sum(self.of(s) for s in APPOINTMENT_STATUSES)

    @property
    def booked(self) -> int:
        return self.total - self.cancelled

    @property
    def visits_due(self) -> int:
        return self.checked_in + self.completed + self.no_show

    @property
    def no_show_rate(self) -> float | None:
        return _ratio(self.no_show, self.visits_due)

    @property
    def cancellation_rate(self) -> float | None:
        return _ratio(self.cancelled, self.total)


@dataclass(frozen=True)
class DayCounts:
    day: date
    counts: StatusCounts


@dataclass(frozen=True)
class DoctorCounts:
    doctor_id: int
    name: str
    counts: StatusCounts


@dataclass(frozen=True)
class WeekdayCounts:
    weekday: int  # ISO: 1 = Monday … 7 = Sunday
    counts: StatusCounts

    @property
    def name(self) -> str:
        return WEEKDAYS[self.weekday - 1]


@dataclass(frozen=True)
class PeakHours:
    """Booked appointments per (ISO weekday, local hour of start)."""

    cells: dict[tuple[int, int], int]

    @property
    def peak(self) -> tuple[int, int, int] | None:
        """(weekday, hour, count) of the busiest cell; the earliest one on a tie."""
        if not self.cells:
            return None
        (weekday, hour), count = min(self.cells.items(), key=lambda item: (-item[1], item[0]))
        return weekday, hour, count

    @property
    def hours(self) -> list[int]:
        """The hours from the first to the last with any booking (at least 08-18)."""
        used = [hour for _, hour in self.cells] or [8]
        return list(range(min([*used, 8]), max([*used, 18]) + 1))

    def count(self, weekday: int, hour: int) -> int:
        return self.cells.get((weekday, hour), 0)


@dataclass(frozen=True)
class UtilisationRow:
    doctor_id: int | None
    name: str
    offered_minutes: int
    booked_minutes: int

    @property
    def rate(self) -> float | None:
        return _ratio(self.booked_minutes, self.offered_minutes)


@dataclass(frozen=True)
class DurationStats:
    count: int = 0
    average: timedelta | None = None
    median: timedelta | None = None
    p90: timedelta | None = None


@dataclass(frozen=True)
class DurationRow:
    doctor_id: int | None
    name: str
    stats: DurationStats


@dataclass(frozen=True)
class MoneyRow:
    doctor_id: int | None
    name: str
    revenue: Decimal = Decimal("0.00")
    refunds: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class Figure:
    """Per-doctor rows and the row of everyone together."""

    rows: list = field(default_factory=list)
    total: object = None


# --- Percentiles ------------------------------------------------------------------------------


def _native_percentiles() -> bool:
    return connection.vendor == "postgresql"


# PostgreSQL settings for the few big aggregate queries of a report (SET LOCAL: this transaction
# only). A year of a busy clinic is ~350,000 rows per query: the default 4 MB work_mem sends the
# per-doctor sort (percentile_cont needs sorted input) to disk, and JIT compilation costs more
# than it saves on queries this size. See docs/performance.md.
REPORT_SETTINGS = {"work_mem": "64MB", "jit": "off"}


@contextmanager
def report_transaction():
    """Run a report's queries in one read-only transaction with REPORT_SETTINGS (PostgreSQL);
    elsewhere, just a transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
                    [item for pair in REPORT_SETTINGS.items() for item in pair],
                )
        yield


def _interpolate(values: dict[int, timedelta], count: int, fraction: float) -> timedelta | None:
    """percentile_cont from the values at 1-based row numbers ⌊h⌋+1 and ⌊h⌋+2."""
    if not count:
        return None
    h = (count - 1) * fraction
    low = math.floor(h)
    lower = values[low + 1]
    if h == low:
        return lower
    return lower + (values[low + 2] - lower) * (h - low)


def window_percentiles(
    qs: QuerySet, expression, fractions: Iterable[float], *, group: str | None = None
) -> dict[object, dict[float, timedelta | None]]:
    """Percentiles (`percentile_cont`) of `expression` over `qs`, per value of `group`, in one
    query that returns only the neighbours each percentile needs. Portable (window functions)."""
    fractions = tuple(fractions)
    partition = [F(group)] if group else None
    ranked = qs.annotate(
        _value=expression,
        _row=Window(RowNumber(), partition_by=partition, order_by=F("_value").asc()),
        _count=Window(Count("pk"), partition_by=partition),
    )
    wanted = Q()
    for fraction in fractions:
        h = (F("_count") - 1) * Value(fraction)
        wanted |= Q(_row__gt=h, _row__lt=h + 2)
    fields = ("_count", "_row", "_value")
    rows = ranked.filter(wanted).values_list(*((group, *fields) if group else fields))
    found: dict[object, dict[int, timedelta]] = defaultdict(dict)
    counts: dict[object, int] = {}
    for row in rows:
        key, (count, row_number, value) = (row[0], row[1:]) if group else (None, row)
        found[key][row_number] = value
        counts[key] = count
    return {key: {f: _interpolate(found[key], counts[key], f) for f in fractions} for key in counts}


# --- Aggregates shared by the totals and the per-doctor query ---------------------------------


def _group_aggregates() -> dict:
    """Per (doctor, status) group; `_by_doctor` keeps each sum for the statuses it covers."""
    return {
        "n": Count("pk"),
        "booked_time": Sum(DURATION),
        "wait_n": Count("pk", filter=WAIT_CONDITION),
        "wait_sum": Sum(WAIT, filter=WAIT_CONDITION),
        "lead_n": Count("pk", filter=LEAD_CONDITION),
        "lead_sum": Sum(LEAD, filter=LEAD_CONDITION),
        "revenue": Sum("price", filter=Q(payment_status=PaymentStatus.PAID)),
        "refunds": Sum("price", filter=Q(payment_status=PaymentStatus.REFUNDED)),
    }


def _add_averages(row: dict) -> None:
    """wait_avg and lead_avg: the sum over the count (None when there is nothing)."""
    for prefix in ("wait", "lead"):
        count, total = row[f"{prefix}_n"], row[f"{prefix}_sum"]
        row[f"{prefix}_avg"] = total / count if count and total is not None else None


def grouped_percentile(qs: QuerySet, expression, fraction: float) -> dict[int | None, object]:
    """PostgreSQL: `percentile_cont(fraction)` of `expression` per doctor and for everyone (key
    None) in ONE sorted pass (GROUPING SETS), over the rows of `qs`. Sorting is what a
    percentile costs; doing it once for both levels halves that."""
    inner, params = qs.annotate(_v=expression).values("doctor_id", "_v").query.sql_with_params()
    # `inner` is Django's own SQL for `qs` (its values travel in `params`).
    head = "SELECT doctor_id, percentile_cont(%s) WITHIN GROUP (ORDER BY _v) FROM "
    tail = " AS values_ GROUP BY GROUPING SETS ((doctor_id), ())"
    sql = head + "(" + inner + ")" + tail
    with connection.cursor() as cursor:
        cursor.execute(sql, [fraction, *params])
        return dict(cursor.fetchall())


# Columns of the per-doctor rows that add up to the clinic's total.
ADDITIVE = (
    *(f"n_{s.lower()}" for s in APPOINTMENT_STATUSES),
    "booked_time",
    "wait_n",
    "wait_sum",
    "lead_n",
    "lead_sum",
    "revenue",
    "refunds",
)


def _add(values: Iterable):
    total = None
    for value in values:
        if value is not None:
            total = value if total is None else total + value
    return total


def _as_date(value) -> date:
    """A date column of raw SQL: a date on PostgreSQL, ISO text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def _minutes(value: timedelta | None) -> int:
    return round(value.total_seconds() / 60) if value else 0


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def offered_minutes(windows_by_day: dict[date, list[rules.Window]], tz) -> int:
    """Minutes of working windows, measured in absolute time (a window across a daylight-saving
    change lasts what the clock says it lasted)."""
    return _minutes(_offered_time(windows_by_day, tz))


def _offered_time(windows_by_day: dict[date, list[rules.Window]], tz) -> timedelta:
    total = timedelta()
    for day, windows in windows_by_day.items():
        for start, end in windows:
            begins = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
            ends = datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
            total += ends - begins
    return total


def offered_minutes_per_doctor(
    doctor_ids: Iterable[int],
    days: Sequence[date],
    weekly: Mapping[int, Mapping[int, Sequence[rules.Window]]],
    changes: Mapping[int, Sequence[rules.ScheduleChange]],
    tz,
) -> dict[int, int]:
    """`offered_minutes` of every doctor over `days`, without working out each doctor-day.

    A year of 50 doctors is 18,250 doctor-days; nearly all of them are just their weekday's
    windows on a day whose UTC offset is the same at every window edge, where a window lasts
    its wall-clock length. So: count those days per weekday and multiply. A day an exception
    touches, or where the offset differs between two window edges (a daylight-saving change),
    is worked out like `offered_minutes` does. Exact: each window lasts (end - start) -
    (offset at end - offset at start), so equal offsets at the edges give the wall-clock length.
    """
    doctor_ids = list(doctor_ids)
    merged = {
        pk: {w: rules.merge_windows(weekly.get(pk, {}).get(w, ())) for w in range(7)}
        for pk in doctor_ids
    }
    edges = {
        t for by_weekday in merged.values() for ws in by_weekday.values() for w in ws for t in w
    }
    steady = {
        day
        for day in days
        if len({datetime.combine(day, t, tzinfo=tz).utcoffset() for t in edges}) <= 1
    }
    first, last = (days[0], days[-1]) if days else (None, None)
    offered = {}
    for pk in doctor_ids:
        own_changes = list(changes.get(pk, ()))
        touched = set()
        for change in own_changes:
            day = max(change.date_from, first)
            while day <= min(change.date_to, last):
                touched.add(day)
                day += timedelta(days=1)
        plain = [0] * 7  # steady days without an exception, per weekday
        careful = {}
        for day in days:
            if day in touched:
                careful[day] = rules.windows_of_date(day, weekly.get(pk, {}), own_changes)
            elif day in steady:
                plain[day.weekday()] += 1
            else:
                careful[day] = merged[pk][day.weekday()]
        total = _offered_time(careful, tz)
        for weekday, count in enumerate(plain):
            if count:
                length = sum(
                    (_wall_length(start, end) for start, end in merged[pk][weekday]), timedelta()
                )
                total += count * length
        offered[pk] = _minutes(total)
    return offered


def _wall_length(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


# --- The report -------------------------------------------------------------------------------


class Report:
    """Every figure of one scope, each computed on first use (an export computes only its own).

    Queries on the full page: doctors (unless given), per doctor, per date and hour (per day,
    weekday rates and peak hours), weekly windows, exceptions, and the percentiles of everyone
    together — on SQLite four percentile queries instead (waiting and lead time, overall and per
    doctor), as it has no percentile_cont.
    """

    def __init__(self, scope: Scope, doctors: Iterable[tuple[int, str, bool]] | None = None):
        """`doctors`: (pk, name, is_active) of every doctor in name order, when the caller has
        them already (the filter form does); else they are read here."""
        self.scope = scope
        self._doctors = None if doctors is None else list(doctors)

    # Shared reads

    @cached_property
    def doctor_names(self) -> dict[int, str]:
        """Doctors the figures may list: the one in scope, or every doctor (active first)."""
        doctors = self._doctors
        if doctors is None:
            qs = Doctor.objects.order_by("name", "pk")
            if self.scope.doctor_id is not None:
                qs = qs.filter(pk=self.scope.doctor_id)
            doctors = qs.values_list("pk", "name", "is_active")
        self._active = set()
        names = {}
        for pk, name, is_active in doctors:
            if self.scope.doctor_id is not None and pk != self.scope.doctor_id:
                continue
            names[pk] = name
            if is_active:
                self._active.add(pk)
        return names

    def _listed(self, with_data: Iterable[int]) -> list[int]:
        """Doctors in name order: the active ones and any other with data in the range."""
        names = self.doctor_names
        keep = self._active | set(with_data)
        return [pk for pk in names if pk in keep]

    @cached_property
    def _totals(self) -> dict:
        """Everyone together: counts and sums add up the per-doctor aggregates, the averages
        divide those sums by those counts; percentiles do not add up, so on PostgreSQL they are
        one more aggregate query (on SQLite, see `_percentiles`)."""
        rows = self._by_doctor.values()
        totals = {key: _add(row[key] for row in rows) for key in ADDITIVE}
        _add_averages(totals)
        return totals

    @cached_property
    def _by_doctor(self) -> dict[int, dict]:
        """Counts and sums per doctor, from one query grouped by doctor and status: a plain
        COUNT per group is cheaper than a filtered COUNT per status, and the averages are the
        sums divided by the counts here (as for everyone together), not AVG in the query."""
        rows = (
            appointments_in(self.scope)
            .values("doctor_id", "status")
            .annotate(**_group_aggregates())
            .order_by()
        )
        by_doctor: dict[int, dict] = {}
        for row in rows:
            found = by_doctor.setdefault(row["doctor_id"], dict.fromkeys(ADDITIVE))
            status = row["status"]
            found[f"n_{status.lower()}"] = row["n"]
            if status in BOOKED_STATUSES:
                found["booked_time"] = _add((found["booked_time"], row["booked_time"]))
                for key in ("lead_n", "lead_sum"):
                    found[key] = _add((found[key], row[key]))
            if status == Status.COMPLETED:
                found["wait_n"], found["wait_sum"] = row["wait_n"], row["wait_sum"]
            for key in ("revenue", "refunds"):
                found[key] = _add((found[key], row[key]))
        for found in by_doctor.values():
            for key in ADDITIVE:
                if key.startswith("n_") or key.endswith("_n"):
                    found[key] = found[key] or 0
            _add_averages(found)
        return dict(sorted(by_doctor.items()))

    @cached_property
    def _percentiles(self) -> tuple[dict, dict]:
        """({"wait_p90": …} for everyone, {doctor_id: {"wait_p90": …}}): one query."""
        p90 = PERCENTILES["p90"]
        waits = appointments_in(self.scope).filter(WAIT_CONDITION)
        if _native_percentiles():
            found = grouped_percentile(waits, WAIT, p90)
            overall = {"wait_p90": found.pop(None, None)}
            return overall, {pk: {"wait_p90": value} for pk, value in found.items()}
        overall = window_percentiles(waits, WAIT, [p90]).get(None, {})
        per_doctor = window_percentiles(waits, WAIT, [p90], group="doctor_id")
        return (
            {"wait_p90": overall.get(p90)},
            {pk: {"wait_p90": values.get(p90)} for pk, values in per_doctor.items()},
        )

    # Figures

    @cached_property
    def overall(self) -> StatusCounts:
        return StatusCounts.from_row(self._totals)

    @cached_property
    def _by_day_hour(self) -> dict[tuple[date, int], tuple[int, ...]]:
        """Status counts (in APPOINTMENT_STATUSES order) per (local date, local hour of start):
        the one scan behind the appointments per day, the weekday rates (which add up the
        days) and the peak hours (which add up the cells).

        In two steps, in one query: count per exact start time (appointments share their slot
        times, so a year is a few thousand groups), then move each start time into the clinic
        zone's date and hour and add those up. The same cells as converting every row, but
        the zone conversion runs once per start time, not once per appointment."""
        names = [f"n_{s.lower()}" for s in APPOINTMENT_STATUSES]
        counts = {
            name: Count("pk", filter=Q(status=s))
            for name, s in zip(names, APPOINTMENT_STATUSES, strict=True)
        }
        inner, params = (
            appointments_in(self.scope)
            .annotate(bucket=F("start"))
            .values("bucket")
            .annotate(**counts)
            .values_list("bucket", *names)
            .query.sql_with_params()
        )
        # `inner` is Django's own SQL for the queryset (its values travel in `params`); the
        # outer expressions are the backend's own, as TruncDate and ExtractHour write them.
        tzname = TruncDate("start", tzinfo=clinic_tz()).get_tzname()
        ops = connection.ops
        day_sql, day_params = ops.datetime_cast_date_sql("cells.bucket", (), tzname)
        hour_sql, hour_params = ops.datetime_extract_sql("hour", "cells.bucket", (), tzname)
        sums = ", ".join(f"SUM(cells.{name})" for name in names)  # our own column names
        sql = "SELECT " + ", ".join([day_sql, hour_sql, sums])
        sql += " FROM (" + inner + ") cells GROUP BY 1, 2"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*day_params, *hour_params, *params])
            rows = cursor.fetchall()
        return {(_as_date(row[0]), int(row[1])): tuple(int(n) for n in row[2:]) for row in rows}

    @staticmethod
    def _add_up(cells: dict, key) -> dict:
        """Add up count tuples by `key(cell key)`."""
        sums: dict = {}
        for cell_key, counts in cells.items():
            k = key(cell_key)
            cell = sums.get(k)
            sums[k] = counts if cell is None else tuple(map(operator.add, cell, counts))
        return sums

    @cached_property
    def _by_day(self) -> dict[date, tuple[int, ...]]:
        return self._add_up(self._by_day_hour, operator.itemgetter(0))

    @staticmethod
    def _counts(sums: dict) -> dict:
        fields = [s.lower() for s in APPOINTMENT_STATUSES]
        return {k: StatusCounts(**dict(zip(fields, v, strict=True))) for k, v in sums.items()}

    @cached_property
    def per_day(self) -> list[DayCounts]:
        found = self._counts(self._by_day)
        return [DayCounts(day, found.get(day, StatusCounts())) for day in self.scope.days]

    @cached_property
    def per_doctor(self) -> list[DoctorCounts]:
        by_doctor = self._by_doctor
        return [
            DoctorCounts(pk, self.doctor_names[pk], StatusCounts.from_row(by_doctor.get(pk, {})))
            for pk in self._listed(by_doctor)
        ]

    @cached_property
    def per_weekday(self) -> list[WeekdayCounts]:
        found = self._counts(self._add_up(self._by_day, date.isoweekday))
        return [WeekdayCounts(day, found.get(day, StatusCounts())) for day in range(1, 8)]

    @cached_property
    def peak_hours(self) -> PeakHours:
        found = self._counts(
            self._add_up(self._by_day_hour, lambda cell: (cell[0].isoweekday(), cell[1]))
        )
        return PeakHours({key: counts.booked for key, counts in found.items() if counts.booked})

    @cached_property
    def utilisation(self) -> Figure:
        by_doctor = self._by_doctor
        booked = {pk: _minutes(row["booked_time"]) for pk, row in by_doctor.items()}
        doctor_ids = self._listed(pk for pk, minutes in booked.items() if minutes)
        scope, tz = self.scope, clinic_tz()
        weekly, changes = _schedules(doctor_ids, scope.date_from, scope.date_to)
        offered = offered_minutes_per_doctor(doctor_ids, scope.days, weekly, changes, tz)
        rows = [
            UtilisationRow(pk, self.doctor_names[pk], offered[pk], booked.get(pk, 0))
            for pk in doctor_ids
        ]
        total = UtilisationRow(
            None,
            "All doctors",
            sum(row.offered_minutes for row in rows),
            _minutes(self._totals["booked_time"]),
        )
        return Figure(rows, total)

    def _durations(self, prefix: str, extra: Sequence[str]) -> Figure:
        overall_p, per_doctor_p = self._percentiles

        def stats(row: dict, percentiles: dict) -> DurationStats:
            return DurationStats(
                count=row.get(f"{prefix}_n") or 0,
                average=row.get(f"{prefix}_avg"),
                **{name: percentiles.get(f"{prefix}_{name}") for name in extra},
            )

        by_doctor = self._by_doctor
        rows = [
            DurationRow(
                pk, self.doctor_names[pk], stats(by_doctor.get(pk, {}), per_doctor_p.get(pk, {}))
            )
            for pk in self._listed(pk for pk, row in by_doctor.items() if row[f"{prefix}_n"])
        ]
        return Figure(rows, DurationRow(None, "All doctors", stats(self._totals, overall_p)))

    @cached_property
    def waiting(self) -> Figure:
        return self._durations("wait", ["p90"])

    @cached_property
    def lead_time(self) -> Figure:
        return self._durations("lead", [])

    @cached_property
    def money(self) -> Figure:
        by_doctor = self._by_doctor
        rows = [
            MoneyRow(
                pk,
                self.doctor_names[pk],
                _money(by_doctor.get(pk, {}).get("revenue")),
                _money(by_doctor.get(pk, {}).get("refunds")),
            )
            for pk in self._listed(by_doctor)
        ]
        total = MoneyRow(
            None, "All doctors", _money(self._totals["revenue"]), _money(self._totals["refunds"])
        )
        return Figure(rows, total)
