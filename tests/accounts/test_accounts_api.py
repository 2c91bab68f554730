"""Accounts API: me/, tokens, and the conventions every answer follows (api-v1.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from clinic_site.accounts.models import PatientProfile, User
from clinic_site.accounts.roles import Role
from tests.factories import PatientFactory, UserFactory, make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/me/"
TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
PATIENT_FIELDS = (
    "date_of_birth",
    "gender",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "state",
    "country",
    "nationality",
    "insurance_provider",
    "insurance_number",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
)


def make_patient(**kwargs) -> User:
    defaults = {
        "email": "nora@example.test",
        "full_name": "Nora Quinn",
        "phone": "+44 7700 900111",
        "national_id": "QN123456",
    }
    return PatientFactory(
        **{**defaults, **kwargs},
        profile__date_of_birth=dt.date(1990, 5, 17),
        profile__city="Leeds",
        profile__country="GB",
        profile__nationality="IE",
        profile__gender="female",
        profile__insurance_number="INS-778899",
    )


def snapshot(user: User) -> tuple[dict, dict | None, list[str]]:
    return (
        User.objects.filter(pk=user.pk).values().get(),
        PatientProfile.objects.filter(user_id=user.pk).values().first(),
        sorted(User.objects.get(pk=user.pk).groups.values_list("name", flat=True)),
    )


def patch_me(client, data: dict, **extra):
    return client.patch(ME_URL, data, content_type="application/json", **extra)


def obtain_tokens(client, email: str, password: str = PASSWORD):
    return client.post(
        TOKEN_URL, {"email": email, "password": password}, content_type="application/json"
    )


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- me/: reading -------------------------------------------------------------------------------


def test_me_returns_the_patients_role_verification_and_patient_fields(client):
    patient = make_patient()
    client.force_login(patient)

    response = client.get(ME_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == patient.pk
    assert body["email"] == "nora@example.test"
    assert body["full_name"] == "Nora Quinn"
    assert body["phone"] == "+44 7700 900111"
    assert body["national_id"] == "QN123456"
    assert body["role"] == "patient"
    assert body["email_verified"] is True
    assert set(PATIENT_FIELDS) <= set(body)
    assert body["date_of_birth"] == "1990-05-17"
    assert (body["city"], body["country"], body["nationality"]) == ("Leeds", "GB", "IE")
    assert (body["gender"], body["insurance_number"]) == ("female", "INS-778899")
    assert "password" not in body


def test_me_tells_an_unverified_patient_so(client):
    client.force_login(PatientFactory(email_verified_at=None))

    body = client.get(ME_URL).json()

    assert body["email_verified"] is False
    assert body["role"] == "patient"


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN, Role.EDITOR])
def test_me_names_the_role_of_staff_without_patient_fields(client, role):
    user = make_user(role)
    client.force_login(user)

    body = client.get(ME_URL).json()

    assert body["role"] == role.value
    assert body["email"] == user.email
    assert body["email_verified"] is True
    assert body.get("date_of_birth") is None


def test_me_works_with_a_bearer_token(client):
    patient = make_patient()
    access = obtain_tokens(client, "nora@example.test").json()["access"]

    response = client.get(ME_URL, **bearer(access))

    assert response.status_code == 200
    assert response.json()["id"] == patient.pk


# --- me/: updating ------------------------------------------------------------------------------


def test_me_patch_updates_own_details_and_answers_with_them(client):
    patient = make_patient()
    client.force_login(patient)

    response = patch_me(
        client,
        {
            "full_name": "Nora Q. Quinn",
            "phone": "+353 1 555 0100",
            "date_of_birth": "1991-03-04",
            "city": "Dublin",
            "country": "IE",
            "emergency_contact_name": "Aoife Quinn",
            "emergency_contact_phone": "+353 87 555 0199",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["full_name"], body["phone"], body["date_of_birth"]) == (
        "Nora Q. Quinn",
        "+353 1 555 0100",
        "1991-03-04",
    )
    assert (body["city"], body["country"]) == ("Dublin", "IE")
    patient.refresh_from_db()
    assert (patient.full_name, patient.phone) == ("Nora Q. Quinn", "+353 1 555 0100")
    profile = PatientProfile.objects.get(user=patient)
    assert profile.date_of_birth == dt.date(1991, 3, 4)
    assert (profile.city, profile.country.code) == ("Dublin", "IE")
    assert (profile.emergency_contact_name, profile.emergency_contact_phone) == (
        "Aoife Quinn",
        "+353 87 555 0199",
    )


def test_me_patch_is_partial_and_leaves_other_fields_alone(client):
    patient = make_patient()
    client.force_login(patient)

    response = patch_me(client, {"city": "York"})

    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.full_name == "Nora Quinn"
    assert patient.national_id == "QN123456"
    profile = PatientProfile.objects.get(user=patient)
    assert profile.city == "York"
    assert profile.date_of_birth == dt.date(1990, 5, 17)
    assert profile.insurance_number == "INS-778899"
    assert profile.nationality.code == "IE"


def test_me_patch_normalises_and_can_clear_the_national_id(client):
    patient = make_patient()
    client.force_login(patient)

    changed = patch_me(client, {"national_id": "nq 998877"})
    patient.refresh_from_db()
    assert changed.status_code == 200
    assert patient.national_id == "NQ998877"

    cleared = patch_me(client, {"national_id": ""})
    patient.refresh_from_db()
    assert cleared.status_code == 200
    assert patient.national_id is None
    assert cleared.json()["national_id"] is None


def test_me_patch_keeping_ones_own_national_id_is_not_a_duplicate(client):
    client.force_login(make_patient())

    response = patch_me(client, {"national_id": "QN123456", "city": "York"})

    assert response.status_code == 200


def _future() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


ME_BAD_INPUT = [
    pytest.param({"phone": "12ab"}, "phone", id="bad-phone"),
    pytest.param({"phone": "123"}, "phone", id="short-phone"),
    pytest.param({"date_of_birth": _future()}, "date_of_birth", id="future-birth"),
    pytest.param({"date_of_birth": "17/05/1990"}, "date_of_birth", id="bad-date"),
    pytest.param({"date_of_birth": None}, "date_of_birth", id="no-birth-date"),
    pytest.param({"full_name": ""}, "full_name", id="blank-name"),
    pytest.param({"national_id": "OT123456"}, "national_id", id="duplicate-national-id"),
    pytest.param({"national_id": "ot 1234 56"}, "national_id", id="duplicate-differently-typed"),
    pytest.param({"national_id": "A!"}, "national_id", id="bad-national-id"),
    pytest.param({"gender": "robot"}, "gender", id="bad-gender"),
    pytest.param({"country": "ZZ"}, "country", id="bad-country"),
    pytest.param({"emergency_contact_phone": "call me"}, "emergency_contact_phone", id="bad-ec"),
]


@pytest.mark.parametrize(("data", "field"), ME_BAD_INPUT)
def test_me_patch_bad_input_is_a_400_field_map_and_changes_nothing(client, data, field):
    PatientFactory(email="otto@example.test", national_id="OT123456")
    patient = make_patient()
    client.force_login(patient)
    before = snapshot(patient)

    response = patch_me(client, {**data, "city": "Changed"})

    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body) == [field], body
    assert isinstance(body[field], list)
    assert all(isinstance(message, str) and message for message in body[field])
    assert snapshot(patient) == before


def test_patient_cannot_blank_their_phone_through_me(client):
    # A phone number is required at registration and on the profile page; the API must not
    # be a way around that.
    patient = make_patient()
    client.force_login(patient)
    before = snapshot(patient)

    response = patch_me(client, {"phone": ""})

    assert response.status_code == 400
    assert list(response.json()) == ["phone"]
    assert snapshot(patient) == before


def test_me_patch_cannot_change_the_email_address(client):
    patient = make_patient()
    client.force_login(patient)

    response = patch_me(client, {"email": "someone.else@example.test"})

    assert response.status_code in (200, 400)
    patient.refresh_from_db()
    assert patient.email == "nora@example.test"
    if response.status_code == 200:
        assert response.json()["email"] == "nora@example.test"


def test_me_patch_cannot_change_role_verification_or_activation(client):
    patient = PatientFactory(email_verified_at=None)
    client.force_login(patient)
    before = snapshot(patient)

    response = patch_me(
        client,
        {
            "role": "admin",
            "email_verified": True,
            "is_active": False,
            "id": patient.pk + 100,
            "date_joined": "2000-01-01T00:00:00Z",
        },
    )

    assert response.status_code in (200, 400)
    after = snapshot(patient)
    after[1].pop("updated_at")  # saving an unchanged profile may touch its timestamp
    before[1].pop("updated_at")
    assert after == before
    assert client.get(ME_URL).json()["role"] == "patient"


def test_staff_member_patches_own_name_but_cannot_give_themself_a_patient_profile(client):
    receptionist = make_user(Role.RECEPTIONIST)
    client.force_login(receptionist)

    renamed = patch_me(client, {"full_name": "Rita Desk"})
    profile = patch_me(client, {"date_of_birth": "1980-01-01"})

    assert renamed.status_code == 200
    receptionist.refresh_from_db()
    assert receptionist.full_name == "Rita Desk"
    assert profile.status_code == 400
    assert list(profile.json()) == ["date_of_birth"]
    assert not PatientProfile.objects.filter(user=receptionist).exists()


def test_me_patch_with_a_bearer_token_updates_the_tokens_owner(client):
    patient = make_patient()
    other = PatientFactory(email="otto@example.test")
    client.force_login(other)  # a session for someone else does not win over the token
    access = obtain_tokens(client, "nora@example.test").json()["access"]

    response = patch_me(client, {"city": "York"}, **bearer(access))

    assert response.status_code == 200
    assert PatientProfile.objects.get(user=patient).city == "York"
    assert PatientProfile.objects.get(user=other).city == ""


# --- Not signed in ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch"])
def test_me_without_sign_in_is_401_not_authenticated(client, method):
    response = getattr(client, method)(ME_URL, content_type="application/json")

    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "not_authenticated"
    assert isinstance(body["detail"], str) and body["detail"]
    assert "WWW-Authenticate" in response.headers


def test_me_with_a_garbage_token_is_401(client):
    response = client.get(ME_URL, **bearer("not.a.token"))

    assert response.status_code == 401
    assert set(response.json()) >= {"detail", "code"}


def test_deactivated_account_loses_its_session_and_token(client):
    patient = make_patient()
    access = obtain_tokens(client, "nora@example.test").json()["access"]
    client.force_login(patient)
    assert client.get(ME_URL).status_code == 200

    patient.is_active = False
    patient.save(update_fields=["is_active"])

    assert client.get(ME_URL).status_code == 401
    client.logout()
    assert client.get(ME_URL, **bearer(access)).status_code == 401


# --- Cache-Control ------------------------------------------------------------------------------


def _cache_control(response) -> set[str]:
    return {part.strip() for part in response.headers.get("Cache-Control", "").split(",")}


def test_me_answer_is_never_stored_by_a_cache(client):
    client.force_login(make_patient())

    read = client.get(ME_URL)
    write = patch_me(client, {"city": "York"})

    assert "no-store" in _cache_control(read)
    assert "no-store" in _cache_control(write)
    assert "private" in _cache_control(read)


def test_unauthenticated_me_answer_is_never_stored_either(client):
    assert "no-store" in _cache_control(client.get(ME_URL))


def test_token_answer_is_never_stored(client):
    make_patient()

    response = obtain_tokens(client, "nora@example.test")

    assert "no-store" in _cache_control(response)


# --- Tokens -------------------------------------------------------------------------------------


def test_token_pair_carries_email_and_role(client):
    patient = make_patient()

    response = obtain_tokens(client, "Nora@Example.test")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"access", "refresh"}
    access = AccessToken(body["access"])
    assert access["email"] == "nora@example.test"
    assert access["role"] == "patient"
    assert access["user_id"] in (patient.pk, str(patient.pk))


def test_refresh_gives_a_new_access_token_with_the_current_role(client):
    user = make_patient()
    refresh = obtain_tokens(client, "nora@example.test").json()["refresh"]
    user.groups.clear()
    user.groups.add(*make_user(Role.RECEPTIONIST).groups.all())

    response = client.post(REFRESH_URL, {"refresh": refresh}, content_type="application/json")

    assert response.status_code == 200
    assert AccessToken(response.json()["access"])["role"] == "receptionist"


def test_wrong_password_and_unknown_email_get_the_same_401(client):
    make_patient()

    wrong_password = obtain_tokens(client, "nora@example.test", "Not-the-password-1")
    unknown = obtain_tokens(client, "nobody@example.test")

    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json() == unknown.json()
    assert set(wrong_password.json()) >= {"detail", "code"}


def test_account_awaiting_activation_gets_no_token(client):
    UserFactory(email="waiting@example.test", role=Role.PATIENT, is_active=False, activated_at=None)

    response = obtain_tokens(client, "waiting@example.test")

    assert response.status_code == 401
    assert "access" not in response.json()


def _documented(client, url: str, status: int) -> dict:
    """The schema's JSON body of one answer of POST `url`, its reference resolved."""
    doc = client.get("/api/v1/schema/", {"format": "json"}).json()
    answer = doc["paths"][url]["post"]["responses"][str(status)]
    ref = answer["content"]["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_schema_documents_what_the_token_endpoints_answer(client):
    """The token pair was documented as "no response body", the refreshed answer as requiring
    a `refresh` it never has, and neither documented its 401."""
    make_patient()
    pair = obtain_tokens(client, "nora@example.test").json()
    refreshed = client.post(
        REFRESH_URL, {"refresh": pair["refresh"]}, content_type="application/json"
    ).json()
    refused = obtain_tokens(client, "nora@example.test", "Not-the-password-1").json()

    for body, url in ((pair, TOKEN_URL), (refreshed, REFRESH_URL)):
        schema = _documented(client, url, 200)
        assert set(schema["required"]) <= set(body) <= set(schema["properties"]), url
        assert set(_documented(client, url, 401)["required"]) == {"detail", "code"}
    assert set(refreshed) == {"access"}
    assert {"detail", "code"} <= set(refused)
