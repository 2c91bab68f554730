"""E-mail verification by a one-time code: web page, API and service (product.md §1).

A code is six digits, works once, for 15 minutes, for at most 5 tries, and only the latest one
sent works. Every failure answers the same, so the answer never tells whether an account exists.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from clinic_site.accounts import services
from clinic_site.accounts.exceptions import InvalidVerificationCode
from clinic_site.accounts.models import EmailVerificationCode, User
from clinic_site.models import ClinicPolicies
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

VERIFY_URL = "/accounts/verify/"
RESEND_URL = "/accounts/verify/resend/"
API_VERIFY_URL = "/api/v1/auth/verify-email/"
API_RESEND_URL = "/api/v1/auth/verify-email/resend/"
EMAIL = "nora.quinn@example.test"
PASSWORD = "Quiet-river-2026"
REGISTRATION = {
    "email": EMAIL,
    "password1": PASSWORD,
    "password2": PASSWORD,
    "full_name": "Nora Quinn",
    "phone": "+44 7700 900111",
    "date_of_birth": "1990-02-03",
}
CODE_LINE = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def latest_code() -> str:
    """The code in the last e-mail sent."""
    codes = CODE_LINE.findall(mail.outbox[-1].body)
    assert len(codes) == 1
    return codes[0]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def register_in_browser(client, capture) -> str:
    """Register through the web form in `client`'s browser; the e-mailed code."""
    with capture(execute=True):
        response = client.post("/accounts/register/", REGISTRATION)
    assert response.status_code == 302
    return latest_code()


def register_by_service(capture, email: str = EMAIL) -> tuple[User, str]:
    with capture(execute=True):
        user = services.patient_register(
            email=email,
            password=PASSWORD,
            full_name="Nora Quinn",
            phone="+44 7700 900111",
            date_of_birth=dt.date(1990, 2, 3),
        )
    return user, latest_code()


def resend(capture, email: str = EMAIL) -> int:
    """Ask for a new code through the service; how many e-mails that sent."""
    sent = len(mail.outbox)
    with capture(execute=True):
        services.email_verification_resend(email=email)
    return len(mail.outbox) - sent


def api_verify(client, email: str, code: str):
    return client.post(
        API_VERIFY_URL, {"email": email, "code": code}, content_type="application/json"
    )


def is_verified(email: str = EMAIL) -> bool:
    return User.objects.get(email=email).email_verified


def require_activation() -> None:
    policies = ClinicPolicies.load()
    policies.accounts_need_activation = True
    policies.save()


# --- Web: the right code ------------------------------------------------------------------------


def test_registering_browser_is_signed_in_and_sent_to_the_portal_after_verifying(
    client, django_capture_on_commit_callbacks
):
    code = register_in_browser(client, django_capture_on_commit_callbacks)

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 302
    assert response.url == "/portal/"
    user = User.objects.get(email=EMAIL)
    assert user.email_verified
    assert client.session["_auth_user_id"] == str(user.pk)
    portal = client.get("/portal/")
    assert portal.status_code == 200
    assert portal.context["user"] == user


def test_registering_browser_goes_on_to_the_page_it_came_from(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/register/", {**REGISTRATION, "next": "/doctors/dr-heart/"})
    code = latest_code()

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 302
    assert response.url == "/doctors/dr-heart/"


def test_registering_browser_is_never_sent_to_another_site(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/register/", {**REGISTRATION, "next": "https://evil.test/x"})
    code = latest_code()

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 302
    assert response.url == "/portal/"


def test_another_browser_verifying_is_sent_to_sign_in_without_being_signed_in(
    client, django_capture_on_commit_callbacks
):
    code = register_in_browser(client, django_capture_on_commit_callbacks)
    other_browser = Client()

    response = other_browser.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 302
    assert response.url == "/accounts/login/"
    assert is_verified()
    assert "_auth_user_id" not in other_browser.session
    # The registering browser was not signed in by someone else's verification either.
    assert "_auth_user_id" not in client.session


def test_verify_page_accepts_the_address_in_any_case(client, django_capture_on_commit_callbacks):
    code = register_in_browser(client, django_capture_on_commit_callbacks)

    response = client.post(VERIFY_URL, {"email": "NORA.Quinn@Example.test", "code": code})

    assert response.status_code == 302
    assert is_verified()


def test_signed_in_user_verifying_their_own_address_stays_signed_in(
    client, django_capture_on_commit_callbacks
):
    user, code = register_by_service(django_capture_on_commit_callbacks)
    client.force_login(user)

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 302
    assert response.url == "/portal/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert is_verified()


def test_signed_in_user_verifying_someone_elses_address_is_not_switched_to_that_account(
    client, django_capture_on_commit_callbacks
):
    _, code = register_by_service(django_capture_on_commit_callbacks)
    someone = PatientFactory(email="someone@example.test")
    client.force_login(someone)

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(someone.pk)


# --- Web: failures ------------------------------------------------------------------------------


def test_wrong_code_on_the_web_is_a_code_error_and_the_try_is_counted(
    client, django_capture_on_commit_callbacks
):
    code = register_in_browser(client, django_capture_on_commit_callbacks)

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": wrong(code)})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["code"]
    assert "not valid" in errors["code"][0]
    assert not is_verified()
    assert "_auth_user_id" not in client.session
    assert EmailVerificationCode.objects.get().attempts == 1


def test_unknown_address_on_the_web_gets_the_same_answer_as_a_wrong_code(
    client, django_capture_on_commit_callbacks
):
    code = register_in_browser(client, django_capture_on_commit_callbacks)

    wrong_code = Client().post(VERIFY_URL, {"email": EMAIL, "code": wrong(code)})
    unknown = Client().post(VERIFY_URL, {"email": "nobody@example.test", "code": code})

    assert wrong_code.status_code == unknown.status_code == 200
    assert wrong_code.context["form"].errors == unknown.context["form"].errors


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", ""])
def test_malformed_code_on_the_web_is_refused_next_to_the_code_field(
    client, django_capture_on_commit_callbacks, code
):
    register_in_browser(client, django_capture_on_commit_callbacks)

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert not is_verified()


# --- API ----------------------------------------------------------------------------------------


def test_api_right_code_verifies_the_address(client, django_capture_on_commit_callbacks):
    _, code = register_by_service(django_capture_on_commit_callbacks)

    response = api_verify(client, "Nora.Quinn@EXAMPLE.test", code)

    assert response.status_code == 200
    assert response.json() == {"email_verified": True}
    assert is_verified()
    record = EmailVerificationCode.objects.get()
    assert record.used_at is not None
    # The API does not open a browser session.
    assert "_auth_user_id" not in client.session


def test_api_wrong_code_is_400_and_the_try_is_counted(client, django_capture_on_commit_callbacks):
    _, code = register_by_service(django_capture_on_commit_callbacks)

    response = api_verify(client, EMAIL, wrong(code))

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert not is_verified()
    assert EmailVerificationCode.objects.get().attempts == 1


def test_after_five_wrong_tries_even_the_right_code_fails(
    client, django_capture_on_commit_callbacks
):
    _, code = register_by_service(django_capture_on_commit_callbacks)
    for _ in range(5):
        assert api_verify(client, EMAIL, wrong(code)).status_code == 400

    response = api_verify(client, EMAIL, code)

    assert response.status_code == 400
    assert not is_verified()
    assert EmailVerificationCode.objects.get().attempts == 5


def test_four_wrong_tries_still_leave_the_right_code_working(
    client, django_capture_on_commit_callbacks
):
    _, code = register_by_service(django_capture_on_commit_callbacks)
    for _ in range(4):
        api_verify(client, EMAIL, wrong(code))

    response = api_verify(client, EMAIL, code)

    assert response.status_code == 200
    assert is_verified()


def test_five_wrong_tries_on_the_web_also_burn_the_code(client, django_capture_on_commit_callbacks):
    code = register_in_browser(client, django_capture_on_commit_callbacks)
    for _ in range(5):
        client.post(VERIFY_URL, {"email": EMAIL, "code": wrong(code)})

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 200
    assert "code" in response.context["form"].errors
    assert not is_verified()
    assert "_auth_user_id" not in client.session


def test_code_works_until_just_before_15_minutes(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        _, code = register_by_service(django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(minutes=14, seconds=59))

        response = api_verify(client, EMAIL, code)

    assert response.status_code == 200
    assert is_verified()


def test_expired_code_fails(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        _, code = register_by_service(django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(minutes=15, seconds=1))

        api_response = api_verify(client, EMAIL, code)
        web_response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert api_response.status_code == 400
    assert web_response.status_code == 200
    assert "code" in web_response.context["form"].errors
    assert not is_verified()


def test_a_used_code_cannot_be_used_again(client, django_capture_on_commit_callbacks):
    _, code = register_by_service(django_capture_on_commit_callbacks)
    assert api_verify(client, EMAIL, code).status_code == 200

    again = api_verify(client, EMAIL, code)

    assert again.status_code == 400
    with pytest.raises(InvalidVerificationCode):
        services.email_verify(email=EMAIL, code=code)


def test_only_the_latest_code_works_after_a_resend(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        _, first = register_by_service(django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(seconds=61))
        assert resend(django_capture_on_commit_callbacks) == 1
        second = latest_code()
        if second == first:  # one chance in a million: ask once more
            clock.shift(dt.timedelta(seconds=61))
            resend(django_capture_on_commit_callbacks)
            second = latest_code()

        old = api_verify(client, EMAIL, first)
        new = api_verify(client, EMAIL, second)

    assert old.status_code == 400
    assert new.status_code == 200
    assert is_verified()


def test_unknown_address_gets_exactly_the_answer_of_a_wrong_code(
    client, django_capture_on_commit_callbacks
):
    _, code = register_by_service(django_capture_on_commit_callbacks)

    wrong_code = api_verify(client, EMAIL, wrong(code))
    unknown = api_verify(client, "nobody@example.test", code)
    assert api_verify(client, EMAIL, code).status_code == 200
    used = api_verify(client, EMAIL, code)

    assert wrong_code.status_code == unknown.status_code == used.status_code == 400
    assert wrong_code.json() == unknown.json() == used.json()


@pytest.mark.parametrize(
    "body",
    [
        {"email": EMAIL, "code": "12345"},
        {"email": EMAIL, "code": "abcdef"},
        {"email": "not-an-address", "code": "123456"},
        {"email": EMAIL},
        {},
    ],
)
def test_api_malformed_input_is_a_400_field_map(client, body):
    PatientFactory(email=EMAIL, email_verified_at=None)

    response = client.post(API_VERIFY_URL, body, content_type="application/json")

    assert response.status_code == 400
    data = response.json()
    assert data
    assert all(isinstance(messages, list) for messages in data.values())
    assert set(data) <= {"email", "code"}


def test_verify_email_needs_no_sign_in(client, django_capture_on_commit_callbacks):
    _, code = register_by_service(django_capture_on_commit_callbacks)
    client.force_login(PatientFactory())

    response = api_verify(client, EMAIL, code)

    assert response.status_code == 200
    assert is_verified()


# --- Resend -------------------------------------------------------------------------------------


def test_resend_sends_at_most_once_a_minute(django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        register_by_service(django_capture_on_commit_callbacks)
        assert len(mail.outbox) == 1

        assert resend(django_capture_on_commit_callbacks) == 0  # right after registering
        clock.shift(dt.timedelta(seconds=59))
        assert resend(django_capture_on_commit_callbacks) == 0
        clock.shift(dt.timedelta(seconds=2))
        assert resend(django_capture_on_commit_callbacks) == 1
        assert resend(django_capture_on_commit_callbacks) == 0
        clock.shift(dt.timedelta(seconds=61))
        assert resend(django_capture_on_commit_callbacks) == 1

    assert [m.to for m in mail.outbox] == [[EMAIL]] * 3


def test_resend_to_a_verified_or_unknown_address_sends_nothing(
    django_capture_on_commit_callbacks,
):
    PatientFactory(email="verified@example.test")

    with time_machine.travel(START, tick=False):
        assert resend(django_capture_on_commit_callbacks, "verified@example.test") == 0
        assert resend(django_capture_on_commit_callbacks, "nobody@example.test") == 0

    assert EmailVerificationCode.objects.count() == 0


def test_resend_e_mail_waits_for_the_commit(django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        register_by_service(django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(seconds=61))
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.email_verification_resend(email=EMAIL)

    assert len(mail.outbox) == 1  # only the registration e-mail
    assert len(callbacks) == 1


def test_api_resend_answers_identically_for_unknown_verified_and_waiting_addresses(
    client, django_capture_on_commit_callbacks
):
    PatientFactory(email="verified@example.test")
    with time_machine.travel(START, tick=False) as clock:
        register_by_service(django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(seconds=61))
        answers = {}
        for email in (EMAIL, "verified@example.test", "nobody@example.test"):
            with django_capture_on_commit_callbacks(execute=True):
                answers[email] = client.post(
                    API_RESEND_URL, {"email": email}, content_type="application/json"
                )

    statuses = {r.status_code for r in answers.values()}
    bodies = [r.json() for r in answers.values()]
    assert len(statuses) == 1
    assert statuses.pop() in (200, 202)
    assert bodies[0] == bodies[1] == bodies[2]
    assert [m.to for m in mail.outbox] == [[EMAIL], [EMAIL]]  # registration + one resend


def test_api_resend_sends_at_most_once_a_minute(client, django_capture_on_commit_callbacks):
    with time_machine.travel(START, tick=False) as clock:
        register_by_service(django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(seconds=61))
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(
                    API_RESEND_URL, {"email": EMAIL}, content_type="application/json"
                )
            assert response.status_code == 202

    assert len(mail.outbox) == 2


def test_schema_documents_the_message_the_api_resend_answers_with(client):
    """The 202 was documented as having no body; it carries `{"detail"}`."""
    doc = client.get("/api/v1/schema/", {"format": "json"}).json()
    documented = doc["paths"][API_RESEND_URL]["post"]["responses"]["202"]
    ref = documented["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]

    body = client.post(API_RESEND_URL, {"email": EMAIL}, content_type="application/json").json()

    assert schema["required"] == ["detail"] and set(body) == {"detail"}


def test_web_resend_answers_identically_for_unknown_and_known_addresses(
    django_capture_on_commit_callbacks,
):
    PatientFactory(email="verified@example.test")
    with time_machine.travel(START, tick=False) as clock:
        register_by_service(django_capture_on_commit_callbacks)
        clock.shift(dt.timedelta(seconds=61))
        answers = []
        for email in (EMAIL, "verified@example.test", "nobody@example.test"):
            browser = Client()
            with django_capture_on_commit_callbacks(execute=True):
                response = browser.post(RESEND_URL, {"email": email}, follow=True)
            messages = [str(m) for m in response.context["messages"]]
            answers.append((response.redirect_chain, response.status_code, messages))

    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == [(VERIFY_URL, 302)]
    assert len(mail.outbox) == 2  # registration + one resend to the waiting address
    assert mail.outbox[-1].to == [EMAIL]


def test_web_resend_once_a_minute_and_the_new_code_verifies(
    client, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False) as clock:
        first = register_in_browser(client, django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(RESEND_URL, {"email": EMAIL})
        assert len(mail.outbox) == 1
        clock.shift(dt.timedelta(seconds=61))
        with django_capture_on_commit_callbacks(execute=True):
            client.post(RESEND_URL, {"email": EMAIL})
        assert len(mail.outbox) == 2
        second = latest_code()

        if second != first:
            stale = client.post(VERIFY_URL, {"email": EMAIL, "code": first})
            assert "code" in stale.context["form"].errors
        response = client.post(VERIFY_URL, {"email": EMAIL, "code": second})

    assert response.status_code == 302
    assert is_verified()


def test_web_resend_with_a_malformed_address_sends_nothing(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RESEND_URL, {"email": "not-an-address"}, follow=True)

    assert response.redirect_chain == [(VERIFY_URL, 302)]
    assert mail.outbox == []


# --- Activation policy --------------------------------------------------------------------------


def test_with_activation_policy_verifying_shows_awaiting_activation_and_does_not_sign_in(
    client, django_capture_on_commit_callbacks
):
    require_activation()
    code = register_in_browser(client, django_capture_on_commit_callbacks)

    response = client.post(VERIFY_URL, {"email": EMAIL, "code": code})

    assert response.status_code == 200
    assert "accounts/awaiting_activation.html" in [t.name for t in response.templates]
    assert EMAIL in response.content.decode()
    user = User.objects.get(email=EMAIL)
    assert user.email_verified
    assert user.is_active is False
    assert user.activated_at is None
    assert "_auth_user_id" not in client.session
    assert client.get("/portal/").status_code == 302  # still anonymous


def test_with_activation_policy_api_verification_confirms_the_address_only(
    client, django_capture_on_commit_callbacks
):
    require_activation()
    _, code = register_by_service(django_capture_on_commit_callbacks)

    response = api_verify(client, EMAIL, code)

    assert response.status_code == 200
    assert response.json() == {"email_verified": True}
    user = User.objects.get(email=EMAIL)
    assert (user.email_verified, user.is_active, user.activated_at) == (True, False, None)


# --- Service ------------------------------------------------------------------------------------


def test_service_verification_keeps_the_first_verification_time(
    django_capture_on_commit_callbacks,
):
    with time_machine.travel(START, tick=False) as clock:
        user, code = register_by_service(django_capture_on_commit_callbacks)
        services.email_verify(email=EMAIL, code=code)
        clock.shift(dt.timedelta(minutes=5))
        with django_capture_on_commit_callbacks(execute=True):
            services.email_verification_send(user=user)
        services.email_verify(email=EMAIL, code=latest_code())

    user.refresh_from_db()
    assert user.email_verified_at == START
    assert timezone.is_aware(user.email_verified_at)
