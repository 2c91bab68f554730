"""Who reaches which dashboard screen. Object rules stay in each domain app's permissions.py
(booking, doctors, records); these only gate whole screens by role."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from clinic_site.accounts.roles import Role
from doctors.models import Doctor

FRONT_DESK = frozenset({Role.RECEPTIONIST, Role.ADMIN})
CLINIC_STAFF = frozenset({Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN})


def role_of(user) -> Role | None:
    return user.role if getattr(user, "is_authenticated", False) else None


def is_front_desk(user) -> bool:
    return role_of(user) in FRONT_DESK


def is_clinic_staff(user) -> bool:
    return role_of(user) in CLINIC_STAFF


def is_doctor(user) -> bool:
    return role_of(user) == Role.DOCTOR


def own_doctor(user) -> Doctor | None:
    """The doctor profile of a signed-in doctor (None for everyone else)."""
    if not is_doctor(user):
        return None
    cached = getattr(user, "_dashboard_doctor", False)
    if cached is False:
        cached = Doctor.objects.filter(user=user).first()
        user._dashboard_doctor = cached
    return cached


def require(allowed: bool) -> None:
    """Refuse a whole screen. Wagtail's admin turns the refusal into a redirect to its home page
    with a "no permission" message (a 403 for script requests)."""
    if not allowed:
        raise PermissionDenied
