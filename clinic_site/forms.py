"""Form rendering in the design system: label, help, error next to the field, accessible.

A form with errors follows the GOV.UK error pattern: a summary at the top ("There is a problem",
one link per error to its field, focused on load by static/js/forms.js), "Error: " at the start
of the page title (templates/base.html), and each field tied to its own error message with
`aria-describedby` and `aria-invalid`.
"""

from __future__ import annotations

from typing import NamedTuple

from django import forms
from django.forms.renderers import TemplatesSetting


class ClinicFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"


class SummaryError(NamedTuple):
    """One line of the error summary. `target` is the id its link moves to ("" for no link)."""

    target: str
    label: str
    message: str


class ClinicBoundField(forms.BoundField):
    """A bound field that always names its error message, and knows where a summary link goes."""

    @property
    def aria_describedby(self):
        # Django leaves a widget's own aria-describedby alone and then drops the error id; keep
        # both, so a screen reader still reads the error of a field that describes itself.
        own = self.field.widget.attrs.get("aria-describedby")
        if not own:
            return super().aria_describedby
        error_id = f"{self.auto_id}_error"
        if self.errors and self.auto_id and not self.is_hidden and error_id not in own.split():
            return f"{own} {error_id}"
        return own

    @property
    def error_summary_target(self) -> str:
        """The id of the element a summary link focuses: the input, or the first of a group."""
        if not self.auto_id:
            return ""
        if target := self.id_for_label:
            return target
        widget = self.field.widget
        if isinstance(widget, forms.MultiWidget):
            # MultiWidget numbers its inputs id_<name>_0, id_<name>_1, ...
            return f"{self.auto_id}_0"
        subwidgets = self.subwidgets
        if subwidgets and subwidgets[0].id_for_label:
            return subwidgets[0].id_for_label  # radios and checkbox groups: the first option
        return self.auto_id


class ClinicFormMixin:
    """Use for every public/portal form: `class MyForm(ClinicFormMixin, forms.Form)`."""

    default_renderer = ClinicFormRenderer()
    bound_field_class = ClinicBoundField
    template_name_div = "forms/form.html"
    required_css_class = "field--required"
    error_css_class = "field--error"

    def error_summary(self) -> list[SummaryError]:
        """Every error of the form, in the order the page shows them, for forms/error_summary.html.

        Errors of the whole form (and of hidden fields, which nobody can go to) come first, without
        a link. Field errors follow the order of the fields, or of the form's `sections()` where
        it lays its fields out in groups (registration, profile), so that the summary reads top
        to bottom like the page.
        """
        if not self.is_bound or not self.errors:
            return []
        summary = [SummaryError("", "", str(message)) for message in self.non_field_errors()]
        ordered = self._fields_in_page_order()
        for field in ordered:
            if field.is_hidden:
                summary.extend(SummaryError("", "", str(message)) for message in field.errors)
        for field in ordered:
            if not field.is_hidden:
                summary.extend(
                    SummaryError(field.error_summary_target, str(field.label or ""), str(message))
                    for message in field.errors
                )
        return summary

    def _fields_in_page_order(self) -> list[forms.BoundField]:
        sections = getattr(self, "sections", None)
        in_sections = [field for _, fields in sections() for field in fields] if sections else []
        shown = {field.name for field in in_sections}
        return in_sections + [field for field in self if field.name not in shown]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DayMonthYearInput(forms.MultiWidget):
    """A date as three short boxes, day / month / year (a memorable date such as a birthday is
    typed, not picked from a calendar). The form still receives one "YYYY-MM-DD" string, so a
    `DateField` validates it as usual; a request carrying the plain field name (another program,
    the tests) is read as it is."""

    template_name = "forms/widgets/day_month_year.html"
    use_fieldset = True
    PARTS = (("Day", "bday-day", 2), ("Month", "bday-month", 2), ("Year", "bday-year", 4))

    def __init__(self, attrs=None):
        widgets = [
            forms.TextInput(
                attrs={
                    "inputmode": "numeric",
                    "autocomplete": autocomplete,
                    "maxlength": size,
                    "size": size,
                    "class": f"date-part date-part--{size}",
                }
            )
            for _, autocomplete, size in self.PARTS
        ]
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if hasattr(value, "year"):
            return [str(value.day), str(value.month), str(value.year)]
        if isinstance(value, str) and value.count("-") == 2:  # what was typed, shown again
            year, month, day = value.split("-")
            return [day, month, year]
        return ["", "", ""]

    def value_from_datadict(self, data, files, name):
        if name in data:
            return data[name]
        day, month, year = (
            str(part or "").strip() for part in super().value_from_datadict(data, files, name)
        )
        if not (day or month or year):
            return ""

        def two(part):
            return part.zfill(2) if part.isdigit() else part

        return f"{year}-{two(month)}-{two(day)}"

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for subwidget, (label, _, _) in zip(
            context["widget"]["subwidgets"], self.PARTS, strict=True
        ):
            subwidget["label"] = label
        return context
