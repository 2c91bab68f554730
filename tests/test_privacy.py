"""Receptionists never see clinical content (product.md §7, permissions.md "consultation record:
read — receptionist: never"): not in pages, API, exports, search results or e-mails.

A consultation record of patient Petra's visit carries a unique marker in every clinical field —
diagnosis, notes, each prescription field, the requested test's name and notes, an addendum. The
receptionist then walks every screen, fragment, export and API endpoint they can reach about that
patient, and the e-mails the clinic sent while the visit was completed and her other appointments
were confirmed and moved; no marker may appear anywhere. The treating doctor and an administrator
do see the markers on the record screen (so the scan can fail), and each of their reads is in the
access log (records.models.RecordAccess).

The same walk checks that the link of Petra's video visit, which is hers and her doctor's
(api-v1.md, `meeting_url`), never reaches the receptionist either.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from booking import services
from booking.models import Status
from booking.selectors import slot_search
from clinic_site.accounts.roles import Role
from records.models import AccessChannel, RecordAccess
from tests.factories import (
    VisitTypeFactory,
    at,
    book,
    bookable_doctor,
    make_user,
    visit_in_progress,
    write_record,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
LATER = TODAY + dt.timedelta(days=2)

MARKERS = {
    "diagnosis": "MARKER-DIAG-7f3a",
    "notes": "MARKER-NOTES-b21c",
    "drug": "MARKER-RXDRUG-4d8e",
    "dose": "MARKER-RXDOSE-91a0",
    "frequency": "MARKER-RXFREQ-c6f2",
    "duration": "MARKER-RXDUR-03be",
    "instructions": "MARKER-RXINSTR-e7d5",
    "test name": "MARKER-TESTNAME-58ac",
    "test notes": "MARKER-TESTNOTES-2f91",
    "addendum": "MARKER-ADDENDUM-a4c7",
}


def leaked(content: bytes | str) -> list[str]:
    """The markers found in `content` (bytes are decoded; case does not hide one)."""
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    text = content.lower()
    return [marker for marker in MARKERS.values() if marker.lower() in text]


def xlsx_text(content: bytes) -> str:
    """Every XML part of a workbook (cells live in sheet XML and the shared strings)."""
    with zipfile.ZipFile(io.BytesIO(content)) as workbook:
        return "\n".join(
            workbook.read(name).decode("utf-8", errors="replace") for name in workbook.namelist()
        )


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "10:00"), tick=False)


@pytest.fixture
def scenario(django_capture_on_commit_callbacks):
    """Petra's visit today with Dr Hart, documented with markers, completed and amended; her
    other appointments confirmed and moved by the front desk. E-mails land in mail.outbox."""
    doctor, visit_type = bookable_doctor(name="Dr Ada Hart", slug="ada-hart")
    patient = make_user(Role.PATIENT, full_name="Petra Patientson")
    receptionist = make_user(Role.RECEPTIONIST, full_name="Rita Desk")
    admin = make_user(Role.ADMIN, full_name="Alma Admin")
    booked_the_day_before = at(TODAY, "08:00") - dt.timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        visit = visit_in_progress(visit_type, at(TODAY, "09:00"), patient=patient)
        write_record(
            visit,
            diagnosis=MARKERS["diagnosis"],
            notes=MARKERS["notes"],
            prescriptions=[
                {
                    "drug": MARKERS["drug"],
                    "dose": MARKERS["dose"],
                    "frequency": MARKERS["frequency"],
                    "duration": MARKERS["duration"],
                    "instructions": MARKERS["instructions"],
                }
            ],
            tests=[{"name": MARKERS["test name"], "notes": MARKERS["test notes"]}],
            now=at(TODAY, "09:20"),
        )
        to_move = book(
            visit_type,
            at(LATER, "09:00"),
            patient=patient,
            actor=receptionist,
            now=booked_the_day_before,
        )
        to_confirm = book(
            visit_type, at(LATER, "11:00"), patient=patient, now=booked_the_day_before
        )
        video = VisitTypeFactory(doctor=doctor, name="Video call", mode="video")
        video_day = LATER + dt.timedelta(days=2)
        video_start = slot_search(visit_type=video, date_from=video_day, date_to=video_day)[0]
        video_visit = book(video, video_start.start, patient=patient, now=booked_the_day_before)

        # The doctor completes the visit (finalise + complete) and signs an addendum (API).
        doctor_api = APIClient()
        doctor_api.force_authenticate(doctor.user)
        finalised = doctor_api.post(
            reverse("api-consultation-finalise", args=[visit.reference]),
            {"complete": True},
            format="json",
        )
        assert finalised.status_code == 200, finalised.content
        signed = doctor_api.post(
            reverse("api-consultation-addenda", args=[visit.reference]),
            {"text": MARKERS["addendum"]},
            format="json",
        )
        assert signed.status_code == 201, signed.content

        # The front desk confirms one appointment and moves the other (dashboard).
        desk = Client()
        desk.force_login(receptionist)
        confirmed = desk.post(
            reverse("dashboard:appointment", args=[to_confirm.reference]), {"action": "confirm"}
        )
        assert confirmed.status_code == 302
        moved = desk.post(
            reverse("dashboard:reschedule", args=[to_move.reference]),
            {"start": at(LATER, "12:20").isoformat(), "move-reason": "Doctor running late"},
        )
        assert moved.status_code == 302

    visit.refresh_from_db()
    to_move.refresh_from_db()
    to_confirm.refresh_from_db()
    assert visit.status == Status.COMPLETED
    assert to_confirm.status == Status.CONFIRMED
    assert to_move.start == at(LATER, "12:20")
    return {
        "doctor": doctor,
        "visit_type": visit_type,
        "patient": patient,
        "receptionist": receptionist,
        "admin": admin,
        "visit": visit,
        "moved": to_move,
        "confirmed": to_confirm,
        "video": video_visit,
    }


def receptionist_pages(s) -> dict[str, str]:
    """Every page and fragment of the dashboard the receptionist reaches about Petra."""
    patient, doctor, visit = s["patient"], s["doctor"], s["visit"]
    appointments = reverse("dashboard:appointments")
    slot = at(LATER + dt.timedelta(days=1), "10:20")
    confirm_query = urlencode({"visit_type": s["visit_type"].pk, "start": slot.isoformat()})
    filters = [
        {},
        {"q": patient.full_name},
        {"q": visit.reference},
        {"patient": patient.pk},
        {"status": "COMPLETED"},
        {"doctor": doctor.pk, "date_from": TODAY.isoformat(), "date_to": TODAY.isoformat()},
    ]
    pages = {"dashboard home (front-desk panel)": reverse("wagtailadmin_home")}
    for query in filters:
        pages[f"appointments {query}"] = f"{appointments}?{urlencode(query)}"
    for appointment in (visit, s["moved"], s["confirmed"], s["video"]):
        pages[f"appointment {appointment.status} {appointment.reference}"] = reverse(
            "dashboard:appointment", args=[appointment.reference]
        )
    pages.update(
        {
            "reschedule screen": reverse("dashboard:reschedule", args=[s["moved"].reference]),
            "calendar week": f"{reverse('dashboard:calendar')}?doctor={doctor.pk}&date={TODAY}",
            "calendar day": f"{reverse('dashboard:calendar')}?doctor={doctor.pk}&date={TODAY}"
            "&view=day",
            "queue": f"{reverse('dashboard:queue')}?doctor={doctor.pk}",
            "desk search": f"{reverse('dashboard:book')}?q={patient.full_name}",
            "desk choose a time": f"{reverse('dashboard:book_patient', args=[patient.pk])}"
            f"?doctor={doctor.pk}",
            "desk confirm": f"{reverse('dashboard:book_confirm', args=[patient.pk])}"
            f"?{confirm_query}",
            "schedules": reverse("dashboard:schedules"),
            "schedule": reverse("dashboard:schedule", args=[doctor.pk]),
        }
    )
    return pages


def receptionist_bodies(client, scenario) -> dict[str, bytes | str]:
    """What the receptionist (signed in on `client`) receives from every page, fragment and
    export about Petra."""
    bodies: dict[str, bytes | str] = {}
    for label, url in receptionist_pages(scenario).items():
        response = client.get(url)
        assert response.status_code == 200, (label, response.status_code)
        bodies[label] = response.content
    queue = f"{reverse('dashboard:queue')}?doctor={scenario['doctor'].pk}"
    fragment = client.get(queue, headers={"X-Requested-With": "fetch"})
    assert fragment.status_code == 200
    bodies["queue fragment"] = fragment.content
    appointments = reverse("dashboard:appointments")
    for query in ({}, {"q": scenario["patient"].full_name}, {"status": "COMPLETED"}):
        csv = client.get(f"{appointments}?{urlencode({**query, 'export': 'csv'})}")
        xlsx = client.get(f"{appointments}?{urlencode({**query, 'export': 'xlsx'})}")
        assert csv.status_code == xlsx.status_code == 200
        csv_text = b"".join(csv.streaming_content) if csv.streaming else csv.content
        assert scenario["visit"].reference in csv_text.decode()  # the visit is exported...
        bodies[f"CSV {query}"] = csv_text
        bodies[f"XLSX {query}"] = xlsx_text(xlsx.content)
        assert scenario["visit"].reference in bodies[f"XLSX {query}"]
    return bodies


def test_receptionist_pages_fragments_and_exports_carry_no_clinical_content(client, scenario):
    client.force_login(scenario["receptionist"])
    bodies = receptionist_bodies(client, scenario)
    # The record screen itself refuses them (and says nothing of the record on the way).
    record = client.get(reverse("dashboard:record", args=[scenario["visit"].reference]))
    assert record.status_code == 302 and record["Location"] == "/admin/"
    bodies["record screen (refused)"] = record.content

    leaks = {label: found for label, body in bodies.items() if (found := leaked(body))}
    assert leaks == {}
    assert not RecordAccess.objects.filter(user=scenario["receptionist"]).exists()


def test_searching_for_clinical_words_finds_nothing_for_the_receptionist(client, scenario):
    """A search that matched on the diagnosis would tell the receptionist what it is."""
    client.force_login(scenario["receptionist"])
    api = APIClient()
    api.force_authenticate(scenario["receptionist"])
    for marker in MARKERS.values():
        page = client.get(reverse("dashboard:appointments"), {"q": marker})
        assert list(page.context["table"].rows) == []
        assert api.get(reverse("api-appointments"), {"q": marker}).json()["count"] == 0
        assert leaked(page.content) == [marker]  # only the search box echoes it back
        desk = client.get(reverse("dashboard:book"), {"q": marker})
        assert desk.context["results"] == []


def test_receptionist_api_answers_carry_no_clinical_content(scenario):
    api = APIClient()
    api.force_authenticate(scenario["receptionist"])
    patient, doctor, visit = scenario["patient"], scenario["doctor"], scenario["visit"]
    reads = {
        "appointments": (reverse("api-appointments"), {}),
        "appointments by name": (reverse("api-appointments"), {"q": patient.full_name}),
        "appointments by reference": (reverse("api-appointments"), {"q": visit.reference}),
        "appointments of the patient": (reverse("api-appointments"), {"patient": patient.pk}),
        "completed appointments": (reverse("api-appointments"), {"status": "COMPLETED"}),
        "appointment": (reverse("api-appointment-detail", args=[visit.reference]), {}),
        "history": (reverse("api-appointment-history", args=[visit.reference]), {}),
        "moved appointment history": (
            reverse("api-appointment-history", args=[scenario["moved"].reference]),
            {},
        ),
        "queue": (reverse("api-queue"), {"doctor": doctor.pk, "date": TODAY.isoformat()}),
        "patient details": (reverse("api-patient-detail", args=[patient.pk]), {}),
        "doctor": (reverse("api-doctor-detail", args=[doctor.pk]), {}),
    }
    bodies = {}
    for label, (url, query) in reads.items():
        response = api.get(url, query)
        assert response.status_code == 200, (label, response.status_code)
        bodies[label] = response.content
    assert visit.reference in bodies["appointments of the patient"].decode()
    consultation = api.get(reverse("api-consultation", args=[visit.reference]))
    assert consultation.status_code == 403
    assert consultation.json()["code"] == "permission_denied"
    bodies["consultation (refused)"] = consultation.content

    leaks = {label: found for label, body in bodies.items() if (found := leaked(body))}
    assert leaks == {}
    assert not RecordAccess.objects.filter(user=scenario["receptionist"]).exists()


def test_emails_of_the_scenario_carry_no_clinical_content(scenario):
    assert mail.outbox, "the scenario should have sent e-mails"
    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) >= 3, subjects  # booked, confirmed, moved (at least)
    for message in mail.outbox:
        parts = [message.subject, message.body]
        parts += [content for content, _mimetype in getattr(message, "alternatives", [])]
        for attachment in message.attachments:
            parts.append(attachment[1] if isinstance(attachment, tuple) else attachment.content)
        found = sorted({marker for part in parts for marker in leaked(part)})
        assert found == [], (message.subject, found)


@pytest.mark.parametrize("reader", ["doctor", "admin"])
def test_treating_doctor_and_admin_see_the_record_and_each_read_is_logged(client, scenario, reader):
    user = scenario["doctor"].user if reader == "doctor" else scenario["admin"]
    record = scenario["visit"].record
    before = set(RecordAccess.objects.filter(record=record).values_list("pk", flat=True))
    client.force_login(user)
    response = client.get(reverse("dashboard:record", args=[scenario["visit"].reference]))
    assert response.status_code == 200
    assert sorted(leaked(response.content)) == sorted(MARKERS.values())
    new = RecordAccess.objects.filter(record=record).exclude(pk__in=before)
    assert [(a.user_id, a.how) for a in new] == [(user.pk, AccessChannel.DASHBOARD)]

    before = set(RecordAccess.objects.filter(record=record).values_list("pk", flat=True))
    api = APIClient()
    api.force_authenticate(user)
    answer = api.get(reverse("api-consultation", args=[scenario["visit"].reference]))
    assert answer.status_code == 200
    assert sorted(leaked(answer.content)) == sorted(MARKERS.values())
    new = RecordAccess.objects.filter(record=record).exclude(pk__in=before)
    assert [(a.user_id, a.how) for a in new] == [(user.pk, AccessChannel.API)]


def test_the_meeting_link_never_reaches_the_receptionist(client, scenario):
    video = scenario["video"]
    token = video.meeting_token
    assert token and token in services.meeting_url(video)
    client.force_login(scenario["receptionist"])
    bodies = receptionist_bodies(client, scenario)
    api = APIClient()
    api.force_authenticate(scenario["receptionist"])
    for label, url in {
        "API appointment": reverse("api-appointment-detail", args=[video.reference]),
        "API appointments": reverse("api-appointments"),
    }.items():
        response = api.get(url)
        assert response.status_code == 200, label
        bodies[label] = response.content
    assert video.reference in bodies["API appointments"].decode()

    def has_token(body):
        return token in (body.decode() if isinstance(body, bytes) else body)

    assert [label for label, body in bodies.items() if has_token(body)] == []
    # The treating doctor does get it on the same screen (so the scan can fail).
    client.force_login(scenario["doctor"].user)
    screen = client.get(reverse("dashboard:appointment", args=[video.reference]))
    assert has_token(screen.content)
