"""Benchmark of the staff appointments list and the patient's My appointments page on gunicorn.

    .venv/bin/python -m benchmarks.pages [--connections 8] [--seconds 20] [--reuse]

What it does (PostgreSQL only):
1. drops and re-creates its own database (`clinic_bench_pages` on the local server, or the one
   named by BENCH_DATABASE_URL — its name must start with "clinic_bench"), migrates it and loads
   the demo clinic (`seed_demo`: pages, doctors, portraits), then `--doctors` more doctors,
   `--patients` patients and `--appointments` appointments on a non-overlapping grid (loaded in
   bulk), and one patient of the portal with `--upcoming` upcoming and `--past` past visits;
2. creates signed-in sessions beforehand — one per client connection, for a receptionist and
   for that patient — straight in the session store (a password check costs ~230 ms and is not
   what is measured; the session is a finished sign-in, second step included);
3. starts gunicorn (`benchmarks.serve.gunicorn`: `clinic_site.settings.benchmark`, 2 sync
   workers, `--preload` as in production) and, per page, has `--connections` threads GET it
   as fast as the server answers: `--warmup` requests, then `--seconds` timed; prints req/s,
   p50/p95/p99, statuses, CPU per request of gunicorn and PostgreSQL, the load average, and a
   markdown row per page with the target met or not.

Pages: the dashboard's `/admin/clinic/appointments/` (a receptionist, the default first page:
25 rows of all appointments), the portal's `/portal/appointments/` (upcoming) and its history
tab (`?tab=history`, 20 a page).

`--profile N` renders the staff list N more times in-process (Django's test client, the same
settings) under pyinstrument and prints where the time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import os
import secrets
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.booking import CpuSampler, percentile
from benchmarks.common import database_name, met, python_speed, reset_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_pages"
MEDIA_ROOT = ROOT / "var" / "bench-pages" / "media"
STATIC_ROOT = ROOT / "var" / "bench-pages" / "static"
ZONE = "Europe/London"
SECRET_KEY = secrets.token_urlsafe(64)
BACKEND = "clinic_site.accounts.backends.EmailOrNationalIdBackend"
PORTAL_EMAIL = "portal.patient@bench.test"
DESK_EMAIL = "desk@bench.test"

STAFF_LIST = "/admin/clinic/appointments/"
PORTAL_LIST = "/portal/appointments/"
PORTAL_HISTORY = "/portal/appointments/?tab=history"

# Targets (issue 11; docs/performance.md), req/s with 2 sync workers.
TARGETS = {STAFF_LIST: 100, PORTAL_LIST: 200}


def server_env() -> dict[str, str]:
    """What this process and the server share: settings, secret key (sessions), zone, media."""
    return {
        "DJANGO_SETTINGS_MODULE": "clinic_site.settings.benchmark",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "CLINIC_TIME_ZONE": ZONE,
        "DJANGO_MEDIA_ROOT": str(MEDIA_ROOT),
        "DJANGO_STATIC_ROOT": str(STATIC_ROOT),
    }


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.update(server_env())
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- The clinic -------------------------------------------------------------------------------

GRID_START = dt.time(8, 0)
GRID_SLOTS = 12  # 08:00 … 15:20 every 40 minutes (30-minute visits, 5 + 5 minute buffers)


def _row(n, *, doctor, patient, visit_type, start, status, created):
    from booking.models import Appointment

    end = start + dt.timedelta(minutes=visit_type.duration_minutes)
    buffer = dt.timedelta(minutes=5)
    stamps = {}
    if status in ("CONFIRMED", "CHECKED_IN", "COMPLETED", "NO_SHOW"):
        stamps["confirmed_at"] = created
    if status == "COMPLETED":
        stamps["checked_in_at"] = start - dt.timedelta(minutes=10)
        stamps["completed_at"] = end
    if status == "CANCELLED":
        stamps["cancelled_at"] = created + dt.timedelta(hours=1)
    if status == "NO_SHOW":
        stamps["no_show_at"] = end
    return Appointment(
        reference=f"BP{n:08d}",
        doctor=doctor,
        patient=patient,
        visit_type=visit_type,
        start=start,
        end=end,
        buffer_before=buffer,
        buffer_after=buffer,
        blocked_start=start - buffer,
        blocked_end=end + buffer,
        status=status,
        price=visit_type.price,
        created_at=created,
        requested_at=created,
        reason="Benchmark visit",
        **stamps,
    )


def _status(rng, future: bool) -> str:
    r = rng.random()
    if future:
        return "CONFIRMED" if r < 0.7 else "REQUESTED" if r < 0.85 else "CANCELLED"
    return "COMPLETED" if r < 0.75 else "CANCELLED" if r < 0.9 else "NO_SHOW"


def build(args) -> None:
    """The demo clinic, then the bench doctors, patients and appointments (see the docstring)."""
    import random

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.utils import timezone

    from booking.models import Appointment
    from clinic_site.accounts.models import PatientProfile, User
    from clinic_site.accounts.roles import Role
    from clinic_site.policies import clinic_tz
    from doctors.models import Doctor, VisitType, WeeklyWindow

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    rng = random.Random(11)
    doctors = Doctor.objects.bulk_create(
        Doctor(name=f"Dr Bench {n:02d}", slug=f"bench-{n:02d}") for n in range(args.doctors)
    )
    visit_types = VisitType.objects.bulk_create(
        VisitType(doctor=d, name="Consultation", duration_minutes=30, price=40) for d in doctors
    )
    WeeklyWindow.objects.bulk_create(
        WeeklyWindow(doctor=d, weekday=w, start=dt.time(8), end=dt.time(16))
        for d in doctors
        for w in range(5)
    )
    unusable = make_password(None)
    now = timezone.now()
    people = [
        User(
            email=f"patient{n}@bench.test",
            full_name=f"Bench Patient {n:04d}",
            password=unusable,
            email_verified_at=now,
            activated_at=now,
        )
        for n in range(max(args.patients, args.doctors * GRID_SLOTS))
    ]
    portal = User(
        email=PORTAL_EMAIL,
        full_name="Pat Portal",
        password=unusable,
        email_verified_at=now,
        activated_at=now,
    )
    desk = User(
        email=DESK_EMAIL,
        full_name="Rita Bench",
        password=unusable,
        email_verified_at=now,
        activated_at=now,
    )
    users = User.objects.bulk_create([*people, portal, desk], batch_size=1000)
    patients, portal, desk = users[:-2], users[-2], users[-1]
    Group.objects.get(name=Role.PATIENT.group_name).user_set.add(*patients, portal)
    Group.objects.get(name=Role.RECEPTIONIST.group_name).user_set.add(desk)
    PatientProfile.objects.bulk_create(
        PatientProfile(user=u, date_of_birth=dt.date(1980 + u.pk % 30, 1 + u.pk % 12, 1))
        for u in [*patients, portal]
    )

    tz = clinic_tz()
    today = now.astimezone(tz).date()
    # Each day from a year back to 60 days ahead gets its share of the appointments on distinct
    # (doctor, grid slot) pairs, and no patient twice in a day (fewer a day than patients), so
    # the exclusion constraints stay in place.
    first, days = today - dt.timedelta(days=365), 365 + 60
    slots = [(d, s) for d in range(len(doctors)) for s in range(GRID_SLOTS)]
    rows = []
    n = 0
    for k in range(days):
        count = args.appointments * (k + 1) // days - args.appointments * k // days
        day = first + dt.timedelta(days=k)
        for d, slot in rng.sample(slots, min(count, len(slots))):
            local = dt.datetime.combine(day, GRID_START, tzinfo=tz)
            start = (local + dt.timedelta(minutes=40 * slot)).astimezone(dt.UTC)
            rows.append(
                _row(
                    n,
                    doctor=doctors[d],
                    patient=patients[n % len(patients)],
                    visit_type=visit_types[d],
                    start=start,
                    status=_status(rng, start > now),
                    created=start - dt.timedelta(days=rng.randint(1, 21)),
                )
            )
            n += 1
    # The portal's patient: evening visits (17:00, outside the grid) with doctors in turn.
    base = n
    for k in range(args.upcoming + args.past):
        offset = k + 1 if k < args.upcoming else -(k - args.upcoming + 1) * 3
        day = today + dt.timedelta(days=offset)
        start = dt.datetime.combine(day, dt.time(17), tzinfo=tz).astimezone(dt.UTC)
        future = offset > 0
        status = ("CONFIRMED" if k % 4 else "REQUESTED") if future else _status(rng, False)
        rows.append(
            _row(
                base + k,
                doctor=doctors[k % len(doctors)],
                patient=portal,
                visit_type=visit_types[k % len(doctors)],
                start=start,
                status=status,
                created=start - dt.timedelta(days=7),
            )
        )
    Appointment.objects.bulk_create(rows, batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def sessions(email: str, count: int) -> list[str]:
    """`count` finished sign-ins of `email`, as Cookie header values."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from clinic_site.accounts.models import User

    user = User.objects.get(email=email)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    cookies = []
    for _ in range(count):
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = BACKEND
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


# --- The load -----------------------------------------------------------------------------------


@dataclass
class Result:
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    wall: float = 0.0
    client_cpu: float = 0.0
    sample: str = ""

    @property
    def ok(self) -> int:
        return self.statuses[200]


def fetch(host: str, port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def load(host: str, port: int, path: str, cookies: list[str], *, seconds=None, requests=None):
    """One thread per cookie, each GETting `path` over its own connection until `seconds` have
    passed (or `requests` in all are done)."""
    result = Result()
    lock = threading.Lock()
    barrier = threading.Barrier(len(cookies) + 1)
    remaining = [requests]
    deadline = [0.0]

    def client(cookie: str) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        headers = {"Cookie": cookie, "Accept": "text/html"}
        statuses: Counter = Counter()
        latencies = []
        sample = ""
        barrier.wait()
        while True:
            if requests is not None:
                with lock:
                    if remaining[0] <= 0:
                        break
                    remaining[0] -= 1
            elif time.perf_counter() >= deadline[0]:
                break
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, body = 0, repr(exc).encode()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1
            if status != 200 and not sample:
                sample = f"{status}: {body[:200].decode(errors='replace')}"
        conn.close()
        with lock:
            result.statuses.update(statuses)
            result.latencies_ms.extend(latencies)
            result.sample = result.sample or sample

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in cookies]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + (seconds or 0)
    barrier.wait()
    cpu0, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - started
    result.client_cpu = time.process_time() - cpu0
    return result


def check_page(host: str, port: int, path: str, cookie: str, marker: bytes, rows: int) -> int:
    """The page answers 200 with the expected rows (a page of errors would measure nothing)."""
    status, body = fetch(host, port, path, cookie)
    found = body.count(marker)
    if status != 200 or found != rows:
        sys.exit(f"{path}: status {status}, {found} rows (expected {rows}):\n{body[:500]!r}")
    return len(body)


def profile(path: str, email: str, runs: int) -> None:
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.test import Client
    from pyinstrument import Profiler

    # The manifest was read before the server's collectstatic wrote it: read it again.
    staticfiles_storage.hashed_files, _ = staticfiles_storage.load_manifest()
    client = Client()
    name, key = sessions(email, 1)[0].split("=", 1)
    client.cookies[name] = key
    client.get(path)
    profiler = Profiler(interval=0.001)
    profiler.start()
    for _ in range(runs):
        response = client.get(path)
    profiler.stop()
    print(f"profile of {runs} in-process renders of {path} (last status {response.status_code}):")
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=8, help="client connections (8)")
    parser.add_argument("--seconds", type=float, default=20, help="timed seconds a page (20)")
    parser.add_argument("--warmup", type=int, default=200, help="requests before timing (200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--doctors", type=int, default=20, help="bench doctors (20)")
    parser.add_argument("--patients", type=int, default=2000, help="bench patients (2,000)")
    parser.add_argument("--appointments", type=int, default=20000, help="(20,000)")
    parser.add_argument("--upcoming", type=int, default=8, help="portal patient's upcoming (8)")
    parser.add_argument("--past", type=int, default=40, help="portal patient's past visits (40)")
    parser.add_argument("--no-preload", action="store_true", help="gunicorn without --preload")
    parser.add_argument("--reuse", action="store_true", help="skip the reset and the load")
    parser.add_argument("--pages", default="staff,portal,history", help="staff,portal,history")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile N in-process renders of each page",
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    database_name(url)
    started_all = time.perf_counter()
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{os.cpu_count()} cores; Python speed reference: sum(range(1000)) "
        f"{python_speed():.1f} µs"
    )
    started = time.perf_counter()
    if not args.reuse:
        reset_database(url)
    setup_django(url)
    from django.db import connections

    from benchmarks.serve import gunicorn

    if not args.reuse:
        build(args)
        print(
            f"set-up (database, migrations, demo clinic, {args.doctors} doctors, "
            f"{args.patients:,} patients, {args.appointments:,} appointments, the portal's "
            f"patient with {args.upcoming} upcoming and {args.past} past): "
            f"{time.perf_counter() - started:.1f} s"
        )
    desk_cookies = sessions(DESK_EMAIL, args.connections)
    portal_cookies = sessions(PORTAL_EMAIL, args.connections)
    from booking.models import Appointment

    total = Appointment.objects.count()
    connections.close_all()

    chosen = {
        "staff": (STAFF_LIST, desk_cookies, b'class="cp-reference"', 25),
        "portal": (PORTAL_LIST, portal_cookies, b'<li class="appointment-row', args.upcoming),
        "history": (PORTAL_HISTORY, portal_cookies, b'<li class="appointment-row', 20),
    }
    wanted = [chosen[name] for name in args.pages.split(",")]
    preload = not args.no_preload
    print(
        f"server: gunicorn, {args.workers} sync workers{', --preload' if preload else ''}, "
        f"clinic_site.settings.benchmark; {args.connections} client connections; "
        f"{total:,} appointments in the database"
    )
    rows = []
    with gunicorn(
        database_url=url,
        workers=args.workers,
        secret_key=SECRET_KEY,
        env=server_env(),
        static_root=STATIC_ROOT,
        preload=preload,
    ) as server:

        def server_process(pid: int, ppid: int, cmdline: str) -> bool:
            return pid == server.pid or ppid == server.pid

        db_name = database_name(url)

        def database_backend(pid: int, ppid: int, cmdline: str) -> bool:
            return cmdline.startswith("postgres: ") and f" {db_name} " in cmdline

        for path, cookies, marker, expected in wanted:
            size = check_page(server.host, server.port, path, cookies[0], marker, expected)
            warm = load(server.host, server.port, path, cookies, requests=args.warmup)
            load_start = os.getloadavg()[0]
            with CpuSampler(server_process) as cpu, CpuSampler(database_backend) as db:
                result = load(server.host, server.port, path, cookies, seconds=args.seconds)
            load_end = os.getloadavg()[0]
            done = len(result.latencies_ms)
            rate = result.ok / result.wall
            p50, p95, p99 = (percentile(result.latencies_ms, f) for f in (0.5, 0.95, 0.99))
            per = 1000 / max(1, done)
            print(
                f"\n{path}: {size:,} bytes, {expected} rows; warm-up {dict(warm.statuses)}\n"
                f"  {done:,} requests in {result.wall:.1f} s -> {rate:.1f} req/s; p50 "
                f"{p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, mean "
                f"{statistics.mean(result.latencies_ms):.1f} ms; statuses "
                f"{dict(result.statuses)}{'; e.g. ' + result.sample if result.sample else ''}\n"
                f"  CPU per request: gunicorn {cpu.seconds * per:.1f} ms, PostgreSQL "
                f"{db.seconds * per:.1f} ms, client {result.client_cpu * per:.1f} ms; "
                f"load average {load_start:.2f} -> {load_end:.2f}"
            )
            rows.append((path, rate, p50, p95, result, load_start, load_end))
        tracebacks = server.log.read_text().count("Traceback")

    print(f"\ntracebacks in the server log: {tracebacks}\n")
    print("| page | connections | req/s | p50 | p95 | non-200 | load average | target |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for path, rate, p50, p95, result, load_start, load_end in rows:
        target = TARGETS.get(path)
        verdict = f"≥ {target}/s: {met(rate >= target)}" if target else "—"
        bad = sum(n for s, n in result.statuses.items() if s != 200)
        print(
            f"| `{path}` | {args.connections} | {rate:.0f} | {p50:.1f} ms | {p95:.1f} ms | "
            f"{bad} | {load_start:.2f} → {load_end:.2f} | {verdict} |"
        )
    print(
        f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"total {time.perf_counter() - started_all:.0f} s"
    )
    if args.profile:
        emails = {STAFF_LIST: DESK_EMAIL, PORTAL_LIST: PORTAL_EMAIL, PORTAL_HISTORY: PORTAL_EMAIL}
        for path, *_ in wanted:
            print()
            profile(path, emails[path], args.profile)


if __name__ == "__main__":
    main()
