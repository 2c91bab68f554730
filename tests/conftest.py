"""Suite-wide set-up: markers for PostgreSQL-only and browser tests, a visible notice for every
skipped test, and (with CLINIC_REQUIRE_FULL_SUITE=1, as in CI) a failing run if any was skipped."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path(os.environ.get("CLINIC_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_FULL_SUITE = os.environ.get("CLINIC_REQUIRE_FULL_SUITE") == "1"


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres():
            item.add_marker(
                pytest.mark.skip(
                    reason="PostgreSQL only: set DATABASE_URL to a PostgreSQL database"
                )
            )
        if item.get_closest_marker("browser") and not CHROMIUM.exists():
            item.add_marker(pytest.mark.skip(reason=f"browser test: {CHROMIUM} is not installed"))


def _skipped(session) -> list:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    return list(reporter.stats.get("skipped", [])) if reporter else []


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if REQUIRE_FULL_SUITE and _skipped(session) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = Counter()
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    terminalreporter.section("NOTICE: skipped tests", sep="!", yellow=True, bold=True)
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:4d} skipped — {reason}")
    if REQUIRE_FULL_SUITE:
        terminalreporter.write_line(
            "CLINIC_REQUIRE_FULL_SUITE=1: every test must run, so this run FAILS.", red=True
        )


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path_factory):
    settings.MEDIA_ROOT = tmp_path_factory.getbasetemp() / "media"


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- people and a bookable doctor, shared by the suites (a module overrides what it needs) -----


@pytest.fixture
def clinic():
    """Dr Ada Hart: 09:00-13:00 every day, one 30-minute in-person visit type at £40."""
    from tests.factories import bookable_doctor

    return bookable_doctor(name="Dr Ada Hart", slug="ada-hart")


@pytest.fixture
def doctor(clinic):
    return clinic[0]


@pytest.fixture
def visit_type(clinic):
    return clinic[1]


@pytest.fixture
def other_clinic():
    """A second bookable doctor with the same hours."""
    from tests.factories import bookable_doctor

    return bookable_doctor(name="Dr Ben Okafor", slug="ben-okafor")


@pytest.fixture
def receptionist():
    from clinic_site.accounts.roles import Role
    from tests.factories import make_user

    return make_user(Role.RECEPTIONIST, full_name="Rita Desk")


@pytest.fixture
def desk(client, receptionist):
    """The test client, signed in as the receptionist."""
    client.force_login(receptionist)
    return client


@pytest.fixture
def patient_client(client, patient):
    """The test client, signed in as the module's `patient`."""
    client.force_login(patient)
    return client
