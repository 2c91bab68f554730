"""The analytics screen of the staff dashboard: every figure of product.md §9 as a chart, the
table under it and a CSV export of that table (`?export=<figure>`).

Who sees what (permissions.md, "analytics, CSV export"): a doctor sees only their own figures;
the front desk sees every figure but revenue and refunds (operational figures; money is not
theirs to read); an administrator sees everything. The figures hold no clinical data.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from clinic_site.accounts.roles import Role
from clinic_site.policies import clinic_tz
from doctors.models import Doctor

from .. import charts, exports
from ..analytics import (
    APPOINTMENT_STATUSES,
    WEEKDAYS,
    Report,
    Scope,
    StatusCounts,
    report_transaction,
)
from ..charts import STATUS_COLOURS, Series
from ..permissions import doctor_param, is_doctor, own_doctor, role_of
from .base import StaffView

DEFAULT_DAYS = 30
MAX_YEARS = 3
EARLIEST_YEAR = 2000
STATUS_LABELS = {
    "COMPLETED": "Completed",
    "CHECKED_IN": "Checked in",
    "CONFIRMED": "Confirmed",
    "REQUESTED": "Requested",
    "NO_SHOW": "No-show",
    "CANCELLED": "Cancelled",
}
MONEY_ROLES = frozenset({Role.ADMIN, Role.DOCTOR})


def today() -> dt.date:
    return timezone.now().astimezone(clinic_tz()).date()


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- Filters ----------------------------------------------------------------------------------


class AnalyticsFilterForm(forms.Form):
    """Dates (clinic time, both included; last 30 days by default) and, for the front desk, a
    doctor. Empty dates mean the default; anything else invalid is an error, never a crash."""

    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    doctor = forms.TypedChoiceField(
        label="Doctor", required=False, coerce=int, empty_value=None, choices=()
    )

    def __init__(self, data, *, doctors: list[tuple[int, str]], today: dt.date):
        super().__init__(data)
        self.today = today
        self.fields["doctor"].choices = [("", "All doctors"), *doctors]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        latest = dt.date(self.today.year + 5, 12, 31)
        date_to = cleaned.get("date_to") or self.today
        date_from = cleaned.get("date_from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            if not dt.date(EARLIEST_YEAR, 1, 1) <= value <= latest:
                self.add_error(name, f"Choose a date from {EARLIEST_YEAR} to {latest.year}.")
        if self.errors:
            return cleaned
        if date_from > date_to:
            self.add_error("date_to", "The end date must not be before the start date.")
        elif date_from < years_before(date_to, MAX_YEARS):
            self.add_error("date_from", f"Choose a period of at most {MAX_YEARS} years.")
        cleaned["date_from"], cleaned["date_to"] = date_from, date_to
        return cleaned


# --- Formatting (the same strings in the page and the CSV) ------------------------------------


def pct(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}"


def minutes(value: dt.timedelta | None) -> str | None:
    return None if value is None else f"{value.total_seconds() / 60:.1f}"


def days(value: dt.timedelta | None) -> str | None:
    return None if value is None else f"{value.total_seconds() / 86400:.1f}"


def hours(minutes_: int) -> str:
    return f"{minutes_ / 60:.1f}"


def _float(text: str | None) -> float:
    return float(text) if text else 0.0


def _percent_tick(value: float) -> str:
    return f"{value:g} %"


# --- Tables -----------------------------------------------------------------------------------


@dataclass
class FigureTable:
    """The table under a chart, and its CSV export: the first column names the row, the others
    are numbers already formatted, so the page and the CSV show the same strings. `total` is the
    last row (everyone together), in bold. Missing values (nothing to divide by) are None: "—"
    on the page, an empty cell in the CSV.

    Rendered with format_html rather than django-tables2: a year of days is a 365-row table, which
    django-tables2's template machinery took ~350 ms to render on the benchmark machine.
    """

    columns: list[tuple[str, str]]
    rows: list[dict]
    total: dict | None = None

    def all_rows(self) -> list[dict]:
        return [*self.rows, self.total] if self.total is not None else self.rows

    def as_values(self) -> list[list]:
        keys = [key for key, _ in self.columns]
        return [
            [header for _, header in self.columns],
            *([row.get(key) for key in keys] for row in self.all_rows()),
        ]

    def as_html(self) -> SafeString:
        keys = [key for key, _ in self.columns]
        head = format_html_join(
            "",
            '<th scope="col"{}>{}</th>',
            (
                (mark_safe(' class="cp-num"') if i else "", header)
                for i, (_, header) in enumerate(self.columns)
            ),
        )
        body = [self._row(row, keys, "") for row in self.rows]
        if self.total is not None:
            body.append(self._row(self.total, keys, ' class="cp-analytics__total"'))
        if not body:
            body.append(
                format_html('<tr><td colspan="{}">No data for this period.</td></tr>', len(keys))
            )
        return format_html(
            '<table class="listing cp-analytics__table-grid"><thead><tr>{}</tr></thead>'
            "<tbody>{}</tbody></table>",
            head,
            mark_safe("".join(body)),  # noqa: S308 - every cell is escaped by _escape
        )

    @staticmethod
    def _row(row: dict, keys: list[str], attrs: str) -> str:
        """One row as HTML. Plain string building with `_escape` on every value: the same
        markup format_html would give, without its per-call overhead (a year of days is ~3,000
        cells)."""
        cells = [f'<th scope="row">{_escape(row.get(keys[0]))}</th>']
        for key in keys[1:]:
            value = row.get(key)
            cells.append(f'<td class="cp-num">{"—" if value is None else _escape(value)}</td>')
        return f"<tr{attrs}>{''.join(cells)}</tr>"

    def csv_response(self, filename: str) -> HttpResponse:
        return exports.csv_response(self.as_values(), filename)


def _escape(value) -> str:
    """conditional_escape without the lazy-argument wrapper of Django's escape (str() of a lazy
    string is what that wrapper would pass on)."""
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


def figure_table(columns: list[tuple[str, str]], rows: list[dict], total: dict | None = None):
    return FigureTable(columns, rows, total)


def _status_columns(first: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        first,
        *((s.lower(), STATUS_LABELS[s]) for s in APPOINTMENT_STATUSES),
        ("total", "Total"),
    ]


def _status_cells(counts: StatusCounts) -> dict:
    return {**{s.lower(): counts.of(s) for s in APPOINTMENT_STATUSES}, "total": counts.total}


RATE_COLUMNS = [
    ("appointments", "Appointments"),
    ("cancelled", "Cancelled"),
    ("cancellation_rate", "Cancellation rate (%)"),
    ("visits_due", "Visits due"),
    ("no_show", "No-shows"),
    ("no_show_rate", "No-show rate (%)"),
]


def _rate_cells(counts: StatusCounts) -> dict:
    return {
        "appointments": counts.total,
        "cancelled": counts.cancelled,
        "cancellation_rate": pct(counts.cancellation_rate),
        "visits_due": counts.visits_due,
        "no_show": counts.no_show,
        "no_show_rate": pct(counts.no_show_rate),
    }


# --- Figures ----------------------------------------------------------------------------------


@dataclass
class FigureView:
    key: str
    title: str
    help: str
    table: FigureTable
    chart: Callable[[], str]
    tall: bool = False  # a long table scrolls in its own box


def _status_series(rows: list[StatusCounts]) -> list[Series]:
    return [
        Series(STATUS_LABELS[s], STATUS_COLOURS[s], [counts.of(s) for counts in rows])
        for s in APPOINTMENT_STATUSES
    ]


def _period(scope: Scope) -> str:
    return f"{scope.date_from:%-d %b %Y} to {scope.date_to:%-d %b %Y}"


def fig_per_day(report: Report) -> FigureView:
    rows = report.per_day
    table = figure_table(
        _status_columns(("date", "Date")),
        [{"date": row.day.isoformat(), **_status_cells(row.counts)} for row in rows],
        {"date": "All days", **_status_cells(report.overall)},
    )
    busiest = max(rows, key=lambda row: row.counts.total, default=None)

    def chart():
        desc = f"Appointments per day from {_period(report.scope)}, stacked by status: "
        desc += f"{report.overall.total} in total"
        if busiest and busiest.counts.total:
            desc += f"; the busiest day {busiest.day:%a %-d %b} with {busiest.counts.total}"
        return charts.bar_chart(
            title="Appointments per day",
            desc=desc + ".",
            categories=[f"{row.day:%-d %b}" for row in rows],
            long_labels=[f"{row.day:%a %-d %b %Y}" for row in rows],
            series=_status_series([row.counts for row in rows]),
            empty="No appointments in this period.",
        )

    return FigureView(
        "per_day",
        "Appointments per day",
        "Appointments by the clinic-time date of their start, stacked by status. Slot holds "
        "(held or released) are not appointments and are left out.",
        table,
        chart,
        tall=len(rows) > 14,
    )


def fig_per_doctor(report: Report) -> FigureView:
    rows = report.per_doctor
    table = figure_table(
        _status_columns(("doctor", "Doctor")),
        [{"doctor": row.name, **_status_cells(row.counts)} for row in rows],
        {"doctor": "All doctors", **_status_cells(report.overall)},
    )

    def chart():
        return charts.bar_chart(
            title="Appointments per doctor",
            desc="Appointments per doctor by status: "
            + "; ".join(f"{row.name} {row.counts.total}" for row in rows)
            + ".",
            categories=[row.name for row in rows],
            series=_status_series([row.counts for row in rows]),
            horizontal=True,
            empty="No appointments in this period.",
        )

    return FigureView(
        "per_doctor",
        "Appointments per doctor",
        "Each doctor's appointments in the period by status.",
        table,
        chart,
    )


RATES_HELP = (
    "Cancellation rate = cancelled ÷ all appointments. No-show rate = no-shows ÷ visits due, "
    "where visits due are the appointments whose attendance is known: checked in, completed or "
    "no-show (requested or confirmed ones, future or never marked, are left out). "
    "— means there is nothing to divide by."
)


def _rate_chart(title: str, labels: list[str], rows: list[StatusCounts]):
    def chart():
        desc = "; ".join(
            f"{label}: no-show {pct(c.no_show_rate) or '—'} %, "
            f"cancellation {pct(c.cancellation_rate) or '—'} %"
            for label, c in zip(labels, rows, strict=True)
        )
        return charts.bar_chart(
            title=title,
            desc=desc + ".",
            categories=labels,
            series=[
                Series(
                    "No-show rate",
                    STATUS_COLOURS["NO_SHOW"],
                    [None if c.no_show_rate is None else c.no_show_rate * 100 for c in rows],
                ),
                Series(
                    "Cancellation rate",
                    STATUS_COLOURS["CANCELLED"],
                    [
                        None if c.cancellation_rate is None else c.cancellation_rate * 100
                        for c in rows
                    ],
                ),
            ],
            stacked=False,
            horizontal=True,
            value_text=lambda v: f"{v:.1f} %",
            tick_text=_percent_tick,
            empty="No appointments in this period.",
        )

    return chart


def fig_rates_doctor(report: Report) -> FigureView:
    rows = report.per_doctor
    table = figure_table(
        [("doctor", "Doctor"), *RATE_COLUMNS],
        [{"doctor": row.name, **_rate_cells(row.counts)} for row in rows],
        {"doctor": "All doctors", **_rate_cells(report.overall)},
    )
    return FigureView(
        "rates_doctor",
        "No-show and cancellation rates per doctor",
        RATES_HELP,
        table,
        _rate_chart(
            "No-show and cancellation rates per doctor",
            [row.name for row in rows],
            [row.counts for row in rows],
        ),
    )


def fig_rates_weekday(report: Report) -> FigureView:
    rows = report.per_weekday
    table = figure_table(
        [("weekday", "Weekday"), *RATE_COLUMNS],
        [{"weekday": row.name, **_rate_cells(row.counts)} for row in rows],
        {"weekday": "All days", **_rate_cells(report.overall)},
    )
    return FigureView(
        "rates_weekday",
        "No-show and cancellation rates per weekday",
        RATES_HELP + " Weekdays are those of the appointment's start, clinic time.",
        table,
        _rate_chart(
            "No-show and cancellation rates per weekday",
            [row.name for row in rows],
            [row.counts for row in rows],
        ),
    )


def fig_peak_hours(report: Report) -> FigureView:
    peak = report.peak_hours
    hours_ = peak.hours
    rows = [
        {
            "weekday": WEEKDAYS[day - 1],
            **{f"h{hour:02d}": peak.count(day, hour) for hour in hours_},
            "total": sum(peak.count(day, hour) for hour in hours_),
        }
        for day in range(1, 8)
    ]
    table = figure_table(
        [
            ("weekday", "Weekday"),
            *((f"h{h:02d}", f"{h:02d}:00") for h in hours_),
            ("total", "Total"),
        ],
        rows,
    )
    busiest = peak.peak

    def chart():
        desc = "Booked appointments by weekday and hour of their start (clinic time)"
        if busiest:
            day, hour, count = busiest
            desc += f"; the busiest hour is {WEEKDAYS[day - 1]} {hour:02d}:00 with {count}"
        return charts.heat_map(
            title="Peak hours",
            desc=desc + ".",
            row_labels=[name[:3] for name in WEEKDAYS],
            long_row_labels=list(WEEKDAYS),
            column_labels=[f"{h:02d}" for h in hours_],
            values=[[peak.count(day, hour) for hour in hours_] for day in range(1, 8)],
            highlight=(busiest[0] - 1, hours_.index(busiest[1])) if busiest else None,
            empty="No bookings in this period.",
        )

    return FigureView(
        "peak_hours",
        "Peak hours",
        "Booked appointments (every status but cancelled) by the weekday and hour their visit "
        "starts, clinic time. The darkest, outlined cell is the busiest hour.",
        table,
        chart,
    )


def fig_utilisation(report: Report) -> FigureView:
    figure = report.utilisation

    def cells(row):
        return {
            "doctor": row.name,
            "offered": hours(row.offered_minutes),
            "booked": hours(row.booked_minutes),
            "rate": pct(row.rate),
        }

    table = figure_table(
        [
            ("doctor", "Doctor"),
            ("offered", "Offered (hours)"),
            ("booked", "Booked (hours)"),
            ("rate", "Utilisation (%)"),
        ],
        [cells(row) for row in figure.rows],
        cells(figure.total),
    )

    def chart():
        return charts.bar_chart(
            title="Utilisation per doctor",
            desc="Booked time as a share of offered working time: "
            + "; ".join(f"{row.name} {pct(row.rate) or '—'} %" for row in figure.rows)
            + f"; all doctors {pct(figure.total.rate) or '—'} %.",
            categories=[row.name for row in figure.rows],
            series=[Series("Utilisation", charts.BLUE, [(r.rate or 0) * 100 for r in figure.rows])],
            stacked=False,
            horizontal=True,
            value_text=lambda v: f"{v:.1f} %",
            tick_text=_percent_tick,
            empty="No working hours or bookings in this period.",
        )

    return FigureView(
        "utilisation",
        "Utilisation",
        "Booked minutes ÷ offered minutes. Booked: the length (end − start) of every appointment "
        "but cancelled ones. Offered: the doctor's working windows on each date of the period — "
        "today's weekly hours with that date's days off and extra hours, as the booking "
        "calendar uses them. Visits outside working hours (walk-ins) count as booked, so it "
        "can exceed 100 %.",
        table,
        chart,
    )


def fig_waiting(report: Report) -> FigureView:
    figure = report.waiting

    def cells(row):
        return {
            "doctor": row.name,
            "count": row.stats.count,
            "average": minutes(row.stats.average),
            "p90": minutes(row.stats.p90),
        }

    rows = [cells(row) for row in figure.rows]
    table = figure_table(
        [
            ("doctor", "Doctor"),
            ("count", "Completed visits"),
            ("average", "Average (min)"),
            ("p90", "90th percentile (min)"),
        ],
        rows,
        cells(figure.total),
    )

    def chart():
        total = cells(figure.total)
        return charts.bar_chart(
            title="Waiting time from check-in to completion",
            desc=f"All doctors: average {total['average'] or '—'} minutes, 90th percentile "
            f"{total['p90'] or '—'} minutes; "
            + "; ".join(f"{r['doctor']} {r['average']} / {r['p90']} min" for r in rows)
            + ".",
            categories=[r["doctor"] for r in rows],
            series=[
                Series("Average", charts.SKY, [_float(r["average"]) for r in rows]),
                Series("90th percentile", charts.BLUE, [_float(r["p90"]) for r in rows]),
            ],
            stacked=False,
            horizontal=True,
            value_text=lambda v: f"{v:.1f} min",
            tick_text=lambda v: f"{v:g}",
            empty="No completed visits with a check-in time in this period.",
        )

    return FigureView(
        "waiting",
        "Waiting time",
        "From check-in to completion (completed − checked-in time) of completed visits, so it "
        "includes the consultation. The 90th percentile: nine visits in ten were done within it "
        "(linear interpolation between the two nearest visits, like PostgreSQL's percentile_cont).",
        table,
        chart,
    )


def fig_lead_time(report: Report) -> FigureView:
    figure = report.lead_time

    def cells(row):
        return {
            "doctor": row.name,
            "count": row.stats.count,
            "average": days(row.stats.average),
        }

    rows = [cells(row) for row in figure.rows]
    table = figure_table(
        [("doctor", "Doctor"), ("count", "Bookings"), ("average", "Average (days)")],
        rows,
        cells(figure.total),
    )

    def chart():
        total = cells(figure.total)
        return charts.bar_chart(
            title="Lead time from booking to visit",
            desc=f"All doctors: average {total['average'] or '—'} days.",
            categories=[r["doctor"] for r in rows],
            series=[Series("Average", charts.SKY, [_float(r["average"]) for r in rows])],
            stacked=False,
            horizontal=True,
            value_text=lambda v: f"{v:.1f} d",
            tick_text=lambda v: f"{v:g}",
            empty="No bookings in this period.",
        )

    return FigureView(
        "lead_time",
        "Lead time",
        "From booking to visit (start − booked at) of every appointment but cancelled ones, "
        "walk-ins left out (they are booked as the visit begins). Median and 90th percentile "
        "interpolate like the waiting time.",
        table,
        chart,
    )


def fig_revenue(report: Report) -> FigureView:
    figure = report.money

    def cells(row):
        return {"doctor": row.name, "revenue": str(row.revenue), "refunds": str(row.refunds)}

    rows = [cells(row) for row in figure.rows]
    symbol = settings.CLINIC_CURRENCY_SYMBOL
    table = figure_table(
        # The currency in the headings keeps the cells plain numbers for the CSV export.
        [
            ("doctor", "Doctor"),
            ("revenue", f"Revenue ({symbol})"),
            ("refunds", f"Refunds ({symbol})"),
        ],
        rows,
        cells(figure.total),
    )

    def chart():
        return charts.bar_chart(
            title="Revenue and refunds per doctor",
            desc=f"Revenue {symbol}{figure.total.revenue:,}, refunds {symbol}"
            f"{figure.total.refunds:,} in total.",
            categories=[r["doctor"] for r in rows],
            series=[
                Series("Revenue", charts.GREEN, [float(row.revenue) for row in figure.rows]),
                Series("Refunds", charts.VERMILLION, [float(row.refunds) for row in figure.rows]),
            ],
            stacked=False,
            horizontal=True,
            value_text=lambda v: f"{symbol}{v:,.2f}",
            tick_text=lambda v: f"{symbol}{v:,.0f}",
            empty="No paid or refunded appointments in this period.",
        )

    return FigureView(
        "revenue",
        "Revenue and refunds",
        "The price of appointments marked paid (revenue) or refunded (refunds), by the date of "
        "the visit. Zero until online payments are taken.",
        table,
        chart,
    )


FIGURES: dict[str, Callable[[Report], FigureView]] = {
    "per_day": fig_per_day,
    "per_doctor": fig_per_doctor,
    "rates_doctor": fig_rates_doctor,
    "rates_weekday": fig_rates_weekday,
    "peak_hours": fig_peak_hours,
    "utilisation": fig_utilisation,
    "waiting": fig_waiting,
    "lead_time": fig_lead_time,
    "revenue": fig_revenue,
}
MONEY_FIGURES = frozenset({"revenue"})


def figures_for(user) -> list[str]:
    money = role_of(user) in MONEY_ROLES
    return [key for key in FIGURES if money or key not in MONEY_FIGURES]


# --- The screen -------------------------------------------------------------------------------


class AnalyticsView(StaffView):
    page_title = "Analytics"
    header_icon = "table"
    template_name = "dashboard/analytics/analytics.html"

    @cached_property
    def doctor(self) -> Doctor | None:
        """A doctor's own profile: their figures only, whatever the query string says."""
        return own_doctor(self.request.user)

    @cached_property
    def doctors(self) -> list[tuple[int, str, bool]]:
        """(pk, name, is_active) of the doctors this user may choose: all, or themself."""
        if is_doctor(self.request.user):
            doctor = self.doctor
            return [(doctor.pk, doctor.name, doctor.is_active)] if doctor else []
        return list(Doctor.objects.order_by("name", "pk").values_list("pk", "name", "is_active"))

    def get_form(self) -> AnalyticsFilterForm:
        doctors = [
            (pk, name if active else f"{name} (inactive)") for pk, name, active in self.doctors
        ]
        data = {key: self.request.GET.get(key, "") for key in ("date_from", "date_to", "doctor")}
        data["doctor"] = doctor_param(self.request.user, data["doctor"])  # a doctor: their own
        return AnalyticsFilterForm(data, doctors=doctors, today=today())

    def get(self, request, *args, **kwargs):
        self.form = self.get_form()
        self.no_profile = is_doctor(request.user) and self.doctor is None
        self.report = None
        if self.form.is_valid() and not self.no_profile:
            data = self.form.cleaned_data
            # Show the dates the figures are for (the defaults too) in the date fields.
            self.form.data = {
                **self.form.data,
                "date_from": data["date_from"].isoformat(),
                "date_to": data["date_to"].isoformat(),
            }
            scope = Scope(data["date_from"], data["date_to"], data["doctor"])
            self.report = Report(scope, doctors=self.doctors)
        export = request.GET.get("export")
        if export:
            return self.export(export)
        context = self.get_context_data(**kwargs)
        return self.render_to_response(context, status=200 if self.form.is_valid() else 400)

    def export(self, key: str):
        if key not in figures_for(self.request.user) or self.no_profile:
            raise Http404("No such figure.")
        if self.report is None:
            errors = "; ".join(e for errors in self.form.errors.values() for e in errors)
            return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
        scope = self.report.scope
        with report_transaction():
            figure = FIGURES[key](self.report)
        name = f"analytics-{key.replace('_', '-')}-{scope.date_from}-{scope.date_to}.csv"
        return figure.table.csv_response(name)

    def query(self, **extra) -> str:
        scope = self.report.scope
        params = {"date_from": scope.date_from.isoformat(), "date_to": scope.date_to.isoformat()}
        if scope.doctor_id and not is_doctor(self.request.user):
            params["doctor"] = scope.doctor_id
        return "?" + urlencode({**params, **extra})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            form=self.form,
            show_doctor=not is_doctor(self.request.user),
            no_profile=self.no_profile,
            time_zone=str(clinic_tz()),
            report=self.report,
        )
        if self.report is None:
            return context
        with report_transaction():
            figures = [FIGURES[key](self.report) for key in figures_for(self.request.user)]
            tiles = self.tiles(self.report)
        for figure in figures:
            figure.export_url = self.query(export=figure.key)
        report = self.report
        context.update(
            figures=figures,
            period=_period(report.scope),
            scope_doctor=report.doctor_names.get(report.scope.doctor_id)
            if report.scope.doctor_id
            else None,
            tiles=tiles,
        )
        return context

    def tiles(self, report: Report) -> list[tuple[str, str, str]]:
        """The headline figures: (label, value, note)."""
        overall = report.overall
        waiting = report.waiting.total.stats
        lead = report.lead_time.total.stats
        utilisation = report.utilisation.total
        tiles = [
            (
                "Appointments",
                str(overall.total),
                f"{overall.booked} booked, {overall.cancelled} cancelled",
            ),
            (
                "No-show rate",
                _pct_text(overall.no_show_rate),
                f"of {overall.visits_due} visits due",
            ),
            ("Cancellation rate", _pct_text(overall.cancellation_rate), "of all appointments"),
            (
                "Utilisation",
                _pct_text(utilisation.rate),
                f"{hours(utilisation.booked_minutes)} of {hours(utilisation.offered_minutes)} h",
            ),
            (
                "Average wait",
                _unit(minutes(waiting.average), "min"),
                f"90th percentile {_unit(minutes(waiting.p90), 'min')}",
            ),
            (
                "Lead time",
                _unit(days(lead.average), "days"),
                f"on average, over {lead.count} bookings",
            ),
        ]
        if "revenue" in figures_for(self.request.user):
            money = report.money.total
            tiles.append(("Revenue", str(money.revenue), f"refunds {money.refunds}"))
        return tiles


def _pct_text(rate: float | None) -> str:
    return "—" if rate is None else f"{pct(rate)} %"


def _unit(text: str | None, unit: str) -> str:
    return "—" if text is None else f"{text} {unit}"
