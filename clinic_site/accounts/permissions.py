"""Who may do what with accounts. Pages, API and dashboard all ask these functions.

What a user may not see is reported as "not found", exactly like what does not exist.
"""

from __future__ import annotations

from django.http import Http404

from clinic_site.exceptions import Forbidden

from .models import User
from .roles import Role

FRONT_DESK_ROLES = frozenset({Role.RECEPTIONIST, Role.ADMIN})


def require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


def can_manage_users(actor: User) -> bool:
    return actor.is_authenticated and actor.is_active and actor.role == Role.ADMIN


def can_view_patient(actor: User, patient: User) -> bool:
    if not actor.is_authenticated:
        return False
    if actor.pk == patient.pk:
        return True
    return actor.role in FRONT_DESK_ROLES and patient.role == Role.PATIENT


def can_edit_profile(actor: User, user: User) -> bool:
    """Everyone edits their own details; the front desk also keeps patients' details current."""
    return can_view_patient(actor, user)


def patient_get_for_user(actor: User, patient_id) -> User:
    """The patient `patient_id` if `actor` may see them, else `Http404` (same as missing)."""
    try:
        patient = (
            User.objects.select_related("patient_profile")
            .prefetch_related("groups")
            .get(pk=int(patient_id))
        )
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None
    if not can_view_patient(actor, patient) or patient.role != Role.PATIENT:
        raise Http404("No such patient.")
    return patient
