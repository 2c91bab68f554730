from django.urls import path

from . import schedules

urlpatterns = [
    path("schedules/", schedules.ScheduleListView.as_view(), name="schedules"),
    path("schedules/<int:doctor_id>/", schedules.ScheduleView.as_view(), name="schedule"),
    path(
        "schedules/<int:doctor_id>/exceptions/add/",
        schedules.ExceptionAddView.as_view(),
        name="schedule_exception_add",
    ),
    path(
        "schedules/<int:doctor_id>/exceptions/<int:exception_id>/delete/",
        schedules.ExceptionDeleteView.as_view(),
        name="schedule_exception_delete",
    ),
    path(
        "schedules/<int:doctor_id>/visit-types/add/",
        schedules.VisitTypeAddView.as_view(),
        name="schedule_visit_type_add",
    ),
    path(
        "schedules/<int:doctor_id>/visit-types/<int:visit_type_id>/",
        schedules.VisitTypeEditView.as_view(),
        name="schedule_visit_type_edit",
    ),
    path(
        "schedules/<int:doctor_id>/visit-types/<int:visit_type_id>/remove/",
        schedules.VisitTypeRemoveView.as_view(),
        name="schedule_visit_type_remove",
    ),
]
