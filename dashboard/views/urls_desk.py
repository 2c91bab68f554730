from django.urls import path, re_path

from . import desk

# Patient ids of at most 18 digits: anything else is a 404 before it reaches the database.
PATIENT = r"^book/patient/(?P<patient_id>[0-9]{1,18})/"

urlpatterns = [
    path("book/", desk.BookStartView.as_view(), name="book"),
    path("book/register/", desk.BookRegisterView.as_view(), name="book_register"),
    re_path(PATIENT + r"$", desk.BookPatientView.as_view(), name="book_patient"),
    re_path(PATIENT + r"confirm/$", desk.BookConfirmView.as_view(), name="book_confirm"),
]
