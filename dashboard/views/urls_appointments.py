from django.urls import path

from . import appointments, queue, records

A = "appointments/<str:reference>/"

urlpatterns = [
    path("appointments/", appointments.AppointmentListView.as_view(), name="appointments"),
    path(A, appointments.AppointmentView.as_view(), name="appointment"),
    path(A + "reschedule/", appointments.RescheduleView.as_view(), name="reschedule"),
    path(A + "record/", records.RecordView.as_view(), name="record"),
    path("calendar/", appointments.CalendarView.as_view(), name="calendar"),
    path("queue/", queue.QueueView.as_view(), name="queue"),
]
