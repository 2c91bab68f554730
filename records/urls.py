"""The patient's visit summary pages (portal)."""

from django.urls import path

from . import views

app_name = "records"

A = "portal/appointments/<str:reference>/"

urlpatterns = [
    path(A + "summary/", views.SummaryView.as_view(), name="summary"),
    path(A + "summary.pdf", views.SummaryPdfView.as_view(), name="summary_pdf"),
]
