from django.apps import AppConfig


class BookingConfig(AppConfig):
    """Appointments, holds, transitions, reschedule history, waiting list and payments."""

    name = "booking"
    verbose_name = "Booking"

    def ready(self):
        from clinic_site.api import DATABASE_ERROR_TRANSLATORS

        from .services import translate_database_error

        if translate_database_error not in DATABASE_ERROR_TRANSLATORS:
            DATABASE_ERROR_TRANSLATORS.append(translate_database_error)
