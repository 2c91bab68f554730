"""Booking under concurrency, and the database guarantees behind it (PostgreSQL only).

What this file proves:
- many patients racing for one slot through the API give exactly one booking, every loser a 409
  `slot_unavailable` with alternatives, and never a 500;
- the exclusion constraints themselves refuse overlapping rows written past the services (doctor:
  blocked ranges including buffers; patient: [start, end) across doctors), ignore cancelled and
  released rows, and allow touching ranges;
- one patient booking two doctors at the same time gets one appointment and one `patient_overlap`;
- a reschedule racing a booking for the same new time has exactly one winner, and a losing
  reschedule changes nothing;
- a constraint violation, a deadlock or a serialisation failure answers 409 with the documented
  code, never 500;
- an expired hold blocks nothing and is released inside the booking's own transaction; a live hold
  blocks everyone but its patient, who can book it.

Threads start together on a `threading.Barrier`, run on their own connections (closed in a
`finally`) and are joined with a timeout, so a deadlock or a hang fails the test instead of
stalling the suite.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from booking import services
from booking.exceptions import PatientOverlap, SlotUnavailable
from booking.models import Appointment, HoldKind, Reschedule, Status, Transition
from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.api import exception_handler
from tests.factories import at, book, bookable_doctor, make_user

pytestmark = pytest.mark.postgres

# Transactional: the threads need committed data and their own connections. The rollback restores
# what the migrations created (role groups, Wagtail's root collection and pages) after the flush.
concurrent = pytest.mark.django_db(transaction=True, serialized_rollback=True)

APPOINTMENTS = "/api/v1/appointments/"
JOIN_TIMEOUT = 60  # seconds; far beyond any lock wait here, so "still alive" means a hang


# --- Helpers ----------------------------------------------------------------------------------


def run_together(calls: list[Callable[[], object]]) -> list[object]:
    """Run each call in its own thread, released together by a barrier; return each result (or
    the exception it raised), in order."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int, call: Callable[[], object]) -> None:
        try:
            connection.ensure_connection()  # connect first, so the race is on the locks
            barrier.wait(timeout=JOIN_TIMEOUT)
            results[index] = call()
        except BaseException as exc:  # handed to the test thread, which reports it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=worker, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not [t for t in threads if t.is_alive()], "a thread hung (deadlock or lock wait?)"
    return results


def api_client(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.raise_request_exception = False  # an unhandled error must show up as the 500 it is
    return client


def answer(response) -> tuple[int, dict]:
    try:
        body = response.json()
    except ValueError:
        body = {"raw": response.content[:500]}
    return response.status_code, body


def post_booking(user: User, visit_type, start: datetime) -> Callable[[], tuple[int, dict]]:
    client = api_client(user)
    data = {"doctor": visit_type.doctor_id, "visit_type": visit_type.pk, "start": start.isoformat()}
    return lambda: answer(client.post(APPOINTMENTS, data, format="json"))


def post_reschedule(user: User, appointment, start: datetime) -> Callable[[], tuple[int, dict]]:
    client = api_client(user)
    url = f"{APPOINTMENTS}{appointment.reference}/reschedule/"
    data = {"start": start.isoformat(), "reason": "Clashes with work."}
    return lambda: answer(client.post(url, data, format="json"))


def statuses(results) -> Counter:
    for result in results:
        assert not isinstance(result, BaseException), f"a thread raised {result!r}"
    return Counter(status for status, _ in results)


def days_ahead(n: int):
    """A local date n days ahead: far beyond the minimum notice, well inside the horizon."""
    return timezone.localdate() + timedelta(days=n)


def active(**filters):
    return Appointment.objects.filter(**filters).exclude(
        status__in=(Status.CANCELLED, Status.RELEASED)
    )


def assert_nothing_orphaned() -> None:
    """Every appointment row has its creation transition and no transition lacks a row."""
    created = Transition.objects.filter(from_status="").values_list("appointment_id", flat=True)
    assert sorted(created) == sorted(Appointment.objects.values_list("pk", flat=True))


def row(doctor, patient, visit_type, start, *, minutes=30, before=5, after=5, **extra):
    """An appointment written straight through the ORM, past every service check."""
    end = start + timedelta(minutes=minutes)
    fields = {
        "reference": services.new_reference(),
        "doctor": doctor,
        "patient": patient,
        "visit_type": visit_type,
        "start": start,
        "end": end,
        "buffer_before": timedelta(minutes=before),
        "buffer_after": timedelta(minutes=after),
        "blocked_start": start - timedelta(minutes=before),
        "blocked_end": end + timedelta(minutes=after),
        "status": Status.CONFIRMED,
        "created_at": timezone.now(),
        **extra,
    }
    return Appointment.objects.create(**fields)


def constraint_of(exc: BaseException) -> str | None:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)


def txid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
        return cursor.fetchone()[0]


# --- 1. Twenty patients, one slot -------------------------------------------------------------


@concurrent
def test_twenty_patients_racing_for_one_slot_get_one_booking_and_nineteen_409s():
    _, visit_type = bookable_doctor()
    patients = [make_user(Role.PATIENT) for _ in range(20)]
    for round_, day in enumerate((days_ahead(3), days_ahead(4), days_ahead(5)), start=1):
        start = at(day, "10:20")
        results = run_together([post_booking(p, visit_type, start) for p in patients])

        assert statuses(results) == {201: 1, 409: 19}, f"round {round_}: {results}"
        for status, body in results:
            if status == 409:
                assert body["code"] == "slot_unavailable", body
                assert isinstance(body.get("alternatives"), list), body
                assert body["alternatives"], "the doctor has other free slots to offer"
                assert all({"start", "end"} <= set(alt) for alt in body["alternatives"])
        winner = next(body for status, body in results if status == 201)
        booked = active(doctor_id=visit_type.doctor_id, start=start).get()
        assert winner["id"] == booked.reference
    assert active(doctor_id=visit_type.doctor_id).count() == 3
    assert_nothing_orphaned()


# --- 2. The exclusion constraints themselves --------------------------------------------------


@pytest.mark.django_db
def test_doctor_constraint_refuses_rows_whose_buffers_overlap():
    doctor, visit_type = bookable_doctor()
    day = days_ahead(3)
    row(doctor, make_user(Role.PATIENT), visit_type, at(day, "09:00"))  # blocked 08:55-09:35
    # [start, end) 09:35-10:05 does not overlap 09:00-09:30; only the buffers do (09:30-09:35).
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        row(doctor, make_user(Role.PATIENT), visit_type, at(day, "09:35"))
    assert constraint_of(caught.value) == "booking_appt_doctor_no_overlap"
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_doctor_constraint_covers_live_holds():
    doctor, visit_type = bookable_doctor()
    start = at(days_ahead(3), "09:00")
    row(
        doctor,
        make_user(Role.PATIENT),
        visit_type,
        start,
        status=Status.HELD,
        hold_kind=HoldKind.PAYMENT,
        hold_expires_at=timezone.now() + timedelta(minutes=15),
    )
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        row(doctor, make_user(Role.PATIENT), visit_type, start + timedelta(minutes=10))
    assert constraint_of(caught.value) == "booking_appt_doctor_no_overlap"


@pytest.mark.django_db
def test_patient_constraint_refuses_overlap_across_two_doctors():
    doctor_a, visit_a = bookable_doctor()
    doctor_b, visit_b = bookable_doctor()
    patient = make_user(Role.PATIENT)
    day = days_ahead(3)
    row(doctor_a, patient, visit_a, at(day, "09:00"))
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        row(doctor_b, patient, visit_b, at(day, "09:15"))
    assert constraint_of(caught.value) == "booking_appt_patient_no_overlap"
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("inactive", [Status.CANCELLED, Status.RELEASED])
def test_cancelled_and_released_rows_block_nothing(inactive):
    doctor, visit_type = bookable_doctor()
    other_doctor, other_visit = bookable_doctor()
    patient = make_user(Role.PATIENT)
    start = at(days_ahead(3), "09:00")
    extra = {"hold_kind": HoldKind.PAYMENT} if inactive == Status.RELEASED else {}
    row(doctor, patient, visit_type, start, status=inactive, **extra)
    # Same doctor, same start (unique + exclusion) and the same patient elsewhere at that time.
    row(doctor, make_user(Role.PATIENT), visit_type, start)
    row(other_doctor, patient, other_visit, start)
    assert active().count() == 2


@pytest.mark.django_db
def test_touching_ranges_are_allowed():
    doctor, visit_type = bookable_doctor()
    other_doctor, other_visit = bookable_doctor()
    patient = make_user(Role.PATIENT)
    day = days_ahead(3)
    row(doctor, make_user(Role.PATIENT), visit_type, at(day, "09:00"))  # blocked 08:55-09:35
    row(doctor, make_user(Role.PATIENT), visit_type, at(day, "09:40"))  # blocked 09:35-10:15
    row(doctor, patient, visit_type, at(day, "11:00"))  # [11:00, 11:30)
    row(other_doctor, patient, other_visit, at(day, "11:30"))  # [11:30, 12:00)
    assert active().count() == 4


# --- 3. One patient, two doctors, the same moment ---------------------------------------------


@concurrent
def test_one_patient_booking_two_doctors_at_once_gets_one_booking_and_one_patient_overlap():
    _, visit_a = bookable_doctor()
    _, visit_b = bookable_doctor()
    patient = make_user(Role.PATIENT)
    for round_, day in enumerate((days_ahead(3), days_ahead(4), days_ahead(5)), start=1):
        start = at(day, "10:20")
        results = run_together(
            [post_booking(patient, visit_a, start), post_booking(patient, visit_b, start)]
        )
        assert statuses(results) == {201: 1, 409: 1}, f"round {round_}: {results}"
        loser = next(body for status, body in results if status == 409)
        assert loser["code"] == "patient_overlap", loser
        assert active(patient=patient, start=start).count() == 1
    assert_nothing_orphaned()


@concurrent
def test_service_refuses_the_second_doctor_with_patient_overlap_under_a_race():
    _, visit_a = bookable_doctor()
    _, visit_b = bookable_doctor()
    patient = make_user(Role.PATIENT)
    now = timezone.now()
    start = at(days_ahead(3), "11:00")
    results = run_together(
        [
            lambda vt=vt: book(vt, start, patient=patient, now=now).reference
            for vt in (visit_a, visit_b)
        ]
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1, results
    assert isinstance(refused[0], PatientOverlap), repr(refused[0])
    assert active(patient=patient).count() == 1


# --- 4. A reschedule racing a booking ---------------------------------------------------------


@concurrent
def test_reschedule_racing_a_booking_for_the_same_new_slot_has_exactly_one_winner():
    doctor, visit_type = bookable_doctor()
    mover = make_user(Role.PATIENT)
    booker = make_user(Role.PATIENT)
    outcomes = Counter()
    for round_ in range(5):
        day = days_ahead(3 + round_)
        appointment = book(visit_type, at(day, "09:00"), patient=mover)
        before = Appointment.objects.get(pk=appointment.pk)
        new_start = at(day, "11:00")

        moved, booked = run_together(
            [
                post_reschedule(mover, appointment, new_start),
                post_booking(booker, visit_type, new_start),
            ]
        )
        statuses([moved, booked])  # no thread raised
        at_new_time = active(doctor=doctor, start=new_start)
        assert at_new_time.count() == 1, (moved, booked)
        after = Appointment.objects.get(pk=appointment.pk)

        if moved[0] == 200:
            outcomes["reschedule"] += 1
            assert booked[0] == 409 and booked[1]["code"] == "slot_unavailable", booked
            assert at_new_time.get().pk == appointment.pk
            assert after.start == new_start
            assert after.reschedule_count == before.reschedule_count + 1
            assert Reschedule.objects.filter(appointment=appointment).count() == 1
            assert not active(doctor=doctor, start=at(day, "09:00")).exists()
            assert not Appointment.objects.filter(patient=booker, start=new_start).exists()
        else:
            outcomes["booking"] += 1
            assert booked[0] == 201, booked
            assert moved[0] == 409 and moved[1]["code"] == "slot_unavailable", moved
            assert at_new_time.get().patient_id == booker.pk
            assert (after.start, after.end, after.status) == (
                before.start,
                before.end,
                before.status,
            )
            assert (after.blocked_start, after.blocked_end) == (
                before.blocked_start,
                before.blocked_end,
            )
            assert after.reschedule_count == before.reschedule_count
            assert not Reschedule.objects.filter(appointment=appointment).exists()
            assert list(after.transitions.values_list("from_status", "to_status")) == [
                ("", before.status)
            ]
    assert sum(outcomes.values()) == 5, outcomes
    assert_nothing_orphaned()


# --- 5. Database refusals answer 409, never 500 -----------------------------------------------


@pytest.fixture
def checks_slipped(monkeypatch):
    """The service's own checks wrongly pass: only the database stands in the way."""
    monkeypatch.setattr(services, "slot_offered", lambda **kwargs: object())
    monkeypatch.setattr(services, "_patient_busy", lambda *args, **kwargs: False)
    # The booking path checks the appointments it read in one statement.
    monkeypatch.setattr(services, "_offered_in", lambda *args, **kwargs: True)
    monkeypatch.setattr(services, "_patient_busy_in", lambda *args, **kwargs: False)


@pytest.mark.django_db
@pytest.mark.parametrize("hhmm", ["10:20", "10:40"], ids=["same-start", "overlapping-start"])
def test_doctor_constraint_violation_answers_409_slot_unavailable(checks_slipped, hhmm):
    _, visit_type = bookable_doctor()
    day = days_ahead(3)
    book(visit_type, at(day, "10:20"))
    patient = make_user(Role.PATIENT)

    status, body = post_booking(patient, visit_type, at(day, hhmm))()

    assert status == 409, body
    assert body["code"] == "slot_unavailable"
    assert Appointment.objects.count() == 1
    assert_nothing_orphaned()


@pytest.mark.django_db
def test_doctor_constraint_violation_still_offers_alternatives(checks_slipped):
    """api-v1.md: a `slot_unavailable` answer to POST appointments/ carries `alternatives`."""
    _, visit_type = bookable_doctor()
    day = days_ahead(3)
    book(visit_type, at(day, "10:20"))

    status, body = post_booking(make_user(Role.PATIENT), visit_type, at(day, "10:40"))()

    assert (status, body["code"]) == (409, "slot_unavailable")
    assert isinstance(body.get("alternatives"), list), body


@pytest.mark.django_db
def test_patient_constraint_violation_answers_409_patient_overlap(checks_slipped):
    _, visit_a = bookable_doctor()
    _, visit_b = bookable_doctor()
    patient = make_user(Role.PATIENT)
    day = days_ahead(3)
    book(visit_a, at(day, "10:20"), patient=patient)

    status, body = post_booking(patient, visit_b, at(day, "10:40"))()

    assert status == 409, body
    assert body["code"] == "patient_overlap"
    assert Appointment.objects.count() == 1
    assert_nothing_orphaned()


@concurrent
def test_a_real_deadlock_translates_to_slot_unavailable():
    first, second = make_user(Role.PATIENT), make_user(Role.PATIENT)
    barrier = threading.Barrier(2)

    def lock(one, other):
        with transaction.atomic():
            User.objects.select_for_update().get(pk=one.pk)
            barrier.wait(timeout=JOIN_TIMEOUT)
            User.objects.select_for_update().get(pk=other.pk)
        return "ok"

    results = run_together([lambda: lock(first, second), lambda: lock(second, first)])

    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and results.count("ok") == 1, results
    deadlock = errors[0]
    assert isinstance(deadlock, OperationalError), repr(deadlock)
    assert deadlock.__cause__.sqlstate == "40P01"
    assert isinstance(services.translate_database_error(deadlock), SlotUnavailable)
    response = exception_handler(deadlock, {})
    assert response.status_code == 409
    assert response.data["code"] == "slot_unavailable"


@concurrent
def test_a_real_serialisation_failure_translates_to_slot_unavailable():
    user = make_user(Role.PATIENT)
    caught = None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            User.objects.get(pk=user.pk)  # the snapshot is taken here
            run_together([lambda: User.objects.filter(pk=user.pk).update(full_name="Changed")])
            User.objects.filter(pk=user.pk).update(full_name="Mine")
    except OperationalError as exc:
        caught = exc
    assert caught is not None, "the second update should have failed to serialise"
    assert caught.__cause__.sqlstate == "40001"
    assert isinstance(services.translate_database_error(caught), SlotUnavailable)
    assert exception_handler(caught, {}).status_code == 409


def test_translation_of_operational_errors_by_sqlstate():
    def operational(sqlstate):
        class Cause(Exception):
            pass

        cause = Cause("from the driver")
        cause.sqlstate = sqlstate
        exc = OperationalError("database said no")
        exc.__cause__ = cause
        return exc

    for sqlstate in ("40P01", "40001"):
        error = services.translate_database_error(operational(sqlstate))
        assert isinstance(error, SlotUnavailable), sqlstate
        assert error.status == 409 and error.code == "slot_unavailable"
    assert services.translate_database_error(operational("57014")) is None  # query cancelled
    assert services.translate_database_error(OperationalError("no cause")) is None


# --- 6. Holds -----------------------------------------------------------------------------------


@concurrent
@pytest.mark.parametrize("kind", [HoldKind.PAYMENT, HoldKind.WAITLIST_OFFER])
def test_expired_hold_blocks_nothing_and_is_released_inside_the_booking_transaction(
    monkeypatch, kind
):
    doctor, visit_type = bookable_doctor()
    holder = make_user(Role.PATIENT)
    rivals = [make_user(Role.PATIENT) for _ in range(2)]
    held_at = timezone.now()
    start = at(days_ahead(3), "10:20")
    hold = services.hold_create(
        patient=holder, visit_type=visit_type, start=start, kind=kind, now=held_at
    )
    later = hold.hold_expires_at + timedelta(minutes=1)

    seen: dict[int, dict] = {}
    release, insert = services._release_expired_in, services._insert_booked

    def release_spy(*args, **kwargs):
        released = release(*args, **kwargs)
        seen.setdefault(threading.get_ident(), {})["release"] = (released, txid())
        return released

    def insert_spy(appointment, **kwargs):
        seen.setdefault(threading.get_ident(), {})["insert"] = txid()
        return insert(appointment, **kwargs)

    monkeypatch.setattr(services, "_release_expired_in", release_spy)
    monkeypatch.setattr(services, "_insert_booked", insert_spy)

    results = run_together(
        [lambda p=p: book(visit_type, start, patient=p, now=later).reference for p in rivals]
    )

    booked = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(booked) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], SlotUnavailable), repr(refused[0])
    assert active(doctor=doctor, start=start).get().reference == booked[0]

    hold.refresh_from_db()
    assert hold.status == Status.RELEASED
    assert list(
        hold.transitions.filter(to_status=Status.RELEASED).values_list("from_status", "at")
    ) == [(Status.HELD, later)]
    releasers = [s for s in seen.values() if s["release"][0] == 1]
    assert len(releasers) == 1, seen
    assert releasers[0]["release"][1] == releasers[0]["insert"], "release and booking: one txn"
    assert_nothing_orphaned()


@pytest.mark.django_db
def test_release_of_an_expired_hold_rolls_back_with_a_refused_booking():
    _, visit_type = bookable_doctor()
    _, elsewhere = bookable_doctor()
    start = at(days_ahead(3), "10:20")
    now = timezone.now()
    hold = services.hold_create(
        patient=make_user(Role.PATIENT),
        visit_type=visit_type,
        start=start,
        kind=HoldKind.PAYMENT,
        now=now,
    )
    busy = make_user(Role.PATIENT)
    book(elsewhere, start, patient=busy, now=now)
    later = hold.hold_expires_at + timedelta(minutes=1)

    with pytest.raises(PatientOverlap):
        book(visit_type, start, patient=busy, now=later)

    hold.refresh_from_db()
    assert hold.status == Status.HELD
    assert not hold.transitions.filter(to_status=Status.RELEASED).exists()


@concurrent
def test_live_hold_refuses_others_but_its_patient_can_book_it():
    doctor, visit_type = bookable_doctor()
    holder = make_user(Role.PATIENT)
    others = [make_user(Role.PATIENT) for _ in range(3)]
    start = at(days_ahead(3), "10:20")
    # A waiting-list offer: booking it is accepting it (a payment hold waits for its payment).
    hold = services.hold_create(
        patient=holder, visit_type=visit_type, start=start, kind=HoldKind.WAITLIST_OFFER
    )

    calls = [post_booking(p, visit_type, start) for p in others]
    calls.append(post_booking(holder, visit_type, start))
    results = run_together(calls)

    statuses(results)
    *refused, held = results
    for status, body in refused:
        assert status == 409, body
        assert body["code"] == "slot_unavailable"
        assert isinstance(body.get("alternatives"), list)
    assert held[0] == 201, held
    assert held[1]["id"] == hold.reference

    hold.refresh_from_db()
    assert hold.status == Status.REQUESTED
    assert hold.hold_expires_at is None and hold.hold_kind == ""
    assert active(doctor=doctor, start=start).get().pk == hold.pk
    assert list(hold.transitions.values_list("from_status", "to_status")) == [
        ("", Status.HELD),
        (Status.HELD, Status.REQUESTED),
    ]
