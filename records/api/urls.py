from django.urls import path

from . import views

C = "appointments/<str:reference>/consultation/"

urlpatterns = [
    path(C, views.ConsultationView.as_view(), name="api-consultation"),
    path(C + "finalise/", views.FinaliseView.as_view(), name="api-consultation-finalise"),
    path(C + "addenda/", views.AddendumView.as_view(), name="api-consultation-addenda"),
    path("medicines/", views.MedicineListView.as_view(), name="api-medicines"),
]
