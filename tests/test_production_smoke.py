"""Smoke crawl under production static files: every page and endpoint the permission matrix knows
(dashboard, portal, Wagtail's own admin screens, the API), the public site and the admin paths
of apps that are not installed, asked once by every role, never answer 500 — and every role the
matrix lets see a page still gets it (a 200) here.

The matrix's GET rows are the list: a row added there is crawled here, with its headers.

Production serves static files from `collectstatic`'s output through a manifest (hashed names):
a template that names a file nobody collected (`admin/img/icon-yes.svg` of Django's admin, which
is not installed) works in development and raises "Missing staticfiles manifest entry" there.
So this module first runs `collectstatic` with the production settings module, in a separate
process, into a temporary folder, and then renders everything with that folder and the
production storage backend.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.db import transaction
from django.test import Client, override_settings
from rest_framework.test import APIClient

from home.services import doctor_page_ensure
from tests.factories import build_site
from tests.test_permission_matrix import API, NOW, PAGES, ROLES, Cell, build_world

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Public pages and Wagtail's own admin screens (besides the matrix's rows).
PUBLIC = [
    "/",
    "/doctors/",
    "/about/",
    "/news/",
    "/news/flu/",
    "/accounts/login/",
    "/accounts/register/",
    "/accounts/verify/",
    "/accounts/password-reset/",
    "/api/docs/",
    "/swagger/",
    "/no-such-page/",
]
# Wagtail admin paths the matrix has no row for: apps that are not installed (their 404 page).
# Wagtail's screens themselves are matrix rows (tests/test_permission_matrix.py).
ADMIN_OUTSIDE_THE_MATRIX = [
    "/admin/locales/",
    "/admin/settings/",
    "/admin/searchpicks/",
]


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("collected-static")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic_site.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "clinic.example.org",
        "DJANGO_STATIC_ROOT": str(target),
    }
    env.pop("DATABASE_URL", None)  # collectstatic needs no database
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    assert (target / "staticfiles.json").exists()
    return target


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory, collected):
    media = tmp_path_factory.getbasetemp() / "media"
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=media,
            STATIC_ROOT=collected,
            STORAGES=PRODUCTION_STATIC,
            WHITENOISE_USE_FINDERS=False,
            WHITENOISE_AUTOREFRESH=False,
            DEBUG=False,
        ),
        time_machine.travel(NOW, tick=False),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            w = build_world()
            build_site()
            w.doctor_page = doctor_page_ensure(doctor=w.doctor)
            yield w
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def get_cells(table) -> list[str]:
    """The labels of the matrix's GET rows: every page a role may be shown."""
    return [label for (label, method), cell in table.items() if method == "GET" and not cell.body]


def _client(user, *, api: bool):
    client = APIClient() if api else Client()
    if user is not None:
        if api:
            client.force_authenticate(user)
        else:
            client.force_login(user)
    return client


def _crawl(w, paths, *, api: bool = False, cell: Cell | None = None) -> list[str]:
    """Every role asks for `paths` (or `cell`'s path, with its headers): never a 5xx, and a 200
    for each role the matrix shows the page to."""
    failures = []
    for role in ROLES:
        client = _client(w.users[role], api=api)
        for path in [cell.path(w)] if cell is not None else paths:
            response = client.get(path, headers=cell.headers if cell is not None else {})
            code = response.status_code
            if code >= 500 or (cell is not None and cell.expect[role] == 200 and code != 200):
                failures.append(f"{path} as {role}: {code}")
    return failures


@pytest.mark.django_db
@pytest.mark.parametrize("label", get_cells(PAGES))
def test_matrix_pages_render_under_production_static_files(world, label):
    assert not _crawl(world, [], cell=PAGES[(label, "GET")])


@pytest.mark.django_db
@pytest.mark.parametrize("label", get_cells(API))
def test_api_answers_under_production_static_files(world, label):
    assert not _crawl(world, [], api=True, cell=API[(label, "GET")])


def test_the_crawl_asks_for_every_get_page_of_the_matrix():
    """The crawl's list is the matrix's: nothing to keep in step by hand."""
    rows = {label for label, method in PAGES if method == "GET"}
    assert set(get_cells(PAGES)) == rows
    assert {label for label in rows if label.startswith("wagtail: ")}  # Wagtail's screens too


@pytest.mark.django_db
def test_public_site_renders_under_production_static_files(world):
    paths = [*PUBLIC, world.doctor_page.url]
    assert not _crawl(world, paths)


@pytest.mark.django_db
def test_admin_paths_outside_the_matrix_render_under_production_static_files(world):
    matrix_paths = {
        cell.path(world).split("?")[0] for (_, method), cell in PAGES.items() if method == "GET"
    }
    assert not set(ADMIN_OUTSIDE_THE_MATRIX) & matrix_paths  # those are crawled above
    assert not _crawl(world, ADMIN_OUTSIDE_THE_MATRIX)


@pytest.mark.django_db
def test_reference_data_lists_render_their_yes_no_columns(world):
    """Regression: the visit-type and medicine lists drew Django admin's boolean icons, which
    production never collects (a 500 there only)."""
    client = Client()
    client.force_login(world.admin)
    for path in ("/admin/doctors/visittype/", "/admin/records/medicine/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"admin/img/icon-" not in response.content
