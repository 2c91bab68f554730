"""Friendly error pages, and the API's 404 for paths no API route matches."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """/api/ paths that no API route matches (e.g. `/api/v1/doctors/abc/`), by any method:
    api-v1.md's `{"detail", "code"}` 404."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request):
    # Rendered without the request context: the error may have come from it.
    return render(None, "500.html", status=500)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)
