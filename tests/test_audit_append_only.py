"""The audit logs are append-only (clinic_site/audit.py): the activity log and the record access
log take new rows, and on PostgreSQL a trigger refuses every UPDATE and DELETE — raw SQL, the
ORM's `update()`, `delete()` and `save()` alike. Should the application ever try, the user gets
409 `audit_log_append_only` with a clear message, in the API and on pages, never a 500.

Deleting an account keeps its activity events as they were; an account that read a record, and
a record that was read, cannot be deleted. `manage.py archive_audit_logs` copies old rows to
checksummed .jsonl.gz files and leaves every row in place.

The clock is frozen at 08:00 UTC on Monday `TODAY`; the visit whose record is read was four
weeks earlier.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.forms.models import model_to_dict
from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from clinic_site import urls as project_urls
from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.activity import NO_ACTOR, Action, log_event
from clinic_site.api import exception_handler
from clinic_site.audit import AuditLogAppendOnly, append_only_models, translate_database_error
from clinic_site.models import ActivityEvent
from records.models import RecordAccess
from records.services import record_access_log
from tests.factories import at, completed_visit, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
VISIT_DAY = TODAY - dt.timedelta(days=28)
MESSAGE = "The audit log cannot be changed or deleted."
IP = "203.0.113.7"


def utc(day: dt.date, hhmm: str = "10:00", second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(hhmm), tzinfo=dt.UTC).replace(
        second=second
    )


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(utc(TODAY, "08:00"), tick=False)


@pytest.fixture
def record(visit_type, patient):
    return completed_visit(visit_type, at(VISIT_DAY, "09:00"), patient=patient).record


@pytest.fixture
def patient():
    return make_user(Role.PATIENT, full_name="Nora Quinn")


@pytest.fixture
def reader():
    return make_user(Role.ADMIN, full_name="Alma Admin", email="alma@clinic.test")


@pytest.fixture
def event(reader):
    return log_event(action=Action.EXPORT, actor=reader, target="Appointments", ip_address=IP)


@pytest.fixture
def access(record, reader):
    return record_access_log(record=record, user=reader, how="page", ip_address=IP)


def row(obj) -> dict:
    """Every column of the row as the database holds it now."""
    return model_to_dict(type(obj).objects.get(pk=obj.pk))


def refused():
    """The trigger's refusal (each attempt runs in its own savepoint, so the test goes on)."""
    return pytest.raises(DatabaseError, match="pgtrigger: Cannot update or delete rows")


# --- The triggers (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
def test_both_logs_carry_the_trigger():
    assert {m._meta.label for m in append_only_models()} == {
        "clinic_site.ActivityEvent",
        "records.RecordAccess",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text FROM pg_trigger "
            "WHERE tgname LIKE %s AND tgenabled = 'O'",
            ["pgtrigger_append_only_%"],
        )
        tables = {name for (name,) in cursor.fetchall()}
    assert tables == {"clinic_site_activityevent", "records_recordaccess"}


@pytest.mark.postgres
@pytest.mark.parametrize(
    "log, sql",
    [
        ("event", "UPDATE clinic_site_activityevent SET target = 'rewritten' WHERE id = %s"),
        ("event", "UPDATE clinic_site_activityevent SET actor_id = NULL WHERE id = %s"),
        ("event", "DELETE FROM clinic_site_activityevent WHERE id = %s"),
        ("access", "UPDATE records_recordaccess SET how = 'api' WHERE id = %s"),
        ("access", "UPDATE records_recordaccess SET user_id = NULL WHERE id = %s"),
        ("access", "DELETE FROM records_recordaccess WHERE id = %s"),
    ],
)
def test_raw_sql_update_and_delete_are_refused(request, log, sql):
    obj = request.getfixturevalue(log)
    before = row(obj)
    with refused(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [obj.pk])
    assert row(obj) == before


@pytest.mark.postgres
@pytest.mark.parametrize("log", ["event", "access"])
def test_orm_update_delete_and_save_are_refused(request, log):
    obj = request.getfixturevalue(log)
    model = type(obj)
    before = row(obj)
    with refused(), transaction.atomic():
        model.objects.filter(pk=obj.pk).update(ip_address="198.51.100.1")
    with refused(), transaction.atomic():
        model.objects.filter(pk=obj.pk).delete()
    with refused(), transaction.atomic():
        obj.delete()
    obj.ip_address = "198.51.100.1"
    with refused(), transaction.atomic():
        obj.save()
    assert row(obj) == before


def test_no_code_of_ours_switches_the_triggers_off():
    """pgtrigger's ignore switch makes the triggers skip their check for the session: unused."""
    switch = re.compile(
        r"pgtrigger\.ignore\s*\(|from pgtrigger import .*\bignore\b|SET\s+(LOCAL\s+)?pgtrigger\.",
        re.IGNORECASE,
    )
    ours = ("clinic_site", "doctors", "booking", "records", "dashboard", "home")
    found = [
        str(source.relative_to(settings.BASE_DIR))
        for app in ours
        for source in (Path(settings.BASE_DIR) / app).rglob("*.py")
        if switch.search(source.read_text())
    ]
    assert found == []


@pytest.mark.postgres
def test_new_rows_are_still_written(record, reader):
    events, accesses = ActivityEvent.objects.count(), RecordAccess.objects.count()
    log_event(action=Action.LOGIN, actor=reader, ip_address=IP)
    record_access_log(record=record, user=reader, how="api")
    # One login event, one access row and its record_read event.
    assert ActivityEvent.objects.count() == events + 2
    assert RecordAccess.objects.count() == accesses + 1


# --- A clear message instead of a 500 ------------------------------------------------------------


class RewriteHistoryAPI(APIView):
    """Test-only: an API view that (wrongly) edits the activity log, in a service-like atomic."""

    permission_classes = [AllowAny]

    def post(self, request):
        with transaction.atomic():
            ActivityEvent.objects.update(target="rewritten")
        return Response({"rewritten": True})


def rewrite_history_page(request):
    """Test-only: a page that (wrongly) deletes the access log."""
    with transaction.atomic():
        RecordAccess.objects.all().delete()
    return HttpResponse("rewritten")


urlpatterns = [
    path("api/v1/test-audit/rewrite/", RewriteHistoryAPI.as_view()),
    path("test-audit/rewrite/", rewrite_history_page),
    *project_urls.urlpatterns,
]
URLCONF = __name__  # the project's URLs plus the two above


@pytest.mark.postgres
@pytest.mark.urls(URLCONF)
def test_the_api_answers_409_audit_log_append_only(event):
    before = row(event)
    response = APIClient().post("/api/v1/test-audit/rewrite/", {}, format="json")
    assert response.status_code == 409
    assert response.json() == {"detail": MESSAGE, "code": "audit_log_append_only"}
    assert row(event) == before


@pytest.mark.postgres
@pytest.mark.urls(URLCONF)
def test_a_page_answers_409_with_the_message(client, access):
    before = row(access)
    response = client.get("/test-audit/rewrite/")
    assert response.status_code == 409
    assert MESSAGE in response.content.decode()
    assert row(access) == before


@pytest.mark.postgres
def test_the_translator_knows_the_refusal_and_nothing_else(event, reader):
    with pytest.raises(DatabaseError) as refusal, transaction.atomic():
        ActivityEvent.objects.filter(pk=event.pk).update(target="rewritten")
    error = translate_database_error(refusal.value)
    assert isinstance(error, AuditLogAppendOnly)
    assert (error.status, error.code, error.detail) == (409, "audit_log_append_only", MESSAGE)
    response = exception_handler(refusal.value, {})
    assert (response.status_code, response.data["code"]) == (409, "audit_log_append_only")

    with pytest.raises(IntegrityError) as other, transaction.atomic():
        User.objects.create(email=reader.email, full_name="Twin")
    assert translate_database_error(other.value) is None
    assert translate_database_error(ValueError("no")) is None


# --- Deleting what the logs point at -------------------------------------------------------------


def test_deleting_an_account_keeps_its_events_as_they_were():
    gone = make_user(Role.RECEPTIONIST, full_name="Rita Desk", email="rita@clinic.test")
    event = log_event(action=Action.LOGIN, actor=gone, ip_address=IP)
    before = row(event)
    gone_pk = gone.pk
    gone.delete()
    assert not User.objects.filter(pk=gone_pk).exists()
    assert row(event) == before
    kept = ActivityEvent.objects.get(pk=event.pk)
    assert (kept.actor_id, kept.actor_name, kept.actor_email) == (
        gone_pk,
        "Rita Desk",
        "rita@clinic.test",
    )


def test_an_account_that_read_a_record_cannot_be_deleted(access, reader):
    before = row(access)
    with pytest.raises(ProtectedError), transaction.atomic():
        reader.delete()
    assert User.objects.filter(pk=reader.pk).exists()
    assert row(access) == before


def test_a_record_that_was_read_cannot_be_deleted(access, record):
    with pytest.raises(ProtectedError), transaction.atomic():
        record.delete()
    assert RecordAccess.objects.filter(pk=access.pk, record=record).exists()


# --- The archive -------------------------------------------------------------------------------

FIRST_CUTOFF = VISIT_DAY + dt.timedelta(days=10)  # 2031-02-13
SECOND_CUTOFF = VISIT_DAY + dt.timedelta(days=20)  # 2031-02-23
# Reads of the record: two before the first cut-off (one a second before midnight), one at
# midnight of the cut-off itself, one before the second cut-off and one after it.
READS = [
    utc(VISIT_DAY + dt.timedelta(days=1)),
    utc(FIRST_CUTOFF - dt.timedelta(days=1), "23:59", 59),
    utc(FIRST_CUTOFF, "00:00"),
    utc(SECOND_CUTOFF - dt.timedelta(days=2)),
    utc(SECOND_CUTOFF + dt.timedelta(days=2)),
]


@pytest.fixture
def reads(record, reader):
    return [
        record_access_log(record=record, user=reader, how="page", ip_address=IP, now=when)
        for when in READS
    ]


def archive(*args) -> str:
    out = io.StringIO()
    call_command("archive_audit_logs", *args, stdout=out)
    return out.getvalue()


def lines(path) -> list[dict]:
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def snapshot() -> dict:
    return {
        model._meta.label: sorted(model.objects.values_list(), key=lambda r: r[0])
        for model in append_only_models()
    }


def test_the_archive_copies_old_rows_and_leaves_every_row(reads, tmp_path):
    rows_before = snapshot()
    out = archive("--before", FIRST_CUTOFF.isoformat(), "--dir", str(tmp_path))

    start = (VISIT_DAY + dt.timedelta(days=1)).isoformat()
    accesses = tmp_path / f"records_recordaccess-{start}-{FIRST_CUTOFF}.jsonl.gz"
    assert f"records_recordaccess: 2 row(s) → {accesses}" in out
    archived = lines(accesses)
    assert [line["id"] for line in archived] == [reads[0].pk, reads[1].pk]
    assert archived[1] == {
        "at": "2031-02-12T23:59:59Z",
        "how": "page",
        "id": reads[1].pk,
        "ip_address": IP,
        "record_id": reads[1].record_id,
        "user_id": reads[1].user_id,
    }
    checksum = accesses.with_name(accesses.name + ".sha256").read_text()
    assert checksum == f"{hashlib.sha256(accesses.read_bytes()).hexdigest()}  {accesses.name}\n"

    # The activity log's file holds exactly its rows before the cut-off (the reads' events).
    [events] = tmp_path.glob("clinic_site_activityevent-*.jsonl.gz")
    old_events = ActivityEvent.objects.filter(at__lt=utc(FIRST_CUTOFF, "00:00"))
    assert [line["id"] for line in lines(events)] == list(
        old_events.order_by("at", "pk").values_list("pk", flat=True)
    )

    # Nothing changed or went; the archiving itself is one more (export) event per file.
    after = snapshot()
    assert after["records.RecordAccess"] == rows_before["records.RecordAccess"]
    kept = {r[0] for r in rows_before["clinic_site.ActivityEvent"]}
    assert [r for r in after["clinic_site.ActivityEvent"] if r[0] in kept] == rows_before[
        "clinic_site.ActivityEvent"
    ]
    new_events = ActivityEvent.objects.exclude(pk__in=kept)
    assert sorted(new_events.values_list("action", "target_id")) == sorted(
        [("export", accesses.name), ("export", events.name)]
    )


def test_running_again_archives_nothing_twice_and_the_next_archive_follows_on(reads, tmp_path):
    archive("--before", FIRST_CUTOFF.isoformat(), "--dir", str(tmp_path))
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    again = archive("--before", FIRST_CUTOFF.isoformat(), "--dir", str(tmp_path))
    assert "records_recordaccess: nothing new to archive" in again
    assert "clinic_site_activityevent: nothing new to archive" in again
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files

    archive("--before", SECOND_CUTOFF.isoformat(), "--dir", str(tmp_path))
    second = tmp_path / f"records_recordaccess-{FIRST_CUTOFF}-{SECOND_CUTOFF}.jsonl.gz"
    # The read at midnight of the first cut-off opens the second archive; none is in both.
    assert [line["id"] for line in lines(second)] == [reads[2].pk, reads[3].pk]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in files} == files
    assert "Every archive matches" in archive(
        "--before", SECOND_CUTOFF.isoformat(), "--dir", str(tmp_path), "--verify"
    )
    assert RecordAccess.objects.count() == len(READS)


def test_verify_finds_a_tampered_archive(reads, tmp_path):
    archive("--before", FIRST_CUTOFF.isoformat(), "--dir", str(tmp_path))
    [accesses] = tmp_path.glob("records_recordaccess-*.jsonl.gz")
    with gzip.open(accesses, "wt") as handle:
        handle.write("{}\n")
    with pytest.raises(CommandError, match=f"{accesses.name}: does not match its checksum"):
        archive("--before", FIRST_CUTOFF.isoformat(), "--dir", str(tmp_path), "--verify")


def test_the_default_cut_off_comes_from_the_setting(reads, tmp_path, settings):
    settings.CLINIC_AUDIT_ARCHIVE_AFTER_DAYS = (TODAY - FIRST_CUTOFF).days
    archive("--dir", str(tmp_path))
    assert [p.name for p in tmp_path.glob("records_recordaccess-*.jsonl.gz")] == [
        f"records_recordaccess-{VISIT_DAY + dt.timedelta(days=1)}-{FIRST_CUTOFF}.jsonl.gz"
    ]
    archive("--older-than-days", str((TODAY - SECOND_CUTOFF).days), "--dir", str(tmp_path))
    assert len(list(tmp_path.glob("records_recordaccess-*.jsonl.gz"))) == 2


def test_nothing_old_enough_writes_no_file(tmp_path):
    log_event(action=Action.LOGIN, actor=NO_ACTOR, ip_address=IP)
    out = archive("--dir", str(tmp_path))
    assert out.count("nothing new to archive") == 2
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--before", "2031-03-04"], "is in the future"),
        (["--before", "03/01/2031"], "is not a date"),
        (["--older-than-days", "-1"], "cannot be negative"),
    ],
)
def test_bad_cut_offs_are_refused(tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        archive(*args, "--dir", str(tmp_path))
    assert not any(tmp_path.iterdir())
