"""The accessibility gate: axe-core runs on every page of the public site, the patient portal and
the staff dashboard (each role's screens), at desktop and phone width, against WCAG 2.1 A and AA.

    ./scripts/test tests/e2e/test_accessibility.py        # or: -m a11y

axe-core comes from npm (package.json; `scripts/test` runs `npm ci`). One world is built for the
module — the public site, a doctor with a completed visit and its finalised record (yesterday), a
patient checked in (today), confirmed and requested visits, a cancelled one, a day off — and one
browser context per role is signed in once. Each test opens one page at one width, injects axe and
fails with the list of violations (rule, impact, page, the elements' selectors).

The live server is started by the module itself rather than with pytest-django's `live_server`
fixture: that fixture makes every test transactional, which would flush the world (and the signed-in
sessions) after each page. The module restores Wagtail's initial data first and flushes the
database at the end, as a transactional test does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from clinic_site.accounts.roles import Role
from clinic_site.policies import clinic_tz
from doctors import services as doctor_services
from doctors.models import ExceptionKind
from home.models import ClinicDetails
from home.services import doctor_page_ensure
from tests.e2e.conftest import DESKTOP, watch_errors
from tests.factories import (
    SpecialtyFactory,
    at,
    book,
    bookable_doctor,
    build_site,
    completed_visit,
    make_user,
    visit_in_progress,
    write_record,
)

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.a11y,
    # Read-only tests on the module's committed world (see `world`); the marker also makes
    # pytest-django create the test database.
    pytest.mark.django_db,
    pytest.mark.skipif(
        not AXE.exists(), reason="accessibility gate: axe-core is not installed (npm ci)"
    ),
]

WIDTHS = {"desktop": DESKTOP, "phone": {"width": 390, "height": 844}}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@dataclass(frozen=True)
class Exclusion:
    """A rule not applied to markup that Wagtail's admin renders and we do not."""

    rule: str
    selector: str
    reason: str


# Markup of Wagtail's own admin (its sidebar, header and page explorer), not of our templates.
WAGTAIL_EXCLUSIONS: list[Exclusion] = []


# --- The world ----------------------------------------------------------------------------------


def _home_body(site, doctor) -> list:
    """One of every block the home page offers, so that each block's template is checked."""
    return [
        (
            "services",
            {
                "heading": "Care for the whole family",
                "intro": "Family doctors and specialists working together.",
                "services": [
                    {
                        "icon": "stethoscope",
                        "title": "Family medicine",
                        "text": "Check-ups and long-term conditions.",
                        "page": site.about,
                    },
                    {"icon": "heart", "title": "Heart health", "text": "Blood pressure."},
                ],
            },
        ),
        (
            "featured_doctors",
            {"heading": "Meet our doctors", "intro": "Never in a rush.", "doctors": [doctor]},
        ),
        (
            "info_cards",
            {
                "heading": "Booking takes a minute",
                "items": [
                    {"icon": "search", "title": "1. Choose a doctor", "text": "By specialty."},
                    {"icon": "calendar", "title": "2. Pick a time", "text": "Day by day."},
                ],
            },
        ),
        (
            "testimonials",
            {
                "heading": "What our patients say",
                "testimonials": [
                    {"quote": "Booking took two minutes.", "name": "Sarah T.", "detail": "2019"}
                ],
            },
        ),
        ("latest_news", {"heading": "News from the clinic", "count": 3}),
        ("paragraph", "<h2>Visiting us</h2><p>We are <b>open</b> six days a week.</p>"),
        (
            "call_to_action",
            {
                "heading": "New to the clinic?",
                "text": "Create your account in two minutes.",
                "button_label": "Find a doctor",
                "page": site.doctors,
                "url": "",
            },
        ),
    ]


def _standard_body() -> list:
    return [
        ("heading", {"text": "Our team", "level": "h2"}),
        ("paragraph", "<p>We care.</p><ul><li>Family doctors</li><li>Specialists</li></ul>"),
        ("quote", {"quote": "Kindness first.", "attribution": "Our founder"}),
        (
            "info_cards",
            {
                "heading": "Before your visit",
                "items": [{"icon": "calendar", "title": "Arrive early", "text": "Ten minutes."}],
            },
        ),
        (
            "call_to_action",
            {"heading": "Ready?", "text": "", "button_label": "Book", "page": None, "url": "/"},
        ),
    ]


def build_world() -> SimpleNamespace:
    """The permission matrix's world (tests/test_permission_matrix.py) on today's clock, with the
    public site around it."""
    details = ClinicDetails.load()
    details.name = "Riverside Health Clinic"
    details.tagline = "Family doctors and specialists"
    details.phone = "+44 20 7946 0123"
    details.email = "hello@riverside-clinic.test"
    details.address = "12 Riverside Walk\nLondon SE1 9RT"
    details.opening_hours = "Monday to Friday 08:00–19:00\nSaturday 09:00–13:00"
    details.emergency_note = "In an emergency, call 999."
    details.save()

    site = build_site()
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    doctor, visit_type = bookable_doctor(
        name="Dr Ada Hart",
        slug="ada-hart",
        specialties=[cardiology],
        user__full_name="Ada Hart",
        user__email="ada.hart@example.test",
    )
    other_doctor, _ = bookable_doctor(name="Dr Ben Okafor", slug="ben-okafor")
    doctor_page = doctor_page_ensure(doctor=doctor)
    doctor_page_ensure(doctor=other_doctor)
    site.home.body = _home_body(site, doctor)
    site.home.hero_text = "Book a visit online in two minutes."
    site.home.save_revision().publish()
    site.about.body = _standard_body()
    site.about.save_revision().publish()

    receptionist = make_user(Role.RECEPTIONIST, full_name="Rita Desk", email="rita@example.test")
    admin = make_user(Role.ADMIN, full_name="Alma Admin", email="alma@example.test")
    editor = make_user(Role.EDITOR, full_name="Ed Itor", email="ed@example.test")
    patient = make_user(Role.PATIENT, full_name="Petra Patientson", email="petra@example.test")
    other_patient = make_user(Role.PATIENT, full_name="Paul Otherson", email="paul@example.test")

    now = timezone.now()
    today = now.astimezone(clinic_tz()).date()
    yesterday = today - dt.timedelta(days=1)
    completed = completed_visit(visit_type, at(yesterday, "09:00"), patient=patient)
    checked_in = visit_in_progress(visit_type, at(today, "09:00"), patient=patient)
    write_record(checked_in, now=now)
    waiting = visit_in_progress(visit_type, at(today, "09:40"), patient=other_patient)
    confirmed = book(
        visit_type,
        at(today + dt.timedelta(days=2), "10:20"),
        patient=patient,
        actor=receptionist,
        now=now,
    )
    requested = book(visit_type, at(today + dt.timedelta(days=1), "10:20"), patient=patient)
    cancelled = book(visit_type, at(today + dt.timedelta(days=1), "11:00"), patient=patient)
    from booking import services as booking_services

    booking_services.appointment_act(
        appointment=cancelled, actor=patient, action="cancel", reason="Plans changed"
    )
    day_off = doctor_services.schedule_exception_add(
        doctor=doctor,
        kind=ExceptionKind.DAY_OFF,
        actor=admin,
        date_from=today + dt.timedelta(days=20),
        date_to=today + dt.timedelta(days=20),
        reason="Conference",
    )
    free_slot = at(today + dt.timedelta(days=3), "11:00")
    query = f"visit_type={visit_type.pk}&start={free_slot.isoformat().replace('+', '%2B')}"
    return SimpleNamespace(
        site=site,
        cardiology=cardiology,
        doctor=doctor,
        doctor_user=doctor.user,
        doctor_page=doctor_page,
        visit_type=visit_type,
        other_doctor=other_doctor,
        receptionist=receptionist,
        admin=admin,
        editor=editor,
        patient=patient,
        other_patient=other_patient,
        today=today,
        completed=completed,
        checked_in=checked_in,
        waiting=waiting,
        confirmed=confirmed,
        requested=requested,
        cancelled=cancelled,
        day_off=day_off,
        free_slot_query=query,
    )


@pytest.fixture(scope="module")
def world(browser, django_db_blocker, tmp_path_factory):
    """The world, committed (the live server reads it from its own connection), a live server,
    and a session cookie for each role. Afterwards the database is put back as migrations left
    it (flushed, then Wagtail's initial pages and the rest restored), for the tests after."""
    media = tmp_path_factory.getbasetemp() / "media"  # where tests/conftest.py puts it
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        _restore_initial_data()
        server = LiveServer("localhost")
        try:
            world = build_world()
            world.url = server.url
            world.cookies = {role: _session_cookie(getattr(world, role)) for role in ROLES}
            yield world
        finally:
            server.stop()
            for alias in connections:
                call_command(
                    "flush",
                    database=alias,
                    interactive=False,
                    verbosity=0,
                    inhibit_post_migrate=True,
                )
            _restore_initial_data()


def _restore_initial_data() -> None:
    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents:
            connections[alias].creation.deserialize_db_from_string(contents)


def _session_cookie(user) -> dict:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": cookie.key, "value": cookie.value}


ROLES = ("patient", "receptionist", "doctor_user", "admin", "editor")


class Session:
    """A browser context per role (a visitor, or signed in as one of ROLES)."""

    def __init__(self, browser, world):
        self.browser, self.world = browser, world
        self.pages = {}
        self.errors: list[str] = []

    def page(self, role: str):
        if role not in self.pages:
            context = self.browser.new_context(
                viewport=DESKTOP, base_url=self.world.url, bypass_csp=True
            )
            context.set_default_timeout(15_000)
            if role != "visitor":
                context.add_cookies([{**self.world.cookies[role], "url": self.world.url}])
            page = context.new_page()
            watch_errors(page, self.errors)
            self.pages[role] = page
        return self.pages[role]

    def close(self):
        for page in self.pages.values():
            page.context.close()


@pytest.fixture(scope="module")
def session(browser, world):
    opened = Session(browser, world)
    yield opened
    opened.close()


# --- The pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    role: str  # "visitor" or an attribute of the world naming a user
    path: object  # a path, or a function of the world giving one
    action: object = None  # a function (page, world) run after loading the path


def _register_with_errors(page, w):
    page.get_by_label("E-mail address").fill(w.patient.email)
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("other")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state()


def _login_with_errors(page, w):
    page.get_by_label("E-mail address or national ID").fill(w.other_patient.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _submit(name):
    def submit(page, w):
        page.get_by_role("button", name=name).click()
        page.wait_for_load_state()

    return submit


def appointment(name, which, suffix=""):
    return lambda w: f"/{name}/appointments/{getattr(w, which).reference}/{suffix}"


def clinic(path):
    return f"/admin/clinic/{path}"


SCREENS: dict[str, Screen] = {
    # Public site.
    "home": Screen("visitor", "/"),
    "standard page": Screen("visitor", "/about/"),
    "news": Screen("visitor", "/news/"),
    "news article": Screen("visitor", "/news/flu/"),
    "doctors directory": Screen("visitor", "/doctors/"),
    "doctors directory, filtered": Screen("visitor", "/doctors/?specialty=cardiology"),
    "doctors directory, no match": Screen("visitor", "/doctors/?q=nobody"),
    "doctor page": Screen("visitor", lambda w: w.doctor_page.url),
    "slot picker": Screen("visitor", "/book/ada-hart/"),
    "not found": Screen("visitor", "/no-such-page/"),
    "login": Screen("visitor", "/accounts/login/"),
    "login with errors": Screen("visitor", "/accounts/login/", _login_with_errors),
    "register": Screen("visitor", "/accounts/register/"),
    "register with errors": Screen("visitor", "/accounts/register/", _register_with_errors),
    "verify e-mail": Screen("visitor", "/accounts/verify/"),
    "password reset": Screen("visitor", "/accounts/password-reset/"),
    "password reset sent": Screen("visitor", "/accounts/password-reset/sent/"),
    "password reset complete": Screen("visitor", "/accounts/password-reset/complete/"),
    # Patient portal.
    "portal home": Screen("patient", "/portal/"),
    "review": Screen("patient", lambda w: f"/book/ada-hart/review/?{w.free_slot_query}"),
    "booked": Screen("patient", appointment("portal", "confirmed", "booked/")),
    "my appointments": Screen("patient", "/portal/appointments/"),
    "my appointments, history": Screen("patient", "/portal/appointments/?tab=history"),
    "appointment detail": Screen("patient", appointment("portal", "confirmed")),
    "appointment detail, requested": Screen("patient", appointment("portal", "requested")),
    "appointment detail, completed": Screen("patient", appointment("portal", "completed")),
    "appointment detail, cancelled": Screen("patient", appointment("portal", "cancelled")),
    "cancel": Screen("patient", appointment("portal", "confirmed", "cancel/")),
    "reschedule": Screen("patient", appointment("portal", "confirmed", "reschedule/")),
    "reschedule confirm": Screen(
        "patient",
        lambda w: (
            f"{appointment('portal', 'confirmed', 'reschedule/confirm/')(w)}?{w.free_slot_query}"
        ),
    ),
    "visit summary": Screen("patient", appointment("portal", "completed", "summary/")),
    "profile": Screen("patient", "/accounts/profile/"),
    "profile edit": Screen("patient", "/accounts/profile/edit/"),
    "password change": Screen("patient", "/accounts/password/"),
    "two-step methods": Screen("patient", "/accounts/two-step/methods/"),
    "two-step setup": Screen("patient", "/accounts/two-step/setup/"),
    "two-step setup with errors": Screen(
        "patient", "/accounts/two-step/setup/", _submit("Turn on")
    ),
    # Front desk.
    "desk: home": Screen("receptionist", "/admin/"),
    "desk: appointments": Screen("receptionist", clinic("appointments/")),
    "desk: appointment": Screen("receptionist", appointment("admin/clinic", "requested")),
    "desk: appointment reschedule": Screen(
        "receptionist", appointment("admin/clinic", "confirmed", "reschedule/")
    ),
    "desk: calendar week": Screen("receptionist", clinic("calendar/")),
    "desk: calendar day": Screen(
        "receptionist", lambda w: clinic(f"calendar/?view=day&date={w.today}")
    ),
    "desk: queue": Screen("receptionist", clinic("queue/")),
    "desk: schedules": Screen("receptionist", clinic("schedules/")),
    "desk: schedule": Screen("receptionist", lambda w: clinic(f"schedules/{w.doctor.pk}/")),
    "desk: day off remove": Screen(
        "receptionist",
        lambda w: clinic(f"schedules/{w.doctor.pk}/exceptions/{w.day_off.pk}/delete/"),
    ),
    "desk: visit type edit": Screen(
        "receptionist",
        lambda w: clinic(f"schedules/{w.doctor.pk}/visit-types/{w.visit_type.pk}/"),
    ),
    "desk: visit type remove": Screen(
        "receptionist",
        lambda w: clinic(f"schedules/{w.doctor.pk}/visit-types/{w.visit_type.pk}/remove/"),
    ),
    "desk: book, find patient": Screen("receptionist", clinic("book/")),
    "desk: book, search": Screen("receptionist", lambda w: clinic("book/?q=Petra")),
    "desk: book, register patient": Screen("receptionist", clinic("book/register/")),
    "desk: book, register with errors": Screen(
        "receptionist", clinic("book/register/"), _submit("Register and choose a time")
    ),
    "desk: book, choose time": Screen(
        "receptionist", lambda w: clinic(f"book/patient/{w.patient.pk}/")
    ),
    "desk: book, confirm": Screen(
        "receptionist",
        lambda w: clinic(f"book/patient/{w.patient.pk}/confirm/?{w.free_slot_query}"),
    ),
    # Doctor.
    "doctor: home": Screen("doctor_user", "/admin/"),
    "doctor: day": Screen("doctor_user", lambda w: clinic(f"calendar/?view=day&date={w.today}")),
    "doctor: queue": Screen("doctor_user", clinic("queue/")),
    "doctor: appointment": Screen("doctor_user", appointment("admin/clinic", "checked_in")),
    "doctor: record": Screen("doctor_user", appointment("admin/clinic", "checked_in", "record/")),
    "doctor: record, finalised": Screen(
        "doctor_user", appointment("admin/clinic", "completed", "record/")
    ),
    "doctor: analytics": Screen("doctor_user", clinic("analytics/")),
    # Administrator.
    "admin: users": Screen("admin", clinic("users/")),
    "admin: new user": Screen("admin", clinic("users/new/")),
    "admin: user": Screen("admin", lambda w: clinic(f"users/{w.patient.pk}/")),
    "admin: analytics": Screen("admin", clinic("analytics/")),
    "admin: activity log": Screen("admin", clinic("activity/")),
    "admin: policies": Screen("admin", "/admin/settings/clinic_site/clinicpolicies/"),
    "admin: pending accounts": Screen("admin", "/admin/accounts/pending/"),
    # Editor.
    "editor: home": Screen("editor", "/admin/"),
    "editor: pages": Screen("editor", "/admin/pages/"),
    "editor: home page's children": Screen("editor", lambda w: f"/admin/pages/{w.site.home.pk}/"),
}


# --- Running axe --------------------------------------------------------------------------------

RUN_AXE = """async ([tags, exclusions]) => {
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  const element = (target) => {
    let root = document, found = null;
    for (const selector of target) {
      found = root.querySelector(selector);
      if (!found) return null;
      root = found.shadowRoot || found;
    }
    return found;
  };
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes
      .filter((n) => !exclusions.some(([rule, selector]) => {
        const el = element(n.target);
        return rule === v.id && el && el.closest(selector);
      }))
      .map((n) => ({target: n.target.join(" >> "), summary: n.failureSummary})),
  })).filter((v) => v.nodes.length);
}"""


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    exclusions = [[e.rule, e.selector] for e in WAGTAIL_EXCLUSIONS]
    return page.evaluate(RUN_AXE, [WCAG_TAGS, exclusions])


def report(name: str, url: str, width: str, violations: list[dict]) -> str:
    lines = [f"{len(violations)} axe violation(s) on {name!r} ({url}, {width}):"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:10]:
            lines.append(f"      {node['target']}")
            summary = " ".join(node["summary"].split())
            lines.append(f"        {summary[:300]}")
        if len(v["nodes"]) > 10:
            lines.append(f"      … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def open_screen(session, name: str, width: str):
    screen = SCREENS[name]
    page = session.page(screen.role)
    page.set_viewport_size(WIDTHS[width])
    w = session.world
    path = screen.path(w) if callable(screen.path) else screen.path
    response = page.goto(path)
    # A failed page (an error without the site's layout) must fail as what it is, not as a
    # list of axe findings about a bare error document.
    assert response is not None, f"{name}: no response"
    expected = 404 if name == "not found" else 200
    assert response.status == expected, f"{name}: {path} answered {response.status}"
    if screen.action is not None:
        screen.action(page, w)
    return page


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(SCREENS))
def test_page_has_no_axe_violations(session, name, width):
    page = open_screen(session, name, width)
    violations = axe_violations(page)
    assert not violations, report(name, page.url, width, violations)
