from django.apps import AppConfig


class BookingConfig(AppConfig):
    """Appointments, holds, transitions, reschedule history, waiting list and payments."""

    name = "booking"
    verbose_name = "Booking"
