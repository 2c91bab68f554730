"""What every benchmark shares: its own throw-away database, a machine-speed figure and the
met / not met wording of the reports."""

from __future__ import annotations

import sys
import timeit
from urllib.parse import urlsplit, urlunsplit

PREFIX = "clinic_bench"


def database_name(url: str) -> str:
    """The database a benchmark may use: only one named clinic_bench*, never anyone else's."""
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith(PREFIX):
        sys.exit(f"Refusing to use {name!r}: the benchmark database must be named {PREFIX}*")
    return name


def reset_database(url: str) -> None:
    """Drop and re-create the benchmark's database (connections to it are ended)."""
    import psycopg

    name = database_name(url)
    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def python_speed() -> float:
    """Microseconds for `sum(range(1000))`: a rough figure to compare machines by."""
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"
