"""Template tags for pages outside the booking app that show a patient's bookings."""

from django import template
from django.utils import timezone

from booking import selectors

register = template.Library()


@register.simple_tag
def upcoming_appointments(user, limit: int = 3):
    """The patient's next appointments (one query), for the portal's home page."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(selectors.patient_upcoming(user, now=timezone.now())[:limit])
