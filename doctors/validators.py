"""Payout detail formats (Indian PAN, IFSC and bank account numbers)."""

from django.core.validators import RegexValidator

validate_pan = RegexValidator(
    r"^[A-Z]{5}[0-9]{4}[A-Z]$",
    "A PAN is five capital letters, four digits and a capital letter, e.g. ABCDE1234F.",
    code="invalid_pan",
)
validate_ifsc = RegexValidator(
    r"^[A-Z]{4}0[A-Z0-9]{6}$",
    "An IFSC is four capital letters, a zero and six letters or digits, e.g. HDFC0001234.",
    code="invalid_ifsc",
)
validate_bank_account = RegexValidator(
    r"^[0-9]{9,18}$", "A bank account number has 9 to 18 digits.", code="invalid_account"
)
