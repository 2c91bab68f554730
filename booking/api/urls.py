from django.urls import path

from . import views

A = "appointments/<str:reference>/"

urlpatterns = [
    path("doctors/", views.DoctorListView.as_view(), name="api-doctors"),
    path("doctors/<int:pk>/", views.DoctorDetailView.as_view(), name="api-doctor-detail"),
    path("doctors/<int:pk>/slots/", views.SlotListView.as_view(), name="api-doctor-slots"),
    path("appointments/", views.AppointmentListView.as_view(), name="api-appointments"),
    path(A, views.AppointmentDetailView.as_view(), name="api-appointment-detail"),
    path(A + "confirm/", views.ConfirmView.as_view(), name="api-appointment-confirm"),
    path(A + "decline/", views.DeclineView.as_view(), name="api-appointment-decline"),
    path(A + "cancel/", views.CancelView.as_view(), name="api-appointment-cancel"),
    path(A + "reschedule/", views.RescheduleView.as_view(), name="api-appointment-reschedule"),
    path(A + "check-in/", views.CheckInView.as_view(), name="api-appointment-check-in"),
    path(A + "no-show/", views.NoShowView.as_view(), name="api-appointment-no-show"),
    path(A + "complete/", views.CompleteView.as_view(), name="api-appointment-complete"),
    path(A + "history/", views.HistoryView.as_view(), name="api-appointment-history"),
    path("queue/", views.QueueView.as_view(), name="api-queue"),
    path("queue/reorder/", views.QueueReorderView.as_view(), name="api-queue-reorder"),
]
