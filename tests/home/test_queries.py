"""The doctors directory and the doctors API run a fixed number of queries, however many
doctors there are."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doctors.models import VisitType, WeeklyWindow
from home.services import doctor_page_ensure
from tests.factories import DoctorFactory, SpecialtyFactory, build_site

pytestmark = pytest.mark.django_db

# Pinned: a change here is a deliberate decision, not an accident. The menu comes from the site
# shell's cache (home/shell.py).
DIRECTORY_QUERIES = 14
# count, doctors, specialties, photos, renditions, visit types, then the availability of the whole
# page: policies, weekly windows, exceptions, busy ranges
DOCTORS_API_QUERIES = 10


def _add_doctors(n, specialties):
    for i in range(n):
        doctor = DoctorFactory(specialties=[specialties[i % len(specialties)]])
        VisitType.objects.create(doctor=doctor, name="Consultation", duration_minutes=30, price=40)
        VisitType.objects.create(doctor=doctor, name="Follow-up", duration_minutes=15, price=25)
        for weekday in range(5):
            WeeklyWindow.objects.create(
                doctor=doctor, weekday=weekday, start=dt.time(9), end=dt.time(12)
            )
        doctor_page_ensure(doctor=doctor)


def _count(client, url):
    client.get(url)  # warm caches that are per-process (content types, site root paths)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("url", ["/doctors/", "/doctors/?specialty=specialty-a"])
def test_directory_query_count_is_constant_as_doctors_grow(client, url):
    build_site()
    specialties = [SpecialtyFactory(slug="specialty-a"), SpecialtyFactory(slug="specialty-b")]
    _add_doctors(2, specialties)
    few, _ = _count(client, url)
    _add_doctors(10, specialties)
    many, response = _count(client, url)
    assert few == many == DIRECTORY_QUERIES
    assert response.content.decode().count('class="doctor-card"') >= 6


def test_doctors_api_query_count_is_constant_as_doctors_grow(client):
    specialties = [SpecialtyFactory(), SpecialtyFactory()]
    _add_doctors(2, specialties)
    few, _ = _count(client, "/api/v1/doctors/")
    _add_doctors(15, specialties)
    many, response = _count(client, "/api/v1/doctors/")
    assert few == many == DOCTORS_API_QUERIES
    body = response.json()
    assert body["count"] == 17
    assert all(d["next_available"] and len(d["visit_types"]) == 2 for d in body["results"])
