"""Signing in and out, and what a session is worth afterwards.

Covers the web sign-in (e-mail in any case or national ID), where each role lands, one answer for
every failed attempt (web and API), session fixation, logout, deactivation ending sessions and
tokens, the idle timeout, accounts awaiting activation, and Wagtail's own login screen.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic_site.accounts.forms import LOGIN_FAILED_MESSAGE
from clinic_site.accounts.roles import Role
from clinic_site.accounts.services import user_deactivate
from tests.factories import make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
TOKEN_URL = "/api/v1/auth/token/"
WAITING_MESSAGE = "waiting for the clinic"
ERROR_BLOCK = re.compile(r'<div class="error-summary"[^>]*>.*?</ul>', re.S)


# --- helpers ----------------------------------------------------------------------------------


def web_login(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, **extra)


def api_token(client: Client, email: str, password: str = PASSWORD):
    return client.post(
        TOKEN_URL, {"email": email, "password": password}, content_type="application/json"
    )


def error_block(response) -> str:
    """The rendered error summary of the sign-in form, exactly as sent."""
    found = ERROR_BLOCK.findall(response.content.decode())
    assert len(found) == 1, response.content.decode()
    return found[0]


def session_user_id(client: Client):
    return client.session.get("_auth_user_id")


def assert_redirects_to_login(response, next_path: str) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert f"next={next_path}" in response["Location"]


# --- signing in -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["pat@example.test", "PAT@EXAMPLE.TEST", "  Pat@Example.Test "])
def test_patient_signs_in_by_email_in_any_case_and_lands_on_the_portal(client, typed):
    patient = make_user(Role.PATIENT, email="pat@example.test")

    response = web_login(client, typed, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/portal/"
    assert session_user_id(client) == str(patient.pk)


def test_patient_signs_in_by_national_id_in_any_case(client):
    patient = make_user(Role.PATIENT, email="nid@example.test", national_id="AB123456")

    response = web_login(client, "ab123456", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/portal/"
    assert session_user_id(client) == str(patient.pk)


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN, Role.EDITOR])
def test_staff_and_editors_land_on_the_wagtail_admin(client, role):
    user = make_user(role, email=f"{role.value}@example.test")

    response = web_login(client, user.email.upper(), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/"
    assert session_user_id(client) == str(user.pk)


def test_staff_sent_to_the_portal_are_redirected_to_the_admin(client):
    make_user(Role.DOCTOR, email="doc@example.test")
    web_login(client, "doc@example.test")

    response = client.get("/portal/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_unknown_email_and_wrong_password_get_the_same_answer_on_the_web(client):
    make_user(Role.PATIENT, email="known@example.test")

    unknown = web_login(client, "nobody@example.test", "Wrong-password-1")
    wrong = web_login(client, "known@example.test", "Wrong-password-1")

    assert unknown.status_code == wrong.status_code == 200
    assert error_block(unknown) == error_block(wrong)
    assert LOGIN_FAILED_MESSAGE in error_block(wrong)
    assert list(unknown.context["form"].non_field_errors()) == [LOGIN_FAILED_MESSAGE]
    assert list(wrong.context["form"].non_field_errors()) == [LOGIN_FAILED_MESSAGE]
    assert session_user_id(client) is None


def test_unknown_national_id_gets_the_same_answer_as_a_wrong_password(client):
    make_user(Role.PATIENT, email="known@example.test", national_id="ZX998877")

    unknown = web_login(client, "QQ000000", "Wrong-password-1")
    wrong = web_login(client, "ZX998877", "Wrong-password-1")

    assert unknown.status_code == wrong.status_code == 200
    assert error_block(unknown) == error_block(wrong)


def test_unknown_email_and_wrong_password_get_the_same_answer_from_the_api(client):
    make_user(Role.PATIENT, email="known@example.test")

    unknown = api_token(client, "nobody@example.test", "Wrong-password-1")
    wrong = api_token(client, "known@example.test", "Wrong-password-1")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert set(wrong.json()) == {"detail", "code"}
    assert unknown.content == wrong.content


def test_api_token_for_the_right_password_carries_email_and_role(client):
    make_user(Role.PATIENT, email="known@example.test")

    response = api_token(client, "known@example.test")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    me = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.status_code == 200
    assert me.json()["email"] == "known@example.test"
    assert me.json()["role"] == "patient"


# --- sessions ---------------------------------------------------------------------------------


def test_signing_in_gives_a_new_session_key(client):
    make_user(Role.PATIENT, email="pat@example.test")
    anonymous = client.session
    anonymous["probe"] = "set before sign-in"
    anonymous.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(LOGIN_URL).status_code == 200
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == before

    response = web_login(client, "pat@example.test")

    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert Session.objects.filter(session_key=after).exists()


def test_logout_deletes_the_session_and_later_requests_are_anonymous(client):
    make_user(Role.PATIENT, email="pat@example.test")
    web_login(client, "pat@example.test")
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()
    assert client.get("/portal/").status_code == 200

    response = client.post("/accounts/logout/")

    assert response.status_code in (200, 302)
    assert not Session.objects.filter(session_key=key).exists()
    assert_redirects_to_login(client.get("/portal/"), "/portal/")
    assert client.get("/api/v1/me/").status_code == 401


def test_logout_by_get_is_refused_and_keeps_the_session(client):
    make_user(Role.PATIENT, email="pat@example.test")
    web_login(client, "pat@example.test")

    response = client.get("/accounts/logout/")

    assert response.status_code == 405
    assert client.get("/portal/").status_code == 200


def test_deactivating_a_user_ends_their_session_on_the_next_request(client):
    admin = make_user(Role.ADMIN, email="admin@example.test")
    patient = make_user(Role.PATIENT, email="pat@example.test")
    web_login(client, "pat@example.test")
    assert client.get("/portal/").status_code == 200

    user_deactivate(user=patient, actor=admin)

    assert_redirects_to_login(client.get("/portal/"), "/portal/")
    assert client.get("/api/v1/me/").status_code == 401


def test_deactivating_a_user_makes_their_access_token_fail_with_401(client):
    admin = make_user(Role.ADMIN, email="admin@example.test")
    patient = make_user(Role.PATIENT, email="pat@example.test")
    access = api_token(client, "pat@example.test").json()["access"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    assert Client().get("/api/v1/me/", **bearer).status_code == 200

    user_deactivate(user=patient, actor=admin)

    response = Client().get("/api/v1/me/", **bearer)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}
    assert api_token(Client(), "pat@example.test").status_code == 401


def test_session_idle_timeout_is_thirty_minutes_refreshed_at_most_once_a_minute():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.CLINIC_SESSION_REFRESH_SECONDS == 60
    assert "clinic_site.middleware.IdleSessionMiddleware" in settings.MIDDLEWARE
    assert "django.contrib.sessions.middleware.SessionMiddleware" not in settings.MIDDLEWARE
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is False


def session_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "django_session" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    ]


def test_a_request_within_a_minute_of_the_last_refresh_writes_no_session(client):
    make_user(Role.PATIENT, email="pat@example.test")
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        web_login(client, "pat@example.test")
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        clock.shift(timedelta(seconds=59))

        with CaptureQueriesContext(connection) as queries:
            response = client.get("/portal/")

        assert response.status_code == 200
        assert session_writes(queries.captured_queries) == []
        assert settings.SESSION_COOKIE_NAME not in response.cookies  # nothing new to send
        assert Session.objects.get(session_key=key).expire_date == start + timedelta(minutes=30)

        clock.shift(timedelta(seconds=1))  # a minute after the sign-in: refreshed again
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/portal/")

        assert len(session_writes(queries.captured_queries)) == 1
        assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 30 * 60
        assert Session.objects.get(session_key=key).expire_date == start + timedelta(minutes=31)


def test_a_session_stays_alive_through_requests_a_minute_apart(client):
    make_user(Role.PATIENT, email="pat@example.test")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        web_login(client, "pat@example.test")
        for _ in range(40):  # 40 minutes in all, never 30 idle
            clock.shift(timedelta(seconds=61))
            assert client.get("/portal/").status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get("/api/v1/me/").status_code == 200


def test_a_session_signed_in_elsewhere_without_a_refresh_mark_is_refreshed(client):
    """A session saved by other code (no mark of its last refresh) is refreshed, never trusted."""
    patient = make_user(Role.PATIENT, email="pat@example.test")
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(patient)
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        session = Session.objects.get(session_key=key)
        data = session.get_decoded()
        data.pop("_clinic_refreshed")
        session.session_data = Session.objects.encode(data)
        session.save()
        clock.shift(timedelta(seconds=5))

        assert client.get("/portal/").status_code == 200

        refreshed = Session.objects.get(session_key=key)
        assert refreshed.expire_date == start + timedelta(minutes=30, seconds=5)
        assert refreshed.get_decoded()["_clinic_refreshed"] == int(start.timestamp()) + 5


def test_anonymous_visitors_and_ended_sessions_leave_no_session_row(client):
    assert client.get("/").status_code == 200
    assert client.get(LOGIN_URL).status_code == 200
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32  # a key the server does not know
    assert client.get("/").status_code == 200
    assert Session.objects.count() == 0


def test_each_request_pushes_the_session_expiry_forward(client):
    make_user(Role.PATIENT, email="pat@example.test")
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        web_login(client, "pat@example.test")
        key = client.cookies[settings.SESSION_COOKIE_NAME].value
        first_expiry = Session.objects.get(session_key=key).expire_date
        assert first_expiry == start + timedelta(minutes=30)

        clock.shift(timedelta(minutes=20))
        assert client.get("/portal/").status_code == 200

        assert Session.objects.get(session_key=key).expire_date == start + timedelta(minutes=50)


def test_active_user_stays_signed_in_past_thirty_minutes_in_total(client):
    make_user(Role.PATIENT, email="pat@example.test")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        web_login(client, "pat@example.test")
        for _ in range(3):
            clock.shift(timedelta(minutes=25))
            assert client.get("/portal/").status_code == 200


def test_thirty_one_idle_minutes_end_the_session(client):
    make_user(Role.PATIENT, email="pat@example.test")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        web_login(client, "pat@example.test")
        clock.shift(timedelta(minutes=10))
        assert client.get("/portal/").status_code == 200

        clock.shift(timedelta(minutes=31))

        assert_redirects_to_login(client.get("/portal/"), "/portal/")
        assert client.get("/api/v1/me/").status_code == 401


# --- accounts that cannot sign in ---------------------------------------------------------------


def test_account_awaiting_activation_with_the_right_password_is_told_to_wait(client):
    make_user(Role.PATIENT, email="new@example.test", is_active=False, activated_at=None)

    response = web_login(client, "new@example.test")

    assert response.status_code == 200
    assert WAITING_MESSAGE in error_block(response)
    assert LOGIN_FAILED_MESSAGE not in response.content.decode()
    assert session_user_id(client) is None


def test_account_awaiting_activation_with_a_wrong_password_gets_the_generic_answer(client):
    make_user(Role.PATIENT, email="new@example.test", is_active=False, activated_at=None)

    wrong = web_login(client, "new@example.test", "Wrong-password-1")
    unknown = web_login(client, "nobody@example.test", "Wrong-password-1")

    assert wrong.status_code == 200
    assert WAITING_MESSAGE not in wrong.content.decode()
    assert error_block(wrong) == error_block(unknown)
    assert session_user_id(client) is None


def test_awaiting_account_cannot_get_an_api_token_either(client):
    make_user(Role.PATIENT, email="new@example.test", is_active=False, activated_at=None)

    response = api_token(client, "new@example.test")

    assert response.status_code == 401
    assert response.json() == api_token(client, "nobody@example.test", PASSWORD).json()


# --- Wagtail's own sign-in screen ---------------------------------------------------------------


def test_wagtail_admin_login_redirects_or_authenticates_through_our_backend(client):
    staff = make_user(Role.RECEPTIONIST, email="desk@example.test", national_id="RC445566")

    page = client.get("/admin/login/")
    if page.status_code == 302:
        assert page["Location"].startswith(LOGIN_URL)
        return
    assert page.status_code == 200

    # Our backend: the national ID (in any case) is accepted, as on the portal's sign-in page.
    response = client.post("/admin/login/", {"username": "rc445566", "password": PASSWORD})

    assert response.status_code == 302
    assert session_user_id(client) == str(staff.pk)
    assert client.get("/admin/").status_code == 200


def test_wagtail_admin_login_accepts_the_email_in_any_case(client):
    staff = make_user(Role.EDITOR, email="ed@example.test")

    response = client.post("/admin/login/", {"username": "ED@Example.test", "password": PASSWORD})

    if response.status_code == 302 and response["Location"].startswith(LOGIN_URL):
        return
    assert response.status_code == 302
    assert session_user_id(client) == str(staff.pk)


def test_wagtail_admin_login_refuses_a_wrong_password(client):
    make_user(Role.EDITOR, email="ed@example.test")

    response = client.post("/admin/login/", {"username": "ed@example.test", "password": "Nope-1"})

    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response["Location"].startswith(LOGIN_URL)
    assert session_user_id(client) is None


def test_unauthenticated_admin_requests_go_to_our_sign_in_page(client):
    response = client.get("/admin/")

    assert_redirects_to_login(response, "/admin/")
