"""Every dashboard screen, mounted under /admin/clinic/ by wagtail_hooks.py."""

from django.urls import include, path

app_name = "dashboard"

urlpatterns = [
    path("", include("dashboard.views.urls_appointments")),
    path("", include("dashboard.views.urls_desk")),
    path("", include("dashboard.views.urls_schedules")),
    path("", include("dashboard.views.urls_analytics")),
    path("", include("dashboard.views.urls_activity")),
    path("", include("dashboard.views.urls_users")),
]
