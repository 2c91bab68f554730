from .accounts import PatientFactory, StaffFactory, UserFactory, make_user
from .booking import VisitTypeFactory, at, book, bookable_doctor, give_week
from .doctors import DoctorFactory, ImageFactory, SpecialtyFactory
from .pages import build_site
from .records import completed_visit, visit_in_progress, write_record

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
    "completed_visit",
    "give_week",
    "make_user",
    "visit_in_progress",
    "write_record",
]
