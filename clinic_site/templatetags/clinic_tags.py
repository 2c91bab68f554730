from decimal import Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def icon(name: str, label: str = "", css_class: str = ""):
    """An icon from the sprite. Decorative unless `label` is given."""
    href = f"{static('img/icons.svg')}#{name}"
    classes = f"icon {css_class}".strip()
    if label:
        return format_html(
            '<svg class="{}" role="img" aria-label="{}"><use href="{}"></use></svg>',
            classes,
            label,
            href,
        )
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}"></use></svg>',
        classes,
        href,
    )


@register.filter
def money(value) -> str:
    """A price in the clinic's currency: "£45.00"; zero reads "Free"."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    if amount == 0:
        return "Free"
    return f"{settings.CLINIC_CURRENCY_SYMBOL}{amount:,.2f}"


@register.simple_tag
def site_name() -> str:
    """The clinic's name as the staff dashboard and its e-mails show it (WAGTAIL_SITE_NAME)."""
    return settings.WAGTAIL_SITE_NAME
