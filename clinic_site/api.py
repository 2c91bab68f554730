"""The REST API's shared pieces: pagination, throttles, the one exception handler, and the JSON
answers of errors that Django itself gives under /api/ (the parser is clinic_site/parsers.py).

Every error leaves as `{"detail", "code"}` with the status of api-v1.md, except validation
errors, which keep DRF's field map `{"field": ["message"]}`.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from clinic_site.dates import OUT_OF_RANGE, in_range
from clinic_site.exceptions import ClinicError

# Database errors that mean "a rule refused this" are registered here by the apps that own the
# constraints (booking maps its exclusion constraints to slot_unavailable / patient_overlap).
DATABASE_ERROR_TRANSLATORS: list = []

# --- Request bodies -----------------------------------------------------------------------------


def json_body(request):
    """`request.data`, refusing a form or multipart body even when it is empty: DRF reads an
    empty form as an empty QueryDict without asking a parser, and an empty QueryDict would pass
    for "no fields" (a whole week of no windows)."""
    data = request.data
    if hasattr(data, "getlist"):  # a QueryDict: only form and multipart bodies become one
        raise exceptions.UnsupportedMediaType(request.content_type)
    return data


class Pagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class WriteThrottle(ScopedRateThrottle):
    """Throttle only the unsafe methods of a view, under the view's `throttle_scope`."""

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)


class DateField(serializers.DateField):
    """A date within the clinic's calendar range (clinic_site.dates)."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not in_range(parsed):
            raise serializers.ValidationError(OUT_OF_RANGE)
        return parsed


class DateTimeField(serializers.DateTimeField):
    """A date and time within the clinic's calendar range (clinic_site.dates)."""

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not in_range(parsed):
            raise serializers.ValidationError(OUT_OF_RANGE)
        return parsed


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$",
        "example": "09:00",
        "description": "HH:MM (HH:MM:SS is accepted too)",
    }
)
class TimeField(serializers.TimeField):
    """A wall-clock time as api-v1.md writes it: `HH:MM` out, `HH:MM` or `HH:MM:SS` in.

    (OpenAPI's `format: time` is RFC 3339's full time, with seconds and an offset, which these
    are not.)
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M")
        kwargs.setdefault("input_formats", ["%H:%M", "%H:%M:%S"])
        super().__init__(**kwargs)


def no_nul(value: str | None) -> str | None:
    """Free text from a query string, without NUL characters (PostgreSQL refuses them)."""
    return value.replace("\x00", "") if value else value


def django_validation_error_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(
            {
                (field if field != "__all__" else "non_field_errors"): messages
                for field, messages in exc.message_dict.items()
            }
        )
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc, context):
    if isinstance(exc, ClinicError):
        return Response(exc.as_dict(), status=exc.status)
    for translate in DATABASE_ERROR_TRANSLATORS:
        translated = translate(exc)
        if translated is not None:
            return Response(translated.as_dict(), status=translated.status)
    if isinstance(exc, SuspiciousOperation):  # e.g. a body or query string over Django's limits
        status = refusal_status(exc)
        return Response(error_body(status), status=status)
    if isinstance(exc, DjangoValidationError):
        exc = django_validation_error_to_drf(exc)
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or isinstance(exc, exceptions.ValidationError):
        return response
    if isinstance(response.data, dict) and "detail" in response.data:
        detail = response.data["detail"]
        response.data["code"] = getattr(detail, "code", None) or getattr(
            exc, "default_code", "error"
        )
    return response


def schema_v1_endpoints_only(endpoints, **kwargs):
    """drf-spectacular pre-processing hook: document our API, not Wagtail's internal admin API."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


# --- Errors that Django answers before (or instead of) DRF ------------------------------------

ERRORS = {
    400: ("Bad request.", "bad_request"),
    403: ("You do not have permission to perform this action.", "permission_denied"),
    404: ("Not found.", "not_found"),
    413: ("The request body is too large.", "request_too_large"),
    500: ("Server error.", "server_error"),
}


def is_api_request(request) -> bool:
    path = request.path_info
    return path == "/api" or path.startswith("/api/")


def error_body(status: int, detail: str | None = None) -> dict:
    default_detail, code = ERRORS[status]
    return {"detail": detail or default_detail, "code": code}


def refusal_status(exc: SuspiciousOperation | None) -> int:
    """The status for a request Django refuses as suspicious: 413 for a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE, else 400 (a bad Host header, too many fields)."""
    return 413 if isinstance(exc, RequestDataTooBig) else 400


def error_response(status: int, detail: str | None = None) -> JsonResponse:
    return JsonResponse(error_body(status, detail), status=status)
