"""Reads for the public pages, each a fixed number of queries however many doctors there are."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from wagtail.images import get_image_model

from doctors.models import Doctor, Specialty
from doctors.selectors import PORTRAIT_FILTER, THUMBNAIL_FILTER

from .models import DoctorIndexPage, DoctorPage


def _with_doctor_data(pages: QuerySet[DoctorPage]) -> QuerySet[DoctorPage]:
    image_model = get_image_model()
    return pages.select_related("doctor").prefetch_related(
        Prefetch("doctor__specialties", queryset=Specialty.objects.order_by("name")),
        Prefetch(
            "doctor__photo",
            queryset=image_model.objects.prefetch_renditions(PORTRAIT_FILTER, THUMBNAIL_FILTER),
        ),
    )


def doctor_directory(
    index: DoctorIndexPage, *, specialty: str | None = None, q: str | None = None
) -> QuerySet[DoctorPage]:
    pages = DoctorPage.objects.live().public().child_of(index).filter(doctor__is_active=True)
    if specialty:
        pages = pages.filter(doctor__specialties__slug=specialty)
    if q:
        pages = pages.filter(
            Q(doctor__name__icontains=q) | Q(doctor__specialties__name__icontains=q)
        ).distinct()
    return _with_doctor_data(pages).order_by("doctor__name")


def directory_specialties(index: DoctorIndexPage) -> QuerySet[Specialty]:
    """Specialties that at least one listed doctor has (for the filter chips)."""
    listed = DoctorPage.objects.live().public().child_of(index).filter(doctor__is_active=True)
    return (
        Specialty.objects.filter(doctors__page__in=listed.values("pk")).distinct().order_by("name")
    )


def doctor_for_page(page: DoctorPage) -> Doctor:
    return Doctor.objects.prefetch_related(
        Prefetch("specialties", queryset=Specialty.objects.order_by("name")),
        Prefetch(
            "photo",
            queryset=get_image_model().objects.prefetch_renditions(PORTRAIT_FILTER),
        ),
    ).get(pk=page.doctor_id)


def doctor_cards(doctor_ids: list[int]) -> list[DoctorPage]:
    """Live pages of the given doctors, in the given order (featured doctors on the home page)."""
    pages = {
        page.doctor_id: page
        for page in _with_doctor_data(
            DoctorPage.objects.live()
            .public()
            .filter(doctor_id__in=doctor_ids, doctor__is_active=True)
        )
    }
    return [pages[i] for i in doctor_ids if i in pages]
