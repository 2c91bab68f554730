"""Benchmark of concurrent bookings through the API on gunicorn (PostgreSQL only).

    .venv/bin/python -m benchmarks.booking [--bookings 3000] [--clients 32] [--profile 200]

What it does, every time from scratch:
1. drops and re-creates its own database (`clinic_bench_booking` on the local server, or the one
   named by BENCH_DATABASE_URL — its name must start with "clinic_bench"; nothing else is
   touched), migrates it;
2. creates `--doctors` doctors (07:00-20:00 every day, one 30-minute visit type, the clinic's
   5 + 5 minute buffers: 19 slots a day each) and one patient (verified e-mail) per booking,
   through the ORM; lists the offered slots of every doctor for the booking horizon with the
   same selector the API uses and deals them out, doctor by doctor in turn, one per booking;
3. mints each patient's access token in-process with SimpleJWT (the same claims the token
   endpoint gives: `TokenObtainSerializer.get_token`), signed with the DJANGO_SECRET_KEY handed
   to the server — the token endpoint itself is rate-limited and checks a password per call;
4. starts gunicorn (`benchmarks.serve.gunicorn`: `clinic_site.settings.benchmark`, i.e.
   production with the throttles raised; `--workers` sync workers), and has `--clients` threads,
   each with its own http.client connection (sync workers close it after every response, so it
   reconnects), POST `/api/v1/appointments/` — the normal patient path, every rule checked —
   first `--warmup` bookings, then `--bookings` timed ones; prints bookings/s, latency
   percentiles, status counts, the client's CPU and the machine's CPU use;
5. checks the database: rows == 201 answers (the same references), no two active appointments
   of a doctor with overlapping blocked ranges, no patient with two;
6. runs `pgbench -n -f <one-row INSERT> -c 32 -j 2 -T 15` against a scratch table in the same
   database (the server stopped) and prints its TPS and the ratio bookings/s ÷ pgbench TPS;
7. with `--profile N`: books N more slots in-process through Django's test client under
   pyinstrument and writes var/booking-profile.html and var/booking-profile.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import http.client
import json
import math
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.common import met, python_speed, reset_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_booking"
ZONE = "Europe/London"
SECRET_KEY = secrets.token_urlsafe(64)

# Targets (docs/performance.md).
RATE_TARGET = 400  # bookings/s
P95_TARGET_MS = 100
RATIO_TARGET = 0.10  # bookings/s ÷ pgbench one-row-insert TPS


def setup_django(url: str) -> None:
    """This process runs the server's settings, with the server's secret key (for the tokens)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "clinic_site.settings.benchmark"
    os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["CLINIC_TIME_ZONE"] = ZONE
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_clinic(doctors: int, patients: int):
    """Doctors with long days and one patient per booking (small: through the ORM)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from clinic_site.accounts.models import User
    from clinic_site.accounts.roles import Role
    from doctors.models import Doctor, VisitType, WeeklyWindow

    created = Doctor.objects.bulk_create(
        Doctor(name=f"Dr Bench {n:02d}", slug=f"bench-{n:02d}") for n in range(doctors)
    )
    VisitType.objects.bulk_create(
        VisitType(doctor=d, name="Consultation", duration_minutes=30, price=40) for d in created
    )
    WeeklyWindow.objects.bulk_create(
        WeeklyWindow(doctor=d, weekday=w, start=dt.time(7), end=dt.time(20))
        for d in created
        for w in range(7)
    )
    unusable = make_password(None)  # nobody signs in with a password
    verified = timezone.now()
    users = User.objects.bulk_create(
        (
            User(
                email=f"patient{n}@bench.test",
                full_name=f"Patient {n}",
                password=unusable,
                email_verified_at=verified,
                activated_at=verified,
            )
            for n in range(patients)
        ),
        batch_size=1000,
    )
    Group.objects.get(name=Role.PATIENT.group_name).user_set.add(*users)


@dataclass(frozen=True)
class Job:
    token: str
    body: bytes


def prepare_jobs(count: int, seed: int = 7) -> list[Job]:
    """One job per patient: a distinct offered slot, doctors taken in turn, and its token."""
    from django.utils import timezone

    from booking.selectors import slot_search
    from clinic_site.accounts.api.serializers import TokenObtainSerializer
    from clinic_site.accounts.models import User
    from clinic_site.policies import clinic_tz, get_policies
    from doctors.models import VisitType

    policies = get_policies()
    today = timezone.now().astimezone(clinic_tz()).date()
    last = today + dt.timedelta(days=policies.booking_horizon_days)
    rng = random.Random(seed)
    per_doctor = []
    for visit_type in VisitType.objects.select_related("doctor").order_by("doctor_id"):
        slots = slot_search(visit_type=visit_type, date_from=today, date_to=last, policies=policies)
        rng.shuffle(slots)
        per_doctor.append((visit_type, slots))
    dealt = []
    for k in range(max(len(s) for _, s in per_doctor)):
        for visit_type, slots in per_doctor:
            if k < len(slots):
                dealt.append((visit_type, slots[k]))
    if len(dealt) < count:
        sys.exit(f"Only {len(dealt)} free slots for {count} bookings: add --doctors.")
    patients = list(
        User.objects.filter(email__endswith="@bench.test")
        .prefetch_related("groups")
        .order_by("pk")[:count]
    )
    if len(patients) < count:
        sys.exit(f"Only {len(patients)} patients for {count} bookings.")
    jobs = []
    for patient, (visit_type, slot) in zip(patients, dealt, strict=False):
        token = str(TokenObtainSerializer.get_token(patient).access_token)
        body = {
            "doctor": visit_type.doctor_id,
            "visit_type": visit_type.pk,
            "start": slot.start.isoformat(),
            "reason": "Benchmark booking",
        }
        jobs.append(Job(token, json.dumps(body).encode()))
    return jobs


@dataclass
class Result:
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    samples: dict[int, str] = field(default_factory=dict)
    wall: float = 0.0
    client_cpu: float = 0.0
    machine_busy: float = 0.0

    @property
    def created(self) -> int:
        return self.statuses[201]


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def process_cpu(match) -> dict[int, float]:
    """CPU seconds (user + system) of every process whose (pid, ppid, command line) matches."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(stat[: -len("stat")] + "cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        pid = int(stat.split("/")[2])
        if match(pid, int(fields[1]), cmdline):
            found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


class CpuSampler:
    """CPU seconds used by matching processes while it runs, sampled every `interval` seconds
    (processes come and go: the server's database connections are renewed every minute)."""

    def __init__(self, match, interval: float = 0.5):
        self.match, self.interval = match, interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid, seconds in process_cpu(self.match).items():
            self._first.setdefault(pid, 0.0)  # started during the run: all of its CPU counts
            self._last[pid] = seconds

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._first = process_cpu(self.match)
        self._last = dict(self._first)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(last - self._first[pid] for pid, last in self._last.items())


def run_clients(host: str, port: int, jobs: list[Job], clients: int) -> Result:
    """`clients` threads share out `jobs` and POST them as fast as the server answers."""
    result = Result()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(mine: list[Job]) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        statuses: Counter = Counter()
        latencies, references, samples = [], [], {}
        barrier.wait()
        for job in mine:
            headers = {
                "Authorization": f"Bearer {job.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/appointments/", body=job.body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, payload = 0, repr(exc).encode()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1
            if status == 201:
                references.append(json.loads(payload)["id"])
            else:
                samples.setdefault(status, payload[:300].decode(errors="replace"))
        conn.close()
        with lock:
            result.statuses.update(statuses)
            result.latencies_ms.extend(latencies)
            result.references.extend(references)
            for status, text in samples.items():
                result.samples.setdefault(status, text)

    threads = [
        threading.Thread(target=client, args=(jobs[i::clients],), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    busy0, total0 = _cpu_times()
    cpu0, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall = time.perf_counter() - started
    result.client_cpu = time.process_time() - cpu0
    busy1, total1 = _cpu_times()
    result.machine_busy = (busy1 - busy0) / max(1, total1 - total0)
    return result


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def verify(references: list[str]) -> dict[str, int]:
    from django.db import connection

    from booking.models import Appointment

    rows = set(Appointment.objects.values_list("reference", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM booking_appointment a
            JOIN booking_appointment b
              ON a.doctor_id = b.doctor_id AND a.id < b.id
             AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end
            WHERE a.status NOT IN ('CANCELLED', 'RELEASED')
              AND b.status NOT IN ('CANCELLED', 'RELEASED')
            """
        )
        doctor_overlaps = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT count(*) FROM (
                SELECT patient_id FROM booking_appointment
                WHERE status NOT IN ('CANCELLED', 'RELEASED')
                GROUP BY patient_id HAVING count(*) > 1
            ) AS twice
            """
        )
        patients_twice = cursor.fetchone()[0]
    return {
        "rows": len(rows),
        "answers_201": len(references),
        "answered_but_missing": len(set(references) - rows),
        "rows_never_answered": len(rows - set(references)),
        "doctor_overlaps": doctor_overlaps,
        "patients_with_two": patients_twice,
    }


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def run_pgbench(url: str, clients: int, seconds: int) -> tuple[float, str]:
    """TPS of a one-row INSERT (autocommit, one fsync'd commit each) into a scratch table."""
    import psycopg

    pgbench = find_pgbench()
    if pgbench is None:
        sys.exit("pgbench not found: apt-get install postgresql-contrib (or postgresql-client)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_pgbench_insert")
        conn.execute(
            "CREATE TABLE bench_pgbench_insert ("
            " id bigserial PRIMARY KEY, client integer NOT NULL,"
            " at timestamptz NOT NULL DEFAULT now())"
        )
    parts = urlsplit(url)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_pgbench_insert (client) VALUES (:client_id);\n")
    command = [
        pgbench,
        "-n",
        "-f",
        script.name,
        "-c",
        str(clients),
        "-j",
        "2",
        "-T",
        str(seconds),
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        parts.path.lstrip("/"),
    ]
    try:
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_pgbench_insert")
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    if match is None:
        sys.exit(f"Could not read pgbench's TPS:\n{output}")
    return float(match.group(1)), " ".join(command[:-7] + ["…"])


def profile(jobs: list[Job], out_dir: Path) -> None:
    """Book `jobs` in-process through the test client under pyinstrument (the same view code)."""
    from django.test import Client
    from pyinstrument import Profiler

    client = Client()
    client.get("/api/v1/specialties/")  # warm-up, outside the profile
    statuses: Counter = Counter()
    profiler = Profiler(interval=0.005)
    profiler.start()
    for job in jobs:
        response = client.post(
            "/api/v1/appointments/",
            data=job.body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {job.token}",
        )
        statuses[response.status_code] += 1
    profiler.stop()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "booking-profile.html").write_text(profiler.output_html())
    text = profiler.output_text(unicode=True, color=False)
    (out_dir / "booking-profile.txt").write_text(text)
    print(f"profile of {len(jobs)} in-process bookings ({dict(statuses)}):")
    print(f"  {out_dir / 'booking-profile.html'}, {out_dir / 'booking-profile.txt'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=3000, help="timed bookings (3000)")
    parser.add_argument("--warmup", type=int, default=200, help="bookings before timing (200)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent client threads (32)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--doctors", type=int, default=10, help="doctors to book with (10)")
    parser.add_argument("--pgbench-seconds", type=int, default=15, help="pgbench -T (15)")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile N in-process bookings with pyinstrument (written to var/)",
    )
    parser.add_argument(
        "--cache-url",
        default=os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/9"),
        help="the cache (API throttling) of the server: Redis by default, as a deployment with "
        "more than one process has it (docs/deployment.md); 'dbcache://clinic_cache' measures "
        "production's default database table",
    )
    args = parser.parse_args()
    os.environ["CACHE_URL"] = args.cache_url  # the server's settings and the in-process profile
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    started_all = time.perf_counter()
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{os.cpu_count()} cores; Python speed reference: sum(range(1000)) "
        f"{python_speed():.1f} µs"
    )

    started = time.perf_counter()
    reset_database(url)
    setup_django(url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.urls import get_resolver

    from benchmarks.serve import gunicorn

    len(get_resolver().url_patterns)  # import every view now, as the server's workers do
    call_command("migrate", verbosity=0)
    total = args.warmup + args.bookings + args.profile
    create_clinic(args.doctors, total)
    jobs = prepare_jobs(total)
    connections.close_all()
    print(
        f"set-up (database, migrations, {args.doctors} doctors, {total:,} patients, slots, "
        f"tokens minted in-process): {time.perf_counter() - started:.1f} s"
    )
    warmup_jobs = jobs[: args.warmup]
    timed_jobs = jobs[args.warmup : args.warmup + args.bookings]
    profile_jobs = jobs[args.warmup + args.bookings :]

    throttles = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    print(
        f"server: gunicorn, {args.workers} sync workers, clinic_site.settings.benchmark "
        f"(production settings with throttles raised to {throttles['writes']}); "
        f"cache {args.cache_url}; {args.clients} client threads"
    )
    with gunicorn(database_url=url, workers=args.workers, secret_key=SECRET_KEY) as server:
        warm = run_clients(server.host, server.port, warmup_jobs, args.clients)
        print(
            f"warm-up: {len(warmup_jobs)} bookings in {warm.wall:.1f} s, "
            f"statuses {dict(warm.statuses)}"
        )
        db_name = urlsplit(url).path.lstrip("/")

        def server_process(pid: int, ppid: int, cmdline: str) -> bool:
            return pid == server.pid or ppid == server.pid

        def database_backend(pid: int, ppid: int, cmdline: str) -> bool:
            return cmdline.startswith("postgres: ") and f" {db_name} " in cmdline

        load_during = os.getloadavg()[0]
        with CpuSampler(server_process) as server_cpu, CpuSampler(database_backend) as db_cpu:
            result = run_clients(server.host, server.port, timed_jobs, args.clients)
        load_after = os.getloadavg()[0]
        server_log = server.log.read_text()
    tracebacks = server_log.count("Traceback")

    rate = result.created / result.wall
    p50, p95, p99 = (percentile(result.latencies_ms, f) for f in (0.50, 0.95, 0.99))
    errors_5xx = sum(n for status, n in result.statuses.items() if status >= 500 or status == 0)
    not_created = {s: n for s, n in sorted(result.statuses.items()) if s != 201}
    print(
        f"timed: {len(timed_jobs):,} bookings in {result.wall:.2f} s -> {rate:.0f} bookings/s; "
        f"latency p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, "
        f"mean {statistics.mean(result.latencies_ms):.1f} ms, max {max(result.latencies_ms):.0f} ms"
    )
    print(f"statuses: {dict(sorted(result.statuses.items()))}; non-201: {not_created or 'none'}")
    for status, sample in result.samples.items():
        print(f"  e.g. {status}: {sample}")
    print(
        f"client CPU {result.client_cpu:.1f} s in {result.wall:.1f} s "
        f"({100 * result.client_cpu / result.wall:.0f} % of one core); machine CPU busy "
        f"{100 * result.machine_busy:.0f} % of {os.cpu_count()} cores; load average "
        f"{load_during:.2f} at start, {load_after:.2f} at end; "
        f"tracebacks in the server log: {tracebacks}"
    )
    per = 1000 / max(1, len(timed_jobs))
    print(
        f"CPU per booking: gunicorn {server_cpu.seconds * per:.1f} ms, PostgreSQL backends "
        f"{db_cpu.seconds * per:.1f} ms, client {result.client_cpu * per:.1f} ms"
    )

    checks = verify(warm.references + result.references)
    connections.close_all()
    print(
        "database: {rows:,} rows, {answers_201:,} answers 201 "
        "(answered but missing {answered_but_missing}, rows never answered "
        "{rows_never_answered}); overlapping appointments of a doctor: {doctor_overlaps}; "
        "patients with two: {patients_with_two}".format(**checks)
    )
    consistent = (
        checks["rows"] == checks["answers_201"]
        and checks["answered_but_missing"] == 0
        and checks["rows_never_answered"] == 0
        and checks["doctor_overlaps"] == 0
        and checks["patients_with_two"] == 0
    )

    tps, command = run_pgbench(url, 32, args.pgbench_seconds)
    ratio = rate / tps
    print(f"pgbench ({command}): {tps:,.0f} TPS one-row INSERT; bookings/s ÷ TPS = {ratio:.1%}")

    print()
    print("| target | figure | |")
    print("|---|---|---|")
    print(f"| ≥ {RATE_TARGET} bookings/s | {rate:.0f} /s | {met(rate >= RATE_TARGET)} |")
    print(f"| p95 < {P95_TARGET_MS} ms | {p95:.1f} ms | {met(p95 < P95_TARGET_MS)} |")
    print(
        f"| 0 errors (5xx, connection errors, non-201) | {errors_5xx} 5xx, "
        f"{sum(not_created.values())} non-201 | {met(not not_created)} |"
    )
    print(f"| database consistent | {'yes' if consistent else 'NO'} | {met(consistent)} |")
    print(
        f"| bookings/s ÷ pgbench TPS ≥ {RATIO_TARGET:.0%} | {rate:.0f} ÷ {tps:,.0f} = "
        f"{ratio:.1%} | {met(ratio >= RATIO_TARGET)} |"
    )
    print(
        f"\n| bookings/s | p50 | p95 | p99 | 5xx | non-201 | pgbench TPS | ratio |"
        f"\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        f"\n| {rate:.0f} | {p50:.1f} ms | {p95:.1f} ms | {p99:.1f} ms | {errors_5xx} "
        f"| {sum(not_created.values())} | {tps:,.0f} | {ratio:.1%} |"
    )
    print(
        f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"total {time.perf_counter() - started_all:.0f} s"
    )
    if args.profile:
        print()
        profile(profile_jobs, ROOT / "var")


if __name__ == "__main__":
    main()
