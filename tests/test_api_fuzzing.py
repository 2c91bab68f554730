"""The API fuzzing gate: Schemathesis sends generated requests, valid and invalid, to every
operation of the OpenAPI document served at /api/v1/schema/, as a visitor, a patient and a
receptionist, and every answer must

- never be a server error (`not_a_server_error`),
- carry a status code the schema documents for that operation (`status_code_conformance`),
- have a documented content type (`content_type_conformance`),
- match the documented body schema of that status (`response_schema_conformance`) and its
  documented headers (`response_headers_conformance`),
- refuse a request that lacks a required header (`missing_required_header`),
- answer a method the path does not document with 405 and an `Allow` header
  (`unsupported_method`), and list exactly the documented methods in `Allow`
  (`allow_header_conformance`),
- refuse the request without credentials, or with made-up ones, when it succeeded with them
  (`ignored_auth`).

Schemathesis's other checks are left out because they cannot hold here by design:
`positive_data_acceptance` (a request valid by the schema is still refused by the clinic's rules:
another patient's appointment is a 404, a taken slot a 409), `negative_data_rejection` (the
steering below swaps generated values, invalid ones too, for the world's valid ones; and DRF
reads a number as text, `0`/`1` as a boolean, an empty optional query parameter as absent, a
bad `page_size` as the default), the stateful checks (`use_after_free`,
`ensure_resource_availability`: the stateful phase is off) and `object_level_authorization`
(it needs identities configured in Schemathesis; the gate passes its own tokens as headers, and
who sees whose objects is tests/test_permission_matrix.py's job).

Run it alone with `./scripts/test -m fuzz` (PostgreSQL: set DATABASE_URL); it is also part of
the normal suite, and skipped with a notice on SQLite. On the 2-core machines it takes about
two minutes: 108 tests (36 operations for 3 callers; request bodies are JSON only).

The world is built once for the module (as in tests/test_permission_matrix.py): Dr Ada Hart and
Dr Ben Okafor with weekly hours and visit types, a patient with a completed visit (finalised
record), a checked-in, a confirmed and a requested appointment, another patient with one of
their own, and a receptionist. Tokens come from the API's own `auth/token/` endpoint. Generated
path parameters, and the ids, dates, times and credentials inside bodies and query strings, are
often swapped for ones of this world (a free slot, a real sign-in), so requests reach the code
behind the 404 of an unknown id and the 400 of an impossible value.

No check is switched off for any operation: every finding so far was a fault of the API or of
its schema, and was fixed there.

Each generated request runs in a savepoint that is rolled back afterwards, so examples do not see
each other's writes (nor django-axes' failed sign-ins). The throttles' rates are raised for the
module (see `world`), so they never answer 429 to the gate's own request rate.

The run is bounded and reproducible: a fixed seed, derandomised generation, no example
database, `MAX_EXAMPLES` per operation and role in the fuzzing phase, plus the examples and
coverage phases.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from functools import partial
from types import SimpleNamespace

import pytest
import schemathesis
import time_machine
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from booking.selectors import slot_search
from clinic_site.accounts.roles import Role
from doctors import services as doctor_services
from doctors.models import ExceptionKind
from tests.factories import VisitTypeFactory, at, book, bookable_doctor, completed_visit, make_user
from tests.factories.accounts import PASSWORD
from tests.factories.records import visit_in_progress

pytestmark = [pytest.mark.fuzz, pytest.mark.postgres, pytest.mark.django_db]

TODAY = dt.date(2031, 3, 3)  # a Monday
YESTERDAY = TODAY - dt.timedelta(days=1)
TOMORROW = TODAY + dt.timedelta(days=1)
LATER = TODAY + dt.timedelta(days=2)
NOW = at(TODAY, "09:50")

ROLES = ("anonymous", "patient", "receptionist")
MAX_EXAMPLES = 25
SEED = 20310303
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    ignored_auth,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        # Stateful runs chain calls across operations; this gate fuzzes each operation alone.
        "phases": {"stateful": {"enabled": False}},
    }
)

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", WSGIHandler(), config=CONFIG)


RAISED_RATES = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "1000000/minute")
UNTHROTTLED = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RAISED_RATES}

# --- The world ----------------------------------------------------------------------------------

# Values of the world that generated requests use, by field name; and, by operation, bodies whose
# fields only make sense together (a free slot, a sign-in). Both are filled in by `world`.
POOLS: dict[str, list] = {}
GROUPS: dict[str, list[dict]] = {}


def build_world() -> SimpleNamespace:
    doctor, visit_type = bookable_doctor(name="Dr Ada Hart", slug="ada-hart")
    video = VisitTypeFactory(doctor=doctor, name="Video call", mode="video", duration_minutes=20)
    other_doctor, other_visit_type = bookable_doctor(name="Dr Ben Okafor", slug="ben-okafor")
    receptionist = make_user(Role.RECEPTIONIST, full_name="Rita Desk")
    patient = make_user(Role.PATIENT, full_name="Petra Patientson")
    other_patient = make_user(Role.PATIENT, full_name="Paul Otherson")
    day_before = at(YESTERDAY, "10:00") - dt.timedelta(days=1)

    completed = completed_visit(visit_type, at(YESTERDAY, "09:00"), patient=patient)
    checked_in = visit_in_progress(visit_type, at(TODAY, "09:00"), patient=patient)
    confirmed = book(
        visit_type, at(TODAY, "12:20"), patient=patient, actor=receptionist, now=day_before
    )
    requested = book(video, at(TOMORROW, "09:00"), patient=patient, now=day_before)
    others = book(other_visit_type, at(TOMORROW, "09:00"), patient=other_patient, now=day_before)
    day_off = doctor_services.schedule_exception_add(
        doctor=doctor,
        kind=ExceptionKind.DAY_OFF,
        actor=receptionist,
        date_from=TODAY + dt.timedelta(days=20),
        date_to=TODAY + dt.timedelta(days=20),
        reason="Conference",
    )
    appointments = [completed, checked_in, confirmed, requested, others]
    free = {
        vt: [slot.start for slot in slot_search(visit_type=vt, date_from=LATER, date_to=LATER)][:3]
        for vt in (visit_type, video, other_visit_type)
    }
    first_login = _sign_in(patient)
    POOLS.update(
        reference=[a.reference for a in appointments],
        doctor=[doctor.pk, other_doctor.pk],
        patient=[patient.pk, other_patient.pk],
        visit_type=[visit_type.pk, video.pk, other_visit_type.pk],
        exception_id=[day_off.pk],
        start=[start.isoformat() for starts in free.values() for start in starts],
        date=[d.isoformat() for d in (YESTERDAY, TODAY, TOMORROW, LATER)],
        order=[[checked_in.reference], [a.reference for a in appointments]],
        email=[patient.email, other_patient.email, "new.patient@example.test"],
        password=[PASSWORD],
        phone=["+44 20 7946 0000"],
        date_of_birth=["1990-05-17"],
        refresh=[first_login["refresh"]],
    )
    slots = [
        {"doctor": vt.doctor_id, "visit_type": vt.pk, "start": start.isoformat(), **for_whom}
        for vt, starts in free.items()
        for start in starts
        for for_whom in ({}, {"patient": patient.pk})  # the front desk names the patient
    ]
    GROUPS.update(
        {
            "POST /api/v1/appointments/": slots,
            "POST /api/v1/auth/token/": [
                {"email": user.email, "password": PASSWORD} for user in (patient, receptionist)
            ],
            "POST /api/v1/auth/register/": [
                {
                    "email": "new.patient@example.test",
                    "password": PASSWORD,
                    "full_name": "Nora New",
                    "phone": "+44 20 7946 0001",
                    "date_of_birth": "1990-05-17",
                }
            ],
            "POST /api/v1/queue/reorder/": [
                {"doctor": doctor.pk, "date": str(TODAY), "order": [checked_in.reference]}
            ],
            "POST /api/v1/doctors/{id}/exceptions/": [
                {"kind": "day_off", "date_from": str(LATER), "date_to": str(LATER)},
                {"kind": "extra_hours", "date": str(LATER), "start": "14:00", "end": "16:00"},
            ],
        }
    )
    return SimpleNamespace(
        headers={
            "anonymous": {},
            "patient": _bearer(first_login),
            "receptionist": _bearer(_sign_in(receptionist)),
        },
    )


def _sign_in(user) -> dict[str, str]:
    """A JWT pair from the API's own token endpoint."""
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access']}"}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once, inside a transaction that is rolled back after the module's last test.

    The throttles' rates are raised for the module: the gate sends thousands of requests a
    minute, and a 429 for its own pace would hide what the operation does. (`THROTTLE_RATES` is
    read into the throttle class at import, so the class attribute is patched as well as the
    setting.)
    """
    media = tmp_path_factory.getbasetemp() / "media"  # where tests/conftest.py puts it
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, REST_FRAMEWORK=UNTHROTTLED),
        pytest.MonkeyPatch.context() as patch,
        time_machine.travel(NOW, tick=False),
    ):
        patch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RAISED_RATES)
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            POOLS.clear()
            GROUPS.clear()


@contextmanager
def one_example():
    """One generated request: in a savepoint rolled back afterwards, and without Django's
    `close_old_connections` on the request signals.

    Requests go through Django's WSGI handler, which closes "old" connections at the start and
    end of each request; inside the test transaction that would drop the connection, so the
    handlers are disconnected around the call, as Django's test client does for its requests.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with transaction.atomic():
            try:
                yield
            finally:
                transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


# --- Steering generated values towards the world ------------------------------------------------

# Path parameters by name: `{id}` is a doctor under doctors/ and a patient under patients/.
_PATH_POOLS = {"reference": "reference", "exception_id": "exception_id"}
# Body and query fields that name things of the world.
_FIELD_POOLS = {
    "doctor": "doctor",
    "patient": "patient",
    "visit_type": "visit_type",
    "start": "start",
    "date": "date",
    "date_from": "date",
    "date_to": "date",
    "order": "order",
    "email": "email",
    "password": "password",
    "phone": "phone",
    "date_of_birth": "date_of_birth",
    "refresh": "refresh",
}


def _maybe(value, pool: list):
    """One of the world's values, or the generated one (Hypothesis chooses, and shrinks towards
    the world's)."""
    if not pool:
        return st.just(value)
    return st.one_of(st.sampled_from(pool), st.just(value))


def _with_group(values: dict, group: dict) -> dict:
    return {**values, **group}


def _steer(values, pools_by_name: dict[str, str], groups: list[dict] | None = None):
    """A strategy for `values` (generated parameters or body fields, as a dict) with some fields
    swapped for the world's: one by one from the pools, or several at once from `groups`."""
    if not isinstance(values, dict) or not POOLS:
        return st.just(values)
    fields = st.fixed_dictionaries(
        {
            name: _maybe(value, POOLS.get(pools_by_name.get(name, ""), []))
            for name, value in values.items()
        }
    )
    if not groups:
        return fields
    return fields.flatmap(
        lambda steered: st.one_of(
            st.sampled_from(groups).map(partial(_with_group, steered)), st.just(steered)
        )
    )


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    path = context.operation.path if context.operation is not None else ""
    pools = {**_PATH_POOLS, "id": "patient" if "/patients/" in path else "doctor"}
    return _steer(path_parameters, pools)


@schema.hook
def flatmap_body(context, body):
    label = context.operation.label if context.operation is not None else ""
    return _steer(body, _FIELD_POOLS, GROUPS.get(label))


@schema.hook
def flatmap_query(context, query):
    return _steer(query, _FIELD_POOLS)


# --- The gate -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
def test_every_operation_conforms_to_its_schema(case, role, world):
    with one_example():
        case.call_and_validate(headers=world.headers[role], checks=CHECKS)
