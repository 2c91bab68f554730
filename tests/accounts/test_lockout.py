"""Brute-force protection (django-axes): five failures lock one e-mail and address pair out.

Settings: AXES_FAILURE_LIMIT=5, a 15-minute cool-off, lockout per (username, IP address) pair,
429 answers (a friendly page on the web, `{"detail", "code": "throttled"}` from the API).
The database is rolled back after each test, so every test starts with no recorded failures.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from clinic_site.accounts.forms import LOGIN_FAILED_MESSAGE
from clinic_site.accounts.roles import Role
from tests.factories import make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/"
TOKEN_URL = "/api/v1/auth/token/"
WRONG = "Wrong-password-1"
LIMIT = 5
LOCKED_TEXT = "Too many failed sign-in attempts"


# --- helpers ----------------------------------------------------------------------------------


def web_login(client: Client, username: str, password: str = PASSWORD, url: str = LOGIN_URL, **kw):
    return client.post(url, {"username": username, "password": password}, **kw)


def api_token(client: Client, email: str, password: str = PASSWORD, **kw):
    return client.post(
        TOKEN_URL, {"email": email, "password": password}, content_type="application/json", **kw
    )


def fail_web(client: Client, username: str, times: int, url: str = LOGIN_URL, **kw) -> list:
    return [web_login(client, username, WRONG, url=url, **kw) for _ in range(times)]


def fail_api(client: Client, email: str, times: int, **kw) -> list:
    return [api_token(client, email, WRONG, **kw) for _ in range(times)]


def signed_in_as(client: Client):
    return client.session.get("_auth_user_id")


def assert_locked_out_page(response) -> None:
    assert response.status_code == 429
    assert LOCKED_TEXT in response.content.decode()
    assert "accounts/locked_out.html" in [t.name for t in response.templates]


def assert_locked_out_json(response) -> None:
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "throttled"
    assert body["detail"]


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, email="pat@example.test")


# --- configuration ------------------------------------------------------------------------------


def test_lockout_settings_are_five_failures_per_user_and_address_for_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    cool_off = settings.AXES_COOLOFF_TIME
    assert cool_off == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_HTTP_RESPONSE_CODE == 429
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# --- web sign-in ------------------------------------------------------------------------------


def test_failures_below_the_limit_get_the_normal_error(client, patient):
    for response in fail_web(client, "pat@example.test", LIMIT - 1):
        assert response.status_code == 200
        assert LOGIN_FAILED_MESSAGE in response.content.decode()

    assert web_login(client, "pat@example.test").status_code == 302
    assert signed_in_as(client) == str(patient.pk)


def test_five_failed_web_logins_lock_out_even_the_right_password(client, patient):
    responses = fail_web(client, "pat@example.test", LIMIT)
    assert [r.status_code for r in responses[: LIMIT - 1]] == [200] * (LIMIT - 1)
    assert responses[-1].status_code in (200, 429)

    response = web_login(client, "pat@example.test")

    assert_locked_out_page(response)
    assert "15 minutes" in response.content.decode()
    assert signed_in_as(client) is None
    assert client.get("/portal/").status_code == 302


def test_lockout_counts_the_email_in_any_case_as_one_account(client, patient):
    for typed in ["pat@example.test", "PAT@example.test", "Pat@Example.Test", " pat@EXAMPLE.test"]:
        web_login(client, typed, WRONG)
    web_login(client, "pat@example.TEST", WRONG)

    assert_locked_out_page(web_login(client, "pat@example.test"))


def test_locked_out_answer_is_the_same_for_an_unknown_email(client, patient):
    fail_web(client, "pat@example.test", LIMIT)
    fail_web(client, "ghost@example.test", LIMIT)

    known = web_login(client, "pat@example.test")
    unknown = web_login(client, "ghost@example.test")

    assert_locked_out_page(known)
    assert_locked_out_page(unknown)
    assert known.content == unknown.content


def test_right_password_works_again_after_the_cool_off(client, patient):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail_web(client, "pat@example.test", LIMIT)
        assert_locked_out_page(web_login(client, "pat@example.test"))

        clock.shift(timedelta(minutes=16))
        response = web_login(client, "pat@example.test")

    assert response.status_code == 302
    assert signed_in_as(client) == str(patient.pk)


def test_lockout_still_holds_just_before_the_cool_off_ends(client, patient):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail_web(client, "pat@example.test", LIMIT)
        clock.shift(timedelta(minutes=14))

        assert_locked_out_page(web_login(client, "pat@example.test"))
    assert signed_in_as(client) is None


def test_another_email_from_the_same_address_is_not_locked(client, patient):
    other = make_user(Role.PATIENT, email="other@example.test")
    fail_web(client, "pat@example.test", LIMIT)
    assert_locked_out_page(web_login(client, "pat@example.test"))

    response = web_login(client, "other@example.test")

    assert response.status_code == 302
    assert signed_in_as(client) == str(other.pk)


def test_the_same_email_from_another_address_is_not_locked(client, patient):
    fail_web(client, "pat@example.test", LIMIT, REMOTE_ADDR="203.0.113.7")
    assert_locked_out_page(web_login(client, "pat@example.test", REMOTE_ADDR="203.0.113.7"))

    elsewhere = Client()
    response = web_login(elsewhere, "pat@example.test", REMOTE_ADDR="198.51.100.20")

    assert response.status_code == 302
    assert signed_in_as(elsewhere) == str(patient.pk)


def test_a_successful_login_resets_the_failure_count(client, patient):
    fail_web(client, "pat@example.test", LIMIT - 1)
    assert web_login(client, "pat@example.test").status_code == 302
    client.post("/accounts/logout/")

    for response in fail_web(client, "pat@example.test", LIMIT - 1):
        assert response.status_code == 200

    response = web_login(client, "pat@example.test")
    assert response.status_code == 302
    assert signed_in_as(client) == str(patient.pk)


def test_national_id_failures_lock_the_national_id(client):
    make_user(Role.PATIENT, email="nid@example.test", national_id="AB123456")
    fail_web(client, "AB123456", LIMIT)

    assert_locked_out_page(web_login(client, "AB123456"))


# --- API token endpoint -----------------------------------------------------------------------


def test_five_failed_token_requests_lock_out_the_api_with_a_throttled_json_answer(client, patient):
    responses = fail_api(client, "pat@example.test", LIMIT)
    assert [r.status_code for r in responses[: LIMIT - 1]] == [401] * (LIMIT - 1)
    assert responses[-1].status_code in (401, 429)

    response = api_token(client, "pat@example.test")

    assert_locked_out_json(response)
    assert "access" not in response.json()


def test_api_lockout_ends_after_the_cool_off(client, patient):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        fail_api(client, "pat@example.test", LIMIT)
        assert_locked_out_json(api_token(client, "pat@example.test"))

        clock.shift(timedelta(minutes=16))
        response = api_token(client, "pat@example.test")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_api_lockout_spares_another_email_from_the_same_address(client, patient):
    make_user(Role.PATIENT, email="other@example.test")
    fail_api(client, "pat@example.test", LIMIT)
    assert_locked_out_json(api_token(client, "pat@example.test"))

    assert api_token(client, "other@example.test").status_code == 200


def test_web_failures_count_against_the_api_for_the_same_pair(client, patient):
    fail_web(client, "pat@example.test", LIMIT)

    assert_locked_out_json(api_token(client, "pat@example.test"))


# --- Wagtail's admin sign-in ------------------------------------------------------------------


def test_wagtail_admin_login_is_locked_out_too(client):
    staff = make_user(Role.EDITOR, email="ed@example.test")
    responses = fail_web(client, "ed@example.test", LIMIT, url=ADMIN_LOGIN_URL)
    assert all(r.status_code in (200, 302, 429) for r in responses)

    response = web_login(client, "ed@example.test", url=ADMIN_LOGIN_URL)

    assert response.status_code == 429
    assert LOCKED_TEXT in response.content.decode()
    assert signed_in_as(client) != str(staff.pk)
    assert client.get("/admin/").status_code == 302


def test_admin_login_failures_also_lock_the_portal_sign_in(client):
    make_user(Role.RECEPTIONIST, email="desk@example.test")
    fail_web(client, "desk@example.test", LIMIT, url=ADMIN_LOGIN_URL)

    assert_locked_out_page(web_login(client, "desk@example.test"))


# --- one spelling per identifier (issue: lockout bypass by writing it differently) ---------------

NATIONAL_ID_SPELLINGS = [
    "AB100005C",
    "A B100005C",
    "ab100005c",
    " AB 100 005 C ",
    "AB\t100005C",
    "AB\u00a0100005C",  # no-break space
    "AB\u200b100005C",  # zero-width space
    "ＡＢ１００００５Ｃ",  # full-width letters and digits
]
EMAIL_SPELLINGS = [
    "pat@example.test",
    "PAT@EXAMPLE.TEST",
    " pat@example.test ",
    "pat@example.test.",
    "ｐａｔ@ｅｘａｍｐｌｅ.test",  # full-width
    "pat\u200b@example.test",
]


@pytest.mark.parametrize("url", [LOGIN_URL, ADMIN_LOGIN_URL])
def test_every_spelling_of_a_national_id_counts_against_one_lockout(client, url):
    make_user(Role.PATIENT, email="nid@example.test", national_id="AB100005C")
    for typed in NATIONAL_ID_SPELLINGS[:LIMIT]:
        web_login(client, typed, WRONG, url=url)

    for typed in NATIONAL_ID_SPELLINGS:
        assert web_login(client, typed, url=url).status_code == 429, typed
    assert signed_in_as(client) is None


def test_every_spelling_of_an_email_counts_against_one_lockout(client, patient):
    for typed in EMAIL_SPELLINGS[:LIMIT]:
        web_login(client, typed, WRONG)

    for typed in EMAIL_SPELLINGS:
        assert_locked_out_page(web_login(client, typed))
    assert signed_in_as(client) is None


def test_every_spelling_of_an_email_counts_against_one_lockout_on_the_token_endpoint(
    client, patient
):
    for typed in EMAIL_SPELLINGS[:LIMIT]:
        api_token(client, typed, WRONG)

    for typed in EMAIL_SPELLINGS:
        assert_locked_out_json(api_token(client, typed))


@pytest.mark.parametrize("typed", NATIONAL_ID_SPELLINGS)
def test_any_spelling_of_a_national_id_signs_in_with_the_right_password(client, typed):
    user = make_user(Role.PATIENT, email="nid@example.test", national_id="AB100005C")

    assert web_login(client, typed).status_code == 302
    assert signed_in_as(client) == str(user.pk)


@pytest.mark.parametrize("typed", EMAIL_SPELLINGS)
def test_any_spelling_of_an_email_gets_a_token_with_the_right_password(client, patient, typed):
    assert api_token(client, typed).status_code == 200


def test_a_look_alike_letter_names_no_account_and_cannot_sign_in(client, patient):
    # Cyrillic small a (U+0430) is another letter, not another spelling: it finds no account,
    # so guessing through it can never reach the patient's password.
    assert web_login(client, "p\u0430t@example.test").status_code == 200
    assert signed_in_as(client) is None


# --- a limit per address --------------------------------------------------------------------


def test_many_identifiers_from_one_address_lock_that_address_out(client, patient):
    limit = settings.CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT
    assert limit == 20
    for n in range(limit):
        response = web_login(client, f"guess{n}@example.test", WRONG, REMOTE_ADDR="203.0.113.9")
        assert response.status_code in (200, 429)

    # Even the right password of an account never guessed at is refused from that address ...
    assert_locked_out_page(web_login(client, "pat@example.test", REMOTE_ADDR="203.0.113.9"))
    assert_locked_out_json(api_token(client, "pat@example.test", REMOTE_ADDR="203.0.113.9"))
    # ... while the patient at another address signs in.
    elsewhere = Client()
    assert web_login(elsewhere, "pat@example.test", REMOTE_ADDR="198.51.100.3").status_code == 302


def test_the_address_limit_ends_with_the_cool_off(client, patient):
    limit = settings.CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for n in range(limit):
            web_login(client, f"guess{n}@example.test", WRONG)
        assert_locked_out_page(web_login(client, "pat@example.test"))

        clock.shift(timedelta(minutes=16))
        assert web_login(client, "pat@example.test").status_code == 302


def test_failures_below_the_address_limit_leave_other_accounts_alone(client, patient):
    for n in range(settings.CLINIC_LOGIN_ADDRESS_FAILURE_LIMIT - 1):
        web_login(client, f"guess{n}@example.test", WRONG)

    assert web_login(client, "pat@example.test").status_code == 302


# --- over-long identifiers are refused, not a server error ------------------------------------


@pytest.mark.parametrize("length", [255, 300, 5000])
def test_an_over_long_identifier_is_a_normal_failure_everywhere(client, patient, length):
    typed = "a" * (length - len("@example.test")) + "@example.test"

    web = web_login(client, typed, WRONG)
    assert web.status_code == 200
    admin = web_login(client, typed, WRONG, url=ADMIN_LOGIN_URL)
    assert admin.status_code == 200
    token = api_token(client, typed, WRONG)
    assert token.status_code in (400, 401)
    assert set(token.json()) >= {"detail"} or "email" in token.json()
    private = client.post("/_util/login/", {"username": typed, "password": WRONG})
    assert private.status_code in (200, 302)
