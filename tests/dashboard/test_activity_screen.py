"""The activity log screen (product.md §9; permissions.md: administrators only): newest first,
filtered by action, person, target, date range and address, paginated, exported to CSV — the
export holds exactly the filtered rows and is itself logged — in a pinned number of queries.

The clock is frozen at 12:00 on `TODAY` (the clinic's zone is UTC in tests).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clinic_site.accounts.roles import Role
from clinic_site.activity import NO_ACTOR, Action, log_events
from clinic_site.models import ActivityEvent
from tests.accounts.test_roles_and_admins import refused
from tests.factories import at, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)
URL = "/admin/clinic/activity/"
CSV_HEADER = ["When", "Who", "Action", "Target", "Details", "IP address"]
PAGE_SIZE = 50
# Pinned, whatever the number of events and with or without filters: session, user with its role
# (one read), the user's permissions (two reads), Wagtail's user profile, the paginator's count,
# Wagtail's menu (locales, page and collection permissions, a page), the page of events (no
# joins: who and what are stored as text). No session save: an unchanged session is refreshed at
# most once a minute.
LIST_QUERIES = 11


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "12:00"), tick=False)


@pytest.fixture
def admin():
    return make_user(Role.ADMIN, full_name="Alma Admin", email="alma@clinic.test")


@pytest.fixture
def admin_client(admin):
    client = Client(REMOTE_ADDR="192.0.2.10")
    # force_login itself signs in: start from an empty log (it is append-only, so the sign-in
    # is not written rather than deleted afterwards).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("clinic_site.accounts.activity_receivers.log_event", lambda **kwargs: None)
        client.force_login(admin)
    return client


@pytest.fixture
def people():
    return {
        "ada": make_user(Role.DOCTOR, full_name="Ada Hart", email="ada@clinic.test"),
        "rita": make_user(Role.RECEPTIONIST, full_name="Rita Desk", email="rita@clinic.test"),
    }


@pytest.fixture
def log(people):
    """Six events over three days from three addresses, written through the API."""
    ada, rita = people["ada"], people["rita"]
    return log_events(
        [
            {
                "action": Action.LOGIN,
                "actor": ada,
                "ip_address": "10.0.0.5",
                "at": at(TODAY - dt.timedelta(days=2), "08:55"),
                "target": "Ada Hart <ada@clinic.test>",
                "target_type": "account",
                "target_id": str(ada.pk),
                "details": {"via": "web"},
            },
            {
                "action": Action.RECORD_READ,
                "actor": ada,
                "ip_address": "10.0.0.5",
                "at": at(TODAY - dt.timedelta(days=2), "09:10"),
                "target": "Record K7Q2M9XD · Nora Quinn",
                "target_type": "record",
                "target_id": "7",
                "details": {"how": "dashboard", "appointment": "K7Q2M9XD"},
            },
            {
                "action": Action.LOGIN_FAILED,
                "actor": NO_ACTOR,
                "ip_address": "198.51.100.23",
                "at": at(TODAY - dt.timedelta(days=1), "23:59"),
                "target": "rita@clinic.test",
                "target_type": "login",
                "details": {"via": "web"},
            },
            {
                "action": Action.APPOINTMENT_TRANSITION,
                "actor": rita,
                "ip_address": "10.0.0.9",
                "at": at(TODAY, "08:30"),
                "target": "Appointment K7Q2M9XD",
                "target_type": "appointment",
                "target_id": "K7Q2M9XD",
                "details": {"from": "REQUESTED", "to": "CONFIRMED", "reason_given": False},
            },
            {
                "action": Action.ROLE_CHANGED,
                "actor": rita,
                "ip_address": "10.0.0.9",
                "at": at(TODAY, "09:00"),
                "target": "Ada Hart <ada@clinic.test>",
                "target_type": "account",
                "target_id": str(ada.pk),
                "details": {"from": "receptionist", "to": "doctor"},
            },
            {
                "action": Action.POLICY_CHANGED,
                "actor": rita,
                "ip_address": "2001:db8::1",
                "at": at(TODAY, "09:30"),
                "target": "Clinic policies",
                "target_type": "policies",
                "target_id": "1",
                "details": {"changes": {"max_reschedules": {"from": 3, "to": 5}}},
            },
        ]
    )


def shown(response) -> list[str]:
    """(action, target) of the rows on the page, in order."""
    assert response.status_code == 200
    table = response.context["table"]
    rows = table.page.object_list if table.page else table.rows
    return [f"{row.record.action} {row.record.target}" for row in rows]


def actions(response) -> list[str]:
    return [line.split(" ")[0] for line in shown(response)]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- who may open it ----------------------------------------------------------------------------


def test_admin_sees_the_log_newest_first(admin_client, log):
    response = admin_client.get(URL)
    assert actions(response) == [
        "policy_changed",
        "role_changed",
        "appointment_transition",
        "login_failed",
        "record_read",
        "login",
    ]
    html = response.content.decode()
    assert "Activity log" in html
    assert "reschedules per appointment: 3 → 5" in html
    assert "Requested → Confirmed" in html
    assert "Receptionist → Doctor" in html
    assert "198.51.100.23" in html
    assert 'href="/admin/clinic/appointments/K7Q2M9XD/"' in html
    assert 'href="/admin/clinic/appointments/K7Q2M9XD/record/"' in html


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR])
def test_everyone_but_administrators_is_refused(role, log):
    client = Client()
    client.force_login(make_user(role))
    assert refused(client, URL)
    assert refused(client, URL + "?export=csv")
    assert client.get(URL).status_code != 200


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR])
def test_the_menu_entry_is_shown_to_administrators_only(admin_client, role):
    assert '"dashboard-activity"' in admin_client.get("/admin/").content.decode()
    other = Client()
    other.force_login(make_user(role))
    assert '"dashboard-activity"' not in other.get("/admin/").content.decode()


# --- filters ------------------------------------------------------------------------------------


def test_filter_by_action(admin_client, log):
    assert actions(admin_client.get(URL, {"action": "login_failed"})) == ["login_failed"]


def test_filter_by_who_finds_actors_by_name_and_email_and_the_accounts_acted_on(admin_client, log):
    assert actions(admin_client.get(URL, {"who": "rita desk"})) == [
        "policy_changed",
        "role_changed",
        "appointment_transition",
    ]
    # Ada acted twice, and her account was acted on once (the role change).
    assert actions(admin_client.get(URL, {"who": "ada@clinic"})) == [
        "role_changed",
        "record_read",
        "login",
    ]
    # A failed sign-in has no actor: it is found by the address that was typed.
    assert "login_failed" in actions(admin_client.get(URL, {"who": "rita@clinic.test"}))


def test_filter_by_date_range_uses_whole_local_days(admin_client, log):
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    assert actions(admin_client.get(URL, {"date_from": yesterday, "date_to": yesterday})) == [
        "login_failed"
    ]
    assert actions(admin_client.get(URL, {"date_from": TODAY.isoformat()})) == [
        "policy_changed",
        "role_changed",
        "appointment_transition",
    ]
    assert len(actions(admin_client.get(URL, {"date_to": yesterday}))) == 3


def test_filter_by_ip_address_whole_or_beginning(admin_client, log):
    assert actions(admin_client.get(URL, {"ip": "10.0.0.5"})) == ["record_read", "login"]
    assert len(actions(admin_client.get(URL, {"ip": "10.0.0."}))) == 4
    assert actions(admin_client.get(URL, {"ip": "2001:DB8:0::1"})) == ["policy_changed"]
    assert actions(admin_client.get(URL, {"ip": "not an address"})) == []


def test_filter_by_target(admin_client, log):
    assert actions(admin_client.get(URL, {"target": "k7q2m9xd"})) == [
        "appointment_transition",
        "record_read",
    ]


def test_filters_combine(admin_client, log):
    response = admin_client.get(URL, {"who": "ada", "action": "login", "ip": "10.0.0.5"})
    assert actions(response) == ["login"]


@pytest.mark.parametrize(
    "query",
    [
        {"action": "made_tea"},
        {"date_from": "31/02/2031"},
        {"date_from": "9999-12-31"},
        {"who": "\x00"},
        {"ip": "10.\x00"},
        {"target": "x" * 5000},
        {"page": "999"},
    ],
)
def test_bad_filters_never_fail(admin_client, log, query):
    response = admin_client.get(URL, query)
    assert response.status_code in (200, 404)
    assert admin_client.get(URL, {**query, "export": "csv"}).status_code == 200


def test_pages_of_fifty(admin_client, admin):
    log_events(
        [
            {
                "action": Action.EXPORT,
                "actor": admin,
                "target": f"#{i:03d}",
                "at": at(TODAY, "10:00"),
            }
            for i in range(PAGE_SIZE + 5)
        ]
    )
    first = shown(admin_client.get(URL))
    second = shown(admin_client.get(URL, {"page": 2}))
    assert len(first) == PAGE_SIZE and len(second) == 5
    assert first[0] == f"export #{PAGE_SIZE + 4:03d}"  # same time: the later row first
    assert "55 events" in admin_client.get(URL).content.decode()


# --- export -------------------------------------------------------------------------------------


def test_csv_export_holds_exactly_the_filtered_rows(admin_client, log):
    query = {"date_from": (TODAY - dt.timedelta(days=2)).isoformat(), "ip": "10.0.0."}
    listed = shown(admin_client.get(URL, query))

    rows = csv_rows(admin_client.get(URL, {**query, "export": "csv"}))

    assert rows[0] == CSV_HEADER
    assert [f"{r[2]} {r[3]}" for r in rows[1:]] == [
        f"{ActivityEvent(action=line.split(' ')[0]).action_label} {line.split(' ', 1)[1]}"
        for line in listed
    ]
    assert rows[1] == [
        "2031-03-03 09:00:00",
        "Rita Desk <rita@clinic.test>",
        "Role changed",
        "Ada Hart <ada@clinic.test>",
        "Receptionist → Doctor",
        "10.0.0.9",
    ]


def test_exporting_the_log_is_itself_logged(admin_client, admin, log):
    admin_client.get(URL, {"action": "login", "export": "csv", "page": "1"})

    event = ActivityEvent.objects.get(action=Action.EXPORT)
    assert event.actor == admin
    assert event.ip_address == "192.0.2.10"
    assert event.target == "Activity log"
    assert event.details == {"format": "csv", "rows": 1, "filters": {"action": "login"}}
    assert actions(admin_client.get(URL))[0] == "export"


def test_the_export_link_carries_the_filters(admin_client, log):
    response = admin_client.get(URL, {"who": "ada", "page": 1})
    assert response.context["export_url"] == "?who=ada&export=csv"


# --- queries --------------------------------------------------------------------------------------


def _count(client, query=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, query or {}).status_code == 200
    return len(queries.captured_queries)


def test_the_list_runs_a_pinned_number_of_queries(admin_client, admin, log):
    admin_client.get(URL)  # warm the process-wide caches (content types, Wagtail's registries)
    few = _count(admin_client)
    log_events(
        [
            {
                "action": Action.RECORD_READ,
                "actor": admin,
                "target": f"#{i}",
                "ip_address": "10.1.1.1",
            }
            for i in range(40)
        ]
    )
    many = _count(admin_client)
    filtered = _count(
        admin_client,
        {"who": "ada", "action": "login", "date_from": "2031-03-01", "ip": "10.0."},
    )
    assert (few, many, filtered) == (LIST_QUERIES,) * 3
