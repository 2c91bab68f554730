"""Forms of the schedules screen. They only read and check input; the services in
doctors/services.py change the data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from wagtail.admin.widgets import AdminDateInput, AdminTimeInput

from doctors.models import DURATION_CHOICES, VisitMode, Weekday
from doctors.services import weekly_windows_problems

WEEKDAYS = list(Weekday)  # Monday (0) … Sunday (6)
WORKING_WEEK = range(5)  # "All weekdays": Monday to Friday


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    windows: tuple[tuple[str, str], ...]


PRESETS = (
    Preset("morning", "Morning", (("09:00", "13:00"),)),
    Preset("afternoon", "Afternoon", (("14:00", "18:00"),)),
    Preset("full", "Full day", (("09:00", "13:00"), ("14:00", "18:00"))),
    Preset("off", "Day off", ()),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}


@dataclass
class WindowRow:
    start: str = ""
    end: str = ""
    error: bool = False


@dataclass
class DayRow:
    weekday: int
    label: str
    windows: list[WindowRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def field_prefix(self) -> str:
        return f"d{self.weekday}"


def _parse_time(value: str) -> dt.time | None:
    try:
        return dt.datetime.strptime(value.strip(), "%H:%M").time()
    except ValueError:
        try:  # browsers may send seconds when a step below a minute is used
            return dt.datetime.strptime(value.strip(), "%H:%M:%S").time().replace(second=0)
        except ValueError:
            return None


class WeeklyScheduleForm:
    """Seven days, each with any number of windows posted as repeated `d<weekday>-start` /
    `d<weekday>-end` fields (rows with both halves blank are ignored).

    Besides saving, the form understands the no-JavaScript editing buttons: `preset`
    (`<weekday>:<preset>` or `weekdays:<preset>`), `add_window` (`<weekday>`) and `remove_window`
    (`<weekday>:<index>`). They change the rows and the page is shown again, unsaved.
    """

    def __init__(self, data: QueryDict | None = None, *, windows=()):
        self.days = [DayRow(day.value, day.label) for day in WEEKDAYS]
        self.data = data
        self.cleaned_windows: list[tuple[int, dt.time, dt.time]] = []
        self.edit_note = ""
        self.non_day_errors: list[str] = []
        if data is None:
            for weekday, start, end in sorted(windows):
                self.days[weekday].windows.append(WindowRow(f"{start:%H:%M}", f"{end:%H:%M}"))
        else:
            for day in self.days:
                starts = data.getlist(f"{day.field_prefix}-start")
                ends = data.getlist(f"{day.field_prefix}-end")
                for n in range(max(len(starts), len(ends))):
                    start = starts[n].strip() if n < len(starts) else ""
                    end = ends[n].strip() if n < len(ends) else ""
                    if start or end:
                        day.windows.append(WindowRow(start, end))

    # --- no-JS editing -----------------------------------------------------------------------

    @property
    def is_edit(self) -> bool:
        """Was one of the editing buttons pressed (rather than "Save week")?"""
        return self.data is not None and any(
            self.data.get(name) for name in ("preset", "add_window", "remove_window")
        )

    def apply_edit(self) -> None:
        data = self.data
        if data.get("preset"):
            target, _, key = data["preset"].partition(":")
            preset = PRESETS_BY_KEY.get(key)
            weekdays = WORKING_WEEK if target == "weekdays" else self._weekdays(target)
            if preset is None or not weekdays:
                return
            for weekday in weekdays:
                self.days[weekday].windows = [WindowRow(s, e) for s, e in preset.windows]
            where = "Monday to Friday" if target == "weekdays" else self.days[weekdays[0]].label
            self.edit_note = f"{preset.label} filled in for {where}."
        elif data.get("add_window"):
            weekdays = self._weekdays(data["add_window"])
            if weekdays:
                self.days[weekdays[0]].windows.append(WindowRow())
                self.edit_note = f"A new window row was added to {self.days[weekdays[0]].label}."
        else:
            target, _, index = data["remove_window"].partition(":")
            weekdays = self._weekdays(target)
            if weekdays and index.isdigit() and int(index) < len(self.days[weekdays[0]].windows):
                del self.days[weekdays[0]].windows[int(index)]
                self.edit_note = f"A window was removed from {self.days[weekdays[0]].label}."

    @staticmethod
    def _weekdays(value: str) -> list[int]:
        return [int(value)] if value.isdigit() and int(value) <= 6 else []

    # --- validation --------------------------------------------------------------------------

    def is_valid(self) -> bool:
        self.cleaned_windows = []
        for day in self.days:
            day_windows = []
            for row in day.windows:
                start, end = _parse_time(row.start), _parse_time(row.end)
                if not row.start or not row.end:
                    row.error = True
                    day.errors.append("Give both the start and the end of each window.")
                elif start is None or end is None:
                    row.error = True
                    day.errors.append(f"Write times as HH:MM (not “{row.start}–{row.end}”).")
                else:
                    day_windows.append((day.weekday, start, end))
                    if end <= start:
                        row.error = True
            for problem in weekly_windows_problems(day_windows):
                day.errors.append(problem.removeprefix(f"{day.label} "))
            if any(" overlaps " in problem for problem in day.errors):
                for row in day.windows:
                    row.error = True
            day.errors = list(dict.fromkeys(day.errors))  # each message once
            self.cleaned_windows += day_windows
        return not self.has_errors

    def add_error(self, message: str) -> None:
        """A problem the service found that the form did not (shown above the week)."""
        self.non_day_errors.append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.non_day_errors) or any(day.errors for day in self.days)


# --- Exceptions -------------------------------------------------------------------------------


# One unambiguous way to write each (03/04 could be either day first or month first).
DATE_FORMATS = ["%Y-%m-%d"]
TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def _date_input():
    return AdminDateInput(format="%Y-%m-%d", attrs={"placeholder": "YYYY-MM-DD"})


def _time_input():
    return AdminTimeInput(format="%H:%M", attrs={"placeholder": "HH:MM"})


MAX_DAYS_OFF = 366


class DaysOffForm(forms.Form):
    date_from = forms.DateField(
        label="First day off", widget=_date_input(), input_formats=DATE_FORMATS
    )
    date_to = forms.DateField(
        label="Last day off",
        required=False,
        widget=_date_input(),
        input_formats=DATE_FORMATS,
    )
    reason = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Annual leave"}),
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        self.today = today
        kwargs.setdefault("prefix", "off")
        super().__init__(*args, **kwargs)

    def clean_date_from(self):
        date_from = self.cleaned_data["date_from"]
        if date_from < self.today:
            raise ValidationError("Choose today or a later date.")
        return date_from

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_to < date_from:
                self.add_error("date_to", "The last day off is before the first.")
            elif (date_to - date_from).days >= MAX_DAYS_OFF:
                self.add_error("date_to", "Add at most a year of days off at a time.")
        return cleaned


class ExtraHoursForm(forms.Form):
    date = forms.DateField(widget=_date_input(), input_formats=DATE_FORMATS)
    start = forms.TimeField(widget=_time_input(), input_formats=TIME_FORMATS)
    end = forms.TimeField(widget=_time_input(), input_formats=TIME_FORMATS)
    reason = forms.CharField(
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Covering a colleague"}),
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        self.today = today
        kwargs.setdefault("prefix", "extra")
        super().__init__(*args, **kwargs)

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date < self.today:
            raise ValidationError("Choose today or a later date.")
        return date

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end <= start:
            self.add_error("end", "The extra hours end before they start.")
        return cleaned


# --- Visit types ------------------------------------------------------------------------------


class VisitTypeForm(forms.Form):
    name = forms.CharField(
        max_length=80, widget=forms.TextInput(attrs={"placeholder": "e.g. Follow-up"})
    )
    duration_minutes = forms.TypedChoiceField(
        label="Duration",
        choices=[(minutes, f"{minutes} min") for minutes, _ in DURATION_CHOICES],
        coerce=int,
        initial=30,
    )
    mode = forms.ChoiceField(choices=VisitMode.choices, initial=VisitMode.IN_PERSON)
    price = forms.DecimalField(
        min_value=0,
        max_digits=8,
        decimal_places=2,
        initial=0,
        help_text="0 for free.",
        error_messages={"min_value": "The price cannot be negative."},
    )
    is_active = forms.BooleanField(
        label="Offered to patients",
        required=False,
        initial=True,
        help_text="Untick to stop offering it; booked appointments keep it.",
    )

    def __init__(self, *args, with_active: bool = True, **kwargs):
        kwargs.setdefault("prefix", "vt")
        super().__init__(*args, **kwargs)
        if not with_active:
            del self.fields["is_active"]

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's errors (keyed by field) next to their fields."""
        for name, messages in error.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)
