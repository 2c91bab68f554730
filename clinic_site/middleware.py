"""Response headers the security baseline asks for beyond Django's own middleware, and the
request context of the activity log."""

import time

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers, patch_cache_control

from clinic_site import activity


class PrivateResponseMiddleware:
    """Never let a cache keep a page or API answer that may carry personal data.

    Applies to everything a signed-in user receives, to the whole API and to the account pages;
    anonymous public pages stay cacheable. Also sets Permissions-Policy.
    """

    PRIVATE_PREFIXES = ("/api/", "/accounts/", "/portal/", "/admin/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith(self.PRIVATE_PREFIXES) or (user and user.is_authenticated):
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        response.headers.setdefault("Permissions-Policy", settings.CLINIC_PERMISSIONS_POLICY)
        return response


class StaffAreaMiddleware:
    """A signed-in person who may not use the staff dashboard never enters it.

    Wagtail answers such a request with a redirect to the sign-in page, which sends a signed-in
    user straight back: an endless loop. Here a patient opening any `/admin/` URL goes to their
    portal in one redirect, with a message; a staff account without dashboard access (a role
    set up wrongly) gets the 403 page. Anonymous visitors keep Wagtail's way: sign in first.
    """

    PREFIX = "/admin/"
    MESSAGE = "The staff dashboard is for clinic staff only. Here is your patient portal."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            request.path_info.startswith(self.PREFIX)
            and user is not None
            and user.is_authenticated
            and not user.has_perm("wagtailadmin.access_admin")
        ):
            if user.uses_admin_area or request.headers.get("x-requested-with") == "XMLHttpRequest":
                raise PermissionDenied
            messages.info(request, self.MESSAGE)
            return redirect("portal:home")
        return self.get_response(request)


class ClinicCSPMiddleware(CSPMiddleware):
    """The site's Content-Security-Policy, relaxed only where Wagtail's admin needs it.

    Wagtail's admin widgets (date pickers, inline panels) carry small inline scripts, so
    `/admin/` also allows inline scripts. The public site and the portal keep `script-src 'self'`.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith("/admin/"):
            parts.update = {**(parts.update or {}), "script-src": [UNSAFE_INLINE]}
        return parts


class ActivityContextMiddleware:
    """Make the request's user and client address known to the activity log while it is served,
    so services log who did what without being handed the request (clinic_site/activity.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = activity.request_started(request)
        try:
            return self.get_response(request)
        finally:
            activity.request_finished(token)


class IdleSessionMiddleware(SessionMiddleware):
    """Django's session middleware with the idle timeout refreshed at most once a minute.

    A session lives `SESSION_COOKIE_AGE` seconds after it was last saved. Saving it on every
    request (`SESSION_SAVE_EVERY_REQUEST`) costs each signed-in page an UPDATE and a commit;
    here a request saves it only when it changed or when its last refresh is at least
    `CLINIC_SESSION_REFRESH_SECONDS` old, so a session ends between `SESSION_COOKIE_AGE` minus
    that interval and `SESSION_COOKIE_AGE` after the last request.
    """

    REFRESHED_KEY = "_clinic_refreshed"

    def process_response(self, request, response):
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            refreshed = session.get(self.REFRESHED_KEY)  # loads it if the request did not
            stale = (
                session.modified
                or not isinstance(refreshed, int)
                or now - refreshed >= settings.CLINIC_SESSION_REFRESH_SECONDS
            )
            # A key that loaded nothing (an expired or unknown session) leaves it empty.
            if stale and not session.is_empty():
                session[self.REFRESHED_KEY] = now
        return super().process_response(request, response)


def session_refreshed_at_login(sender, request, user, **kwargs):
    """`user_logged_in`: a signed-in session starts its idle time now (it is saved anyway)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[IdleSessionMiddleware.REFRESHED_KEY] = int(time.time())
