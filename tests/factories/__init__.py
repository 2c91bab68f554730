from .accounts import PatientFactory, StaffFactory, UserFactory, make_user
from .doctors import DoctorFactory, ImageFactory, SpecialtyFactory
from .pages import build_site

__all__ = [
    "DoctorFactory",
    "ImageFactory",
    "PatientFactory",
    "SpecialtyFactory",
    "StaffFactory",
    "UserFactory",
    "build_site",
    "make_user",
]
