"""Benchmark of slot search for one busy doctor (PostgreSQL only).

    .venv/bin/python -m benchmarks.slots [--sizes 1500,15000,150000] [--runs 30] [--reuse]

What it does, every time from scratch:
1. drops and re-creates its own database (`clinic_bench_slots` on the local server, or the one
   named by BENCH_DATABASE_URL — its name must start with "clinic_bench"; nothing else is
   touched), migrates it;
2. creates one doctor with two windows a day, every day (08:00-12:00 and 13:00-17:00 clinic time),
   one 30-minute visit type (5 + 5 minute buffers from the clinic policy, so a 40-minute grid of
   12 candidate slots a day) and 200 patients through the ORM;
3. loads the doctor's appointments with `INSERT … SELECT FROM generate_series`, on the same grid
   (so they never overlap and the exclusion constraints stay in place):
   - in the measured range (today + 59 days), every third grid slot: 240 appointments, 70 %
     confirmed, 15 % requested, 15 % cancelled — busy times for the rules to work on;
   - everything else outside it: by default two thirds in the past (ending two days ago:
     completed, cancelled, no-show) and one third beyond the range (from today + 62 days:
     confirmed, cancelled) — `--beyond-every K` sends every K-th after the range, 0 none;
     then VACUUM ANALYZE;
4. measures (a) the computation the slots API view makes for 60 days — `get_policies()` and
   `booking.selectors.slot_search` (queries + `doctors.rules`) — as the median of `--runs` calls
   after a warm-up, with its query count; and (b) `GET /api/v1/doctors/{id}/slots/` for 14 and 60
   days through Django's test client (median of `--runs`, with its query count);
5. grows the appointments outside the range to the next size of `--sizes` and measures again,
   then prints the figures as markdown table rows with the targets met or not;
6. times the pure rules alone (`doctors.rules.offered_slots`, no database) on the same schedule
   and busy times for 60 days, and for 60 days that include the spring-forward day, as µs per
   candidate slot (best of 5 runs of 20 calls: the figure is CPU, not I/O);
7. with `--http-seconds N` (default 10; 0: skip), at the largest size: starts gunicorn
   (`benchmarks.serve.gunicorn`, `--workers` sync workers, the benchmark settings) and runs
   `wrk -c 8` for N seconds on `GET /api/v1/doctors/{id}/slots/` for one day (tomorrow), after a
   2-second warm-up: requests/s, latency percentiles, non-2xx answers and socket errors.

The settings default to `clinic_site.settings.benchmark` (production, throttles raised; a random
secret key and `testserver` as allowed host are supplied if unset), so database connections are
kept between requests as in production.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import database_name, met, python_speed, reset_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_slots"
ZONE = "Europe/London"
PATIENTS = 200
RANGE_DAYS = 60
SLOTS_PER_DAY = 12  # 08:00 … 11:20 and 13:00 … 16:20, every 40 minutes
IN_RANGE_EVERY = 3  # every third grid slot of the measured range is booked
PAST_GAP_DAYS = 2  # past appointments end before today - 1 (outside the busy-range bounds)
FUTURE_GAP_DAYS = 62  # future ones start at today + 62 (the range ends at today + 59)

# Targets (docs/performance.md).
COMPUTE_TARGET_MS = 30
QUERY_TARGET = 5
ENDPOINT_TARGET_MS = 60
GROWTH_TARGET = 1.5
COMPUTE_TARGET_10_MS = 10  # issue 11
HTTP_TARGET_RPS = 1500  # one-day slots, 8 connections, 2 sync workers (issue 11)


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


def create_clinic() -> None:
    """The doctor, the visit type, the weekly windows and the patients (through the ORM)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from clinic_site.accounts.models import User
    from clinic_site.accounts.roles import Role
    from doctors.models import Doctor, VisitType, WeeklyWindow

    doctor = Doctor.objects.create(name="Dr Busy Bench", slug="busy-bench")
    VisitType.objects.create(doctor=doctor, name="Consultation", duration_minutes=30, price=40)
    WeeklyWindow.objects.bulk_create(
        WeeklyWindow(doctor=doctor, weekday=w, start=start, end=end)
        for w in range(7)
        for start, end in ((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17)))
    )
    unusable = make_password(None)  # nobody signs in as these users
    patients = User.objects.bulk_create(
        User(email=f"patient{n}@bench.test", full_name=f"Patient {n}", password=unusable)
        for n in range(PATIENTS)
    )
    Group.objects.get(name=Role.PATIENT.group_name).user_set.add(*patients)


# One row per grid slot: `placed` gives the local date and the slot of the day (0-11) of
# appointment i, and its status. Slot s of a day starts at 08:00 + (s mod 6) * 40 min, plus 5 hours
# for the afternoon window (s >= 6).
INSERT = """
INSERT INTO booking_appointment (
    reference, doctor_id, patient_id, visit_type_id, start, "end",
    buffer_before, buffer_after, blocked_start, blocked_end, status, reason, hold_kind,
    payment_status, price, walk_in, reschedule_count, meeting_token, created_at,
    completed_at, cancelled_at, no_show_at, confirmed_at, cancellation_reason, updated_at,
    idempotency_key
)
SELECT
    'S' || lpad(g.i::text, 10, '0'),
    d.id, p.ids[1 + g.i %% %(patients)s], v.id,
    t.start, t.start + interval '30 minutes',
    interval '5 minutes', interval '5 minutes',
    t.start - interval '5 minutes', t.start + interval '35 minutes',
    s.status, '', '', 'at_desk', 40, false, 0, '',
    t.start - (1 + g.i %% 20) * interval '1 day',
    CASE WHEN s.status = 'COMPLETED' THEN t.start + interval '30 minutes' END,
    CASE WHEN s.status = 'CANCELLED' THEN t.start - interval '1 day' END,
    CASE WHEN s.status = 'NO_SHOW' THEN t.start + interval '15 minutes' END,
    CASE WHEN s.status = 'CONFIRMED' THEN t.start - interval '1 day' END,
    '', now(), ''
FROM generate_series(%(first)s, %(last)s) AS g(i)
CROSS JOIN (SELECT id FROM doctors_doctor WHERE slug = 'busy-bench') AS d
CROSS JOIN (SELECT id FROM doctors_visittype ORDER BY id LIMIT 1) AS v
CROSS JOIN (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM accounts_user u
    WHERE u.email LIKE '%%@bench.test'
) AS p
CROSS JOIN LATERAL (%(placement)s) AS placed
CROSS JOIN LATERAL (
    SELECT (
        (placed.day + interval '8 hours' + (placed.slot %% 6) * interval '40 minutes'
         + (placed.slot / 6) * interval '5 hours') AT TIME ZONE %(zone)s
    ) AS start
) AS t
CROSS JOIN LATERAL (SELECT %(status)s AS status) AS s
"""

# Appointment i (0 ≤ i < 240) of the range: grid slot 3i of today .. today + 59.
IN_RANGE_PLACEMENT = """
    SELECT %(today)s::date + (g.i * 3) / 12 AS day, (g.i * 3) %% 12 AS slot, 0 AS beyond
"""
IN_RANGE_STATUS = """
    CASE WHEN (g.i * 37) %% 100 < 70 THEN 'CONFIRMED'
         WHEN (g.i * 37) %% 100 < 85 THEN 'REQUESTED'
         ELSE 'CANCELLED' END
"""
# Appointment i ≥ 240 is the j-th outside the range, j = i - 240. With K = --beyond-every, every
# K-th one (j mod K = K - 1) goes beyond the range, on grid slot j div K counted on from
# today + 62; the others go to the past, on grid slot (j div K)(K - 1) + j mod K counted back from
# today - 2. Each grid slot is used once.
OUTSIDE_PLACEMENT = """
    SELECT
        CASE WHEN j.j %% %(k)s < %(k)s - 1
             THEN %(today)s::date - %(past_gap)s
                  - ((j.j / %(k)s) * (%(k)s - 1) + j.j %% %(k)s) / 12
             ELSE %(today)s::date + %(future_gap)s + (j.j / %(k)s) / 12 END AS day,
        CASE WHEN j.j %% %(k)s < %(k)s - 1
             THEN 11 - ((j.j / %(k)s) * (%(k)s - 1) + j.j %% %(k)s) %% 12
             ELSE (j.j / %(k)s) %% 12 END AS slot,
        CASE WHEN j.j %% %(k)s < %(k)s - 1 THEN 0 ELSE 1 END AS beyond
    FROM (SELECT g.i - %(in_range)s AS j) AS j
"""
OUTSIDE_STATUS = """
    CASE WHEN placed.beyond = 0 THEN CASE
            WHEN (g.i * 37) %% 100 < 78 THEN 'COMPLETED'
            WHEN (g.i * 37) %% 100 < 93 THEN 'CANCELLED'
            ELSE 'NO_SHOW' END
         ELSE CASE WHEN (g.i * 37) %% 100 < 85 THEN 'CONFIRMED' ELSE 'CANCELLED' END
    END
"""


def in_range_count() -> int:
    return RANGE_DAYS * SLOTS_PER_DAY // IN_RANGE_EVERY


def load_appointments(first: int, last: int, today: dt.date, beyond_every: int) -> None:
    """Insert appointments first..last (inclusive) of the sequence described above."""
    from django.db import connection

    in_range = in_range_count()
    parts = []
    if first < in_range:
        parts.append((first, min(last, in_range - 1), IN_RANGE_PLACEMENT, IN_RANGE_STATUS))
    if last >= in_range:
        parts.append((max(first, in_range), last, OUTSIDE_PLACEMENT, OUTSIDE_STATUS))
    params = {
        "patients": PATIENTS,
        "zone": ZONE,
        "today": today.isoformat(),
        "past_gap": PAST_GAP_DAYS,
        "future_gap": FUTURE_GAP_DAYS,
        "in_range": in_range,
        # 0: none beyond the range (a K larger than any j puts every one in the past)
        "k": beyond_every or 2_000_000_000,
    }
    with connection.cursor() as cursor:
        for lo, hi, placement, status in parts:
            sql = INSERT.replace("%(placement)s", placement).replace("%(status)s", status)
            cursor.execute(sql, {**params, "first": lo, "last": hi})
    connection.close()
    with connection.cursor() as cursor:  # VACUUM cannot run inside a transaction
        cursor.execute("VACUUM ANALYZE booking_appointment")


@dataclass
class Figures:
    appointments: int
    in_range: int
    slots: int
    compute_ms: list[float]
    compute_cpu_ms: list[float]
    compute_queries: int
    endpoint_ms: dict[int, list[float]]
    endpoint_queries: dict[int, int]
    slowest_sql: list[tuple[float, str]]


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def measure(runs: int) -> Figures:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from booking.models import Appointment
    from booking.selectors import slot_search
    from clinic_site.policies import clinic_tz, get_policies
    from doctors.models import Doctor, VisitType

    doctor = Doctor.objects.get(slug="busy-bench")
    today = timezone.now().astimezone(clinic_tz()).date()
    date_to = today + dt.timedelta(days=RANGE_DAYS - 1)

    def compute():
        # What SlotListView does once it has the doctor and the visit type.
        visit_type = VisitType.objects.filter(doctor=doctor, is_active=True).first()
        visit_type.doctor = doctor
        with CaptureQueriesContext(connection) as queries:
            started, cpu_started = time.perf_counter(), time.process_time()
            slots = slot_search(
                visit_type=visit_type,
                date_from=today,
                date_to=date_to,
                policies=get_policies(),
            )
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        return elapsed * 1000, cpu * 1000, slots, queries.captured_queries

    for _ in range(3):  # warm-up
        compute()
    compute_ms, compute_cpu_ms = [], []
    for _ in range(runs):
        elapsed, cpu, slots, captured = compute()
        compute_ms.append(elapsed)
        compute_cpu_ms.append(cpu)

    client = Client()
    url = f"/api/v1/doctors/{doctor.pk}/slots/"
    endpoint_ms: dict[int, list[float]] = {}
    endpoint_queries: dict[int, int] = {}
    for days in (14, RANGE_DAYS):
        params = {
            "date_from": today.isoformat(),
            "date_to": (today + dt.timedelta(days=days - 1)).isoformat(),
        }
        for _ in range(3):  # warm-up and a check
            response = client.get(url, params)
            assert response.status_code == 200, (response.status_code, response.content[:300])
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        endpoint_ms[days] = times
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        endpoint_queries[days] = len(queries.captured_queries)
        if days == RANGE_DAYS:
            assert len(response.json()) == len(slots), (len(response.json()), len(slots))

    lower = dt.datetime.combine(today, dt.time.min, tzinfo=clinic_tz())
    upper = lower + dt.timedelta(days=RANGE_DAYS)
    return Figures(
        appointments=Appointment.objects.filter(doctor=doctor).count(),
        in_range=Appointment.objects.filter(doctor=doctor, start__gte=lower, start__lt=upper)
        .exclude(status="CANCELLED")
        .count(),
        slots=len(slots),
        compute_ms=compute_ms,
        compute_cpu_ms=compute_cpu_ms,
        compute_queries=len(captured),
        endpoint_ms=endpoint_ms,
        endpoint_queries=endpoint_queries,
        slowest_sql=sorted(((float(q["time"]) * 1000, q["sql"]) for q in captured), reverse=True)[
            :3
        ],
    )


RULES_TARGET_US = 1.0  # per candidate slot (issue 11)

# Issue 11's starting point, measured with this script on the code before the fast path
# (2026-12-04, load average 4.8 -> 4.4, Python speed reference 9.2 µs), printed beside each run.
BEFORE = {
    "60-day computation, 1,500 / 150,000 appointments": "15.2 / 15.9 ms",
    "60-day endpoint, 1,500 / 150,000 appointments": "29.9 / 30.6 ms",
    "rules alone, ordinary / spring-forward range": "11.60 / 10.10 µs per candidate",
    "one-day slots over HTTP, 8 connections, 2 sync workers": "212 req/s (p50 42.4 ms)",
}


def measure_rules(zone: str = ZONE) -> list[tuple[str, int, float]]:
    """µs per candidate slot of `offered_slots` on the benchmark's schedule, without the database:
    for 60 ordinary days and for 60 days containing the spring-forward night."""
    import timeit
    from zoneinfo import ZoneInfo

    from doctors import rules

    tz = ZoneInfo(zone)
    weekly = {w: [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))] for w in range(7)}
    slot_rules = rules.SlotRules(
        duration=dt.timedelta(minutes=30),
        buffer_before=dt.timedelta(minutes=5),
        buffer_after=dt.timedelta(minutes=5),
        minimum_notice=dt.timedelta(hours=1),
        horizon_days=400,
    )
    figures = []
    for label, first in (
        ("60 ordinary days", dt.date(2027, 5, 3)),
        ("60 days across the spring-forward night", dt.date(2027, 3, 1)),
    ):
        busy = []
        for i in range(RANGE_DAYS * SLOTS_PER_DAY // IN_RANGE_EVERY):
            n = i * IN_RANGE_EVERY
            day = first + dt.timedelta(days=n // SLOTS_PER_DAY)
            slot = n % SLOTS_PER_DAY
            start = dt.datetime.combine(day, dt.time(8), tzinfo=tz) + dt.timedelta(
                minutes=40 * (slot % 6) + 300 * (slot // 6)
            )
            busy.append((start - dt.timedelta(minutes=5), start + dt.timedelta(minutes=35)))
        now = dt.datetime.combine(first, dt.time(0), tzinfo=tz)

        def call(first=first, now=now, busy=busy):
            return rules.offered_slots(
                date_from=first,
                date_to=first + dt.timedelta(days=RANGE_DAYS - 1),
                tz=tz,
                now=now,
                weekly=weekly,
                changes=[],
                busy=rules.BusyRanges(busy),
                rules=slot_rules,
            )

        assert len(call()) > 0
        best = min(timeit.repeat(call, number=20, repeat=5)) / 20
        figures.append(
            (label, RANGE_DAYS * SLOTS_PER_DAY, best * 1e6 / (RANGE_DAYS * SLOTS_PER_DAY))
        )
    return figures


@dataclass
class HttpFigures:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str
    requests: int
    load: tuple[float, float]
    command: str


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group())
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[re.search(r"[a-z]+$", text).group()]


def run_wrk(url: str, *, connections: int = 8, seconds: int = 10, threads: int = 2) -> HttpFigures:
    """`wrk` on one URL (a 2-second warm-up first, not counted). wrk is a C load generator: a
    Python client would take a good share of the 2 cores it is meant to measure."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    subprocess.run(
        [wrk, "-t", str(threads), "-c", str(connections), "-d", "2s", url],
        check=True,
        capture_output=True,
    )
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    load_before = os.getloadavg()[0]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    load_after = os.getloadavg()[0]
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return HttpFigures(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_ms(latency["50"]),
        p90_ms=_ms(latency["90"]),
        p99_ms=_ms(latency["99"]),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=errors.group(1).strip() if errors else "none",
        requests=int(re.search(r"(\d+) requests in", out).group(1)),
        load=(load_before, load_after),
        command=" ".join(["wrk", *command[1:]]),
    )


def print_http(label: str, f: HttpFigures, target: float) -> str:
    """Print the details; return the target's markdown row."""
    print(
        f"{label}: {f.rps:,.0f} req/s ({f.requests:,} requests; latency p50 {f.p50_ms:.1f} ms, "
        f"p90 {f.p90_ms:.1f} ms, p99 {f.p99_ms:.1f} ms; non-2xx {f.non_2xx}, socket errors "
        f"{f.socket_errors}; load average {f.load[0]:.2f} -> {f.load[1]:.2f}; `{f.command}`)"
    )
    return f"| {label} ≥ {target:,} req/s | {f.rps:,.0f} req/s | {met(f.rps >= target)} |"


def measure_http(url: str, seconds: int, workers: int) -> HttpFigures:
    """One-day slots of the busy doctor through gunicorn."""
    from django.db import connections
    from django.utils import timezone

    from benchmarks.serve import gunicorn
    from clinic_site.policies import clinic_tz
    from doctors.models import Doctor

    doctor = Doctor.objects.get(slug="busy-bench")
    day = (timezone.now().astimezone(clinic_tz()) + dt.timedelta(days=1)).date().isoformat()
    connections.close_all()
    with gunicorn(database_url=url, workers=workers) as server:
        path = f"/api/v1/doctors/{doctor.pk}/slots/?date_from={day}&date_to={day}"
        return run_wrk(server.url + path, seconds=seconds)


def report(all_figures: list[Figures]) -> None:
    print()
    print(
        "| appointments on the doctor | active in range | slots offered (60 d) "
        "| 60-day computation, median (p90) | its Python CPU, median | queries "
        "| endpoint 14 d, median | endpoint 60 d, median (p90) | endpoint queries |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for f in all_figures:
        compute = statistics.median(f.compute_ms)
        e14 = statistics.median(f.endpoint_ms[14])
        e60 = statistics.median(f.endpoint_ms[RANGE_DAYS])
        print(
            f"| {f.appointments:,} | {f.in_range:,} | {f.slots:,} "
            f"| {compute:.1f} ms ({p90(f.compute_ms):.1f}) "
            f"| {statistics.median(f.compute_cpu_ms):.1f} ms | {f.compute_queries} "
            f"| {e14:.1f} ms | {e60:.1f} ms ({p90(f.endpoint_ms[RANGE_DAYS]):.1f}) "
            f"| {f.endpoint_queries[RANGE_DAYS]} |"
        )
    print()
    print("| target | figure | |")
    print("|---|---|---|")
    for f in all_figures:
        compute = statistics.median(f.compute_ms)
        e60 = statistics.median(f.endpoint_ms[RANGE_DAYS])
        n = f"{f.appointments:,} appts"
        print(
            f"| 60-day computation < {COMPUTE_TARGET_10_MS} ms ({n}) | {compute:.1f} ms "
            f"| {met(compute < COMPUTE_TARGET_10_MS)} |"
        )
        print(
            f"| ≤ {QUERY_TARGET} queries ({n}) | {f.compute_queries} "
            f"| {met(f.compute_queries <= QUERY_TARGET)} |"
        )
        print(
            f"| 60-day endpoint < {ENDPOINT_TARGET_MS} ms ({n}) | {e60:.1f} ms "
            f"| {met(e60 < ENDPOINT_TARGET_MS)} |"
        )
    if len(all_figures) > 1:
        first, last = all_figures[0], all_figures[-1]
        ratio = statistics.median(last.compute_ms) / statistics.median(first.compute_ms)
        print(
            f"| no growth with appointments outside the range: {last.appointments:,} vs "
            f"{first.appointments:,}, within {GROWTH_TARGET}× | {ratio:.2f}× "
            f"| {met(ratio <= GROWTH_TARGET)} |"
        )
        ratio = statistics.median(last.endpoint_ms[RANGE_DAYS]) / statistics.median(
            first.endpoint_ms[RANGE_DAYS]
        )
        print(
            f"| same for the 60-day endpoint, within {GROWTH_TARGET}× | {ratio:.2f}× "
            f"| {met(ratio <= GROWTH_TARGET)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="1500,15000,150000",
        help="appointments on the doctor at each step, comma-separated (default 1500,15000,150000)",
    )
    parser.add_argument(
        "--beyond-every",
        type=int,
        default=3,
        metavar="K",
        help="every K-th appointment outside the range goes after it, the rest before it "
        "(default 3: a third after, two thirds before; 0: all before)",
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs per figure (default 30)")
    parser.add_argument(
        "--http-seconds",
        type=int,
        default=10,
        help="wrk run on one-day slots through gunicorn at the largest size (default 10; 0: skip)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure only, once: keep the database (and its appointments) of the last run",
    )
    args = parser.parse_args()
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    if not args.reuse and (not sizes or sizes[0] < in_range_count()):
        sys.exit(f"Each size must be at least {in_range_count()} (the appointments in range).")
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    started_all = time.perf_counter()

    if not args.reuse:
        started = time.perf_counter()
        reset_database(url)
    setup_django(url)
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from clinic_site.policies import clinic_tz

    print(
        f"settings {settings.SETTINGS_MODULE}, CONN_MAX_AGE "
        f"{settings.DATABASES['default'].get('CONN_MAX_AGE')}, time zone {settings.TIME_ZONE}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} cores, "
        f"Python speed reference: sum(range(1000)) {python_speed():.1f} µs"
    )
    all_figures = []
    if args.reuse:
        all_figures.append(measure(args.runs))
    else:
        call_command("migrate", verbosity=0)
        create_clinic()
        print(f"set-up (database, migrations, clinic): {time.perf_counter() - started:.1f} s")
        today = timezone.now().astimezone(clinic_tz()).date()
        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            load_appointments(loaded, size - 1, today, args.beyond_every)
            print(
                f"appointments {loaded:,} -> {size:,} (+ VACUUM ANALYZE): "
                f"{time.perf_counter() - started:.1f} s"
            )
            loaded = size
            figures = measure(args.runs)
            all_figures.append(figures)
            print(
                f"  {figures.appointments:,} appointments: computation median "
                f"{statistics.median(figures.compute_ms):.1f} ms, "
                f"{figures.compute_queries} queries, endpoint 60 d median "
                f"{statistics.median(figures.endpoint_ms[RANGE_DAYS]):.1f} ms; "
                f"load average {os.getloadavg()[0]:.2f}"
            )
            for ms, sql in figures.slowest_sql:
                print(f"    {ms:6.2f} ms  {sql[:120]}")
    report(all_figures)
    print()
    for label, candidates, us in measure_rules():
        print(
            f"| rules alone, {label} ({candidates} candidates), ≤ {RULES_TARGET_US} µs per "
            f"candidate | {us:.2f} µs | {met(us <= RULES_TARGET_US)} |"
        )
    if args.http_seconds:
        print()
        figures = measure_http(url, args.http_seconds, args.workers)
        print(
            print_http(
                f"one-day slots, 8 connections, gunicorn {args.workers} sync workers",
                figures,
                HTTP_TARGET_RPS,
            )
        )
    print("\nBefore the fast path (issue 11, recorded):")
    for what, figure in BEFORE.items():
        print(f"  {what}: {figure}")
    print(
        f"\n{args.runs} timed runs per figure after 3 warm-ups; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"total {time.perf_counter() - started_all:.0f} s"
    )


if __name__ == "__main__":
    main()
