"""The patient's booking pages: the public slot picker and the portal's appointment pages."""

from django.urls import path

from . import views

app_name = "booking"

A = "portal/appointments/<str:reference>/"

urlpatterns = [
    path("book/<slug:slug>/", views.SlotPickerView.as_view(), name="pick"),
    path("book/<slug:slug>/review/", views.ReviewView.as_view(), name="review"),
    path("portal/appointments/", views.AppointmentListView.as_view(), name="list"),
    path(A, views.AppointmentDetailView.as_view(), name="detail"),
    path(A + "booked/", views.BookedView.as_view(), name="booked"),
    path(A + "cancel/", views.CancelView.as_view(), name="cancel"),
    path(A + "reschedule/", views.RescheduleView.as_view(), name="reschedule"),
    path(
        A + "reschedule/confirm/",
        views.RescheduleConfirmView.as_view(),
        name="reschedule_confirm",
    ),
    path(A + "calendar.ics", views.CalendarFileView.as_view(), name="calendar"),
    path("portal/my-data/", views.MyDataView.as_view(), name="my_data"),
]
