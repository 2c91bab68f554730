"""Sign-ins and sign-outs in the activity log.

These are the auth framework's own events (the portal's login page, the token API and the
admin all go through `django.contrib.auth`), so its signals are the one place that sees them all.
Connected in `AccountsConfig.ready`.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from clinic_site.activity import NO_ACTOR, Action, account_label, log_event

MAX_IDENTIFIER_LENGTH = 254


def _channel(request) -> str:
    path = getattr(request, "path", "") or ""
    return "api" if path.startswith("/api/") else "web"


def on_logged_in(sender, request, user, **kwargs) -> None:
    log_event(
        action=Action.LOGIN,
        actor=user,
        target=account_label(user),
        target_type="account",
        target_id=str(user.pk),
        details={"via": _channel(request)},
    )


def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is None:  # the session had already ended
        return
    log_event(
        action=Action.LOGOUT,
        actor=user,
        target=account_label(user),
        target_type="account",
        target_id=str(user.pk),
        details={"via": _channel(request)},
    )


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    """The identifier as typed (an e-mail address or a national ID) and the address it came
    from; never the password, and no actor (nobody proved who they are)."""
    credentials = credentials or {}
    identifier = credentials.get("username") or credentials.get("email") or ""
    identifier = str(identifier).strip().lower()[:MAX_IDENTIFIER_LENGTH]
    details = {"via": _channel(request)}
    if getattr(request, "axes_locked_out", False):
        details["locked_out"] = True
    log_event(
        action=Action.LOGIN_FAILED,
        actor=NO_ACTOR,
        target=identifier,
        target_type="login",
        details=details,
    )


def connect() -> None:
    # django-axes' own receivers first (importing the module connects them): on a locked-out
    # attempt they flag the request, which `on_login_failed` then reads.
    import axes.signals  # noqa: F401

    user_logged_in.connect(on_logged_in, dispatch_uid="clinic_activity_logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="clinic_activity_logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="clinic_activity_login_failed")
