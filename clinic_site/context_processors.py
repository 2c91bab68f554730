from django.conf import settings


def clinic(request):
    """Role-aware navigation flags for the templates (no queries beyond the user's groups)."""
    user = getattr(request, "user", None)
    role = user.role.value if user is not None and user.is_authenticated and user.role else None
    return {
        "user_role": role,
        "show_portal_links": role == "patient",
        "show_dashboard_link": role in ("admin", "doctor", "receptionist", "editor"),
        "clinic_time_zone": settings.TIME_ZONE,
    }
