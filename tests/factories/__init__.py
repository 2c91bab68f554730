from .accounts import PatientFactory, StaffFactory, UserFactory, make_user
from .booking import VisitTypeFactory, at, book, bookable_doctor, give_week
from .doctors import DoctorFactory, ImageFactory, SpecialtyFactory
from .pages import build_site

__all__ = [
    "DoctorFactory",
    "ImageFactory",
    "PatientFactory",
    "SpecialtyFactory",
    "StaffFactory",
    "UserFactory",
    "VisitTypeFactory",
    "at",
    "book",
    "bookable_doctor",
    "build_site",
    "give_week",
    "make_user",
]
