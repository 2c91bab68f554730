from django.urls import path

from . import views

urlpatterns = [
    path("specialties/", views.SpecialtyListView.as_view(), name="api-specialties"),
    path(
        "doctors/<int:pk>/weekly-schedule/",
        views.WeeklyScheduleView.as_view(),
        name="api-weekly-schedule",
    ),
    path(
        "doctors/<int:pk>/exceptions/",
        views.ScheduleExceptionListView.as_view(),
        name="api-schedule-exceptions",
    ),
    path(
        "doctors/<int:pk>/exceptions/<int:exception_id>/",
        views.ScheduleExceptionDetailView.as_view(),
        name="api-schedule-exception-detail",
    ),
]
