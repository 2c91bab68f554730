"""Reads for the public pages, each a fixed number of queries however many doctors there are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from wagtail.images import get_image_model

from booking import selectors as booking_selectors
from clinic_site.policies import get_policies
from doctors.models import Doctor, Specialty, VisitType
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


@dataclass
class BookingPanel:
    """What a doctor's page shows about booking: the visit types, and the next few offered slots
    of the first visit type (each a link to the review step)."""

    visit_types: list
    next_slots: list
    first_visit_type: object | None


NEXT_SLOTS_SHOWN = 6
NEXT_SLOTS_PER_DAY = 3
NEXT_SLOTS_DAYS = 14


def doctor_booking_panel(doctor: Doctor) -> BookingPanel:
    """A fixed number of queries: visit types, policies, windows, exceptions and busy ranges."""
    visit_types = list(VisitType.objects.filter(doctor=doctor, is_active=True))
    for visit_type in visit_types:
        visit_type.doctor = doctor
    if not visit_types or not doctor.accepting_bookings:
        return BookingPanel(visit_types, [], visit_types[0] if visit_types else None)
    policies = get_policies()
    now = timezone.now()
    first = visit_types[0]
    today = timezone.localdate(now)
    slots = booking_selectors.slot_search(
        visit_type=first,
        date_from=today,
        date_to=today + timedelta(days=NEXT_SLOTS_DAYS),
        now=now,
        policies=policies,
    )
    return BookingPanel(visit_types, _spread(slots), first)


def _spread(slots) -> list:
    """The first few slots, at most three a day, so the panel shows more than one morning."""
    tz = timezone.get_default_timezone()
    shown, per_day = [], {}
    for slot in slots:
        day = slot.start.astimezone(tz).date()
        if per_day.get(day, 0) < NEXT_SLOTS_PER_DAY:
            per_day[day] = per_day.get(day, 0) + 1
            shown.append(slot)
            if len(shown) == NEXT_SLOTS_SHOWN:
                break
    return shown
