"""Benchmark of the doctors list with next available times (PostgreSQL only).

    .venv/bin/python -m benchmarks.doctors [--doctors 40] [--runs 30] [--http-seconds 10]

What it does, every time from scratch:
1. drops and re-creates its own database (`clinic_bench_doctors` on the local server, or the one
   named by BENCH_DATABASE_URL — its name must start with "clinic_bench"), migrates it;
2. creates `--doctors` doctors (two specialties each out of five, no photo), each with two
   windows every day (08:00-12:00 and 13:00-17:00, Europe/London), two visit types (30 and
   15 minutes; the clinic's 5 + 5 minute buffers) and one patient per doctor;
3. step "nothing booked": measures, after three warm-ups, (a) what `GET /api/v1/doctors/` computes
   for its page of 20 — `booking.selectors.next_available` for the page's visit types, median of
   `--runs` with its query count; (b) the endpoint through Django's test client (median, query
   count); (c) with `--http-seconds N` (0: skip) the endpoint through gunicorn (`--workers` sync
   workers, the benchmark settings) with `wrk -c 8` for N seconds;
4. step "booked solid after tomorrow": loads, with `INSERT … SELECT FROM generate_series`, an
   appointment on every 40-minute grid slot of every doctor from the day after tomorrow to the
   end of the 60-day horizon (12 a day: 28,320 for 40 doctors over 59 days), so each doctor's
   first free slot is the same as before but the horizon holds many future bookings; VACUUM
   ANALYZE; measures (a)-(c) again;
5. prints both steps as markdown rows, the ratio booked ÷ nothing booked (the cost must not grow
   with future bookings beyond the first free slot) and the targets met or not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import database_name, met, python_speed, reset_database
from benchmarks.slots import HttpFigures, print_http, run_wrk

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_doctors"
ZONE = "Europe/London"
PAGE = 20
HTTP_TARGET_RPS = 200  # issue 11
GROWTH_TARGET = 1.5

# Issue 11's starting point, measured with this script on the code before the day-by-day search
# (2026-12-04, load average 4.2 -> 4.5), printed beside each run.
BEFORE = {
    "next_available, nothing booked / booked solid": "45.4 / 228.1 ms",
    "endpoint in process, nothing booked / booked solid": "57.5 / 146.2 ms",
    "GET /api/v1/doctors/ over HTTP, nothing booked / booked solid": "6 / 3 req/s",
}


def setup_django(url: str) -> None:
    database_name(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_site.settings.benchmark")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ["CLINIC_TIME_ZONE"] = ZONE
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_clinic(doctors: int) -> None:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from clinic_site.accounts.models import User
    from clinic_site.accounts.roles import Role
    from doctors.models import Doctor, Specialty, VisitType, WeeklyWindow

    specialties = [
        Specialty.objects.create(name=f"Specialty {n}", slug=f"specialty-{n}") for n in range(5)
    ]
    for n in range(doctors):
        doctor = Doctor.objects.create(name=f"Dr Bench {n:03}", slug=f"bench-{n:03}")
        doctor.specialties.add(specialties[n % 5], specialties[(n + 1) % 5])
        VisitType.objects.create(doctor=doctor, name="Consultation", duration_minutes=30, price=40)
        VisitType.objects.create(doctor=doctor, name="Follow-up", duration_minutes=15, price=25)
        WeeklyWindow.objects.bulk_create(
            WeeklyWindow(doctor=doctor, weekday=w, start=start, end=end)
            for w in range(7)
            for start, end in ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))
        )
    unusable = make_password(None)
    patients = User.objects.bulk_create(
        User(email=f"patient{n}@bench.test", full_name=f"Patient {n}", password=unusable)
        for n in range(doctors)
    )
    Group.objects.get(name=Role.PATIENT.group_name).user_set.add(*patients)


# Doctor k (by name order) books patient k on every grid slot s (0-11) of every local day in
# [first_day, last_day]: 08:00 + (s mod 6)·40 min, + 5 hours for the afternoon (s ≥ 6).
INSERT = """
INSERT INTO booking_appointment (
    reference, doctor_id, patient_id, visit_type_id, start, "end",
    buffer_before, buffer_after, blocked_start, blocked_end, status, reason, hold_kind,
    payment_status, price, walk_in, reschedule_count, meeting_token, created_at,
    confirmed_at, cancellation_reason, updated_at, idempotency_key
)
SELECT
    'D' || lpad(d.k::text, 4, '0') || lpad(g.day::text, 3, '0') || lpad(s.slot::text, 2, '0'),
    d.id, p.id, v.id, t.start, t.start + interval '30 minutes',
    interval '5 minutes', interval '5 minutes',
    t.start - interval '5 minutes', t.start + interval '35 minutes',
    'CONFIRMED', '', '', 'at_desk', 40, false, 0, '',
    t.start - interval '3 days', t.start - interval '3 days', '', now(), ''
FROM (SELECT id, row_number() OVER (ORDER BY name) AS k FROM doctors_doctor) AS d
JOIN (
    SELECT id, row_number() OVER (ORDER BY id) AS k FROM accounts_user
    WHERE email LIKE '%%@bench.test'
) AS p ON p.k = d.k
JOIN doctors_visittype v ON v.doctor_id = d.id AND v.duration_minutes = 30
CROSS JOIN generate_series(%(first)s, %(last)s) AS g(day)
CROSS JOIN generate_series(0, 11) AS s(slot)
CROSS JOIN LATERAL (
    SELECT (
        (%(today)s::date + g.day + interval '8 hours' + (s.slot %% 6) * interval '40 minutes'
         + (s.slot / 6) * interval '5 hours') AT TIME ZONE %(zone)s
    ) AS start
) AS t
"""


def book_solid(first: int, last: int) -> int:
    from django.db import connection
    from django.utils import timezone

    from clinic_site.policies import clinic_tz

    today = timezone.now().astimezone(clinic_tz()).date()
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT,
            {"first": first, "last": last, "today": today.isoformat(), "zone": ZONE},
        )
        count = cursor.rowcount
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE booking_appointment")
    return count


@dataclass
class Figures:
    label: str
    appointments: int
    compute_ms: list[float]
    compute_queries: int
    endpoint_ms: list[float]
    endpoint_queries: int
    first_available: str | None
    http: HttpFigures | None


def measure(label: str, runs: int, url: str, http_seconds: int, workers: int) -> Figures:
    from django.db import connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from benchmarks.serve import gunicorn
    from booking.models import Appointment
    from booking.selectors import next_available
    from clinic_site.policies import get_policies
    from doctors.selectors import doctor_list

    def compute():
        page = list(doctor_list()[:PAGE])
        visit_types = [vt for doctor in page for vt in doctor.active_visit_types]
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            found = next_available(visit_types, policies=get_policies())
            elapsed = time.perf_counter() - started
        return elapsed * 1000, len(queries.captured_queries), found

    for _ in range(3):
        compute()
    compute_ms = []
    for _ in range(runs):
        elapsed, queries, found = compute()
        compute_ms.append(elapsed)
    assert all(found.values()), "every visit type should have a next available time"

    client = Client()
    for _ in range(3):
        response = client.get("/api/v1/doctors/")
        assert response.status_code == 200, response.content[:300]
    endpoint_ms = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/api/v1/doctors/")
        endpoint_ms.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/doctors/")
    body = response.json()
    assert len(body["results"]) == PAGE

    http = None
    if http_seconds:
        connections.close_all()
        with gunicorn(database_url=url, workers=workers) as server:
            http = run_wrk(server.url + "/api/v1/doctors/", seconds=http_seconds)
    return Figures(
        label=label,
        appointments=Appointment.objects.count(),
        compute_ms=compute_ms,
        compute_queries=queries,
        endpoint_ms=endpoint_ms,
        endpoint_queries=len(captured.captured_queries),
        first_available=body["results"][0]["next_available"],
        http=http,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doctors", type=int, default=40, help="doctors (default 40)")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per figure (default 30)")
    parser.add_argument(
        "--http-seconds", type=int, default=10, help="wrk seconds per step (default 10; 0: skip)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    started_all = time.perf_counter()
    reset_database(url)
    setup_django(url)
    from django.conf import settings
    from django.core.management import call_command

    print(
        f"settings {settings.SETTINGS_MODULE}, time zone {settings.TIME_ZONE}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores, "
        f"Python speed reference: sum(range(1000)) {python_speed():.1f} µs"
    )
    call_command("migrate", verbosity=0)
    create_clinic(args.doctors)
    print(f"set-up: {time.perf_counter() - started_all:.1f} s")
    steps = [measure("nothing booked", args.runs, url, args.http_seconds, args.workers)]
    started = time.perf_counter()
    horizon = 60
    loaded = book_solid(2, horizon)
    print(
        f"booked {loaded:,} appointments (+ VACUUM ANALYZE): {time.perf_counter() - started:.1f} s"
    )
    steps.append(
        measure("booked solid after tomorrow", args.runs, url, args.http_seconds, args.workers)
    )

    print()
    print(
        "| step | appointments | next_available for a page of 20 (40 visit types), median "
        "| its queries | endpoint in process, median | endpoint queries | gunicorn + wrk -c 8 "
        "| p50 / p99 | first doctor's next available |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for f in steps:
        http = f"{f.http.rps:,.0f} req/s" if f.http else "—"
        lat = f"{f.http.p50_ms:.1f} / {f.http.p99_ms:.1f} ms" if f.http else "—"
        print(
            f"| {f.label} | {f.appointments:,} | {statistics.median(f.compute_ms):.2f} ms "
            f"| {f.compute_queries} | {statistics.median(f.endpoint_ms):.1f} ms "
            f"| {f.endpoint_queries} | {http} | {lat} | {f.first_available} |"
        )
    print()
    rows = [
        print_http(f"`GET /api/v1/doctors/` ({f.label})", f.http, HTTP_TARGET_RPS)
        for f in steps
        if f.http
    ]
    print()
    print("| target | figure | |")
    print("|---|---|---|")
    print("\n".join(rows))
    empty, booked = steps
    ratio = statistics.median(booked.compute_ms) / statistics.median(empty.compute_ms)
    print(
        f"| next_available: booked solid ÷ nothing booked within {GROWTH_TARGET}× | {ratio:.2f}× "
        f"| {met(ratio <= GROWTH_TARGET)} |"
    )
    ratio = statistics.median(booked.endpoint_ms) / statistics.median(empty.endpoint_ms)
    print(
        f"| endpoint: booked solid ÷ nothing booked within {GROWTH_TARGET}× | {ratio:.2f}× "
        f"| {met(ratio <= GROWTH_TARGET)} |"
    )
    print("\nBefore the day-by-day search (issue 11, recorded):")
    for what, figure in BEFORE.items():
        print(f"  {what}: {figure}")
    print(
        f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"total {time.perf_counter() - started_all:.0f} s"
    )


if __name__ == "__main__":
    main()
