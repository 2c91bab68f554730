"""Libraries only a few requests need are imported when used, not when a worker starts: with
gunicorn's --preload the application is imported once in the master, and whatever it imports
there every worker carries (docs/performance.md, "Memory per worker")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What --preload imports: the WSGI application and, through it, every URL and view module.
PROBE = """
import json, sys
import clinic_site.wsgi
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[1:])))
"""
LAZY = ["weasyprint", "openpyxl", "webauthn", "segno", "icalendar"]


def test_pdf_xlsx_passkey_qr_and_calendar_libraries_are_not_imported_at_start_up():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic_site.settings.test",
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(  # noqa: S603 (our own interpreter and probe)
        [sys.executable, "-c", PROBE, *LAZY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
