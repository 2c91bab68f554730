"""Form rendering in the design system: label, help, error next to the field, accessible."""

from django import forms
from django.forms.renderers import TemplatesSetting


class ClinicFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"


class ClinicFormMixin:
    """Use for every public/portal form: `class MyForm(ClinicFormMixin, forms.Form)`."""

    default_renderer = ClinicFormRenderer()
    template_name_div = "forms/form.html"
    required_css_class = "field--required"
    error_css_class = "field--error"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")
