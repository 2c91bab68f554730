"""Lighthouse on the public pages a patient meets first, served as in production.

    .venv/bin/python -m benchmarks.lighthouse            # mobile and desktop, 3 runs a page
    .venv/bin/python -m benchmarks.lighthouse --runs 1 --form-factor mobile

1. drops and re-creates its own database (`clinic_bench_lighthouse` on the local server, or
   BENCH_DATABASE_URL — the name must start with "clinic_bench"), migrates it and loads the demo
   clinic (`manage.py seed_demo`) under the benchmark settings;
2. starts gunicorn (`benchmarks/serve.py`: production settings minus TLS, two sync workers) with
   the static files collected into a temporary folder and served by WhiteNoise with their hashed,
   compressed names. Media (the doctors' portraits) are served by Django
   (`CLINIC_SERVE_MEDIA=1`), as a single-box deployment would;
3. runs the npm `lighthouse` (benchmarks/node/package.json, installed on first use with `npm ci`)
   with the system Chromium headless on home, the doctors directory, a doctor's page and the
   slot picker, in Lighthouse's mobile profile (simulated slow 4G and a 4-fold CPU slowdown) and its
   desktop preset, and prints the median of each category's score over the runs, with the
   targets: accessibility 100, performance, best practices and SEO ≥ 95.

JSON reports go to var/lighthouse/ (one per page, form factor and run).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import reset_database
from benchmarks.serve import ROOT, SETTINGS, gunicorn

NODE = ROOT / "benchmarks" / "node"
LIGHTHOUSE = NODE / "node_modules" / ".bin" / "lighthouse"
OUT = ROOT / "var" / "lighthouse"
CHROMIUM = os.environ.get("CLINIC_CHROMIUM", "/usr/bin/chromium")
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench_lighthouse"
CHROME_FLAGS = " ".join(
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
)
ATTEMPTS = 3
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 95, "seo": 95}
# The demo clinic's first doctor (home/demo.py).
PAGES = {
    "home": "/",
    "doctors directory": "/doctors/",
    "doctor page": "/doctors/amelia-hart/",
    "slot picker": "/book/amelia-hart/",
}


def ensure_lighthouse() -> None:
    if not LIGHTHOUSE.exists():
        print("Installing lighthouse (benchmarks/node/package-lock.json) ...", flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE, check=True
        )


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def lighthouse(url: str, form_factor: str, report: Path) -> dict[str, int]:
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    # Headless Chromium now and then fails to record the trace (NO_NAVSTART): try again.
    for attempt in range(1, ATTEMPTS + 1):
        done = subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROMIUM})
        if done.returncode == 0:
            break
        print(f"    lighthouse failed (attempt {attempt} of {ATTEMPTS})", flush=True)
    else:
        raise RuntimeError(f"lighthouse failed {ATTEMPTS} times on {url}")
    data = json.loads(report.read_text())
    return {c: round(data["categories"][c]["score"] * 100) for c in CATEGORIES}


def failing_audits(report: Path) -> list[str]:
    """The audits that cost points in a report (score below 1), for the record."""
    data = json.loads(report.read_text())
    lost = []
    for category in CATEGORIES:
        for ref in data["categories"][category]["auditRefs"]:
            audit = data["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                lost.append(f"{category}: {audit['id']} ({audit['score']:.2f})")
    return lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--form-factor", choices=["mobile", "desktop", "both"], default="both")
    parser.add_argument("--reuse", action="store_true", help="keep the last run's database")
    args = parser.parse_args()

    ensure_lighthouse()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    media = OUT / "media"  # kept with the database, so that --reuse finds the portraits
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_MEDIA_ROOT": str(media),
        "CLINIC_SERVE_MEDIA": "1",
    }
    if not args.reuse:
        reset_database(url)
        shutil.rmtree(media, ignore_errors=True)
        manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "seed_demo")  # safe to run again; puts the portraits into this run's media

    factors = ["mobile", "desktop"] if args.form_factor == "both" else [args.form_factor]
    OUT.mkdir(parents=True, exist_ok=True)
    static = Path(tempfile.mkdtemp(prefix="lighthouse-static-"))
    results: dict[tuple[str, str], dict[str, int]] = {}
    lost: dict[tuple[str, str], list[str]] = {}
    try:
        with gunicorn(
            database_url=url,
            workers=2,
            secret_key=env["DJANGO_SECRET_KEY"],
            env={k: env[k] for k in ("DJANGO_MEDIA_ROOT", "CLINIC_SERVE_MEDIA")},
            static_root=static,
        ) as server:
            base = server.url.replace("127.0.0.1", "localhost")
            for path in PAGES.values():  # every page answers, and is warm, before measuring
                conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
                conn.request("GET", path, headers={"Host": "localhost"})
                status = conn.getresponse().status
                conn.close()
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}")
            for factor in factors:
                for name, path in PAGES.items():
                    runs = []
                    for run in range(1, args.runs + 1):
                        slug = name.replace(" ", "-")
                        report = OUT / f"{slug}-{factor}-{run}.json"
                        runs.append(lighthouse(base + path, factor, report))
                        print(f"  {factor:7} {name:18} run {run}: {runs[-1]}", flush=True)
                        lost.setdefault((name, factor), [])
                        for audit in failing_audits(report):
                            if audit not in lost[(name, factor)]:
                                lost[(name, factor)].append(audit)
                    results[(name, factor)] = {
                        c: int(statistics.median(r[c] for r in runs)) for c in CATEGORIES
                    }
    finally:
        shutil.rmtree(static, ignore_errors=True)

    print(f"\nMedian of {args.runs} run(s); targets: {TARGETS}\n")
    print("| page | form factor | performance | accessibility | best practices | SEO | targets |")
    print("|---|---|---|---|---|---|---|")
    for (name, factor), scores in results.items():
        met = all(scores[c] >= TARGETS[c] for c in CATEGORIES)
        cells = " | ".join(str(scores[c]) for c in CATEGORIES)
        print(f"| {name} | {factor} | {cells} | {'met' if met else 'NOT met'} |")
    print("\nAudits that cost points (any run):")
    for (name, factor), audits in lost.items():
        if audits:
            print(f"- {name}, {factor}: " + "; ".join(audits))


if __name__ == "__main__":
    main()
