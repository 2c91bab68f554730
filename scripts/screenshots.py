"""Take the README screenshots: the demo site in the system Chromium, desktop and phone width.

    .venv/bin/python scripts/screenshots.py            # all pages
    .venv/bin/python scripts/screenshots.py home login # just these
    .venv/bin/python scripts/screenshots.py --out docs/screenshots/before dashboard-queue

Starts its own server on a throw-away SQLite database with the demo data (var/screenshots/),
so it never touches the development database. PNGs go to docs/screenshots/.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
WORK = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("CLINIC_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
PATIENT = ("patient@clinic.test", "Demo-pass-2026!")
RECEPTION = ("reception@clinic.test", "Demo-pass-2026!")
DOCTOR = ("doctor@clinic.test", "Demo-pass-2026!")
ADMIN = ("admin@clinic.test", "Demo-pass-2026!")


def _login(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _fill_registration(page, fields: dict[str, str]) -> None:
    """Fill the registration form (field name -> value; the date of birth as its three boxes,
    `date_of_birth_0` … `_2`) and submit it."""
    for name, value in fields.items():
        page.fill(f"#id_{name}", value)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _register_with_errors(page, base: str) -> None:
    page.goto(f"{base}/accounts/register/")
    _fill_registration(
        page,
        {
            "email": "patient@clinic.test",
            "password1": "short",
            "password2": "short",
            "full_name": "Nora Quinn",
            "date_of_birth_0": "1",
            "date_of_birth_1": "1",
            "date_of_birth_2": "2090",
        },
    )


def _slot_signed_out(page, base: str, then: str | None = None) -> None:
    """A visitor picks a time: the sign-in page that keeps it in sight (then registration)."""
    page.goto(f"{base}/book/amelia-hart/")
    page.locator("a.slot").first.click()
    page.wait_for_load_state("networkidle")
    if then:
        page.locator("#main").get_by_role("link", name=then).click()
        page.wait_for_load_state("networkidle")


def _code_page(page, base: str) -> None:
    _slot_signed_out(page, base, then="Create an account")
    _fill_registration(
        page,
        {
            "email": f"new.patient.{int(time.time() * 1000)}@example.test",
            "password1": "Quiet-river-2026",
            "password2": "Quiet-river-2026",
            "full_name": "Nora Quinn",
            "date_of_birth_0": "3",
            "date_of_birth_1": "2",
            "date_of_birth_2": "1990",
            "phone": "+44 7700 900111",
        },
    )


def _first_slot(page, base: str) -> None:
    page.goto(f"{base}/book/amelia-hart/")
    page.locator("a.slot").first.click()
    page.wait_for_load_state("networkidle")


def _booked(page, base: str) -> None:
    _first_slot(page, base)
    page.fill("#id_reason", "Persistent cough for two weeks")
    page.get_by_role("button", name="Confirm booking").click()
    page.wait_for_load_state("networkidle")


def _upcoming_detail(page, base: str, then: str | None = None) -> None:
    page.goto(f"{base}/portal/appointments/")
    page.locator(".appointment-row__title a").last.click()
    page.wait_for_load_state("networkidle")
    if then:
        page.get_by_role("link", name=then).click()
        page.wait_for_load_state("networkidle")


def _dashboard_appointment(page, base: str, then: str | None = None) -> None:
    """A confirmed appointment of today or later, opened from the filtered list."""
    page.goto(f"{base}/admin/clinic/appointments/?status=REQUESTED")
    page.locator("a.cp-reference").first.click()
    page.wait_for_load_state("networkidle")
    if then:
        page.get_by_role("link", name=then).click()
        page.wait_for_load_state("networkidle")


def _doctor_record(page, base: str) -> None:
    """The doctor's first waiting patient: the consultation record being written."""
    page.goto(f"{base}/admin/clinic/queue/")
    page.locator("table.cp-queue a").first.click()
    page.wait_for_load_state("networkidle")
    # "Continue the record" once an earlier shot (the other width) has started it.
    page.get_by_role("link", name=re.compile(r"^(Start|Continue) the record$")).click()
    page.wait_for_load_state("networkidle")
    page.fill("#id_diagnosis", "Acute viral upper respiratory tract infection")
    page.fill("#id_notes", "Three days of sore throat and cough. Chest clear. Rest and fluids.")
    page.fill("#id_rx-0-drug", "Paracetamol 500 mg")
    page.fill("#id_rx-0-dose", "1-2 tablets")
    page.fill("#id_rx-0-frequency", "up to four times a day")
    page.fill("#id_rx-0-duration", "5 days")
    page.fill("#id_tests-0-name", "Throat swab")
    page.wait_for_timeout(6500)  # the draft saves itself
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")


def _finalised_record(page, base: str) -> None:
    page.goto(f"{base}/admin/clinic/appointments/?status=COMPLETED")
    page.locator("a.cp-reference").first.click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Read the record").click()
    page.wait_for_load_state("networkidle")


# name -> (path, signed-in as, action before the shot)
SHOTS = {
    "home": ("/", None, None),
    "doctors-directory": ("/doctors/", None, None),
    "doctor-page": ("/doctors/amelia-hart/", None, None),
    "register": ("/accounts/register/", None, None),
    "register-errors": (None, None, _register_with_errors),
    "login": ("/accounts/login/", None, None),
    "login-with-slot": (None, None, _slot_signed_out),
    "register-with-slot": (
        None,
        None,
        functools.partial(_slot_signed_out, then="Create an account"),
    ),
    "verify-with-slot": (None, None, _code_page),
    "portal": ("/portal/", PATIENT, None),
    "profile": ("/accounts/profile/", PATIENT, None),
    "profile-edit": ("/accounts/profile/edit/", PATIENT, None),
    "two-step-setup": ("/accounts/two-step/setup/", PATIENT, None),
    "two-step-methods": ("/accounts/two-step/methods/", PATIENT, None),
    "slot-picker": ("/book/amelia-hart/", None, None),
    "review": (None, PATIENT, _first_slot),
    "booked": (None, PATIENT, _booked),
    "my-appointments": ("/portal/appointments/", PATIENT, None),
    "my-appointments-history": ("/portal/appointments/?tab=history", PATIENT, None),
    "appointment-detail": (None, PATIENT, _upcoming_detail),
    "reschedule": (None, PATIENT, functools.partial(_upcoming_detail, then="Change the time")),
    "cancel": (None, PATIENT, functools.partial(_upcoming_detail, then="Cancel appointment")),
    "dashboard-home-reception": ("/admin/", RECEPTION, None),
    "dashboard-home-doctor": ("/admin/", DOCTOR, None),
    "dashboard-appointments": ("/admin/clinic/appointments/?status=CONFIRMED", RECEPTION, None),
    "dashboard-appointment": (None, RECEPTION, _dashboard_appointment),
    "dashboard-reschedule": (
        None,
        RECEPTION,
        functools.partial(_dashboard_appointment, then="Move to another time"),
    ),
    "dashboard-calendar": ("/admin/clinic/calendar/", DOCTOR, None),
    "dashboard-queue": ("/admin/clinic/queue/", RECEPTION, None),
    "dashboard-record": (None, DOCTOR, _doctor_record),
    "dashboard-record-finalised": (None, DOCTOR, _finalised_record),
    "dashboard-schedules": ("/admin/clinic/schedules/", RECEPTION, None),
    "dashboard-schedule": ("/admin/clinic/schedules/", DOCTOR, None),
    "dashboard-book": ("/admin/clinic/book/?q=ol", RECEPTION, None),
    "dashboard-users": ("/admin/clinic/users/", ADMIN, None),
    "dashboard-user-new": ("/admin/clinic/users/new/", ADMIN, None),
    "dashboard-policies": ("/admin/settings/clinic_site/clinicpolicies/", ADMIN, None),
    "dashboard-analytics": ("/admin/clinic/analytics/", ADMIN, None),
    "dashboard-activity": ("/admin/clinic/activity/", ADMIN, None),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    subprocess.run([python, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/", timeout=2)  # noqa: S310 - local server
            return server, base
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("The screenshot server did not start.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(SHOTS)}")
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    parser.add_argument("--widths", default="desktop,phone", help="desktop,phone")
    args = parser.parse_args()
    out = args.out.resolve()
    names = args.names or list(SHOTS)
    unknown = set(names) - set(SHOTS)
    if unknown:
        parser.error(f"unknown screenshot(s): {', '.join(sorted(unknown))}")

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic_site.settings.dev",
        "DATABASE_URL": f"sqlite:///{WORK / 'db.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(WORK / "media"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    server, base = _start_server(env)
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            for viewport_name in args.widths.split(","):
                viewport = VIEWPORTS[viewport_name]
                for name in names:
                    dashboard = name.startswith("dashboard-")
                    path, account, action = SHOTS[name]
                    # Wagtail's admin scrolls inside its own panes: give it a tall window.
                    tall = {"desktop": 1500, "phone": 2400}[viewport_name]
                    size = {**viewport, "height": tall} if dashboard else viewport
                    context = browser.new_context(viewport=size, device_scale_factor=1)
                    page = context.new_page()
                    if account:
                        _login(page, base, *account)
                    if action:
                        action(page, base)
                    else:
                        page.goto(base + path)
                        page.wait_for_load_state("networkidle")
                    # Scroll through once so lazily loaded images are in the full-page shot.
                    page.evaluate(
                        "async () => { for (let y = 0; y < document.body.scrollHeight; y += 400)"
                        " { window.scrollTo(0, y); await new Promise(r => setTimeout(r, 60)); }"
                        " window.scrollTo(0, 0); }"
                    )
                    page.wait_for_load_state("networkidle")
                    target = out / f"{name}-{viewport_name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(f"wrote {target}")
                    context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
