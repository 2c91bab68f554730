"""Field validators shared by models, forms and API serializers."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

_PHONE_ALLOWED = re.compile(r"^\+?[0-9 ().\-]+$")
_NATIONAL_ID = re.compile(r"^[A-Za-z0-9\- ]{4,32}$")


def validate_phone(value: str) -> None:
    """A dialable number: optional leading +, 7 to 15 digits (E.164), common separators."""
    if not value:
        return
    digits = re.sub(r"\D", "", value)
    if not _PHONE_ALLOWED.match(value) or not 7 <= len(digits) <= 15:
        raise ValidationError(
            "Enter a phone number of 7 to 15 digits, for example +44 20 7946 0958.",
            code="invalid_phone",
        )


def validate_national_id(value: str) -> None:
    if value and not _NATIONAL_ID.match(value):
        raise ValidationError(
            "A national ID has 4 to 32 letters, digits or dashes.", code="invalid_national_id"
        )


def validate_date_of_birth(value: date) -> None:
    today = timezone.localdate()
    if value > today:
        raise ValidationError("The date of birth cannot be in the future.", code="future_date")
    if value.year < today.year - 130:
        raise ValidationError("Please check the year of birth.", code="implausible_date")
