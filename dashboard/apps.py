from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The staff dashboard inside the Wagtail admin: views, tables, panels. No models."""

    name = "dashboard"
    verbose_name = "Staff dashboard"
