"""The API's error answers in its OpenAPI document (api-v1.md, "Errors").

Every operation documents the errors it can answer with, in the two shapes of the contract:
`400` with DRF's field map (or `{"detail", "code"}` for a body that cannot be parsed), and
`{"detail", "code"}` for everything else.

`ClinicAutoSchema` adds the errors that follow from how a view is set up, the same way for every
view:

- `400` when the operation takes a request body or query parameters;
- `401` when the view authenticates callers (a missing, bad or expired token is refused);
- `403` for a write to a view that accepts the browser session (without its CSRF token);
- `404` when the path names something (an unknown or invisible id), or for a page of a list
  past its end (DRF's pagination);
- `429` when a throttle applies to the method.

Errors that depend on what a view does — `403` for a role that may not, `409` for a rule that
refused, a `404` for an id inside a body — are declared on the view with `errors(...)`:

    @extend_schema(responses={200: AppointmentSchema, **errors(403, 409)})
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import authentication, permissions
from rest_framework.permissions import SAFE_METHODS

from clinic_site.api import WriteThrottle

ERROR = "Error"
CONFLICT = "Conflict"
FIELD_ERRORS = "FieldErrors"

SCHEMAS = {
    ERROR: {
        "type": "object",
        "description": "Any error but a validation error: a human message and a machine code.",
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string"},
        },
        "required": ["detail", "code"],
    },
    CONFLICT: {
        "type": "object",
        "description": (
            "A clinic rule refused the request; `slot_unavailable` adds nearby free slots."
        ),
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "alternatives": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "start": {"type": "string", "format": "date-time"},
                        "end": {"type": "string", "format": "date-time"},
                    },
                    "required": ["start", "end"],
                },
            },
        },
        "required": ["detail", "code"],
    },
    FIELD_ERRORS: {
        "type": "object",
        "description": (
            "DRF's field map: each field (or `non_field_errors`) with its messages; a nested "
            "body nests its errors the same way (lists by position)."
        ),
        "additionalProperties": {"anyOf": [{"type": "array", "items": {}}, {"type": "object"}]},
    },
}

DESCRIPTIONS = {
    400: "Validation failed (field map), or the body could not be parsed",
    401: "Not signed in, or the token is invalid or expired",
    403: "Not allowed (`permission_denied`, `email_not_verified`)",
    404: "Not found, or not visible to this user",
    409: "A clinic rule refused it (see the code)",
    429: "Throttled",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _bad_request(*, list_body: bool = False) -> dict:
    options = [_ref(FIELD_ERRORS), _ref(ERROR)]
    if list_body:  # a list body answers with one field map per item
        options.append({"type": "array", "items": _ref(FIELD_ERRORS)})
    return {"anyOf": options}


def _schema_for(status: int, *, list_body: bool = False) -> dict:
    if status == 400:
        return _bad_request(list_body=list_body)
    if status == 409:
        return _ref(CONFLICT)
    return _ref(ERROR)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Documented error answers for `extend_schema(responses={...})`."""
    return {
        status: OpenApiResponse(_schema_for(status), description=DESCRIPTIONS[status])
        for status in statuses
    }


class ClinicAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the errors every view answers by its set-up."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for name, schema in SCHEMAS.items():
            registry.register_on_missing(
                ResolvedComponent(
                    name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
                )
            )
        responses = operation["responses"]
        for status in self._implied_errors(operation):
            responses.setdefault(
                str(status),
                {
                    "content": {
                        "application/json": {
                            "schema": _schema_for(status, list_body=self._list_body(operation))
                        }
                    },
                    "description": DESCRIPTIONS[status],
                },
            )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _implied_errors(self, operation: dict) -> list[int]:
        parameters = operation.get("parameters", [])
        implied = []
        if operation.get("requestBody") or any(p["in"] == "query" for p in parameters):
            implied.append(400)
        if self._authenticates():
            implied.append(401)
        if self.method not in SAFE_METHODS and any(
            issubclass(auth, authentication.SessionAuthentication)
            for auth in self.view.authentication_classes
        ):
            implied.append(403)
        if any(p["in"] == "path" or (p["in"], p["name"]) == ("query", "page") for p in parameters):
            implied.append(404)
        if self._throttled():
            implied.append(429)
        return implied

    def _authenticates(self) -> bool:
        if self.view.authentication_classes:
            return True
        return not all(
            issubclass(permission, permissions.AllowAny)
            for permission in self.view.permission_classes
        )

    def _throttled(self) -> bool:
        for throttle in self.view.throttle_classes:
            if issubclass(throttle, WriteThrottle) and self.method in SAFE_METHODS:
                continue  # WriteThrottle leaves reads alone
            return True
        return False

    def _map_basic_serializer(self, serializer, direction):
        """A serializer's `Meta.optional_in_response` fields are left out of some answers (not
        null), so the response component does not list them as required."""
        schema = super()._map_basic_serializer(serializer, direction)
        optional = getattr(getattr(serializer, "Meta", None), "optional_in_response", ())
        if direction == "response" and optional and "required" in schema:
            schema["required"] = [name for name in schema["required"] if name not in optional]
            if not schema["required"]:
                del schema["required"]
        return schema

    @staticmethod
    def _list_body(operation: dict) -> bool:
        content = operation.get("requestBody", {}).get("content", {})
        return any(media.get("schema", {}).get("type") == "array" for media in content.values())
