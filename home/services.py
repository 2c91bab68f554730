"""Keeping doctor pages in step with doctor records."""

from __future__ import annotations

import logging

from django.db import transaction

from doctors.models import Doctor

from .models import DoctorIndexPage, DoctorPage

logger = logging.getLogger(__name__)


@transaction.atomic
def doctor_page_ensure(*, doctor: Doctor) -> DoctorPage | None:
    """Give `doctor` a published page in the doctors directory, or bring its title up to date.

    Returns None when the site has no doctors directory yet (nothing to attach the page to).
    """
    page = DoctorPage.objects.filter(doctor=doctor).first()
    if page is not None:
        if page.title != doctor.name:
            page.title = doctor.name
            page.draft_title = doctor.name
            page.save_revision().publish()
        return page
    index = DoctorIndexPage.objects.first()
    if index is None:
        logger.warning("No doctors directory page: %s has no page yet.", doctor)
        return None
    slug = doctor.slug
    siblings = set(index.get_children().values_list("slug", flat=True))
    n = 2
    while slug in siblings:
        slug = f"{doctor.slug}-{n}"
        n += 1
    page = DoctorPage(title=doctor.name, slug=slug, doctor=doctor)
    index.add_child(instance=page)
    page.save_revision().publish()
    return page
