from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "home"
    verbose_name = "Public site"

    def ready(self):
        from doctors.services import DOCTOR_CREATED

        from . import shell
        from .services import doctor_page_ensure

        shell.connect()

        if doctor_page_ensure not in DOCTOR_CREATED:
            DOCTOR_CREATED.append(doctor_page_ensure)
