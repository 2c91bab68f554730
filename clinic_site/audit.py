"""The audit logs are append-only: the activity log (`clinic_site.ActivityEvent`) and the record
access log (`records.RecordAccess`) take new rows and never change or lose one.

On PostgreSQL a row trigger (django-pgtrigger's `Protect`, declared in each model's
`Meta.triggers` with `append_only()`) refuses every UPDATE and DELETE on those tables, whoever
sends it — the ORM, raw SQL, the application's own database user. (The tables' owner can still
drop or disable a trigger, or skip it with pgtrigger's `pgtrigger.ignore`, which no code of ours
uses; docs/deployment.md says how production keeps the application from owning them.) SQLite
has no such triggers; there the rule rests on the code, which only ever inserts.

Should application code ever try, the refusal becomes `AuditLogAppendOnly` (409
`audit_log_append_only`): in the API through `clinic_site.api.DATABASE_ERROR_TRANSLATORS`
(registered in `ClinicSiteConfig.ready`), on pages through `AuditLogErrorMiddleware`.

Old rows are copied out, never removed, by `manage.py archive_audit_logs` (see
docs/deployment.md, "Audit logs").
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.http import JsonResponse
from django.shortcuts import render

from clinic_site.exceptions import Conflict

# The name of the trigger on every append-only table (pgtrigger names it pgtrigger_<name>_<hash>).
APPEND_ONLY = "append_only"

# SQLSTATE of PL/pgSQL's RAISE EXCEPTION, and the message of pgtrigger's Protect trigger.
RAISE_EXCEPTION = "P0001"
_REFUSAL = re.compile(r"^pgtrigger: Cannot .+ rows from (?P<table>\S+) table$")


def append_only() -> pgtrigger.Protect:
    """The trigger for a model's `Meta.triggers`: refuse UPDATE and DELETE of any row."""
    return pgtrigger.Protect(name=APPEND_ONLY, operation=pgtrigger.Update | pgtrigger.Delete)


def append_only_models() -> list:
    """Every installed model that carries the append-only trigger, by label."""
    found = [
        model
        for model in apps.get_models()
        if any(t.name == APPEND_ONLY for t in getattr(model._meta, "triggers", ()))
    ]
    return sorted(found, key=lambda model: model._meta.label)


def append_only_tables() -> set[str]:
    return {model._meta.db_table for model in append_only_models()}


class AuditLogAppendOnly(Conflict):
    code = "audit_log_append_only"
    default_detail = "The audit log cannot be changed or deleted."


def translate_database_error(exc: Exception) -> AuditLogAppendOnly | None:
    """`AuditLogAppendOnly` for the append-only trigger's refusal, else None."""
    if not isinstance(exc, DatabaseError):
        return None
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) != RAISE_EXCEPTION:
        return None
    message = getattr(getattr(cause, "diag", None), "message_primary", None) or ""
    match = _REFUSAL.match(message)
    if match and match["table"] in append_only_tables():
        return AuditLogAppendOnly()
    return None


class AuditLogErrorMiddleware:
    """A page (or a non-DRF /api/ answer) that hit the append-only trigger answers 409 with the
    clear message instead of a server error. DRF views get the same through the API's
    exception handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        error = translate_database_error(exception)
        if error is None:
            return None
        from clinic_site.api import is_api_request

        if is_api_request(request):
            return JsonResponse(error.as_dict(), status=error.status)
        return render(request, "409.html", {"message": error.detail}, status=error.status)


# --- Archiving ----------------------------------------------------------------------------------

# Rows are archived once they are this old: six years (HIPAA keeps documentation six years),
# leap days included. Settings may set CLINIC_AUDIT_ARCHIVE_AFTER_DAYS and CLINIC_AUDIT_ARCHIVE_DIR.
ARCHIVE_AFTER_DAYS = 6 * 365 + 2
TIME_FIELD = "at"  # every append-only log says when each row happened in `at`
_ARCHIVE_NAME = re.compile(
    r"^(?P<table>\w+)-(?P<start>\d{4}-\d{2}-\d{2})-(?P<end>\d{4}-\d{2}-\d{2})\.jsonl\.gz$"
)
_CHUNK = 2000


def archive_after_days() -> int:
    return int(getattr(settings, "CLINIC_AUDIT_ARCHIVE_AFTER_DAYS", ARCHIVE_AFTER_DAYS))


def archive_directory() -> Path:
    return Path(getattr(settings, "CLINIC_AUDIT_ARCHIVE_DIR", settings.VAR_DIR / "audit-archive"))


@dataclass(frozen=True)
class Archive:
    """One log's archiving up to a cut-off: the file written, or None when nothing was new."""

    table: str
    before: date
    path: Path | None = None
    rows: int = 0


@dataclass(frozen=True)
class ArchiveFile:
    table: str
    start: date
    end: date
    path: Path

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")


def _midnight(day: date) -> datetime:
    """Archive periods run from midnight UTC to midnight UTC."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _in_period(model, start: datetime | None, end: datetime):
    rows = model._default_manager.filter(**{f"{TIME_FIELD}__lt": end})
    return rows.filter(**{f"{TIME_FIELD}__gte": start}) if start is not None else rows


def archive_files(directory: Path, table: str) -> list[ArchiveFile]:
    """The archives of `table` in `directory`, oldest first."""
    found = []
    for path in directory.glob(f"{table}-*.jsonl.gz") if directory.is_dir() else ():
        match = _ARCHIVE_NAME.match(path.name)
        if match and match["table"] == table:
            start, end = date.fromisoformat(match["start"]), date.fromisoformat(match["end"])
            found.append(ArchiveFile(table=table, start=start, end=end, path=path))
    return sorted(found, key=lambda archive: archive.start)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _write_beside(path: Path, write) -> str:
    """Write a temporary file beside `path` through `write(handle)`; return its name."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    return temporary


def _write_rows(handle, rows, columns: list[str]) -> int:
    """`rows` as gzipped JSON lines of `columns`, oldest first; returns how many. No name or
    time goes into the gzip header, so the same rows always give the same bytes."""
    count = 0
    with gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as archive:
        for row in rows.order_by(TIME_FIELD, "pk").values(*columns).iterator(chunk_size=_CHUNK):
            line = json.dumps(row, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
            archive.write(line.encode() + b"\n")
            count += 1
    return count


def audit_log_archive(*, model, before: date, directory: Path) -> Archive:
    """Copy the rows of one append-only log dated before `before` (midnight UTC) that no archive
    holds yet into `<table>-<from>-<to>.jsonl.gz` plus its `.sha256`, and log the export.

    Each archive starts where the last one ended, so running again copies nothing twice. Rows
    are only read: nothing in the database changes.
    """
    from clinic_site.activity import NO_ACTOR, log_export

    table = model._meta.db_table
    existing = archive_files(directory, table)
    last_end = existing[-1].end if existing else None
    if last_end is not None and last_end >= before:
        return Archive(table=table, before=before)
    rows = _in_period(model, _midnight(last_end) if last_end else None, _midnight(before))
    columns = [field.attname for field in model._meta.concrete_fields]
    with transaction.atomic():
        oldest = rows.order_by(TIME_FIELD).values_list(TIME_FIELD, flat=True).first()
        if oldest is None:
            return Archive(table=table, before=before)
        first_day = last_end or oldest.astimezone(UTC).date()
        path = directory / f"{table}-{first_day.isoformat()}-{before.isoformat()}.jsonl.gz"
        checksum = path.with_name(path.name + ".sha256")
        directory.mkdir(parents=True, exist_ok=True)
        count = 0

        def write(handle):
            nonlocal count
            count = _write_rows(handle, rows, columns)

        staged = _write_beside(path, write)
        try:
            line = f"{_sha256(Path(staged))}  {path.name}\n".encode()
            # The checksum goes first: an archive is never in place without it.
            os.replace(_write_beside(checksum, lambda handle: handle.write(line)), checksum)
            os.replace(staged, path)
        finally:
            Path(staged).unlink(missing_ok=True)
        log_export(
            f"Audit log archive: {table}",
            target_id=path.name,
            export_format="jsonl.gz",
            rows=count,
            actor=NO_ACTOR,
        )
    return Archive(table=table, before=before, path=path, rows=count)


def audit_logs_archive(*, before: date, directory: Path | None = None) -> list[Archive]:
    """`audit_log_archive` for every append-only log."""
    directory = directory or archive_directory()
    return [
        audit_log_archive(model=model, before=before, directory=directory)
        for model in append_only_models()
    ]


def audit_archives_verify(*, directory: Path | None = None) -> list[str]:
    """What is wrong with the archives in `directory`, if anything: a missing or wrong checksum,
    a gap between archives, or a period whose rows in the database and in its archive differ
    in number (say, a row written late with an old time)."""
    directory = directory or archive_directory()
    problems = []
    for model in append_only_models():
        previous = None
        for archive in archive_files(directory, model._meta.db_table):
            name = archive.path.name
            if previous is not None and archive.start != previous.end:
                problems.append(f"{name}: does not start where {previous.path.name} ends")
            previous = archive
            if not archive.checksum_path.is_file():
                problems.append(f"{name}: its checksum file is missing")
            elif archive.checksum_path.read_text().split() != [_sha256(archive.path), name]:
                problems.append(f"{name}: does not match its checksum")
            with gzip.open(archive.path, "rb") as handle:
                lines = sum(1 for _ in handle)
            stored = _in_period(model, _midnight(archive.start), _midnight(archive.end)).count()
            if stored != lines:
                problems.append(f"{name}: holds {lines} rows, the database {stored} for its period")
    return problems
