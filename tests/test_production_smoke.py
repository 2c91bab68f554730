"""Smoke crawl under production static files: every page and endpoint the permission matrix knows,
the public site and Wagtail's own admin screens, asked once by every role, never answer 500.

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
from tests.test_permission_matrix import API, NOW, PAGES, ROLES, build_world

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
WAGTAIL_ADMIN = [
    "/admin/pages/",
    "/admin/images/",
    "/admin/documents/",
    "/admin/snippets/",
    "/admin/users/",
    "/admin/groups/",
    "/admin/sites/",
    "/admin/locales/",
    "/admin/redirects/",
    "/admin/workflows/list/",
    "/admin/reports/locked/",
    "/admin/reports/site-history/",
    "/admin/reports/aging-pages/",
    "/admin/settings/",
    "/admin/searchpicks/",
    "/admin/account/",
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


def _get_cells(table):
    return [
        pytest.param(label, id=label)
        for (label, method), cell in table.items()
        if method == "GET" and cell.body is None
    ]


def _crawl(w, paths, *, api: bool = False) -> list[str]:
    failures = []
    for role in ROLES:
        user = w.users[role]
        client = APIClient() if api else Client()
        if user is not None:
            if api:
                client.force_authenticate(user)
            else:
                client.force_login(user)
        for path in paths:
            response = client.get(path)
            if response.status_code >= 500:
                failures.append(f"{path} as {role}: {response.status_code}")
    return failures


@pytest.mark.django_db
@pytest.mark.parametrize("label", _get_cells(PAGES))
def test_dashboard_and_portal_pages_render_under_production_static_files(world, label):
    cell = PAGES[(label, "GET")]
    assert not _crawl(world, [cell.path(world)])


@pytest.mark.django_db
@pytest.mark.parametrize("label", _get_cells(API))
def test_api_answers_under_production_static_files(world, label):
    cell = API[(label, "GET")]
    assert not _crawl(world, [cell.path(world)], api=True)


@pytest.mark.django_db
def test_public_site_renders_under_production_static_files(world):
    paths = [*PUBLIC, world.doctor_page.url]
    assert not _crawl(world, paths)


@pytest.mark.django_db
def test_wagtail_admin_screens_render_under_production_static_files(world):
    assert not _crawl(world, WAGTAIL_ADMIN)


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
