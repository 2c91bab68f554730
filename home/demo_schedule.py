"""Demo availability and appointments: visit types, weekly schedules, exceptions and a realistic
spread of past and future visits in every status, for `manage.py seed_demo`.

Everything goes through the booking services with the clock (`now`) set to when each step would
have happened, so the demo history is what the engine itself would have written: transition rows,
reschedule history, queue positions and released holds included. Deterministic for a given day
(a fixed random seed) and idempotent (appointments are added only to a clinic that has none).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from booking import services as booking
from booking.exceptions import PatientOverlap, SlotUnavailable
from booking.models import Appointment, HoldKind
from booking.selectors import slot_search
from clinic_site.accounts.models import PatientProfile, User
from clinic_site.accounts.roles import Role
from clinic_site.accounts.services import user_set_role
from clinic_site.policies import clinic_tz, get_policies
from doctors.models import Doctor, ExceptionKind, ScheduleException, VisitType, WeeklyWindow

# (name, minutes, mode, price) per kind of practice.
GP_VISITS = [
    ("Consultation", 15, "in_person", "45.00"),
    ("Long consultation", 30, "in_person", "80.00"),
    ("Video consultation", 15, "video", "40.00"),
    ("Telephone advice", 10, "telephone", "25.00"),
]
SPECIALIST_VISITS = [
    ("New patient consultation", 45, "in_person", "160.00"),
    ("Follow-up", 20, "in_person", "90.00"),
    ("Video follow-up", 20, "video", "80.00"),
]

MORNING = ("09:00", "12:30")
AFTERNOON = ("13:30", "17:00")
SATURDAY = ("09:00", "12:00")

# Weekly pattern per demo doctor (by slug): weekday -> windows. Weekday 0 is Monday.
WEEKS = {
    "amelia-hart": {d: [MORNING, AFTERNOON] for d in range(5)} | {5: [SATURDAY]},
    "rahul-mehta": {0: [MORNING, AFTERNOON], 2: [MORNING, AFTERNOON], 4: [MORNING]},
    "sofia-alvarez": {d: [("08:30", "12:30")] for d in range(5)} | {3: [("13:00", "18:00")]},
    "kwame-mensah": {1: [MORNING, AFTERNOON], 3: [MORNING, AFTERNOON], 5: [SATURDAY]},
    "hannah-okafor": {0: [AFTERNOON], 1: [MORNING], 2: [AFTERNOON], 4: [MORNING, AFTERNOON]},
    "mei-lin": {d: [("10:00", "13:00"), ("14:00", "18:30")] for d in range(4)},
    "david-cohen": {0: [MORNING], 2: [MORNING], 3: [AFTERNOON]},
    "layla-haddad": {d: [("09:30", "15:30")] for d in (0, 1, 3, 4)},
}
GENERAL_PRACTICE = {"amelia-hart", "mei-lin", "david-cohen"}

EXTRA_PATIENTS = [
    ("noah.patel@clinic.test", "Noah Patel", dt.date(1992, 2, 19), "male"),
    ("amara.osei@clinic.test", "Amara Osei", dt.date(1985, 7, 30), "female"),
    ("lucas.martin@clinic.test", "Lucas Martin", dt.date(2015, 9, 8), "male"),
    ("isla.robertson@clinic.test", "Isla Robertson", dt.date(1969, 12, 1), "female"),
    ("yusuf.demir@clinic.test", "Yusuf Demir", dt.date(1958, 4, 22), "male"),
    ("chloe.dubois@clinic.test", "Chloé Dubois", dt.date(1996, 6, 14), "female"),
    ("ethan.wright@clinic.test", "Ethan Wright", dt.date(2001, 1, 27), "male"),
    ("zara.ahmed@clinic.test", "Zara Ahmed", dt.date(1979, 10, 5), "female"),
    ("oliver.nowak@clinic.test", "Oliver Nowak", dt.date(1988, 3, 11), "male"),
    ("sienna.kelly@clinic.test", "Sienna Kelly", dt.date(2012, 5, 2), "female"),
]

REASONS = [
    "Persistent cough for two weeks",
    "Annual check-up",
    "Follow-up on blood test results",
    "Skin rash on both arms",
    "Knee pain after running",
    "Repeat prescription review",
    "Palpitations in the evening",
    "Headaches and poor sleep",
    "",
]
CANCEL_REASONS = ["Feeling better", "Work commitment came up", "Booked by mistake"]
CLINIC_CANCEL_REASONS = ["Doctor called away to an emergency", "Clinic closed for training"]


@dataclass
class _Cast:
    patients: list[User]
    reception: User
    rng: random.Random


def ensure_availability(doctor: Doctor) -> None:
    """Visit types, a weekly schedule and a couple of exceptions, for a doctor who has none."""
    visits = GP_VISITS if doctor.slug in GENERAL_PRACTICE else SPECIALIST_VISITS
    if not doctor.visit_types.exists():
        VisitType.objects.bulk_create(
            VisitType(
                doctor=doctor,
                name=name,
                duration_minutes=minutes,
                mode=mode,
                price=Decimal(price),
                sort_order=order,
            )
            for order, (name, minutes, mode, price) in enumerate(visits)
        )
    if not doctor.weekly_windows.exists():
        week = WEEKS.get(doctor.slug, {d: [MORNING, AFTERNOON] for d in range(5)})
        WeeklyWindow.objects.bulk_create(
            WeeklyWindow(
                doctor=doctor,
                weekday=weekday,
                start=dt.time.fromisoformat(start),
                end=dt.time.fromisoformat(end),
            )
            for weekday, windows in sorted(week.items())
            for start, end in windows
        )


def ensure_exceptions(doctors: list[Doctor], today: dt.date) -> None:
    """A vacation, a training day and some extra hours, placed relative to `today`."""
    if ScheduleException.objects.exists():
        return
    by_slug = {d.slug: d for d in doctors}
    plans = [
        ("rahul-mehta", ExceptionKind.DAY_OFF, 24, 30, None, None, "Annual leave"),
        ("kwame-mensah", ExceptionKind.DAY_OFF, 9, 9, None, None, "Dermatology conference"),
        ("amelia-hart", ExceptionKind.DAY_OFF, 17, 17, None, None, "Training day"),
        ("amelia-hart", ExceptionKind.EXTRA_HOURS, 13, 13, "17:00", "19:00", "Evening clinic"),
        ("hannah-okafor", ExceptionKind.EXTRA_HOURS, 6, 6, "09:00", "12:00", "Sports clinic"),
    ]
    for slug, kind, first, last, start, end, reason in plans:
        doctor = by_slug.get(slug)
        if doctor is None:
            continue
        ScheduleException.objects.create(
            doctor=doctor,
            kind=kind,
            date_from=today + dt.timedelta(days=first),
            date_to=today + dt.timedelta(days=last),
            start=dt.time.fromisoformat(start) if start else None,
            end=dt.time.fromisoformat(end) if end else None,
            reason=reason,
        )


def ensure_patients(password_hash: str) -> list[User]:
    """The two sample patients plus a waiting room of demo patients who can sign in too."""
    patients = list(
        User.objects.filter(email__in=["patient@clinic.test", "patient2@clinic.test"]).order_by(
            "email"
        )
    )
    now = timezone.now()
    for email, name, born, gender in EXTRA_PATIENTS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create(
                email=email,
                password=password_hash,
                full_name=name,
                phone="+44 7700 900" + str(100 + len(patients)),
                email_verified_at=now,
                activated_at=now,
            )
            user_set_role(user=user, role=Role.PATIENT, actor=None)
            PatientProfile.objects.create(
                user=user, date_of_birth=born, gender=gender, city="London", country="GB"
            )
        patients.append(user)
    return patients


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=clinic_tz())


def _slots(visit_type: VisitType, day: dt.date, now: dt.datetime):
    return slot_search(visit_type=visit_type, date_from=day, date_to=day, now=now)


def _book(cast: _Cast, visit_type: VisitType, day: dt.date, *, booked_at: dt.datetime):
    """Book one offered slot of `day` for some patient, as it would have been booked back then."""
    slots = _slots(visit_type, day, booked_at)
    if not slots:
        return None
    slot = cast.rng.choice(slots)
    for _ in range(len(cast.patients)):
        patient = cast.rng.choice(cast.patients)
        # A doctor who takes no new patients is booked through the front desk.
        front_desk = not visit_type.doctor.accepting_new_patients
        try:
            return booking.appointment_book(
                actor=cast.reception if front_desk else patient,
                patient=patient,
                visit_type=visit_type,
                start=slot.start,
                reason=cast.rng.choice(REASONS),
                now=booked_at,
            )
        except (PatientOverlap, SlotUnavailable):
            continue
    return None


def _confirm(appointment: Appointment, cast: _Cast) -> None:
    if appointment.status == "REQUESTED":
        booking.appointment_act(
            appointment=appointment,
            actor=cast.reception,
            action="confirm",
            now=appointment.created_at + dt.timedelta(hours=3),
        )


# (diagnosis, notes, prescriptions, tests) — plausible primary-care visits, written the way the
# doctor would write them in the dashboard.
CONSULTATIONS = [
    (
        "Acute viral upper respiratory tract infection",
        "Three days of sore throat, runny nose and mild cough. No fever today. Chest clear, "
        "throat mildly red, no exudate. Advised rest and fluids.",
        [
            (
                "Paracetamol 500 mg",
                "1-2 tablets",
                "up to four times a day",
                "5 days",
                "As needed for pain or fever.",
            )
        ],
        [],
    ),
    (
        "Essential hypertension, well controlled",
        "Home readings average 132/84. No side effects from treatment. Lifestyle advice repeated.",
        [("Amlodipine 5 mg", "1 tablet", "once a day", "3 months", "Take in the morning.")],
        [("Kidney function and electrolytes", "Annual check before the next review.")],
    ),
    (
        "Atopic eczema, flare on both forearms",
        "Dry, itchy patches on both forearms for two weeks. No signs of infection.",
        [
            (
                "Emollient cream",
                "apply liberally",
                "three times a day",
                "ongoing",
                "Use instead of soap.",
            ),
            (
                "Hydrocortisone 1% cream",
                "thin layer",
                "twice a day",
                "7 days",
                "On the red patches only.",
            ),
        ],
        [],
    ),
    (
        "Low back pain, mechanical",
        "Pain after lifting at work, no red flags, normal neurology. Advised to stay active.",
        [
            (
                "Ibuprofen 400 mg",
                "1 tablet",
                "three times a day with food",
                "5 days",
                "Stop if stomach pain.",
            )
        ],
        [],
    ),
    (
        "Iron deficiency suspected",
        "Tiredness for two months, pale conjunctivae. Diet reviewed.",
        [],
        [("Full blood count", "Fasting not needed."), ("Ferritin", "")],
    ),
]


def _finalised_record(appointment: Appointment, cast: _Cast, at: dt.datetime) -> None:
    """The doctor writes the visit's record and completes the visit, as in the dashboard."""
    from records import services as records

    diagnosis, notes, prescriptions, tests = cast.rng.choice(CONSULTATIONS)
    doctor_user = appointment.doctor.user
    records.record_save(
        appointment=appointment,
        actor=doctor_user,
        diagnosis=diagnosis,
        notes=notes,
        prescriptions=[
            dict(zip(("drug", "dose", "frequency", "duration", "instructions"), item, strict=True))
            for item in prescriptions
        ],
        tests=[dict(zip(("name", "notes"), item, strict=True)) for item in tests],
        now=at,
    )
    records.record_finalise(appointment=appointment, actor=doctor_user, complete=True, now=at)


def _past_visit(appointment: Appointment, cast: _Cast, outcome: str) -> None:
    """Play a past appointment through to `outcome`."""
    doctor_user = appointment.doctor.user
    start = appointment.start
    if outcome == "cancelled_by_patient":
        booking.appointment_act(
            appointment=appointment,
            actor=appointment.patient,
            action="cancel",
            reason=cast.rng.choice(CANCEL_REASONS),
            now=start - dt.timedelta(days=1),
        )
        return
    if outcome == "declined":
        if appointment.status == "REQUESTED":
            booking.appointment_act(
                appointment=appointment,
                actor=doctor_user,
                action="decline",
                reason="Please book a long consultation for this.",
                now=appointment.created_at + dt.timedelta(hours=2),
            )
        return
    _confirm(appointment, cast)
    if outcome == "no_show":
        booking.appointment_act(
            appointment=appointment,
            actor=cast.reception,
            action="no_show",
            excused=cast.rng.random() < 0.3,
            now=start + dt.timedelta(minutes=20),
        )
        return
    booking.appointment_act(
        appointment=appointment,
        actor=cast.reception,
        action="check_in",
        now=start - dt.timedelta(minutes=cast.rng.randint(3, 15)),
    )
    if outcome == "completed" and doctor_user is not None:
        done = appointment.end + dt.timedelta(minutes=cast.rng.randint(0, 10))
        _finalised_record(appointment, cast, done)


def _future_visit(appointment: Appointment, cast: _Cast, outcome: str, now: dt.datetime) -> None:
    """Shape an upcoming appointment: leave it requested, confirm, reschedule or cancel it."""
    # Whatever happened to it happened between the booking and now.
    since = appointment.created_at + (now - appointment.created_at) / 2
    if outcome == "confirmed" and appointment.status == "REQUESTED":
        booking.appointment_act(
            appointment=appointment, actor=cast.reception, action="confirm", now=since
        )
    elif outcome == "cancelled_by_clinic":
        booking.appointment_act(
            appointment=appointment,
            actor=cast.reception,
            action="cancel",
            reason=cast.rng.choice(CLINIC_CANCEL_REASONS),
            now=since,
        )
    elif outcome == "rescheduled":
        moved_at = since
        later = [
            s
            for s in slot_search(
                visit_type=appointment.visit_type,
                date_from=appointment.start.astimezone(clinic_tz()).date() + dt.timedelta(days=1),
                date_to=appointment.start.astimezone(clinic_tz()).date() + dt.timedelta(days=7),
                now=moved_at,
                exclude_appointment=appointment.pk,
            )
            if s.start > now + dt.timedelta(hours=3)
        ]
        if later:
            with contextlib.suppress(PatientOverlap, SlotUnavailable):
                booking.appointment_reschedule(
                    appointment=appointment,
                    actor=appointment.patient,
                    new_start=later[0].start,
                    reason="A later time suits me better.",
                    now=moved_at,
                )


PAST_OUTCOMES = ["completed"] * 7 + ["no_show", "cancelled_by_patient", "declined"]
FUTURE_OUTCOMES = ["requested", "confirmed", "confirmed", "rescheduled", "cancelled_by_clinic"]


def ensure_appointments(doctors: list[Doctor], password_hash: str, *, now: dt.datetime) -> int:
    """Three weeks of history, today's clinic and two weeks ahead — once, for a clinic with none."""
    if Appointment.objects.exists():
        return 0
    reception = User.objects.filter(email="reception@clinic.test").first()
    if reception is None:
        return 0
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    cast = _Cast(patients=ensure_patients(password_hash), reception=reception, rng=rng)
    tz = clinic_tz()
    today = now.astimezone(tz).date()
    policies = get_policies()
    for doctor in doctors:
        visit_types = list(doctor.visit_types.filter(is_active=True))
        if not visit_types or doctor.user is None:
            continue
        # The past: most visits happened, some were missed, cancelled or declined.
        for days_ago in range(21, 0, -1):
            day = today - dt.timedelta(days=days_ago)
            for _ in range(cast.rng.randint(0, 3)):
                appointment = _book(
                    cast,
                    cast.rng.choice(visit_types),
                    day,
                    booked_at=_at(day, dt.time(8)) - dt.timedelta(days=7),
                )
                if appointment is not None:
                    _past_visit(appointment, cast, cast.rng.choice(PAST_OUTCOMES))
        # Today: the first visits have arrived (the queue), the rest are confirmed.
        booked_at = now - dt.timedelta(days=2)
        todays = [_book(cast, visit_types[0], today, booked_at=booked_at) for _ in range(5)]
        todays = sorted((a for a in todays if a is not None), key=lambda a: a.start)
        midnight = _at(today, dt.time(0, 1))
        for position, appointment in enumerate(todays):
            _confirm(appointment, cast)
            if position < 2:
                arrived = min(now, appointment.start) - dt.timedelta(minutes=25 - 9 * position)
                booking.appointment_act(
                    appointment=appointment,
                    actor=cast.reception,
                    action="check_in",
                    now=max(arrived, midnight),
                )
        # The weeks ahead.
        for days_ahead in range(1, 15):
            day = today + dt.timedelta(days=days_ahead)
            for _ in range(cast.rng.randint(0, 2)):
                appointment = _book(
                    cast,
                    cast.rng.choice(visit_types),
                    day,
                    booked_at=now - dt.timedelta(hours=cast.rng.randint(2, 24 * days_ahead)),
                )
                if appointment is not None:
                    _future_visit(appointment, cast, cast.rng.choice(FUTURE_OUTCOMES), now)
    _holds(doctors, cast, now=now, minutes=policies.payment_hold_minutes)
    return Appointment.objects.count()


def _holds(doctors: list[Doctor], cast: _Cast, *, now: dt.datetime, minutes: int) -> None:
    """One hold that ran out (released by the tidy-up) and one waiting-list offer still open."""
    doctor = next((d for d in doctors if d.accepting_bookings and d.visit_types.exists()), None)
    if doctor is None:
        return
    visit_type = doctor.visit_types.first()
    for kind, offset, patient in (
        (HoldKind.PAYMENT, dt.timedelta(days=-1), cast.patients[-1]),
        (HoldKind.WAITLIST_OFFER, dt.timedelta(0), cast.patients[-2]),
    ):
        made_at = now + offset
        slots = [
            s
            for s in slot_search(
                visit_type=visit_type,
                date_from=made_at.astimezone(clinic_tz()).date() + dt.timedelta(days=3),
                date_to=made_at.astimezone(clinic_tz()).date() + dt.timedelta(days=10),
                now=made_at,
            )
            if s.start > now + dt.timedelta(days=1)
        ]
        for slot in slots[:5]:
            try:
                booking.hold_create(
                    patient=patient, visit_type=visit_type, start=slot.start, kind=kind, now=made_at
                )
                break
            except (PatientOverlap, SlotUnavailable):
                continue
    booking.holds_release_expired(now=now)
