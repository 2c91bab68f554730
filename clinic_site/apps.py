from django.apps import AppConfig


class ClinicSiteConfig(AppConfig):
    """The project package as an app: clinic policies, shared template tags and commands."""

    name = "clinic_site"
    verbose_name = "Clinic"

    def ready(self):
        from clinic_site.api import DATABASE_ERROR_TRANSLATORS

        from .audit import translate_database_error

        # The append-only audit logs' refusal answers 409 in the API (clinic_site/audit.py).
        if translate_database_error not in DATABASE_ERROR_TRANSLATORS:
            DATABASE_ERROR_TRANSLATORS.append(translate_database_error)
