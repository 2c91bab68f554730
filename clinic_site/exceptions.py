"""The base of every domain error. The API turns one into `{"detail", "code"}` with its status;
forms show its message next to the field named by `field` (or above the form)."""

from __future__ import annotations

from typing import Any


class ClinicError(Exception):
    code: str = "error"
    status: int = 400
    default_detail: str = "The request could not be completed."
    field: str | None = None

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None):
        self.detail = detail or self.default_detail
        self.extra = extra or {}
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


class Forbidden(ClinicError):
    code = "permission_denied"
    status = 403
    default_detail = "You do not have permission to do this."


class Conflict(ClinicError):
    """A clinic rule refused the request (409)."""

    status = 409
