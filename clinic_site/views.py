"""Friendly error pages, and the API's JSON answers for errors Django gives itself under /api/
(a bad Host header, a body over Django's limits, a CSRF refusal, a server error, a path no API
route matches): api-v1.md's `{"detail", "code"}`, never an HTML page."""

from django.shortcuts import render
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from clinic_site import api


def page_not_found(request, exception=None):
    if api.is_api_request(request):
        return api.error_response(404)
    return render(request, "404.html", status=404)


def bad_request(request, exception=None):
    if api.is_api_request(request):
        return api.error_response(api.refusal_status(exception))
    return defaults.bad_request(request, exception)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """/api paths that no API route matches (e.g. `/api/v1/doctors/abc/`), by any method:
    api-v1.md's `{"detail", "code"}` 404 — also for a path without its trailing slash, which
    is not redirected (a redirected POST would arrive as a GET, without its body)."""
    if not request.path_info.endswith("/"):
        return api.error_response(404, "Not found. API paths end with a slash.")
    return api.error_response(404)


def server_error(request):
    if api.is_api_request(request):
        return api.error_response(500)
    # Rendered without the request context: the error may have come from it.
    return render(None, "500.html", status=500)


def permission_denied(request, exception=None):
    if api.is_api_request(request):
        return api.error_response(403)
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    if api.is_api_request(request):  # in DRF's words for the same refusal
        return api.error_response(403, f"CSRF Failed: {reason}")
    return render(request, "403_csrf.html", status=403)
