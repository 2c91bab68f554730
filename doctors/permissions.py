"""Who may see what of a doctor."""

from __future__ import annotations

from clinic_site.accounts.roles import Role

from .models import Doctor


def can_view_payout(user, doctor: Doctor) -> bool:
    """Payout details: the doctor themself and administrators, nobody else."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.ADMIN:
        return True
    return doctor.user_id is not None and doctor.user_id == user.pk


def can_manage_schedule(user, doctor: Doctor) -> bool:
    """Weekly schedule and exceptions: the doctor themself, receptionists and administrators."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role in (Role.RECEPTIONIST, Role.ADMIN):
        return True
    return user.role == Role.DOCTOR and doctor.user_id is not None and doctor.user_id == user.pk
