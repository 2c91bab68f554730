from django.urls import path

from . import views

urlpatterns = [
    path("specialties/", views.SpecialtyListView.as_view(), name="api-specialties"),
    path("doctors/", views.DoctorListView.as_view(), name="api-doctors"),
    path("doctors/<int:pk>/", views.DoctorDetailView.as_view(), name="api-doctor-detail"),
]
