"""Benchmark of the analytics screen on a large clinic (PostgreSQL only).

    DJANGO_SETTINGS_MODULE=clinic_site.settings.test \
        .venv/bin/python -m benchmarks.analytics [--appointments 1000000] [--runs 15]

What it does, every time from scratch:
1. drops and re-creates its own database (`clinic_bench` on the local server, or the one named by
   BENCH_DATABASE_URL — its name must start with "clinic_bench"; nothing else is touched),
   migrates it;
2. creates 50 doctors (weekly windows 07:00-20:00 every day, one 30-minute visit type),
   2,000 patients and an administrator through the ORM;
3. generates the appointments with ONE `INSERT … SELECT FROM generate_series`: each doctor has a
   fixed grid of 19 non-overlapping slots a day (07:00, 07:40, … clinic time, 5-minute buffers,
   so the blocked ranges only touch), appointment i goes to doctor i mod 50 and patient
   i mod 2000, so no doctor and no patient is ever double-booked and the exclusion constraints
   stay in place; statuses are spread like a real clinic (past: 70 % completed, 15 % cancelled,
   6 % no-show, 1 % checked in, 6 % confirmed and never marked, 2 % requested; future: 70 %
   confirmed, 15 % requested, 15 % cancelled), a fifth of the completed visits paid, 1 % walk-ins;
   3 years of data ending 60 days from today; then VACUUM ANALYZE;
4. renders `/admin/clinic/analytics/` for the last 365 days, all doctors, as the administrator
   through Django's test client: one warm-up, then `--runs` timed renders; prints median and p90
   wall time, the query count and the slowest queries of one extra (captured) render.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.common import reset_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench"
DOCTORS = 50
PATIENTS = 2000
SLOTS_PER_DAY = 19  # 07:00 … 19:00, every 40 minutes (30-minute visit, 5 + 5 minute buffers)
ZONE = "Europe/London"


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic_site.settings.test")
    os.environ["CLINIC_TIME_ZONE"] = ZONE
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_clinic():
    """Doctors, visit types, weekly windows, patients and an admin (small: through the ORM)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from clinic_site.accounts.models import User
    from clinic_site.accounts.roles import Role
    from doctors.models import Doctor, VisitType, WeeklyWindow

    unusable = make_password(None)  # nobody signs in as these users
    doctors = Doctor.objects.bulk_create(
        Doctor(name=f"Dr Bench {n:02d}", slug=f"bench-{n:02d}") for n in range(DOCTORS)
    )
    VisitType.objects.bulk_create(
        VisitType(doctor=d, name="Consultation", duration_minutes=30, price=40) for d in doctors
    )
    WeeklyWindow.objects.bulk_create(
        WeeklyWindow(doctor=d, weekday=w, start=dt.time(7), end=dt.time(20))
        for d in doctors
        for w in range(7)
    )
    patients = User.objects.bulk_create(
        User(email=f"patient{n}@bench.test", full_name=f"Patient {n}", password=unusable)
        for n in range(PATIENTS)
    )
    Group.objects.get(name=Role.PATIENT.group_name).user_set.add(*patients)
    admin = User.objects.create(
        email="admin@bench.test", full_name="Bench Admin", password=unusable
    )
    admin.groups.add(Group.objects.get(name=Role.ADMIN.group_name))
    return admin


INSERT = """
INSERT INTO booking_appointment (
    reference, doctor_id, patient_id, visit_type_id, start, "end",
    buffer_before, buffer_after, blocked_start, blocked_end, status, reason, hold_kind,
    payment_status, price, walk_in, reschedule_count, meeting_token, created_at,
    checked_in_at, completed_at, cancelled_at, no_show_at, cancellation_reason, updated_at,
    idempotency_key
)
SELECT
    'B' || lpad(g.i::text, 10, '0'),
    d.ids[1 + g.i %% %(doctors)s],
    p.ids[1 + g.i %% %(patients)s],
    v.ids[1 + g.i %% %(doctors)s],
    t.start, t.start + interval '30 minutes',
    interval '5 minutes', interval '5 minutes',
    t.start - interval '5 minutes', t.start + interval '35 minutes',
    s.status, '', '',
    CASE WHEN s.status = 'COMPLETED' AND g.i %% 5 = 0 THEN 'paid' ELSE 'at_desk' END,
    40, g.i %% 100 = 7, 0, '',
    CASE WHEN g.i %% 100 = 7 THEN t.start - interval '10 minutes'
         ELSE t.start - (1 + (g.i * 7) %% 21) * interval '1 day' - (g.i %% 24) * interval '1 hour'
    END,
    CASE WHEN s.status IN ('COMPLETED', 'CHECKED_IN')
         THEN t.start - interval '5 minutes' + (g.i %% 15) * interval '1 minute' END,
    CASE WHEN s.status = 'COMPLETED'
         THEN t.start + (20 + g.i %% 40) * interval '1 minute' END,
    CASE WHEN s.status = 'CANCELLED' THEN t.start - interval '1 day' END,
    CASE WHEN s.status = 'NO_SHOW' THEN t.start + interval '15 minutes' END,
    '', now(), ''
FROM generate_series(0, %(count)s - 1) AS g(i)
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM doctors_doctor) AS d
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM doctors_visittype) AS v
CROSS JOIN (
    SELECT array_agg(u.id ORDER BY u.id) AS ids FROM accounts_user u
    WHERE u.email LIKE '%%@bench.test' AND u.email <> 'admin@bench.test'
) AS p
CROSS JOIN LATERAL (
    SELECT (
        (%(first_day)s::date + (g.i / %(doctors)s / %(slots)s) * interval '1 day'
         + interval '7 hours' + ((g.i / %(doctors)s) %% %(slots)s) * interval '40 minutes')
        AT TIME ZONE %(zone)s
    ) AS start
) AS t
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN t.start < now() THEN CASE
            WHEN (g.i * 37) %% 100 < 70 THEN 'COMPLETED'
            WHEN (g.i * 37) %% 100 < 85 THEN 'CANCELLED'
            WHEN (g.i * 37) %% 100 < 91 THEN 'NO_SHOW'
            WHEN (g.i * 37) %% 100 < 92 THEN 'CHECKED_IN'
            WHEN (g.i * 37) %% 100 < 98 THEN 'CONFIRMED'
            ELSE 'REQUESTED' END
        ELSE CASE
            WHEN (g.i * 37) %% 100 < 70 THEN 'CONFIRMED'
            WHEN (g.i * 37) %% 100 < 85 THEN 'REQUESTED'
            ELSE 'CANCELLED' END
    END AS status
) AS s
"""


def load_appointments(count: int) -> dt.date:
    from django.db import connection

    days = -(-count // (DOCTORS * SLOTS_PER_DAY))
    today = dt.date.today()
    first_day = today + dt.timedelta(days=60) - dt.timedelta(days=days)
    params = {
        "doctors": DOCTORS,
        "patients": PATIENTS,
        "slots": SLOTS_PER_DAY,
        "count": count,
        "first_day": first_day.isoformat(),
        "zone": ZONE,
    }
    with connection.cursor() as cursor:
        cursor.execute(INSERT, params)
    connection.close()
    with connection.cursor() as cursor:  # VACUUM cannot run inside a transaction
        cursor.execute("VACUUM ANALYZE")
    return first_day


def render(admin, params: dict, runs: int):
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(admin)
    url = "/admin/clinic/analytics/"
    response = client.get(url, params)  # warm-up (and a check)
    assert response.status_code == 200, response.status_code
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    return times, queries.captured_queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appointments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--days", type=int, default=365, help="length of the rendered range")
    parser.add_argument(
        "--reuse", action="store_true", help="render only: keep the database of the last run"
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    if args.reuse:
        setup_django(url)
        from clinic_site.accounts.models import User

        admin = User.objects.get(email="admin@bench.test")
    else:
        started = time.perf_counter()
        reset_database(url)
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        admin = create_clinic()
        print(f"set-up (database, migrations, clinic): {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        load_appointments(args.appointments)
        print(
            f"loaded {args.appointments:,} appointments + VACUUM ANALYZE: "
            f"{time.perf_counter() - started:.1f} s"
        )

    from django.utils import timezone

    from booking.models import Appointment

    today = timezone.localdate()
    params = {
        "date_from": (today - dt.timedelta(days=args.days - 1)).isoformat(),
        "date_to": today.isoformat(),
    }
    in_range = Appointment.objects.filter(
        start__date__gte=params["date_from"], start__date__lte=params["date_to"]
    ).count()
    times, queries = render(admin, params, args.runs)
    times_ms = sorted(t * 1000 for t in times)
    p90 = times_ms[min(len(times_ms) - 1, round(0.9 * (len(times_ms) - 1)))]
    print(f"range {params['date_from']} .. {params['date_to']}: {in_range:,} appointments")
    print(
        f"renders: {args.runs}; median {statistics.median(times_ms):.0f} ms, "
        f"p90 {p90:.0f} ms, min {times_ms[0]:.0f} ms, max {times_ms[-1]:.0f} ms"
    )
    print(f"queries per render: {len(queries)}")
    slowest = sorted(queries, key=lambda q: float(q["time"]), reverse=True)[:8]
    for q in slowest:
        print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:110]}")


if __name__ == "__main__":
    main()
