"""Copy old rows of the audit logs (activity log, record access log) to compressed files (run
daily or monthly from cron or a systemd timer). Rows are only read, never changed or deleted.

Each log's rows dated before the cut-off (midnight UTC) that no archive holds yet go to
`<dir>/<table>-<from>-<to>.jsonl.gz`, one JSON object per row, with a `.sha256` file beside it
(`sha256sum -c` checks it). Running again copies nothing twice. See docs/deployment.md.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic_site.audit import (
    archive_after_days,
    archive_directory,
    audit_archives_verify,
    audit_logs_archive,
)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--before: {value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Archive audit log rows older than the cut-off to .jsonl.gz files (rows stay)."

    def add_arguments(self, parser):
        cutoff = parser.add_mutually_exclusive_group()
        cutoff.add_argument("--before", type=_day, help="archive rows dated before this day (UTC)")
        cutoff.add_argument(
            "--older-than-days",
            type=int,
            help=f"archive rows older than this many days (default {archive_after_days()})",
        )
        parser.add_argument(
            "--dir",
            dest="directory",
            type=Path,
            help=f"where to write (default {archive_directory()})",
        )
        parser.add_argument(
            "--verify",
            action="store_true",
            help="also check every archive's checksum and row count against the database",
        )

    def handle(self, *args, **options):
        today = datetime.now(UTC).date()
        before = options["before"]
        if before is None:
            days = options["older_than_days"]
            days = archive_after_days() if days is None else days
            if days < 0:
                raise CommandError("--older-than-days cannot be negative.")
            before = today - timedelta(days=days)
        if before > today:
            raise CommandError(f"The cut-off {before} is in the future: rows are still coming in.")
        directory = options["directory"] or archive_directory()
        for archive in audit_logs_archive(before=before, directory=directory):
            if archive.path is None:
                self.stdout.write(f"{archive.table}: nothing new to archive before {before}.")
            else:
                self.stdout.write(f"{archive.table}: {archive.rows} row(s) → {archive.path}")
        if options["verify"]:
            problems = audit_archives_verify(directory=directory)
            if problems:
                raise CommandError("Archive check failed:\n" + "\n".join(problems))
            self.stdout.write("Every archive matches its checksum and the database.")
