"""Limits on what one address (or one e-mail address) may ask the portal to do.

Sign-in failures are django-axes' (settings: AXES_*, CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT). The
forms below count in the cache through django-ratelimit, which must be shared by every worker in
production (Redis with CACHE_URL, else the database cache; see settings.production).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from django_ratelimit.core import get_usage, is_ratelimited

from clinic_site.activity import Action
from clinic_site.models import ActivityEvent

from .models import User

REGISTER_GROUP = "accounts.register"
RESET_GROUP = "accounts.password-reset"


def _rate(name: str) -> str:
    return settings.CLINIC_FORM_RATES[name]


def registrations_exhausted(request) -> bool:
    """True once this address has opened CLINIC_FORM_RATES["register"] accounts."""
    usage = get_usage(
        request, group=REGISTER_GROUP, key="ip", rate=_rate("register"), increment=False
    )
    return usage is not None and usage["count"] >= usage["limit"]


def registration_counted(request) -> None:
    is_ratelimited(request, group=REGISTER_GROUP, key="ip", rate=_rate("register"), increment=True)


def password_resets_exhausted(request) -> bool:
    """Counts every reset asked for from this address; True past the rate."""
    return is_ratelimited(
        request,
        group=RESET_GROUP,
        key="ip",
        rate=_rate("password_reset"),
        increment=True,
    )


def reset_emails_allowed(user: User) -> bool:
    """At most CLINIC_PASSWORD_RESET_EMAILS_PER_HOUR reset e-mails to one account an hour,
    counted in the activity log, so every worker agrees."""
    since = timezone.now() - timedelta(hours=1)
    sent = ActivityEvent.objects.filter(
        action=Action.PASSWORD_RESET_REQUESTED,
        target_type="user",
        target_id=str(user.pk),
        at__gte=since,
    ).count()
    return sent < settings.CLINIC_PASSWORD_RESET_EMAILS_PER_HOUR


def verification_tries_left_today(user: User) -> int:
    """Wrong codes an account may still be tried with today (every code sent counts)."""
    since = timezone.now() - timedelta(days=1)
    wrong = user.verification_codes.filter(created_at__gte=since).aggregate(total=Sum("attempts"))[
        "total"
    ]
    return max(0, settings.CLINIC_VERIFICATION_MAX_ATTEMPTS_PER_DAY - (wrong or 0))
