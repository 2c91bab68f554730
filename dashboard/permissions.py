"""Who reaches which dashboard screen. Object rules stay in each domain app's permissions.py
(booking, doctors, records); these gate whole screens by role, and say whose appointments a
screen with a `doctor` choice shows: the front desk's choice, a doctor's own whatever they ask
for (an object in the path that is not theirs stays a 404, from those rules)."""

from __future__ import annotations

from collections.abc import Callable

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


def is_unlinked_doctor(user) -> bool:
    """A user of the Doctor group whose account no doctor profile points at yet: their screens
    say so and show nobody's appointments."""
    return is_doctor(user) and own_doctor(user) is None


def screen_doctor(user, chosen: Callable[[], Doctor | None]) -> Doctor | None:
    """Whose day a one-doctor screen shows (queue, calendar). A doctor: their own, whatever the
    `doctor` parameter says — the same rule as `doctor_param` — and None without a doctor
    profile, never a colleague's. Anyone else (the front desk): `chosen()`."""
    if is_doctor(user):
        return own_doctor(user)
    return chosen()


def doctor_param(user, value: str) -> str:
    """A `doctor` filter value as it applies to `user`: a doctor's is always their own doctor's
    id (empty without a profile), so asking for a colleague shows their own; anyone else's as
    given."""
    if not is_doctor(user):
        return value
    doctor = own_doctor(user)
    return str(doctor.pk) if doctor is not None else ""


def require(allowed: bool) -> None:
    """Refuse a whole screen. Wagtail's admin turns the refusal into a redirect to its home page
    with a "no permission" message (a 403 for script requests)."""
    if not allowed:
        raise PermissionDenied
