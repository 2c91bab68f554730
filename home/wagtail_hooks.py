"""Creating or renaming a doctor in the admin creates or renames their page."""

from wagtail import hooks

from doctors.models import Doctor

from .services import doctor_page_ensure


@hooks.register("after_create_snippet")
@hooks.register("after_edit_snippet")
def keep_doctor_page_in_step(request, instance):
    if isinstance(instance, Doctor):
        doctor_page_ensure(doctor=instance)
