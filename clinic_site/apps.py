from django.apps import AppConfig


class ClinicSiteConfig(AppConfig):
    """The project package as an app: clinic policies, shared template tags and commands."""

    name = "clinic_site"
    verbose_name = "Clinic"
