"""The race gate: a hundred patients book the same slot at the same moment, over HTTP, against a
multi-worker gunicorn running the production settings — twenty rounds, twenty slots.

Every round must give exactly one 201 and ninety-nine 409 `slot_unavailable`, no 5xx, and one
appointment row for the slot. Unlike `test_concurrency.py` (threads in this process, Django's test
client), the requests here cross real sockets into separate worker processes, each with its own
database connection, as they do in production.

The server (`benchmarks/serve.py`: `clinic_site.settings.benchmark`, i.e. production with TLS
off and throttles raised) reads this test's database, so the test is transactional: the world is
committed before the server sees it, and flushed afterwards. Tokens are minted here with the
server's signing key (the test settings' SECRET_KEY, handed to the server), exactly as
`POST /api/v1/auth/token/` would issue them; the sign-in endpoint itself is not under test.

    ./scripts/test tests/booking/test_http_race.py     # needs DATABASE_URL (PostgreSQL)
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from benchmarks.serve import gunicorn
from booking.models import Appointment, Status
from clinic_site.accounts.roles import Role
from tests.factories import at, bookable_doctor, make_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.race,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PATIENTS = 100
ROUNDS = 20
WORKERS = 4
TIMEOUT = 120  # seconds for one round's requests; far beyond 100 bookings on 4 workers
APPOINTMENTS = "/api/v1/appointments/"


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    s = connection.settings_dict
    user = quote(s.get("USER") or "postgres")
    password = f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


def race(server, tokens: list[str], body: bytes) -> list[tuple[int, dict]]:
    """POST `body` once per token, all released together after every connection is open."""
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[int, dict] | BaseException | None] = [None] * len(tokens)

    def client(index: int, token: str) -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
        try:
            conn.connect()
            barrier.wait(timeout=TIMEOUT)
            conn.request(
                "POST",
                APPOINTMENTS,
                body=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
            )
            response = conn.getresponse()
            raw = response.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"raw": raw[:300].decode(errors="replace")}
            results[index] = (response.status, payload)
        except BaseException as exc:  # reported by the test thread
            results[index] = exc
        finally:
            conn.close()

    threads = [
        threading.Thread(target=client, args=(i, t), daemon=True) for i, t in enumerate(tokens)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT + 10)
    assert not [t for t in threads if t.is_alive()], "a request hung"
    failed = [r for r in results if isinstance(r, BaseException) or r is None]
    assert not failed, f"{len(failed)} request(s) did not complete: {failed[:3]}"
    return results  # type: ignore[return-value]


def test_a_hundred_simultaneous_bookings_of_one_slot_give_one_201_and_99_409s():
    doctor, visit_type = bookable_doctor()
    patients = [make_user(Role.PATIENT) for _ in range(PATIENTS)]
    tokens = [str(AccessToken.for_user(patient)) for patient in patients]
    today = timezone.localdate()
    # Twenty slots on twenty days (10:20 each), beyond the notice and inside the horizon.
    starts = [at(today + timedelta(days=2 + n), "10:20") for n in range(ROUNDS)]

    report = []
    with gunicorn(
        database_url=database_url(), workers=WORKERS, secret_key=settings.SECRET_KEY
    ) as server:
        for number, start in enumerate(starts, start=1):
            body = json.dumps(
                {"doctor": doctor.pk, "visit_type": visit_type.pk, "start": start.isoformat()}
            ).encode()
            results = race(server, tokens, body)
            counts = Counter(status for status, _ in results)
            report.append(counts)
            assert counts == {201: 1, 409: PATIENTS - 1}, f"round {number}: {dict(counts)}"
            codes = Counter(payload.get("code") for status, payload in results if status == 409)
            assert codes == {"slot_unavailable": PATIENTS - 1}, f"round {number}: {codes}"
            winner = next(payload for status, payload in results if status == 201)
            rows = Appointment.objects.filter(doctor=doctor, start=start).exclude(
                status__in=(Status.CANCELLED, Status.RELEASED)
            )
            assert [row.reference for row in rows] == [winner["id"]], f"round {number}"

    assert len(report) == ROUNDS
    assert Appointment.objects.filter(doctor=doctor).count() == ROUNDS
