"""Public doctor and specialty reads; payout details only for that doctor and administrators."""

import pytest

from clinic_site.accounts.roles import Role
from doctors.models import DoctorPayoutDetails
from tests.factories import DoctorFactory, SpecialtyFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def doctors():
    cardio = SpecialtyFactory(name="Cardiology", slug="cardiology")
    skin = SpecialtyFactory(name="Dermatology", slug="dermatology")
    heart = DoctorFactory(name="Dr Heart", specialties=[cardio])
    derm = DoctorFactory(name="Dr Skin", specialties=[skin])
    DoctorFactory(name="Dr Hidden", specialties=[cardio], is_active=False)
    return heart, derm


def test_specialties_are_a_plain_sorted_list(client, doctors):
    response = client.get("/api/v1/specialties/")
    assert response.status_code == 200
    assert response.json() == [
        {"id": doctors[0].specialties.get().pk, "name": "Cardiology", "slug": "cardiology"},
        {"id": doctors[1].specialties.get().pk, "name": "Dermatology", "slug": "dermatology"},
    ]


def test_doctor_list_is_paginated_public_and_hides_inactive_doctors(client, doctors):
    body = client.get("/api/v1/doctors/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [d["name"] for d in body["results"]] == ["Dr Heart", "Dr Skin"]
    first = body["results"][0]
    assert {"id", "name", "slug", "specialties", "photo_url", "accepting_new_patients"} <= set(
        first
    )
    assert {"visit_types", "next_available"} <= set(first)
    assert first["specialties"] == [
        {"id": doctors[0].specialties.get().pk, "name": "Cardiology", "slug": "cardiology"}
    ]
    assert first["photo_url"].startswith("http://testserver/")
    assert "payout" not in first


@pytest.mark.parametrize(
    ("query", "expected"),
    [("specialty=cardiology", ["Dr Heart"]), ("q=skin", ["Dr Skin"]), ("q=dermat", ["Dr Skin"])],
)
def test_doctor_list_filters_by_specialty_and_text(client, doctors, query, expected):
    body = client.get(f"/api/v1/doctors/?{query}").json()
    assert [d["name"] for d in body["results"]] == expected


def test_doctor_detail_and_unknown_or_inactive_doctor_is_404(client, doctors):
    heart, _ = doctors
    response = client.get(f"/api/v1/doctors/{heart.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == "Dr Heart"
    missing = client.get("/api/v1/doctors/999999/")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_payout_details_are_shown_only_to_that_doctor_and_administrators(client, doctors):
    heart, derm = doctors
    DoctorPayoutDetails.objects.create(
        doctor=heart, pan="ABCDE1234F", bank_account_number="123456789012", ifsc="HDFC0001234"
    )
    url = f"/api/v1/doctors/{heart.pk}/"
    assert "payout" not in client.get(url).json()

    viewers = {
        heart.user: True,
        make_user(Role.ADMIN): True,
        derm.user: False,
        make_user(Role.RECEPTIONIST): False,
        make_user(Role.PATIENT): False,
        make_user(Role.EDITOR): False,
    }
    for user, allowed in viewers.items():
        client.force_login(user)
        body = client.get(url).json()
        if allowed:
            assert body["payout"] == {
                "pan": "ABCDE1234F",
                "bank_account_number": "123456789012",
                "ifsc": "HDFC0001234",
            }, user
        else:
            assert "payout" not in body, user
        assert "ABCDE1234F" not in str(client.get("/api/v1/doctors/").json())


def test_schema_does_not_require_the_payout_most_callers_never_get(client, doctors):
    """It was documented as required, but is left out for everyone but that doctor and admins."""
    doc = client.get("/api/v1/schema/", {"format": "json"}).json()
    answer = doc["paths"]["/api/v1/doctors/{id}/"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    body = client.get(f"/api/v1/doctors/{doctors[0].pk}/").json()

    assert "payout" in schema["properties"] and "payout" not in body
    assert set(schema["required"]) <= set(body)
