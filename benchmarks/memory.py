"""Memory of each warm gunicorn worker, started as production starts it.

    .venv/bin/python -m benchmarks.memory [--no-preload] [--rounds 30] [--reuse]

What it does (PostgreSQL only):
1. builds the database of `benchmarks.pages` (`clinic_bench_pages`, or BENCH_DATABASE_URL named
   clinic_bench*: the demo clinic plus 20,000 appointments) unless `--reuse`;
2. lists which heavy libraries a worker has loaded before its first request: it imports
   `clinic_site.wsgi` and the URL configuration in a fresh interpreter (what `--preload` does in
   the master) and looks in `sys.modules` for WeasyPrint, tablib's XLSX format, openpyxl, the
   chart code and the others listed in HEAVY;
3. starts gunicorn through `benchmarks.serve.gunicorn` (`clinic_site.settings.benchmark`,
   `--workers` sync workers, `--preload` as in docs/deployment.md unless `--no-preload`), warms
   it with `--rounds` rounds of the main pages (public pages, the dashboard as a receptionist,
   the portal as a patient, the API), two connections at a time so both workers serve each page;
4. reads every worker's VmRSS (and PSS, USS from /proc/<pid>/smaps_rollup: what it shares with
   the master after `--preload` counts in RSS, not in USS) and prints them with the target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import database_name, met, python_speed, reset_database

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 120

# Libraries only some requests need: loaded at start-up they cost every worker their memory.
HEAVY = {
    "weasyprint": "PDF (WeasyPrint)",
    "fontTools": "fonts (WeasyPrint)",
    "tablib": "tablib (exports)",
    "tablib.formats._xlsx": "tablib XLSX",
    "openpyxl": "XLSX (openpyxl)",
    "dashboard.charts": "charts (analytics)",
    "dashboard.analytics": "analytics figures",
    "icalendar": "iCalendar",
    "segno": "QR codes (MFA set-up)",
    "PIL": "Pillow",
    "drf_spectacular": "OpenAPI schema",
    "pygments": "Pygments",
    "yaml": "PyYAML",
}

PROBE = """
import sys, django
django.setup()
import clinic_site.wsgi
from django.urls import get_resolver
get_resolver().url_patterns
for line in open("/proc/self/status"):
    if line.startswith("VmRSS"):
        print("RSS", int(line.split()[1]) // 1024)
print("MODULES", len(sys.modules))
for name in sys.argv[1:]:
    print("LOADED" if name in sys.modules else "LAZY", name)
"""


def probe(env: dict[str, str]) -> tuple[int, int, dict[str, bool]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    rss = modules = 0
    loaded = {}
    for line in out:
        kind, _, value = line.partition(" ")
        if kind == "RSS":
            rss = int(value)
        elif kind == "MODULES":
            modules = int(value)
        elif kind in ("LOADED", "LAZY"):
            loaded[value] = kind == "LOADED"
    return rss, modules, loaded


def memory_of(pid: int) -> dict[str, float]:
    """RSS from /proc/<pid>/status; PSS and USS (private) from smaps_rollup, in MB."""
    figures = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                figures["rss"] = int(line.split()[1]) / 1024
    private = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key == "Pss":
                figures["pss"] = int(rest.split()[0]) / 1024
            elif key in ("Private_Clean", "Private_Dirty"):
                private += int(rest.split()[0])
    figures["uss"] = private / 1024
    return figures


def workers_of(master: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == master:
            found.append(int(entry))
    return sorted(found)


def warm_pages() -> list[tuple[str, str]]:
    """(path, who) of the main pages: public, dashboard (receptionist), portal (patient), API."""
    from booking.models import Appointment
    from doctors.models import Doctor
    from home.models import DoctorIndexPage, DoctorPage

    directory = DoctorIndexPage.objects.live().first()
    doctor_page = DoctorPage.objects.live().select_related("doctor").first()
    doctor = doctor_page.doctor if doctor_page else Doctor.objects.first()
    reference = Appointment.objects.order_by("-start").values_list("reference", flat=True).first()
    pages = [
        ("/", "anyone"),
        (directory.url if directory else "/doctors/", "anyone"),
        (doctor_page.url if doctor_page else "/", "anyone"),
        (f"/book/{doctor.slug}/", "anyone"),
        ("/api/v1/doctors/", "anyone"),
        (f"/api/v1/doctors/{doctor.pk}/slots/", "anyone"),
        ("/admin/", "desk"),
        ("/admin/clinic/appointments/", "desk"),
        ("/admin/clinic/appointments/?status=CONFIRMED", "desk"),
        (f"/admin/clinic/appointments/{reference}/", "desk"),
        ("/admin/clinic/calendar/", "desk"),
        ("/admin/clinic/queue/", "desk"),
        ("/portal/appointments/", "patient"),
        ("/portal/appointments/?tab=history", "patient"),
    ]
    return pages


def main() -> None:
    from benchmarks import pages as bench_pages

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--rounds", type=int, default=30, help="warm-up rounds of the pages (30)")
    parser.add_argument("--no-preload", action="store_true", help="gunicorn without --preload")
    parser.add_argument("--reuse", action="store_true", help="use the last pages.py database")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", bench_pages.DEFAULT_URL)
    database_name(url)
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"{os.cpu_count()} cores; Python speed reference: sum(range(1000)) "
        f"{python_speed():.1f} µs"
    )
    if not args.reuse:
        reset_database(url)
    bench_pages.setup_django(url)
    if not args.reuse:
        build_args = argparse.Namespace(
            doctors=20, patients=2000, appointments=20000, upcoming=8, past=40
        )
        bench_pages.build(build_args)
    from django.db import connections

    from benchmarks.serve import gunicorn

    cookies = {
        "anyone": "",
        "desk": bench_pages.sessions(bench_pages.DESK_EMAIL, 1)[0],
        "patient": bench_pages.sessions(bench_pages.PORTAL_EMAIL, 1)[0],
    }
    pages = warm_pages()
    connections.close_all()

    env = {**bench_pages.server_env(), "DATABASE_URL": url}
    rss, modules, loaded = probe(env)
    print(
        f"\nafter importing clinic_site.wsgi and the URLs (what --preload does): {rss} MB RSS, "
        f"{modules:,} modules"
    )
    print("| library | at start-up |")
    print("|---|---|")
    for name, label in HEAVY.items():
        print(f"| {label} (`{name}`) | {'loaded' if loaded.get(name) else 'lazy'} |")

    preload = not args.no_preload
    print(
        f"\nserver: gunicorn, {args.workers} sync workers{', --preload' if preload else ''}, "
        f"clinic_site.settings.benchmark; {args.rounds} rounds of {len(pages)} pages, "
        f"2 connections at a time"
    )
    with gunicorn(
        database_url=url,
        workers=args.workers,
        secret_key=bench_pages.SECRET_KEY,
        env=bench_pages.server_env(),
        static_root=bench_pages.STATIC_ROOT,
        preload=preload,
    ) as server:
        workers = workers_of(server.pid)
        cold = {pid: memory_of(pid) for pid in workers}
        statuses: Counter = Counter()
        started = time.perf_counter()
        for _ in range(args.rounds):
            for path, who in pages:
                result = bench_pages.load(
                    server.host, server.port, path, [cookies[who]] * 2, requests=2
                )
                for status, n in result.statuses.items():
                    statuses[(path, status)] += n
        warm_seconds = time.perf_counter() - started
        master = memory_of(server.pid)
        warm = {pid: memory_of(pid) for pid in workers_of(server.pid)}
        tracebacks = server.log.read_text().count("Traceback")

    bad = {k: n for k, n in statuses.items() if k[1] != 200}
    print(
        f"warm-up: {sum(statuses.values()):,} requests in {warm_seconds:.1f} s; non-200: "
        f"{bad or 'none'}; tracebacks in the server log: {tracebacks}"
    )
    print("\n| process | RSS cold | RSS warm | PSS warm | USS warm |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| master | | {master['rss']:.0f} MB | {master['pss']:.0f} MB | {master['uss']:.0f} MB |"
    )
    for pid, figures in warm.items():
        before = cold.get(pid, {}).get("rss")
        print(
            f"| worker {pid} | {f'{before:.0f} MB' if before else '—'} | {figures['rss']:.0f} MB "
            f"| {figures['pss']:.0f} MB | {figures['uss']:.0f} MB |"
        )
    worst = max(f["rss"] for f in warm.values())
    print(
        f"\n| target | figure | |\n|---|---|---|\n| ≤ {TARGET_MB} MB RSS per warm worker | "
        f"{worst:.0f} MB (largest) | {met(worst <= TARGET_MB)} |"
    )
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
