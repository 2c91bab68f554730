"""Read the clinic policies as plain values, for rules and services.

Rules take a `Policies` value (no ORM); services call `get_policies()` once per operation.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta


@dataclass(frozen=True)
class Policies:
    confirmation_required: bool = True
    buffer_before_minutes: int = 5
    buffer_after_minutes: int = 5
    minimum_notice_minutes: int = 60
    booking_horizon_days: int = 60
    cancellation_cutoff_minutes: int = 120
    reschedule_cutoff_minutes: int = 120
    max_reschedules: int = 3
    payment_at_booking: bool = False
    payment_hold_minutes: int = 15
    waitlist_offer_minutes: int = 30
    refund_full_hours: int = 24
    refund_late_percent: int = 50
    reminder_hours_before: int = 24
    accounts_need_activation: bool = False
    max_administrators: int = 2
    mfa_required_doctors: bool = True
    mfa_required_admins: bool = True
    mfa_required_reception: bool = False

    @property
    def minimum_notice(self) -> timedelta:
        return timedelta(minutes=self.minimum_notice_minutes)

    @property
    def cancellation_cutoff(self) -> timedelta:
        return timedelta(minutes=self.cancellation_cutoff_minutes)

    @property
    def reschedule_cutoff(self) -> timedelta:
        return timedelta(minutes=self.reschedule_cutoff_minutes)


POLICY_NAMES = tuple(f.name for f in fields(Policies))


def get_policies(request=None) -> Policies:
    """The clinic's current policies (one query, cached on `request` when one is given)."""
    from clinic_site.models import ClinicPolicies

    row = ClinicPolicies.load(request)
    return Policies(**{name: getattr(row, name) for name in POLICY_NAMES})


def clinic_tz():
    """The clinic's time zone (CLINIC_TIME_ZONE)."""
    from django.utils import timezone

    return timezone.get_default_timezone()
