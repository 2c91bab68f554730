"""Profiles: a user's own page (web), and a patient's details over the API (product.md §1,
permissions.md: own profile for everyone; the front desk keeps patients' details current;
whatever a user may not see is a 404)."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from clinic_site.accounts.models import PatientProfile, User
from clinic_site.accounts.roles import Role
from tests.factories import PatientFactory, make_user

pytestmark = pytest.mark.django_db

PROFILE_URL = "/accounts/profile/"
EDIT_URL = "/accounts/profile/edit/"

FULL_PROFILE = {
    "gender": "female",
    "address_line1": "1 High Street",
    "address_line2": "Flat 2",
    "postal_code": "LS1 4AP",
    "city": "Leeds",
    "state": "West Yorkshire",
    "country": "GB",
    "nationality": "IE",
    "insurance_provider": "Bupa",
    "insurance_number": "INS-778899",
    "emergency_contact_name": "Sean Quinn",
    "emergency_contact_phone": "+44 7700 900222",
    "emergency_contact_relationship": "Brother",
}
EDITED = {
    "full_name": "Nora Q. Quinn",
    "phone": "+353 1 555 0100",
    "date_of_birth": "1991-03-04",
    "national_id": "NQ998877",
    "gender": "other",
    "address_line1": "22 River Road",
    "address_line2": "",
    "postal_code": "D02 XY45",
    "city": "Dublin",
    "state": "Leinster",
    "country": "IE",
    "nationality": "GB",
    "insurance_provider": "VHI",
    "insurance_number": "V-1234",
    "emergency_contact_name": "Aoife Quinn",
    "emergency_contact_phone": "+353 87 555 0199",
    "emergency_contact_relationship": "Sister",
}


def patient_with_full_profile(**kwargs) -> User:
    defaults = {
        "email": "nora@example.test",
        "full_name": "Nora Quinn",
        "phone": "+44 7700 900111",
        "national_id": "QN123456",
    }
    return PatientFactory(
        **{**defaults, **kwargs},
        profile__date_of_birth=dt.date(1990, 5, 17),
        **{f"profile__{name}": value for name, value in FULL_PROFILE.items()},
    )


def snapshot(user: User) -> tuple[dict, dict | None]:
    """Everything stored about `user` (account row and patient profile row)."""
    return (
        User.objects.filter(pk=user.pk).values().get(),
        PatientProfile.objects.filter(user_id=user.pk).values().first(),
    )


def field_error_text(response, field: str) -> str:
    html = response.content.decode()
    match = re.search(rf'<ul class="errorlist[^"]*" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


class _FormValues(HTMLParser):
    """What a browser would submit from the page's forms (inputs, selects, textareas)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button"):
            self.values[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_values(response) -> dict[str, str]:
    parser = _FormValues()
    parser.feed(response.content.decode())
    parser.values.pop("csrfmiddlewaretoken", None)
    return parser.values


def api_patient(client, pk: int):
    return client.get(f"/api/v1/patients/{pk}/")


def api_patch_patient(client, pk: int, data: dict):
    return client.patch(f"/api/v1/patients/{pk}/", data, content_type="application/json")


# --- Web: who may open the pages ----------------------------------------------------------------


@pytest.mark.parametrize("url", [PROFILE_URL, EDIT_URL])
def test_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


def test_anonymous_post_to_the_edit_page_changes_nothing(client):
    patient = patient_with_full_profile()
    before = snapshot(patient)

    response = client.post(EDIT_URL, {**EDITED})

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert snapshot(patient) == before


# --- Web: viewing -------------------------------------------------------------------------------


def test_patient_sees_every_detail_of_their_own_profile(client):
    patient = patient_with_full_profile()
    client.force_login(patient)

    response = client.get(PROFILE_URL)

    assert response.status_code == 200
    html = unescape(response.content.decode())
    for shown in (
        "Nora Quinn",
        "nora@example.test",
        "+44 7700 900111",
        "17 May 1990",
        "Female",
        "QN123456",
        "Ireland",
        "1 High Street",
        "Flat 2",
        "LS1 4AP",
        "Leeds",
        "West Yorkshire",
        "United Kingdom",
        "Bupa",
        "INS-778899",
        "Sean Quinn",
        "+44 7700 900222",
        "Brother",
    ):
        assert shown in html, shown


def test_profile_page_shows_nobody_else_whatever_the_query(client):
    patient = patient_with_full_profile()
    other = PatientFactory(
        email="otto@example.test", full_name="Otto Other", profile__city="Oxford"
    )
    client.force_login(patient)

    for url in (PROFILE_URL, f"{PROFILE_URL}?user={other.pk}", f"{PROFILE_URL}?id={other.pk}"):
        html = client.get(url).content.decode()
        assert "Nora Quinn" in html
        assert "Otto Other" not in html
        assert "otto@example.test" not in html
        assert "Oxford" not in html


@pytest.mark.parametrize(
    "template", ["/accounts/profile/{pk}/", "/accounts/profile/{pk}/edit/", "/accounts/{pk}/"]
)
def test_there_is_no_url_for_another_users_profile(client, template):
    patient = patient_with_full_profile()
    other = PatientFactory(email="otto@example.test", full_name="Otto Other")
    client.force_login(patient)

    response = client.get(template.format(pk=other.pk))

    assert response.status_code == 404
    assert "Otto Other" not in response.content.decode()


def test_unverified_patient_is_reminded_to_confirm_the_address(client):
    patient = PatientFactory(email_verified_at=None)
    client.force_login(patient)

    response = client.get(PROFILE_URL)

    assert "Please confirm your e-mail address" in response.content.decode()


@pytest.mark.parametrize("url", [PROFILE_URL, EDIT_URL])
def test_profile_pages_are_never_stored_by_a_cache(client, url):
    client.force_login(patient_with_full_profile())

    response = client.get(url)

    assert "no-store" in response.headers.get("Cache-Control", "")


# --- Web: editing -------------------------------------------------------------------------------


def test_edit_form_starts_with_the_patients_current_details(client):
    patient = patient_with_full_profile()
    client.force_login(patient)

    values = form_values(client.get(EDIT_URL))

    assert values == {
        "full_name": "Nora Quinn",
        "phone": "+44 7700 900111",
        # Day, month and year boxes.
        "date_of_birth_0": "17",
        "date_of_birth_1": "5",
        "date_of_birth_2": "1990",
        "national_id": "QN123456",
        **FULL_PROFILE,
    }


def test_saving_the_edit_form_unchanged_keeps_every_detail(client):
    patient = patient_with_full_profile()
    client.force_login(patient)
    before = snapshot(patient)
    values = form_values(client.get(EDIT_URL))

    response = client.post(EDIT_URL, values)

    assert response.status_code == 302
    after = snapshot(patient)
    before[1].pop("updated_at")
    after[1].pop("updated_at")
    assert after == before


def test_patient_edits_every_detail_of_their_profile(client):
    patient = patient_with_full_profile()
    client.force_login(patient)

    response = client.post(EDIT_URL, EDITED)

    assert response.status_code == 302
    assert response.url == PROFILE_URL
    patient.refresh_from_db()
    assert (patient.full_name, patient.phone, patient.national_id) == (
        "Nora Q. Quinn",
        "+353 1 555 0100",
        "NQ998877",
    )
    profile = PatientProfile.objects.get(user=patient)
    assert profile.date_of_birth == dt.date(1991, 3, 4)
    for name, value in EDITED.items():
        if name in ("full_name", "phone", "national_id", "date_of_birth"):
            continue
        stored = getattr(profile, name)
        if name in ("country", "nationality"):
            stored = stored.code
        assert stored == value, name
    page = client.get(PROFILE_URL).content.decode()
    assert "Nora Q. Quinn" in page
    assert "Your details are saved." in page


def test_patient_can_clear_optional_details(client):
    patient = patient_with_full_profile()
    client.force_login(patient)
    values = form_values(client.get(EDIT_URL))
    values.update(national_id="", city="", insurance_number="", country="")

    response = client.post(EDIT_URL, values)

    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.national_id is None
    profile = PatientProfile.objects.get(user=patient)
    assert profile.city == ""
    assert profile.insurance_number == ""
    assert not profile.country


def test_editing_leaves_other_patients_alone(client):
    patient = patient_with_full_profile()
    other = PatientFactory(email="otto@example.test", full_name="Otto Other")
    before = snapshot(other)
    client.force_login(patient)

    client.post(EDIT_URL, {**EDITED, "user": other.pk, "id": other.pk, "pk": other.pk})

    assert snapshot(other) == before
    patient.refresh_from_db()
    assert patient.full_name == "Nora Q. Quinn"


def test_the_edit_form_cannot_change_the_email_address(client):
    patient = patient_with_full_profile()
    client.force_login(patient)

    client.post(EDIT_URL, {**EDITED, "email": "new@example.test"})

    patient.refresh_from_db()
    assert patient.email == "nora@example.test"


def _future() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


WEB_BAD_EDITS = [
    pytest.param({"phone": "12ab"}, "phone", "7 to 15 digits", id="bad-phone"),
    pytest.param({"phone": ""}, "phone", "required", id="missing-phone"),
    pytest.param({"full_name": ""}, "full_name", "required", id="missing-name"),
    pytest.param({"date_of_birth": _future()}, "date_of_birth", "future", id="future-birth"),
    pytest.param({"date_of_birth": "1991-02-30"}, "date_of_birth", "valid date", id="bad-date"),
    pytest.param(
        {"emergency_contact_phone": "call me"},
        "emergency_contact_phone",
        "7 to 15 digits",
        id="bad-emergency-phone",
    ),
    pytest.param({"national_id": "A!"}, "national_id", "4 to 32", id="bad-national-id"),
    pytest.param({"national_id": "OT123456"}, "national_id", "already on file", id="dup-id"),
    pytest.param({"national_id": "ot 1234 56"}, "national_id", "already on file", id="dup-id-2"),
    pytest.param({"country": "ZZ"}, "country", "valid choice", id="bad-country"),
]


@pytest.mark.parametrize(("changes", "field", "message"), WEB_BAD_EDITS)
def test_bad_edit_is_reported_next_to_its_field_and_changes_nothing(
    client, changes, field, message
):
    PatientFactory(email="otto@example.test", national_id="OT123456")
    patient = patient_with_full_profile()
    client.force_login(patient)
    before = snapshot(patient)

    response = client.post(EDIT_URL, {**EDITED, **changes})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors.get(field, [])).lower(), errors
    assert message in field_error_text(response, field).lower()
    assert snapshot(patient) == before


def test_staff_member_edits_their_own_name_and_phone_without_a_patient_profile(client):
    receptionist = make_user(Role.RECEPTIONIST, full_name="Rita Desk", phone="+44 20 7946 0001")
    client.force_login(receptionist)

    form = form_values(client.get(EDIT_URL))
    assert set(form) == {"full_name", "phone", "national_id"}
    response = client.post(EDIT_URL, {"full_name": "Rita D. Desk", "phone": "+44 20 7946 0002"})

    assert response.status_code == 302
    receptionist.refresh_from_db()
    assert (receptionist.full_name, receptionist.phone) == ("Rita D. Desk", "+44 20 7946 0002")
    assert not PatientProfile.objects.filter(user=receptionist).exists()


# --- API: patients/{id}/ ------------------------------------------------------------------------


def test_patient_reads_their_own_record(client):
    patient = patient_with_full_profile()
    client.force_login(patient)

    response = api_patient(client, patient.pk)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == patient.pk
    assert body["email"] == "nora@example.test"
    assert body["date_of_birth"] == "1990-05-17"
    assert body["role"] == "patient"
    for name, value in FULL_PROFILE.items():
        assert body[name] == value, name


def test_patient_updates_their_own_record(client):
    patient = patient_with_full_profile()
    client.force_login(patient)

    response = api_patch_patient(client, patient.pk, {"city": "York", "phone": "+44 7700 900999"})

    assert response.status_code == 200
    assert response.json()["city"] == "York"
    assert response.json()["phone"] == "+44 7700 900999"
    patient.refresh_from_db()
    assert patient.phone == "+44 7700 900999"
    assert PatientProfile.objects.get(user=patient).city == "York"


def test_another_patients_record_is_a_404_for_a_patient(client):
    patient = patient_with_full_profile()
    other = PatientFactory(email="otto@example.test", full_name="Otto Other")
    client.force_login(patient)

    response = api_patient(client, other.pk)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "Otto" not in response.content.decode()


def test_another_patients_record_cannot_be_changed_by_a_patient(client):
    patient = patient_with_full_profile()
    other = PatientFactory(email="otto@example.test", full_name="Otto Other")
    before = snapshot(other)
    client.force_login(patient)

    response = api_patch_patient(client, other.pk, {"full_name": "Hacked", "city": "Nowhere"})

    assert response.status_code == 404
    assert snapshot(other) == before


def test_hidden_record_looks_exactly_like_a_missing_one(client):
    patient = patient_with_full_profile()
    other = PatientFactory()
    client.force_login(patient)

    hidden = api_patient(client, other.pk)
    missing = api_patient(client, 987654)

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert set(hidden.json()) == {"detail", "code"}


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_front_desk_reads_a_patients_record(client, role):
    patient = patient_with_full_profile()
    client.force_login(make_user(role))

    response = api_patient(client, patient.pk)

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "nora@example.test"
    assert body["national_id"] == "QN123456"
    assert body["date_of_birth"] == "1990-05-17"
    assert body["insurance_number"] == "INS-778899"


@pytest.mark.parametrize("role", [Role.RECEPTIONIST, Role.ADMIN])
def test_front_desk_updates_a_patients_record(client, role):
    patient = patient_with_full_profile()
    client.force_login(make_user(role))

    response = api_patch_patient(
        client,
        patient.pk,
        {"insurance_provider": "AXA", "city": "York", "date_of_birth": "1990-05-18"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["insurance_provider"], body["city"], body["date_of_birth"]) == (
        "AXA",
        "York",
        "1990-05-18",
    )
    profile = PatientProfile.objects.get(user=patient)
    assert (profile.insurance_provider, profile.city) == ("AXA", "York")
    assert profile.date_of_birth == dt.date(1990, 5, 18)
    assert profile.insurance_number == "INS-778899"  # untouched fields stay


def test_front_desk_bad_update_is_a_400_field_map_and_changes_nothing(client):
    PatientFactory(email="otto@example.test", national_id="OT123456")
    patient = patient_with_full_profile()
    before = snapshot(patient)
    client.force_login(make_user(Role.RECEPTIONIST))

    response = api_patch_patient(client, patient.pk, {"national_id": "OT123456", "city": "York"})

    assert response.status_code == 400
    assert list(response.json()) == ["national_id"]
    assert snapshot(patient) == before


def test_front_desk_cannot_change_a_patients_email(client):
    patient = patient_with_full_profile()
    client.force_login(make_user(Role.RECEPTIONIST))

    response = api_patch_patient(client, patient.pk, {"email": "other@example.test"})

    assert response.status_code in (200, 400)
    patient.refresh_from_db()
    assert patient.email == "nora@example.test"


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.EDITOR])
def test_doctor_and_editor_get_404_for_a_patients_record(client, role):
    patient = patient_with_full_profile()
    before = snapshot(patient)
    client.force_login(make_user(role))

    read = api_patient(client, patient.pk)
    write = api_patch_patient(client, patient.pk, {"city": "Nowhere"})

    assert read.status_code == 404
    assert write.status_code == 404
    assert "Nora" not in read.content.decode()
    assert snapshot(patient) == before


@pytest.mark.parametrize("front_desk", [Role.RECEPTIONIST, Role.ADMIN])
@pytest.mark.parametrize("target", [Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN, Role.EDITOR])
def test_front_desk_gets_404_for_someone_who_is_not_a_patient(client, front_desk, target):
    staff = make_user(target, full_name="Sam Staff")
    before = snapshot(staff)
    client.force_login(make_user(front_desk))

    read = api_patient(client, staff.pk)
    write = api_patch_patient(client, staff.pk, {"full_name": "Changed"})

    assert read.status_code == 404
    assert write.status_code == 404
    assert snapshot(staff) == before


def test_front_desk_member_is_not_a_patient_record_themself(client):
    receptionist = make_user(Role.RECEPTIONIST)
    client.force_login(receptionist)

    assert api_patient(client, receptionist.pk).status_code == 404


def test_anonymous_gets_401_for_a_patients_record(client):
    patient = patient_with_full_profile()
    before = snapshot(patient)

    read = api_patient(client, patient.pk)
    write = api_patch_patient(client, patient.pk, {"city": "Nowhere"})

    assert read.status_code == write.status_code == 401
    assert read.json()["code"] == "not_authenticated"
    assert snapshot(patient) == before
