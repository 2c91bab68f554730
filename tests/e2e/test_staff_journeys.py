"""The staff dashboard's journeys in the system Chromium: the receptionist checks patients in and
orders the queue, the doctor calls the next patient in and documents and completes the visit, and
the patient reads the visit summary and downloads it as a PDF.

Each journey starts from the state the one before leaves behind (built through the services), so
a failure names the journey that broke.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from booking import selectors, services
from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from clinic_site.policies import clinic_tz
from records import services as record_services
from records.models import Medicine
from tests.factories import at, bookable_doctor, build_site, make_user
from tests.factories.accounts import PASSWORD
from tests.pdf import pdf_text

from .helpers import desk_booked

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MINUTES = re.compile(r"^\d+ min$")

DIAGNOSIS = "Community-acquired pneumonia, right lower lobe"
NOTES = "Productive cough for five days, crackles at the right base. Afebrile today."
PRESCRIPTIONS = [
    {
        "drug": "Amoxicillin 500 mg",
        "dose": "1 capsule",
        "frequency": "three times a day",
        "duration": "7 days",
        "instructions": "Finish the course.",
    },
    {
        "drug": "Paracetamol 500 mg",
        "dose": "2 tablets",
        "frequency": "every 6 hours when needed",
        "duration": "5 days",
        "instructions": "No more than 8 tablets a day.",
    },
]
TESTS = [{"name": "Chest X-ray", "notes": "Repeat in six weeks."}]


# --- Set-up -------------------------------------------------------------------------------------


def _clear_of_midnight(margin=timedelta(minutes=3)) -> None:
    """Check-in, the queue and the home panels all work on the clinic's "today": a journey must
    not run across midnight. Close to it, wait for the new day rather than fail by the clock."""
    now = timezone.now().astimezone(clinic_tz())
    left = at(now.date() + timedelta(days=1), "00:00") - now
    if left < margin:
        time.sleep(left.total_seconds() + 1)


@pytest.fixture
def clinic_day():
    """Today at the clinic: Dr Hana Ito expects Maya Quinn (her first slot of the day) and Tomas
    Berg (the next one), Dr Leo Park expects Ruth Adler — all booked (confirmed) by the front desk
    the day before, so the time of day the test runs at does not matter."""
    _clear_of_midnight()
    today = timezone.now().astimezone(clinic_tz()).date()
    # The catalogue the doctor's drug field suggests from (seeded by a migration; made sure of).
    for name, form, strength in (
        ("Amoxicillin", "capsule", "500 mg"),
        ("Paracetamol", "tablet", "500 mg"),
    ):
        Medicine.objects.get_or_create(
            name=name, defaults={"form": form, "strength": strength, "is_active": True}
        )

    hana, visit = bookable_doctor(
        name="Dr Hana Ito",
        slug="hana-ito",
        user__full_name="Hana Ito",
        user__email="hana.ito@example.test",
    )
    leo, leo_visit = bookable_doctor(
        name="Dr Leo Park",
        slug="leo-park",
        user__full_name="Leo Park",
        user__email="leo.park@example.test",
    )
    desk = make_user(Role.RECEPTIONIST, full_name="Rita Desk", email="rita@example.test")

    def confirmed(visit_type, slot_number, full_name):
        return desk_booked(desk, visit_type, today, slot_number, full_name)

    maya = confirmed(visit, 0, "Maya Quinn")
    tomas = confirmed(visit, 1, "Tomas Berg")
    ruth = confirmed(leo_visit, 2, "Ruth Adler")
    return SimpleNamespace(
        today=today, doctor=hana, other_doctor=leo, desk=desk, maya=maya, tomas=tomas, ruth=ruth
    )


def _queue_as_left_by_the_desk(day):
    """Journey 1's outcome: Tomas checked in first, then Maya, who was then moved up."""
    for appointment in (day.tomas, day.maya):
        services.appointment_act(appointment=appointment, actor=day.desk, action="check_in")
    services.queue_reorder(
        doctor=day.doctor,
        day=day.today,
        order=[day.maya.reference, day.tomas.reference],
        actor=day.desk,
    )


def _visit_as_left_by_the_doctor(day):
    """Journey 2's outcome: Maya called in, her record written, finalised and the visit done."""
    _queue_as_left_by_the_desk(day)
    called = services.queue_call_next(doctor=day.doctor, actor=day.doctor.user)
    assert called.pk == day.maya.pk
    record_services.record_save(
        appointment=day.maya,
        actor=day.doctor.user,
        diagnosis=DIAGNOSIS,
        notes=NOTES,
        prescriptions=PRESCRIPTIONS,
        tests=TESTS,
    )
    record_services.record_finalise(appointment=day.maya, actor=day.doctor.user, complete=True)
    day.maya.refresh_from_db()
    assert day.maya.status == Status.COMPLETED


# --- Helpers ------------------------------------------------------------------------------------


def sign_in(page, user, lands_on: str):
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address or national ID").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{lands_on}")


def region(page_or_locator, name: str):
    """A section labelled by its heading; headings with a count ("Waiting room 2") match too."""
    return page_or_locator.get_by_role("region", name=re.compile(rf"^{re.escape(name)}(?:\s|$)"))


def queue_names(page) -> list[str]:
    return page.locator("#cp-queue tbody tr td:nth-child(2) strong").all_inner_texts()


def queue_row(page, patient_name: str):
    return page.locator("#cp-queue tbody tr").filter(has_text=patient_name)


def message(page, text: str):
    return page.locator(".messages").get_by_text(text)


def _items(record):
    """A record's prescription items and requested tests, as the form was filled in."""
    prescriptions = [
        {f: getattr(i, f) for f in PRESCRIPTIONS[0]}
        for i in record.prescriptions.order_by("position")
    ]
    tests = [{f: getattr(t, f) for f in TESTS[0]} for t in record.tests.order_by("position")]
    return prescriptions, tests


def queue_in_database(day) -> list[str]:
    return [a.patient.full_name for a in selectors.queue_for(day.doctor, day.today)]


# --- 1. The front desk --------------------------------------------------------------------------


def test_receptionist_checks_patients_in_and_orders_the_queue(browsers, clinic_day):
    day = clinic_day
    page = browsers.open()
    sign_in(page, day.desk, "/admin/")

    desk = region(page, "Front desk ·")
    expect(desk).to_be_visible()
    arrivals = region(desk, "Arriving today")
    expect(arrivals.get_by_role("row")).to_have_count(3)
    for appointment in (day.maya, day.tomas, day.ruth):
        expect(arrivals).to_contain_text(appointment.patient.full_name)
    expect(arrivals.locator(".cp-count")).to_have_text("3")

    # Tomas arrives first: checked in straight from the panel.
    tomas_row = arrivals.get_by_role("row").filter(has_text="Tomas Berg")
    expect(tomas_row).to_contain_text(f"{day.tomas.start.astimezone(clinic_tz()):%H:%M}")
    expect(tomas_row).to_contain_text("Dr Hana Ito")
    tomas_row.get_by_role("button", name="Check in").click()
    page.wait_for_url("**/admin/")
    tomas_at = f"{day.tomas.start.astimezone(clinic_tz()):%H:%M}"
    checked_in = f"Checked in Tomas Berg for {tomas_at} with Dr Hana Ito: they are in the queue."
    expect(message(page, checked_in)).to_be_visible()
    arrivals = region(region(page, "Front desk ·"), "Arriving today")
    expect(arrivals.get_by_role("row")).to_have_count(2)
    expect(arrivals).not_to_contain_text("Tomas Berg")

    # Maya next, from her appointment screen.
    arrivals.get_by_role("link", name="Maya Quinn").click()
    page.wait_for_url(f"**/admin/clinic/appointments/{day.maya.reference}/")
    actions = region(page, "Actions")
    actions.get_by_role("button", name="Check in").click()
    page.wait_for_url(f"**/admin/clinic/appointments/{day.maya.reference}/")
    maya_at = f"{day.maya.start.astimezone(clinic_tz()):%H:%M}"
    checked_in = f"Checked in Maya Quinn for {maya_at} with Dr Hana Ito: they are in the queue."
    expect(message(page, checked_in)).to_be_visible()
    visit = region(page, day.maya.start.astimezone(clinic_tz()).strftime("%A"))
    expect(visit.locator(".cp-badge")).to_have_text("Checked in")
    expect(visit.locator("[data-waiting-since]")).to_have_text(MINUTES)
    expect(actions.get_by_role("button", name="Check in")).to_have_count(0)

    # The queue of Dr Ito, from the home panel's list of queues.
    page.goto("/admin/")
    queues = region(region(page, "Front desk ·"), "Queues")
    hana_row = queues.get_by_role("row").filter(has_text="Dr Hana Ito")
    expect(hana_row.locator("td").nth(1)).to_have_text("2")
    expect(hana_row.locator("[data-waiting-since]")).to_have_text(MINUTES)
    hana_row.get_by_role("link", name="Dr Hana Ito").click()
    page.wait_for_url(re.compile(rf"/admin/clinic/queue/\?doctor={day.doctor.pk}$"))
    tabs = page.get_by_role("navigation", name="Doctors")
    expect(tabs.get_by_role("link", name=re.compile(r"^Dr Hana Ito"))).to_have_attribute(
        "aria-current", "page"
    )
    expect(
        page.get_by_role("heading", level=2, name=re.compile(r"^Dr Hana Ito · "))
    ).to_be_visible()

    # Both, in the order they checked in (not the order of their appointments), each waiting.
    assert queue_names(page) == ["Tomas Berg", "Maya Quinn"]
    for name, position in (("Tomas Berg", "1"), ("Maya Quinn", "2")):
        row = queue_row(page, name)
        expect(row.locator(".cp-queue__pos")).to_have_text(position)
        expect(row.locator("[data-waiting-since]")).to_have_text(MINUTES)
    expect(page.get_by_role("button", name="Move Tomas Berg up")).to_be_disabled()
    expect(page.get_by_role("button", name="Move Maya Quinn down")).to_be_disabled()

    # Maya's appointment was first: the desk moves her up.
    page.get_by_role("button", name="Move Maya Quinn up").click()
    page.wait_for_url(re.compile(rf"/admin/clinic/queue/\?doctor={day.doctor.pk}&moved="))
    expect(queue_row(page, "Maya Quinn").locator(".cp-queue__pos")).to_have_text("1")
    assert queue_names(page) == ["Maya Quinn", "Tomas Berg"]
    # The move can be undone from where it lands; it is not, here.
    expect(page.locator(".cp-undo")).to_contain_text("Moved Maya Quinn up to number 1.")
    expect(page.get_by_role("button", name="Undo moving Maya Quinn")).to_be_visible()
    page.reload()
    expect(queue_row(page, "Maya Quinn").locator(".cp-queue__pos")).to_have_text("1")
    assert queue_names(page) == ["Maya Quinn", "Tomas Berg"]
    for name in ("Maya Quinn", "Tomas Berg"):
        expect(queue_row(page, name).locator("[data-waiting-since]")).to_have_text(MINUTES)
    assert queue_in_database(day) == ["Maya Quinn", "Tomas Berg"]
    assert Appointment.objects.get(pk=day.ruth.pk).status == Status.CONFIRMED


# --- 2. The doctor ------------------------------------------------------------------------------


def test_doctor_calls_the_next_patient_and_completes_the_visit(browsers, clinic_day):
    day = clinic_day
    _queue_as_left_by_the_desk(day)
    page = browsers.open()
    sign_in(page, day.doctor.user, "/admin/")

    mine = region(page, "Your day ·")
    waiting_room = region(mine, "Waiting room")
    expect(waiting_room.locator(".cp-count")).to_have_text("2")
    rows = waiting_room.get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Maya Quinn")
    expect(rows.nth(1)).to_contain_text("Tomas Berg")
    for i in range(2):
        expect(rows.nth(i).locator("[data-waiting-since]")).to_have_text(MINUTES)

    mine.get_by_role("button", name="Call the next patient").click()
    page.wait_for_url(f"**/admin/clinic/appointments/{day.maya.reference}/record/")
    expect(message(page, "Calling Maya Quinn.")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=re.compile(r"^Maya Quinn · "))).to_be_visible()
    status = page.locator("[data-autosave-status]")
    expect(status).to_have_text("Not saved yet")

    page.get_by_label("Diagnosis", exact=True).fill(DIAGNOSIS)
    page.get_by_label("Clinical notes", exact=True).fill(NOTES)

    # The drug field suggests from the catalogue: "name strength", as the prescription is kept.
    suggestions = page.locator("datalist#cp-medicines option")
    offered = suggestions.evaluate_all("options => options.map(o => o.value)")
    for item in PRESCRIPTIONS:
        assert item["drug"] in offered, f"{item['drug']!r} is not suggested: {offered}"
    rows = page.locator('[data-formset="rx"] [data-formset-row]')
    for number, item in enumerate(PRESCRIPTIONS, start=1):
        if rows.count() < number:
            page.get_by_role("button", name="Add a medicine").click()
            expect(rows).to_have_count(number)
        drug = page.get_by_label(f"Drug and strength {number}", exact=True)
        expect(drug).to_have_attribute("list", "cp-medicines")
        drug.fill(item["drug"])
        labels = {
            "dose": "Dose",
            "frequency": "How often",
            "duration": "For how long",
            "instructions": "Instructions for the patient",
        }
        for field, label in labels.items():
            page.get_by_label(f"{label} {number}", exact=True).fill(item[field])
    # Every box of a row has a visible label, and neither label nor example is cut off.
    clipped = page.evaluate(
        """() => [...document.querySelectorAll(".cp-row__label, .cp-row input")]
            .filter((el) => el.offsetParent !== null)
            .filter((el) => el.tagName === "INPUT"
                ? el.value === "" && el.placeholder && el.scrollWidth > el.clientWidth + 1
                : el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().width === 0)
            .map((el) => el.placeholder || el.textContent)"""
    )
    assert clipped == []
    page.get_by_label("Test 1", exact=True).fill(TESTS[0]["name"])
    page.get_by_label("Notes for the lab or the patient 1", exact=True).fill(TESTS[0]["notes"])

    # Saved as she types: the status says so, and the draft holds what is on the screen.
    expect(status).to_have_text(re.compile(r"^Draft saved \d\d:\d\d:\d\d$"), timeout=12_000)
    deadline = time.monotonic() + 12
    while True:
        record = getattr(Appointment.objects.get(pk=day.maya.pk), "record", None)
        if record is not None and _items(record) == (PRESCRIPTIONS, TESTS):
            break
        assert time.monotonic() < deadline, "the autosaved draft does not match the form"
        time.sleep(0.25)
    assert record.diagnosis == DIAGNOSIS
    assert record.notes == NOTES
    assert record.finalised_at is None
    expect(status).to_have_text(re.compile(r"^Draft saved \d\d:\d\d:\d\d$"))

    # Another medicine row on demand: empty, focused, and named for screen readers by its number.
    rows_before = rows.count()
    page.get_by_role("button", name="Add a medicine").click()
    expect(rows).to_have_count(rows_before + 1)
    added = rows.last.locator("input").first
    expect(added).to_be_focused()
    expect(added).to_have_value("")
    expect(added).to_have_attribute("name", f"rx-{rows_before}-drug")
    expect(page.locator('input[name="rx-TOTAL_FORMS"]')).to_have_value(str(rows_before + 1))
    # Checked at the end, so that the rest of the visit is still played through.
    names_of_new_row = {
        name: page.get_by_label(name, exact=True).count()
        for name in (f"Drug and strength {rows_before}", f"Drug and strength {rows_before + 1}")
    }

    # Wagtail's own confirmation dialog, not the browser's: it says what cannot be undone.
    browser_dialogs = []
    page.on("dialog", lambda dialog: (browser_dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Finalise and complete the visit…").click()
    confirm = page.get_by_role("dialog", name="Finalise the record and complete the visit?")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("cannot be edited afterwards")
    confirm.get_by_role("button", name="Finalise and complete the visit").click()
    # Tomas is still waiting: back to the queue.
    page.wait_for_url("**/admin/clinic/queue/")
    assert browser_dialogs == []
    expect(message(page, "Record finalised and the visit completed.")).to_be_visible()
    assert queue_names(page) == ["Tomas Berg"]

    maya = Appointment.objects.select_related("record").get(pk=day.maya.pk)
    assert maya.status == Status.COMPLETED
    assert maya.completed_at is not None
    record = maya.record
    assert record.is_finalised
    assert record.finalised_by == day.doctor.user
    assert record.diagnosis == DIAGNOSIS
    assert record.notes == NOTES
    assert _items(record) == (PRESCRIPTIONS, TESTS)

    # The record reads as finalised now.
    page.goto(f"/admin/clinic/appointments/{day.maya.reference}/record/")
    expect(page.get_by_role("heading", name="Consultation record", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Diagnosis")).to_have_count(0)

    # Her home panel: Tomas still waits; Maya's record is no longer one to finish.
    page.goto("/admin/")
    mine = region(page, "Your day ·")
    expect(region(mine, "Waiting room").get_by_role("row")).to_have_count(1)
    expect(region(mine, "Waiting room")).to_contain_text("Tomas Berg")
    expect(region(mine, "Records to finish")).not_to_contain_text("Maya Quinn")

    assert names_of_new_row == {
        f"Drug and strength {rows_before}": 1,
        f"Drug and strength {rows_before + 1}": 1,
    }, (
        f"after 'Add a medicine', fields labelled so: {names_of_new_row}; the new row keeps "
        "the label of the row it was copied from"
    )


# --- 3. The patient -----------------------------------------------------------------------------


def test_patient_reads_the_summary_and_downloads_the_pdf(browsers, clinic_day, tmp_path):
    day = clinic_day
    build_site()
    _visit_as_left_by_the_doctor(day)
    page = browsers.open(accept_downloads=True)
    sign_in(page, day.maya.patient, "/portal/")

    page.goto("/portal/appointments/")
    page.get_by_role("navigation", name="Appointments").get_by_role("link", name="History").click()
    page.wait_for_url("**/portal/appointments/?tab=history")
    start = day.maya.start.astimezone(clinic_tz())
    page.get_by_role("link", name=f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M}").click()
    page.wait_for_url(f"**/portal/appointments/{day.maya.reference}/")
    expect(page.locator(".appointment-heading .badge")).to_have_text("Completed")

    page.get_by_role("link", name="Read the visit summary").click()
    page.wait_for_url(f"**/portal/appointments/{day.maya.reference}/summary/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{start.day} {start:%B %Y} with Dr Hana Ito"
    )
    expect(region(page, "Diagnosis")).to_contain_text(DIAGNOSIS)
    items = region(page, "Prescriptions").get_by_role("listitem")
    expect(items).to_have_count(2)
    for item, expected in zip(items.all(), PRESCRIPTIONS, strict=True):
        expect(item.locator(".record-items__name")).to_have_text(expected["drug"])
        expect(item).to_contain_text(
            f"{expected['dose']}, {expected['frequency']}, for {expected['duration']}"
        )
        expect(item).to_contain_text(expected["instructions"])
    expect(region(page, "Tests requested")).to_contain_text(TESTS[0]["name"])

    # On paper: the clinic and the patient at the top; no site header, links back or buttons.
    expect(page.locator(".print-header")).to_be_hidden()
    page.emulate_media(media="print")
    expect(page.locator(".print-header")).to_be_visible()
    expect(page.locator(".print-header")).to_contain_text("Visit summary for Maya Quinn")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("link", name="Download as PDF")).to_be_hidden()
    expect(page.get_by_role("link", name="Back to the appointment")).to_be_hidden()
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as PDF").click()
    pdf = download.value
    assert pdf.failure() is None
    assert pdf.suggested_filename == f"visit-summary-{day.maya.reference}.pdf"
    path = tmp_path / pdf.suggested_filename
    pdf.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")

    text = pdf_text(path.read_bytes())
    flat = " ".join(text.split())
    assert DIAGNOSIS in flat, f"the PDF does not give the diagnosis:\n{text}"
    for item in PRESCRIPTIONS:
        medicine = item["drug"].split()[0]  # the table may wrap the strength onto a new line
        assert medicine in flat, f"the PDF does not list {medicine!r}:\n{text}"
    assert TESTS[0]["name"] in flat
    assert "Dr Hana Ito" in flat
