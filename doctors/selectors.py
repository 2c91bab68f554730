"""Reads of doctors and specialties, with everything a list needs fetched up front."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from wagtail.images import get_image_model

from .models import Doctor, Specialty, VisitType

# One size for every doctor portrait on lists, cards and the API.
PORTRAIT_FILTER = "fill-480x480|format-webp"
THUMBNAIL_FILTER = "fill-160x160|format-webp"


def specialty_list() -> QuerySet[Specialty]:
    return Specialty.objects.order_by("name")


def doctor_list(*, specialty: str | None = None, q: str | None = None) -> QuerySet[Doctor]:
    """Active doctors, optionally of one specialty (by slug) or matching `q` (name, specialty).

    Runs a fixed number of queries however many doctors there are: doctors, specialties,
    photos, their renditions and active visit types.
    """
    image_model = get_image_model()
    qs = (
        Doctor.objects.filter(is_active=True)
        .prefetch_related(
            Prefetch("specialties", queryset=Specialty.objects.order_by("name")),
            Prefetch(
                "photo",
                queryset=image_model.objects.prefetch_renditions(PORTRAIT_FILTER, THUMBNAIL_FILTER),
            ),
            Prefetch(
                "visit_types",
                queryset=VisitType.objects.filter(is_active=True),
                to_attr="active_visit_types",
            ),
        )
        .order_by("name")
    )
    if specialty:
        qs = qs.filter(specialties__slug=specialty)
    if q:
        q = q.strip()
        qs = qs.filter(Q(name__icontains=q) | Q(specialties__name__icontains=q)).distinct()
    return qs


def doctor_get(doctor_id) -> Doctor:
    return doctor_list().get(pk=doctor_id)
