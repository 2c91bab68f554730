"""The security headers of every kind of answer: public page, portal page, API.

CSP (default-src 'self', frame-ancestors 'none'), HSTS over HTTPS, nosniff, referrer policy,
X-Frame-Options DENY and Permissions-Policy everywhere; `Cache-Control: no-store` on anything
personal (portal, every API answer), but not on the anonymous public home page.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from clinic_site.accounts.roles import Role
from tests.factories import SpecialtyFactory, build_site, make_user
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

KINDS = ["public_home", "portal_profile", "api_me", "api_specialties"]


# --- helpers ----------------------------------------------------------------------------------


def signed_in_client() -> Client:
    make_user(Role.PATIENT, email="pat@example.test")
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "pat@example.test", "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def fetch(kind: str, secure: bool = False):
    """One response of the given kind, as a browser (or API client) would get it."""
    if kind == "public_home":
        build_site()
        response = Client().get("/", secure=secure)
    elif kind == "portal_profile":
        response = signed_in_client().get("/accounts/profile/", secure=secure)
    elif kind == "api_me":
        response = signed_in_client().get("/api/v1/me/", secure=secure)
    elif kind == "api_specialties":
        SpecialtyFactory(name="Cardiology", slug="cardiology")
        response = Client().get("/api/v1/specialties/", secure=secure)
    else:  # pragma: no cover - a typo in KINDS
        raise AssertionError(kind)
    assert response.status_code == 200, (kind, response.status_code)
    return response


def csp_directives(response) -> dict[str, set[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    directives: dict[str, set[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = set(words[1:])
    return directives


def cache_control(response) -> set[str]:
    header = response.headers.get("Cache-Control", "")
    return {item.strip().lower() for item in header.split(",") if item.strip()}


def hsts_max_age(header: str) -> int:
    found = re.search(r"max-age=(\d+)", header)
    assert found, header
    return int(found.group(1))


# --- headers on every kind of answer ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_content_security_policy_is_strict(kind):
    directives = csp_directives(fetch(kind))

    assert directives["default-src"] == {"'self'"}
    assert directives["frame-ancestors"] == {"'none'"}
    assert directives.get("object-src") == {"'none'"}
    assert "'unsafe-inline'" not in directives.get("script-src", set())
    assert "'unsafe-eval'" not in directives.get("script-src", set())


@pytest.mark.parametrize("kind", KINDS)
def test_hsts_is_sent_over_https_for_a_year_with_subdomains(kind):
    header = fetch(kind, secure=True).headers.get("Strict-Transport-Security")

    assert header
    assert hsts_max_age(header) >= 31_536_000
    assert "includesubdomains" in header.lower()


@pytest.mark.parametrize("kind", ["public_home", "api_specialties"])
def test_hsts_is_not_sent_over_plain_http(kind):
    assert "Strict-Transport-Security" not in fetch(kind).headers


@pytest.mark.parametrize("kind", KINDS)
def test_nosniff_referrer_policy_frame_options_and_permissions_policy(kind):
    response = fetch(kind)

    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin"
    assert response.headers.get("X-Frame-Options") == "DENY"
    permissions_policy = response.headers.get("Permissions-Policy")
    assert permissions_policy
    assert "camera=()" in permissions_policy
    assert "geolocation=()" in permissions_policy


@pytest.mark.parametrize("kind", KINDS)
def test_headers_are_also_sent_over_https(kind):
    response = fetch(kind, secure=True)

    assert csp_directives(response)["frame-ancestors"] == {"'none'"}
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


# --- caching ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["portal_profile", "api_me", "api_specialties"])
def test_personal_and_api_answers_are_never_stored(kind):
    assert "no-store" in cache_control(fetch(kind))


def test_anonymous_public_home_page_is_cacheable():
    response = fetch("public_home")

    assert "no-store" not in cache_control(response)
    assert "private" not in cache_control(response)


def test_public_home_page_seen_by_a_signed_in_user_is_not_stored():
    build_site()
    response = signed_in_client().get("/")

    assert response.status_code == 200
    assert "no-store" in cache_control(response)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/v1/me/", None),
        ("get", "/api/v1/doctors/", None),
        ("post", "/api/v1/auth/token/", {"email": "nobody@example.test", "password": "x"}),
        ("post", "/api/v1/auth/token/", {}),
        ("get", "/api/v1/does-not-exist/", None),
    ],
)
def test_every_api_answer_is_never_stored_including_errors(client, method, url, body):
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, body, content_type="application/json")

    assert "no-store" in cache_control(response), (url, response.status_code)
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"


def test_sign_in_page_is_never_stored(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert "no-store" in cache_control(response)
    assert csp_directives(response)["frame-ancestors"] == {"'none'"}


def test_token_answer_carrying_credentials_is_never_stored(client):
    make_user(Role.PATIENT, email="pat@example.test")

    response = client.post(
        "/api/v1/auth/token/",
        {"email": "pat@example.test", "password": PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert "no-store" in cache_control(response)
