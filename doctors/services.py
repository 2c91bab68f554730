"""Doctor records. Their public pages follow them (home.services.doctor_page_ensure)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.text import slugify

from clinic_site.accounts.models import User

from .models import Doctor, Specialty


@transaction.atomic
def doctor_create(
    *,
    name: str,
    specialties: list[Specialty],
    user: User | None = None,
    slug: str | None = None,
    biography: str = "",
    phone: str = "",
    languages: str = "",
    accepting_new_patients: bool = True,
    photo=None,
    date_joined: dt.date | None = None,
) -> Doctor:
    base = slug or slugify(name.replace("Dr ", "").replace("Dr. ", "")) or "doctor"
    candidate, n = base, 2
    while Doctor.objects.filter(slug=candidate).exists():
        candidate = f"{base}-{n}"
        n += 1
    doctor = Doctor.objects.create(
        name=name.strip(),
        slug=candidate,
        user=user,
        biography=biography,
        phone=phone,
        languages=languages,
        accepting_new_patients=accepting_new_patients,
        photo=photo,
        **({"date_joined": date_joined} if date_joined else {}),
    )
    doctor.specialties.set(specialties)
    return doctor
