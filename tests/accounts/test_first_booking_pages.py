"""The pages a newcomer meets between choosing a time and booking it: sign-in, registration and
the e-mailed code keep the chosen slot in sight; registration asks for what a booking needs,
checks the password with everything else and keeps what was typed; the date of birth is three
boxes; the code page does not ask for the address again."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

import pytest
from django.test import Client

from clinic_site.accounts.forms import RegistrationForm
from clinic_site.accounts.models import User
from clinic_site.forms import DayMonthYearInput
from tests.factories import at, bookable_doctor

pytestmark = pytest.mark.django_db

DAY = dt.date(2031, 3, 5)
PASSWORD = "Quiet-river-2026"
REGISTER = "/accounts/register/"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(DAY - dt.timedelta(days=2), "08:00"), tick=False)


@pytest.fixture
def review_url():
    doctor, visit_type = bookable_doctor(name="Dr Rahul Mehta", slug="rahul-mehta")
    start = at(DAY, "09:40")
    query = urlencode({"visit_type": visit_type.pk, "start": start.isoformat()})
    return f"/book/{doctor.slug}/review/?{query}"


def registration(**changes):
    data = {
        "email": "nora@example.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "full_name": "Nora Quinn",
        "phone": "+44 7700 900111",
        "date_of_birth_0": "3",
        "date_of_birth_1": "2",
        "date_of_birth_2": "1990",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_sign_in_shows_the_chosen_time_and_both_ways_on(client, review_url):
    html = client.get(f"/accounts/login/?next={quote(review_url)}").content.decode()
    assert "Your chosen time" in html
    assert "Wednesday 5 March, 09:40–10:10" in html
    assert "Consultation with Dr Rahul Mehta" in html
    assert "I have an account" in html and "I’m new here" in html
    assert f'href="/accounts/register/?next={quote(review_url, safe="/")}' in html


def test_sign_in_without_a_slot_is_the_plain_page(client):
    html = client.get("/accounts/login/?next=/portal/").content.decode()
    assert "Your chosen time" not in html
    assert "I’m new here" not in html


@pytest.mark.parametrize(
    "next_url",
    [
        "/book/rahul-mehta/review/?visit_type=999&start=2031-03-05T09:40:00%2B00:00",
        "/book/nobody/review/?visit_type=1&start=2031-03-05T09:40:00%2B00:00",
        "/book/rahul-mehta/review/?visit_type=1&start=yesterday",
        "https://evil.example/book/rahul-mehta/review/",
    ],
)
def test_a_slot_that_cannot_be_read_back_shows_nothing_and_no_error(client, review_url, next_url):
    response = client.get(f"/accounts/login/?next={quote(next_url)}")
    assert response.status_code == 200
    assert "Your chosen time" not in response.content.decode()


def test_registration_keeps_the_chosen_time_through_errors_and_on_to_the_code(client, review_url):
    assert (
        "Wednesday 5 March, 09:40"
        in client.get(f"{REGISTER}?next={quote(review_url)}").content.decode()
    )
    failed = client.post(REGISTER, registration(next=review_url, phone=""))
    assert "Wednesday 5 March, 09:40" in failed.content.decode()
    done = client.post(REGISTER, registration(next=review_url))
    assert done["Location"] == "/accounts/verify/"
    verify = client.get("/accounts/verify/").content.decode()
    assert "Wednesday 5 March, 09:40" in verify


def test_the_password_is_checked_with_every_other_field_and_kept(client):
    response = client.post(
        REGISTER, registration(password1="short", password2="short", full_name="")
    )
    form = response.context["form"]
    assert set(form.errors) == {"password1", "full_name"}
    assert "too short" in " ".join(form.errors["password1"])
    html = response.content.decode()
    assert 'name="password1" value="short"' in html  # not cleared
    assert not User.objects.filter(email="nora@example.test").exists()


def test_a_password_like_the_e_mail_address_is_refused_before_anything_is_stored(client):
    response = client.post(
        REGISTER, registration(password1="nora@example.test1", password2="nora@example.test1")
    )
    assert "password1" in response.context["form"].errors
    assert not User.objects.filter(email="nora@example.test").exists()


def test_the_date_of_birth_is_three_boxes_and_becomes_one_date(client):
    html = client.get(REGISTER).content.decode()
    for part, autocomplete in (("0", "bday-day"), ("1", "bday-month"), ("2", "bday-year")):
        assert f'name="date_of_birth_{part}"' in html
        assert f'autocomplete="{autocomplete}"' in html
    assert '<legend class="field__legend">Date of birth</legend>' in html
    assert client.post(REGISTER, registration()).status_code == 302
    assert str(User.objects.get(email="nora@example.test").patient_profile.date_of_birth) == (
        "1990-02-03"
    )


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [("31", "2", "1990"), ("3", "13", "1990"), ("x", "2", "1990"), ("3", "2", ""), ("", "", "")],
)
def test_an_impossible_or_missing_date_of_birth_is_a_clear_error(day, month, year):
    form = RegistrationForm(
        data=registration(date_of_birth_0=day, date_of_birth_1=month, date_of_birth_2=year)
    )
    assert not form.is_valid()
    assert list(form.errors) == ["date_of_birth"]


def test_what_was_typed_into_the_date_boxes_is_shown_again():
    widget = DayMonthYearInput()
    typed = widget.value_from_datadict({"dob_0": "31", "dob_1": "2", "dob_2": "1990"}, {}, "dob")
    assert typed == "1990-02-31"
    assert widget.decompress(typed) == ["31", "02", "1990"]
    assert widget.decompress(dt.date(1985, 12, 10)) == ["10", "12", "1985"]
    # Another program may still send one ISO date under the field's own name.
    assert widget.value_from_datadict({"dob": "1985-12-10"}, {}, "dob") == "1985-12-10"


def test_the_optional_rest_of_the_profile_is_folded_and_opens_when_used(client):
    html = client.get(REGISTER).content.decode()
    assert '<details class="form-more">' in html
    assert html.index('name="phone"') < html.index('<details class="form-more">')
    assert html.index('<details class="form-more">') < html.index('name="city"')
    opened = client.post(REGISTER, registration(city="Leeds", phone="")).content.decode()
    assert '<details class="form-more" open>' in opened


def test_the_code_page_names_the_address_and_does_not_ask_for_it_again(client):
    client.post(REGISTER, registration())
    html = client.get("/accounts/verify/").content.decode()
    assert "We sent a six-digit code to <strong>nora@example.test</strong>" in html
    assert 'type="hidden" name="email" value="nora@example.test"' in html
    assert 'type="email" name="email"' not in html
    # A wrong code typed in: the page still names the address, not what was typed.
    wrong = client.post("/accounts/verify/", {"email": "nora@example.test", "code": "123456"})
    assert "to <strong>nora@example.test</strong>" in wrong.content.decode()


def test_the_code_page_opened_from_elsewhere_asks_for_the_address():
    html = Client().get("/accounts/verify/").content.decode()
    assert 'type="email" name="email"' in html
