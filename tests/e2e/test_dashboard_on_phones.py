"""The staff dashboard on a phone (390 px) and a desk-top (1280 px), and where a patient who opens
a staff URL ends up, in the system Chromium.

Wagtail's main pane hides horizontal overflow, so anything wider than the screen is cut off and
cannot be reached by touch. On every screen of the front desk, the doctor and the administrator,
each link, button and field must either lie inside the viewport or sit in a container that
scrolls sideways and can be focused (so keyboard users can scroll it too).
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from booking import selectors, services
from clinic_site.accounts.roles import Role
from clinic_site.policies import clinic_tz
from tests.factories import VisitTypeFactory, bookable_doctor, build_site, make_user

from . import helpers
from .conftest import DESKTOP
from .helpers import desk_booked

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 390, "height": 844}

# Every reachable control of `main`: those inside the viewport, or inside a focusable container
# that scrolls sideways and itself lies inside the viewport. Returns the ones that are neither.
UNREACHABLE = """() => {
  const width = document.documentElement.clientWidth;
  const main = document.querySelector("main") || document.body;
  const controls = main.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary"
  );
  const describe = (el) => (el.getAttribute("aria-label") || el.textContent || el.name || el.id
    || el.tagName).trim().replace(/\\s+/g, " ").slice(0, 60);
  const scrollerOf = (el) => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      const overflow = getComputedStyle(node).overflowX;
      const scrolls = overflow === "auto" || overflow === "scroll";
      if (scrolls && node.scrollWidth > node.clientWidth + 1) {
        return node;
      }
    }
    return null;
  };
  const inside = (box) => box.left >= -1 && box.right <= width + 1;
  const bad = [];
  for (const el of controls) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown (a closed <details>)
    if (getComputedStyle(el).visibility === "hidden") continue;
    const scroller = scrollerOf(el);
    if (scroller) {
      if (!inside(scroller.getBoundingClientRect()) || scroller.tabIndex < 0) {
        bad.push(describe(el) + " (in a container that is cut off or cannot be focused)");
      }
    } else if (!inside(box)) {
      bad.push(describe(el) + ` (at ${Math.round(box.left)}–${Math.round(box.right)} px)`);
    }
  }
  return bad;
}"""


@pytest.fixture
def clinic():
    """Today: Dr Hana Ito has two patients checked in and one to come, Dr Leo Park one; all
    booked by the desk the day before, so the time the test runs at does not matter."""
    build_site()
    today = timezone.now().astimezone(clinic_tz()).date()
    hana, visit = bookable_doctor(
        name="Dr Hana Ito", slug="hana-ito", user__email="hana.ito@example.test"
    )
    _leo, leo_visit = bookable_doctor(
        name="Dr Leo Park", slug="leo-park", user__email="leo.park@example.test"
    )
    desk = make_user(Role.RECEPTIONIST, full_name="Rita Desk", email="rita@example.test")
    admin = make_user(Role.ADMIN, full_name="Ada Admin", email="ada@example.test")

    def confirmed(visit_type, slot_number, full_name):
        reason = "Cough and a long-lasting headache since last Tuesday"
        return desk_booked(desk, visit_type, today, slot_number, full_name, reason=reason)

    first = confirmed(visit, 0, "Maximiliana Quinn-Oyelaran")
    second = confirmed(visit, 1, "Tomas Bergström-Lindqvist")
    confirmed(visit, 2, "Ruth Adler")
    confirmed(leo_visit, 0, "Sam Okafor")
    for appointment in (first, second):
        services.appointment_act(appointment=appointment, actor=desk, action="check_in")
    return SimpleNamespace(doctor=hana, desk=desk, admin=admin, first=first)


def sign_in(page, email, lands_on="/admin/"):
    helpers.sign_in(page, email, lands_on)


def unreachable_on(page, path):
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return page.evaluate(UNREACHABLE)


def assert_all_reachable(page, paths):
    problems = {path: unreachable_on(page, path) for path in paths}
    assert {path: bad for path, bad in problems.items() if bad} == {}


def test_the_front_desk_reaches_every_control_on_a_phone(browsers, clinic):
    page = browsers.open(viewport=PHONE)
    sign_in(page, clinic.desk.email)
    assert_all_reachable(
        page,
        [
            "/admin/",
            "/admin/clinic/appointments/?status=CONFIRMED&status=CHECKED_IN",
            f"/admin/clinic/appointments/{clinic.first.reference}/",
            f"/admin/clinic/queue/?doctor={clinic.doctor.pk}",
            "/admin/clinic/book/?q=quinn",
            "/admin/clinic/schedules/",
            f"/admin/clinic/schedules/{clinic.doctor.pk}/",
        ],
    )
    # The queue's "move up / down" buttons are there to be pressed, not just inside a box.
    page.goto(f"/admin/clinic/queue/?doctor={clinic.doctor.pk}")
    down = page.get_by_role("button", name="Move Maximiliana Quinn-Oyelaran down")
    down.scroll_into_view_if_needed()
    down.click()
    page.wait_for_load_state("networkidle")
    first_row = page.locator("table.cp-queue tbody tr").first
    assert "Tomas Bergström-Lindqvist" in first_row.inner_text()


def test_the_doctor_reaches_every_control_on_a_phone(browsers, clinic):
    page = browsers.open(viewport=PHONE)
    sign_in(page, clinic.doctor.user.email)
    assert_all_reachable(
        page,
        [
            "/admin/",
            "/admin/clinic/queue/",
            f"/admin/clinic/appointments/{clinic.first.reference}/",
            "/admin/clinic/appointments/",
        ],
    )


def test_the_administrator_reaches_every_control_on_a_phone(browsers, clinic):
    page = browsers.open(viewport=PHONE)
    sign_in(page, clinic.admin.email)
    assert_all_reachable(page, ["/admin/clinic/users/", "/admin/clinic/activity/"])


def test_the_appointment_screen_gives_its_values_the_width_of_a_phone(browsers, clinic):
    page = browsers.open(viewport=PHONE)
    sign_in(page, clinic.desk.email)
    page.goto(f"/admin/clinic/appointments/{clinic.first.reference}/")
    widths = page.evaluate(
        """() => { const dl = document.querySelector("dl.cp-details");
        const dt = dl.querySelector("dt"), dd = dl.querySelector("dd");
        return [dl.getBoundingClientRect().width, dt.getBoundingClientRect().width,
                dd.getBoundingClientRect().width]; }"""
    )
    details, label, value = widths
    # The value is not squeezed into half the card beside its label.
    assert value > 0.9 * details, widths
    assert label <= details


def test_the_filter_fields_do_not_overlap_on_a_desk_top(browsers, clinic):
    page = browsers.open(viewport=DESKTOP)
    sign_in(page, clinic.desk.email)
    page.goto("/admin/clinic/appointments/")
    boxes = page.evaluate(
        """() => { const form = document.querySelector("form.cp-filters");
        const card = form.getBoundingClientRect();
        const row = form.querySelector(".cp-filters__row");
        const fields = [...row.querySelectorAll("input, select")];
        return { card: [card.left, card.right],
                 fields: fields.map((f) => { const b = f.getBoundingClientRect();
                   return [f.name, b.left, b.right, b.top, b.bottom]; }) }; }"""
    )
    fields = boxes["fields"]
    assert [name for name, *_ in fields] == ["q", "date_from", "date_to", "doctor"]
    left, right = boxes["card"]
    for name, x1, x2, _, _ in fields:
        assert left <= x1 and x2 <= right, f"{name} sticks out of the filter card"
    for i, (a, ax1, ax2, ay1, ay2) in enumerate(fields):
        for b, bx1, bx2, by1, by2 in fields[i + 1 :]:
            overlap = ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2
            assert not overlap, f"{a} and {b} overlap"


@pytest.fixture
def crowded_day(clinic):
    """Dr Hana Ito's Wednesday of next week: four 15-minute visits back to back, the first one
    cancelled and its time booked again by someone else."""
    today = timezone.now().astimezone(clinic_tz()).date()
    wednesday = today + timedelta(days=7 - today.weekday() + 2)
    short = VisitTypeFactory(doctor=clinic.doctor, name="Quick check", duration_minutes=15)
    slots = selectors.slot_search(
        visit_type=short, date_from=wednesday, date_to=wednesday, front_desk=True
    )
    booked = []
    for n, start in enumerate(slot.start for slot in slots[:4]):
        patient = make_user(
            Role.PATIENT, full_name=f"Patient Number{n}", email=f"p{n}@example.test"
        )
        booked.append(
            services.appointment_book(
                actor=clinic.desk, patient=patient, visit_type=short, start=start
            )
        )
    services.appointment_act(
        appointment=booked[0], actor=clinic.desk, action="cancel", reason="Ill"
    )
    again = make_user(Role.PATIENT, full_name="Rebooked Person", email="again@example.test")
    services.appointment_book(
        actor=clinic.desk, patient=again, visit_type=short, start=booked[0].start
    )
    return SimpleNamespace(day=wednesday, doctor=clinic.doctor, desk=clinic.desk)


def test_the_calendar_week_shows_all_seven_days_and_no_visit_covers_another(browsers, crowded_day):
    page = browsers.open(viewport=DESKTOP)
    sign_in(page, crowded_day.desk.email)
    page.goto(
        f"/admin/clinic/calendar/?doctor={crowded_day.doctor.pk}&date={crowded_day.day:%Y-%m-%d}"
    )
    layout = page.evaluate(
        r"""() => { const cal = document.querySelector(".cp-cal").getBoundingClientRect();
        const days = [...document.querySelectorAll(".cp-cal__day")].map((d) => {
          const b = d.getBoundingClientRect();
          const visits = [...d.querySelectorAll(".cp-cal__appt")].map((a) => {
            const r = a.getBoundingClientRect();
            const text = a.textContent.trim().replace(/\s+/g, " ");
            return [text, r.left, r.right, r.top, r.bottom]; });
          return { left: b.left, right: b.right, visits }; });
        const nav = [...document.querySelectorAll(".cp-cal__nav a")].map(
          (a) => Math.round(a.getBoundingClientRect().top));
        return { cal: [cal.left, cal.right], days, nav }; }"""
    )
    left, right = layout["cal"]
    assert len(layout["days"]) == 7
    for day in layout["days"]:
        assert left <= day["left"] and day["right"] <= right + 1, "a day of the week is cut off"
    visits = [visit for day in layout["days"] for visit in day["visits"]]
    assert len(visits) == 5  # four visits and the cancelled one
    for i, (a, ax1, ax2, ay1, ay2) in enumerate(visits):
        for b, bx1, bx2, by1, by2 in visits[i + 1 :]:
            overlap = ax1 < bx2 - 0.5 and bx1 < ax2 - 0.5 and ay1 < by2 - 0.5 and by1 < ay2 - 0.5
            assert not overlap, f"{a!r} covers {b!r}"
    # Previous, Today and Next stay together on one line.
    assert len(set(layout["nav"])) == 1, layout["nav"]


def test_a_patient_opening_a_staff_url_lands_on_the_portal_in_one_redirect(page, clinic):
    patient = clinic.first.patient
    sign_in(page, patient.email, lands_on="/portal/")
    response = page.goto("/admin/clinic/appointments/")
    hops = 0
    request = response.request
    while request.redirected_from is not None:
        hops += 1
        request = request.redirected_from
    assert (hops, page.url.removeprefix(page.url.split("/portal/")[0])) == (1, "/portal/")
    assert page.get_by_text("The staff dashboard is for clinic staff only").is_visible()
