from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Consultation records, prescriptions, requested tests, addenda and the access log."""

    name = "records"
    verbose_name = "Consultation records"
