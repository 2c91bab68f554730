"""Limits on what one address may ask for, and sessions and tokens that really end.

- web registration: CLINIC_FORM_RATES["register"] accounts an hour per address (10);
- password reset: CLINIC_FORM_RATES["password_reset"] requests an hour per address (10), and at
  most CLINIC_PASSWORD_RESET_EMAILS_PER_HOUR reset e-mails to one account (3);
- verification codes: 5 tries per code and CLINIC_VERIFICATION_MAX_ATTEMPTS_PER_DAY wrong codes
  per account in 24 hours however many new codes are asked for (15);
- deactivation ends every session and token for good, re-activated or not;
- a password change ends refresh tokens as well as access tokens.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client

from clinic_site.accounts import services
from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.accounts.services import user_activate, user_deactivate
from tests.factories import make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quiet-river-2026"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def registration(n: int) -> dict:
    return {
        "email": f"new{n}@example.test",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "full_name": f"New Patient {n}",
        "phone": "+44 7700 900111",
        "date_of_birth": "1990-02-03",
    }


# --- Registration ------------------------------------------------------------------------------


def test_one_address_opens_at_most_ten_accounts_an_hour(
    settings, django_capture_on_commit_callbacks
):
    assert settings.CLINIC_FORM_RATES["register"] == "10/hour"
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(10):
            assert Client().post("/accounts/register/", registration(n)).status_code == 302

        refused = Client().post("/accounts/register/", registration(10))

    assert refused.status_code == 429
    assert "Too many accounts have been opened from your network" in refused.content.decode()
    assert not User.objects.filter(email="new10@example.test").exists()
    assert User.objects.filter(email__startswith="new").count() == 10
    # Another address is not affected.
    other = Client(REMOTE_ADDR="198.51.100.4").post("/accounts/register/", registration(11))
    assert other.status_code == 302


def test_invalid_registrations_do_not_use_up_the_limit(django_capture_on_commit_callbacks):
    for _ in range(12):
        bad = {**registration(0), "password2": "does-not-match"}
        assert Client().post("/accounts/register/", bad).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post("/accounts/register/", registration(0)).status_code == 302


def test_the_registration_limit_ends_after_the_hour(
    time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(10):
            Client().post("/accounts/register/", registration(n))
        assert Client().post("/accounts/register/", registration(10)).status_code == 429

        time_machine.move_to(dt.datetime(2030, 1, 7, 10, 0, 1, tzinfo=dt.UTC), tick=False)
        assert Client().post("/accounts/register/", registration(10)).status_code == 302


# --- Password reset ----------------------------------------------------------------------------


def reset(client: Client, email: str, **kw):
    return client.post("/accounts/password-reset/", {"email": email}, **kw)


def test_one_account_gets_at_most_three_reset_emails_an_hour(
    settings, django_capture_on_commit_callbacks
):
    assert settings.CLINIC_PASSWORD_RESET_EMAILS_PER_HOUR == 3
    make_user(Role.PATIENT, email="pat@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            reset(Client(REMOTE_ADDR=f"203.0.113.{n}"), "pat@example.test") for n in range(1, 9)
        ]

    # Every answer is the same page (no hint whether, or how often, mail went out) ...
    assert {r.status_code for r in answers} == {302}
    # ... but only three e-mails were sent.
    assert len(mail.outbox) == 3


def test_one_address_asks_for_at_most_ten_resets_an_hour(
    settings, django_capture_on_commit_callbacks
):
    assert settings.CLINIC_FORM_RATES["password_reset"] == "10/hour"
    client = Client()
    for n in range(10):
        assert reset(client, f"someone{n}@example.test").status_code == 302

    refused = reset(client, "pat@example.test")

    assert refused.status_code == 429
    assert "Too many password resets" in refused.content.decode()


def test_reset_emails_are_allowed_again_an_hour_later(
    time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC), tick=False)
    make_user(Role.PATIENT, email="pat@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            reset(Client(REMOTE_ADDR=f"203.0.113.{n + 1}"), "pat@example.test")
    assert len(mail.outbox) == 3
    time_machine.move_to(dt.datetime(2030, 1, 7, 10, 0, 1, tzinfo=dt.UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        reset(Client(REMOTE_ADDR="203.0.113.50"), "pat@example.test")

    assert len(mail.outbox) == 4


# --- Verification codes ------------------------------------------------------------------------


def test_wrong_codes_are_capped_per_account_per_day_across_new_codes(
    settings, time_machine, django_capture_on_commit_callbacks
):
    assert settings.CLINIC_VERIFICATION_MAX_ATTEMPTS_PER_DAY == 15
    start = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        user = services.patient_register(
            email="nora@example.test",
            password=NEW_PASSWORD,
            full_name="Nora Quinn",
            phone="+44 7700 900111",
            date_of_birth=dt.date(1990, 2, 3),
        )
    wrong = 0
    for round_ in range(5):
        for _ in range(5):
            try:
                services.email_verify(email="nora@example.test", code="000000")
            except Exception:
                wrong += 1
        time_machine.move_to(start + dt.timedelta(minutes=round_ + 1), tick=False)
        sent_before = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            services.email_verification_resend(email="nora@example.test")
        if round_ >= 2:
            # 15 wrong codes used up: no more codes today.
            assert len(mail.outbox) == sent_before
    code = "".join(ch for ch in mail.outbox[-1].body.split("code")[-1] if ch.isdigit())[:6]
    from clinic_site.accounts.exceptions import InvalidVerificationCode

    # Even the right code of the last e-mail fails once the day's tries are used up ...
    latest = user.verification_codes.first()
    assert sum(c.attempts for c in user.verification_codes.all()) == 15
    with pytest.raises(InvalidVerificationCode):
        services.email_verify(email="nora@example.test", code=code)
    assert latest.used_at is None
    # ... and a day later a new code works.
    time_machine.move_to(start + dt.timedelta(days=1, minutes=10), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.email_verification_resend(email="nora@example.test")
    import re

    fresh = re.findall(r"^\s*(\d{6})\s*$", mail.outbox[-1].body, re.MULTILINE)[0]
    assert services.email_verify(email="nora@example.test", code=fresh).email_verified


# --- Sessions and tokens end for good ------------------------------------------------------------


def web_login(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def tokens(email: str, password: str = PASSWORD) -> dict:
    response = Client().post(
        "/api/v1/auth/token/",
        {"email": email, "password": password},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return Client().post(
        "/api/v1/auth/token/refresh/", {"refresh": token}, content_type="application/json"
    )


def test_a_session_from_before_deactivation_stays_dead_after_reactivation(client):
    admin = make_user(Role.ADMIN, email="admin@example.test")
    patient = make_user(Role.PATIENT, email="pat@example.test")
    web_login(client, "pat@example.test")
    assert client.get("/portal/").status_code == 200

    user_deactivate(user=patient, actor=admin)
    user_activate(user=User.objects.get(pk=patient.pk), actor=admin)

    assert client.get("/portal/").status_code == 302
    assert client.session.get("_auth_user_id") is None
    # Signing in again works.
    fresh = Client()
    assert web_login(fresh, "pat@example.test").status_code == 302
    assert fresh.get("/portal/").status_code == 200


def test_tokens_from_before_deactivation_stay_dead_after_reactivation():
    admin = make_user(Role.ADMIN, email="admin@example.test")
    patient = make_user(Role.PATIENT, email="pat@example.test")
    pair = tokens("pat@example.test")

    user_deactivate(user=patient, actor=admin)
    user_activate(user=User.objects.get(pk=patient.pk), actor=admin)

    me = Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert me.status_code == 401
    assert me.json()["code"] == "token_not_valid"
    refused = refresh(pair["refresh"])
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"
    assert "access" not in refused.json()
    # New tokens work.
    assert refresh(tokens("pat@example.test")["refresh"]).status_code == 200


def test_a_refresh_token_stops_working_after_a_password_change(client):
    make_user(Role.PATIENT, email="pat@example.test")
    pair = tokens("pat@example.test")
    assert refresh(pair["refresh"]).status_code == 200

    web_login(client, "pat@example.test")
    changed = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert changed.status_code == 302, changed.content

    refused = refresh(pair["refresh"])
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"
    assert refresh(tokens("pat@example.test", NEW_PASSWORD)["refresh"]).status_code == 200


def test_a_refresh_token_stops_working_after_a_password_reset():
    user = make_user(Role.PATIENT, email="pat@example.test")
    pair = tokens("pat@example.test")

    user.set_password(NEW_PASSWORD)
    user.save()

    assert refresh(pair["refresh"]).status_code == 401


def test_sessions_of_other_users_survive_a_deactivation():
    admin = make_user(Role.ADMIN, email="admin@example.test")
    patient = make_user(Role.PATIENT, email="pat@example.test")
    make_user(Role.PATIENT, email="other@example.test")
    other = Client()
    web_login(other, "other@example.test")

    user_deactivate(user=patient, actor=admin)

    assert other.get("/portal/").status_code == 200
