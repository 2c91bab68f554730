"""The activity log: who did what sensitive thing, to what, when and from where (product.md §9).

Every app writes its events through `log_event` / `log_events`, from the service (or the auth
framework's signal) that owns the action, inside that action's transaction: a rolled-back
action leaves no event. The acting user and the client's address default to those of the
current request, which `ActivityContextMiddleware` (clinic_site.middleware) makes known here.

Events carry facts about the action, never clinical content: no diagnosis, notes,
prescriptions, tests or free-text reasons (`details` refuses those keys), and never a password.

This module sits in the lowest layer: it imports no domain app, and the model is imported
lazily (clinic_site.models imports `Action` from here).
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from django.http import HttpRequest

    from clinic_site.models import ActivityEvent


class Action(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOGOUT = "logout", "Signed out"
    ACCOUNT_CREATED = "account_created", "Account created"
    ACCOUNT_ACTIVATED = "account_activated", "Account activated"
    ACCOUNT_DEACTIVATED = "account_deactivated", "Account deactivated"
    ROLE_CHANGED = "role_changed", "Role changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_RESET_COMPLETED = "password_reset_completed", "Password reset completed"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    POLICY_CHANGED = "policy_changed", "Policy changed"
    MFA_ENROLLED = "mfa_enrolled", "Two-step sign-in method added"
    MFA_REMOVED = "mfa_removed", "Two-step sign-in method removed"
    MFA_RESET = "mfa_reset", "Two-step sign-in reset"
    MFA_FAILED = "mfa_failed", "Two-step sign-in failed"
    RECOVERY_CODES_CREATED = "recovery_codes_created", "Recovery codes created"
    APPOINTMENT_TRANSITION = "appointment_transition", "Status changed"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled", "Rescheduled"
    RECORD_READ = "record_read", "Record read"
    EXPORT = "export", "Exported"


# Keys that would carry clinical content or secrets into the log; `details` refuses them.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "diagnosis",
        "notes",
        "prescriptions",
        "prescription",
        "tests",
        "addendum",
        "addenda",
        "text",
        "password",
        "password1",
        "password2",
        "token",
        "code",
    }
)

MAX_TARGET_LENGTH = 255


class _NoActor:
    """Pass as `actor` for an event that has no actor even inside a signed-in request
    (a failed sign-in, housekeeping)."""

    def __repr__(self) -> str:
        return "NO_ACTOR"


NO_ACTOR: Any = _NoActor()


# --- The request context ----------------------------------------------------------------------


@dataclass(frozen=True)
class RequestContext:
    """The request being served. The user is read when an event is written, not when the
    request starts: signing in or out swaps `request.user`, and DRF sets it late."""

    request: HttpRequest
    ip_address: str | None

    @property
    def user(self):
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


_current: ContextVar[RequestContext | None] = ContextVar("clinic_activity_request", default=None)


def client_ip(request) -> str | None:
    """REMOTE_ADDR as a normalised address (the proxy in front sets it), else None."""
    if request is None:
        return None
    meta = getattr(request, "META", None) or {}
    value = (meta.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def request_started(request: HttpRequest):
    """Make `request` the current one (returns the token for `request_finished`)."""
    return _current.set(RequestContext(request=request, ip_address=client_ip(request)))


def request_finished(token) -> None:
    _current.reset(token)


def current_context() -> RequestContext | None:
    return _current.get()


# --- Writing events -----------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """Strings without NUL characters (PostgreSQL's text and jsonb refuse them, and a filter
    typed into a URL may carry one), inside lists and dicts too."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def _check_details(details: dict[str, Any] | None) -> dict[str, Any]:
    details = dict(details or {})
    refused = FORBIDDEN_DETAIL_KEYS & {str(key).lower() for key in details}
    if refused:
        raise ValueError(f"Activity details never carry {sorted(refused)}.")
    return _clean(details)


def _build(
    *,
    action: str,
    actor=None,
    target: str = "",
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
    at: datetime | None = None,
) -> ActivityEvent:
    from clinic_site.models import ActivityEvent

    if action not in Action.values:
        raise ValueError(f"Unknown activity action {action!r}; add it to activity.Action.")
    context = _current.get()
    if actor is None and context is not None:
        actor = context.user
    if actor is NO_ACTOR or actor is None or not getattr(actor, "is_authenticated", False):
        actor = None
    if ip_address is None and context is not None:
        ip_address = context.ip_address
    return ActivityEvent(
        at=at or timezone.now(),
        action=str(action),
        actor=actor,
        actor_name=(actor.full_name or "")[:200] if actor else "",
        actor_email=(actor.email or "")[:254] if actor else "",
        target=_clean(target or "")[:MAX_TARGET_LENGTH],
        target_type=_clean(target_type or "")[:40],
        target_id=_clean(str(target_id or ""))[:64],
        details=_check_details(details),
        ip_address=ip_address or None,
    )


def log_event(
    *,
    action: str,
    actor=None,
    target: str = "",
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
    ip_address: str | None = None,
    at: datetime | None = None,
) -> ActivityEvent:
    """Write one event, in the caller's transaction.

    `actor` and `ip_address` default to the current request's (None outside a request);
    pass `actor=NO_ACTOR` for an event that has none. `target` is a human label kept as it was
    at the time (names change, rows go); `target_type` / `target_id` identify the object.
    `details` holds small facts (statuses, field changes, counts) — never clinical content.
    """
    event = _build(
        action=action,
        actor=actor,
        target=target,
        target_type=target_type,
        target_id=target_id,
        details=details,
        ip_address=ip_address,
        at=at,
    )
    event.save(force_insert=True)
    return event


def log_events(events: list[dict[str, Any]]) -> list[ActivityEvent]:
    """Write several events in one insert (each dict takes `log_event`'s keyword arguments)."""
    from clinic_site.models import ActivityEvent

    built = [_build(**event) for event in events]
    if not built:
        return []
    return ActivityEvent.objects.bulk_create(built)


def account_label(user) -> str:
    """How an account is named in the log: "Full Name <e-mail>"."""
    name = (getattr(user, "full_name", "") or "").strip()
    email = getattr(user, "email", "") or ""
    return f"{name} <{email}>" if name else email


MAX_FILTER_VALUE_LENGTH = 100


def log_export(
    what: str,
    *,
    target_id: str,
    export_format: str,
    rows: int,
    query=None,
    ignore: tuple[str, ...] = (),
    actor=None,
) -> ActivityEvent:
    """An `export` event: what was exported, in which format, how many rows, with which filters
    (`query`: the request's GET parameters, less those in `ignore`, e.g. the export trigger)."""
    filters: dict[str, Any] = {}
    if query is not None:
        for key in sorted(query.keys()):
            if key in ignore:
                continue
            raw = query.getlist(key) if hasattr(query, "getlist") else [query[key]]
            values = [str(v)[:MAX_FILTER_VALUE_LENGTH] for v in raw if str(v)]
            if values:
                filters[key] = values[0] if len(values) == 1 else values
    return log_event(
        action=Action.EXPORT,
        actor=actor,
        target=what,
        target_type="export",
        target_id=target_id,
        details={"format": export_format, "rows": rows, "filters": filters},
    )
