"""The five roles. A role is a Django auth group; its permissions come from data migrations."""

from django.db import models


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    DOCTOR = "doctor", "Doctor"
    RECEPTIONIST = "receptionist", "Receptionist"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"

    @property
    def group_name(self) -> str:
        return self.label


# When a user holds several groups, the first one here is their role.
ROLE_PRIORITY = (Role.ADMIN, Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR, Role.PATIENT)
STAFF_ROLES = frozenset({Role.ADMIN, Role.DOCTOR, Role.RECEPTIONIST})
# Roles that work in the Wagtail admin (staff dashboard or page editing).
ADMIN_AREA_ROLES = frozenset({Role.ADMIN, Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR})
GROUP_TO_ROLE = {role.label: role for role in Role}


def role_from_group_names(names) -> Role | None:
    held = {GROUP_TO_ROLE[name] for name in names if name in GROUP_TO_ROLE}
    for role in ROLE_PRIORITY:
        if role in held:
            return role
    return None


# Model permissions of each role ("app_label.codename"). Object-level rules ("own", "the treating
# doctor") live in each app's permissions.py. Page, image and document permissions of editors and
# administrators are granted on the page tree and collections (home/migrations).
# Every doctor's visit types, weekly windows and exceptions (the front desk and administrators).
SCHEDULE_PERMISSIONS = tuple(
    f"doctors.{verb}_{model}"
    for model in ("visittype", "weeklywindow", "scheduleexception")
    for verb in ("add", "change", "delete", "view")
)

# Consultation records (records app). Receptionists and editors get none of these, ever.
RECORD_MODELS = ("consultationrecord", "prescriptionitem", "requestedtest", "addendum")
RECORD_READ_PERMISSIONS = tuple(f"records.view_{model}" for model in RECORD_MODELS)
RECORD_WRITE_PERMISSIONS = (
    *RECORD_READ_PERMISSIONS,
    "records.add_consultationrecord",
    "records.change_consultationrecord",
    *(
        f"records.{verb}_{model}"
        for model in ("prescriptionitem", "requestedtest")
        for verb in ("add", "change", "delete")
    ),
    "records.add_addendum",
)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.PATIENT: (
        "accounts.view_patientprofile",
        "accounts.change_patientprofile",
        "booking.add_appointment",
        "booking.view_appointment",
        # Their own finalised records of completed visits, read only (records/permissions.py).
        *RECORD_READ_PERMISSIONS,
    ),
    Role.DOCTOR: (
        "wagtailadmin.access_admin",
        "accounts.view_patientprofile",
        "doctors.view_doctor",
        "doctors.view_specialty",
        # Their own schedule and visit types (object-level rule in doctors/permissions.py).
        "doctors.view_visittype",
        "doctors.view_weeklywindow",
        "doctors.add_weeklywindow",
        "doctors.change_weeklywindow",
        "doctors.delete_weeklywindow",
        "doctors.view_scheduleexception",
        "doctors.add_scheduleexception",
        "doctors.delete_scheduleexception",
        # Their own appointments (booking/permissions.py).
        "booking.view_appointment",
        "booking.change_appointment",
        # Consultation records of their own appointments (records/permissions.py): write the
        # record and its items, sign addenda, read; the medicine catalogue for suggestions.
        *RECORD_WRITE_PERMISSIONS,
        "records.view_medicine",
    ),
    Role.RECEPTIONIST: (
        # No user permissions: users and roles are the administrators' (Wagtail's user list
        # would show every account's e-mail). The desk finds patients with its own search.
        "wagtailadmin.access_admin",
        "accounts.add_patientprofile",
        "accounts.view_patientprofile",
        "accounts.change_patientprofile",
        "doctors.view_doctor",
        "doctors.view_specialty",
        *SCHEDULE_PERMISSIONS,
        "booking.add_appointment",
        "booking.view_appointment",
        "booking.change_appointment",
    ),
    Role.ADMIN: (
        "wagtailadmin.access_admin",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_user",
        "accounts.add_patientprofile",
        "accounts.view_patientprofile",
        "accounts.change_patientprofile",
        "auth.view_group",
        "doctors.add_doctor",
        "doctors.change_doctor",
        "doctors.view_doctor",
        "doctors.add_specialty",
        "doctors.change_specialty",
        "doctors.delete_specialty",
        "doctors.view_specialty",
        "doctors.add_doctorpayoutdetails",
        "doctors.change_doctorpayoutdetails",
        "doctors.view_doctorpayoutdetails",
        *SCHEDULE_PERMISSIONS,
        "booking.add_appointment",
        "booking.view_appointment",
        "booking.change_appointment",
        # Consultation records: read only, every read logged (records/permissions.py); the
        # access log; the medicine catalogue.
        *RECORD_READ_PERMISSIONS,
        "records.view_recordaccess",
        "records.add_medicine",
        "records.change_medicine",
        "records.view_medicine",
        "clinic_site.change_clinicpolicies",
        "clinic_site.view_clinicpolicies",
        "home.change_clinicdetails",
        "home.view_clinicdetails",
        "wagtailredirects.add_redirect",
        "wagtailredirects.change_redirect",
        "wagtailredirects.delete_redirect",
    ),
    Role.EDITOR: (
        "wagtailadmin.access_admin",
        "doctors.view_doctor",
        "home.change_clinicdetails",
        "home.view_clinicdetails",
        "wagtailredirects.add_redirect",
        "wagtailredirects.change_redirect",
        "wagtailredirects.delete_redirect",
    ),
}

# Page-tree and collection permissions (granted at the root, so they cover everything).
ROLE_PAGE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.EDITOR: ("add_page", "change_page", "publish_page", "lock_page", "unlock_page"),
    Role.ADMIN: (
        "add_page",
        "change_page",
        "publish_page",
        "bulk_delete_page",
        "lock_page",
        "unlock_page",
    ),
}
ROLE_COLLECTION_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.EDITOR: (
        "wagtailimages.add_image",
        "wagtailimages.change_image",
        "wagtailimages.choose_image",
        "wagtaildocs.add_document",
        "wagtaildocs.change_document",
        "wagtaildocs.choose_document",
    ),
    Role.ADMIN: (
        "wagtailimages.add_image",
        "wagtailimages.change_image",
        "wagtailimages.delete_image",
        "wagtailimages.choose_image",
        "wagtaildocs.add_document",
        "wagtaildocs.change_document",
        "wagtaildocs.delete_document",
        "wagtaildocs.choose_document",
    ),
}
