"""The activity log (product.md §9): every sensitive action writes one event — who, what, to what,
when and from which address — from its real trigger, inside the action's own transaction.

Triggers played here: signing in and out through the login page, a failed sign-in (and a locked
out one), account creation, activation, deactivation and role changes through the account
services and admin screens, a policy change through Wagtail's settings edit view, appointment
transitions and a reschedule through booking's services, a record read through records'
permission gate, and an export of the dashboard's appointments list.

The clock is frozen at 08:00 on Monday `TODAY` (the clinic's zone is UTC in tests).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from booking import services as booking_services
from booking.models import Status, Transition
from clinic_site import activity
from clinic_site.accounts import services as account_services
from clinic_site.accounts.exceptions import LastAdministrator
from clinic_site.accounts.roles import Role
from clinic_site.activity import NO_ACTOR, Action, log_event, log_events
from clinic_site.models import ActivityEvent, ClinicPolicies
from records.permissions import record_get_for_user
from tests.factories import at, book, completed_visit, make_user
from tests.factories.accounts import PASSWORD
from tests.factories.records import DIAGNOSIS, PRESCRIPTION, TEST

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
NOW = at(TODAY, "08:00")
DAY = TODAY + dt.timedelta(days=2)
IP = "203.0.113.7"
OTHER_IP = "198.51.100.23"
LOGIN_URL = "/accounts/login/"
LOGOUT_URL = "/accounts/logout/"
POLICIES_URL = "/admin/settings/clinic_site/clinicpolicies/"
PENDING_URL = "/admin/accounts/pending/"
APPOINTMENTS_URL = "/admin/clinic/appointments/"
WRONG_PASSWORD = "Not-the-password-1"
CLINICAL = (DIAGNOSIS, PRESCRIPTION["drug"], TEST["name"], "Cough for ten days")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def admin():
    return make_user(Role.ADMIN, full_name="Alma Admin", email="alma@clinic.test")


def events(action: str | None = None):
    qs = ActivityEvent.objects.order_by("at", "pk")
    return list(qs.filter(action=action) if action else qs)


def only(action: str) -> ActivityEvent:
    found = events(action)
    assert len(found) == 1, [(e.action, e.target, e.details) for e in events()]
    return found[0]


def as_text(event: ActivityEvent) -> str:
    return json.dumps(model_to_dict(event), default=str) + event.target


def signed_in(user, ip: str = IP) -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.force_login(user)
    return client


# --- sign-in and sign-out -----------------------------------------------------------------------


def test_signing_in_through_the_login_page_logs_who_when_and_from_where(admin):
    client = Client(REMOTE_ADDR=IP)
    response = client.post(LOGIN_URL, {"username": "ALMA@clinic.test", "password": PASSWORD})
    assert response.status_code == 302

    event = only(Action.LOGIN)
    assert event.actor == admin
    assert (event.actor_name, event.actor_email) == ("Alma Admin", "alma@clinic.test")
    assert event.at == NOW
    assert event.ip_address == IP
    assert (event.target_type, event.target_id) == ("account", str(admin.pk))
    assert event.details == {"via": "web"}


def test_a_failed_sign_in_logs_the_address_typed_and_the_ip_but_no_actor_and_no_password(admin):
    client = Client(REMOTE_ADDR=OTHER_IP)
    response = client.post(
        LOGIN_URL, {"username": " Alma@Clinic.test ", "password": WRONG_PASSWORD}
    )
    assert response.status_code == 200

    event = only(Action.LOGIN_FAILED)
    assert event.actor is None
    assert (event.actor_name, event.actor_email) == ("", "")
    assert event.target == "alma@clinic.test"
    assert event.target_type == "login"
    assert event.ip_address == OTHER_IP
    assert event.at == NOW
    assert WRONG_PASSWORD not in as_text(event)
    assert events(Action.LOGIN) == []


def test_a_failed_sign_in_for_an_unknown_address_is_logged_too():
    Client(REMOTE_ADDR=IP).post(
        LOGIN_URL, {"username": "nobody@example.test", "password": WRONG_PASSWORD}
    )
    assert only(Action.LOGIN_FAILED).target == "nobody@example.test"


def test_a_locked_out_attempt_is_logged_as_locked_out(settings, admin):
    client = Client(REMOTE_ADDR=IP)
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(LOGIN_URL, {"username": admin.email, "password": WRONG_PASSWORD})
    failed = events(Action.LOGIN_FAILED)
    assert len(failed) == settings.AXES_FAILURE_LIMIT + 1
    assert failed[-1].details.get("locked_out") is True
    assert not failed[0].details.get("locked_out")


def test_signing_out_is_logged(admin):
    client = signed_in(admin)
    assert client.post(LOGOUT_URL).status_code in (200, 302)

    event = only(Action.LOGOUT)
    assert event.actor == admin
    assert event.ip_address == IP
    assert event.at == NOW


def test_signing_out_without_a_session_logs_nothing():
    Client().post(LOGOUT_URL)
    assert events() == []


# --- accounts -----------------------------------------------------------------------------------


def test_a_role_change_through_the_service_logs_from_what_to_what(admin):
    doctor = make_user(Role.RECEPTIONIST, full_name="Rita Desk", email="rita@clinic.test")

    account_services.user_set_role(user=doctor, role=Role.DOCTOR, actor=admin)

    event = only(Action.ROLE_CHANGED)
    assert event.actor == admin
    assert event.target == "Rita Desk <rita@clinic.test>"
    assert (event.target_type, event.target_id) == ("account", str(doctor.pk))
    assert event.details == {"from": "receptionist", "to": "doctor"}
    assert event.at == NOW
    assert event.ip_address is None  # no request: nobody's address


def test_setting_the_same_role_again_logs_nothing(admin):
    desk = make_user(Role.RECEPTIONIST)
    account_services.user_set_role(user=desk, role=Role.RECEPTIONIST, actor=admin)
    assert events() == []


def test_activation_through_the_pending_accounts_screen_logs_the_admin_and_their_address(
    admin, settings
):
    patient = make_user(Role.PATIENT, full_name="Nora Quinn", is_active=False, activated_at=None)

    response = signed_in(admin).post(PENDING_URL, {"user": patient.pk})
    assert response.status_code == 302

    event = only(Action.ACCOUNT_ACTIVATED)
    assert event.actor == admin
    assert event.ip_address == IP
    assert event.target_id == str(patient.pk)
    assert event.details == {"first_activation": True}


def test_deactivation_is_logged(admin):
    desk = make_user(Role.RECEPTIONIST)
    account_services.user_deactivate(user=desk, actor=admin)
    event = only(Action.ACCOUNT_DEACTIVATED)
    assert (event.actor, event.target_id) == (admin, str(desk.pk))


def test_a_new_staff_account_is_one_creation_event_with_its_role(admin):
    created = account_services.staff_create(
        email="ben@clinic.test", full_name="Ben Okafor", role=Role.DOCTOR, actor=admin
    )
    event = only(Action.ACCOUNT_CREATED)
    assert event.actor == admin
    assert event.target_id == str(created.pk)
    assert event.details == {"role": "doctor", "via": "staff"}
    assert events(Action.ROLE_CHANGED) == []


def test_a_patient_registered_at_the_desk_is_logged(admin):
    desk = make_user(Role.RECEPTIONIST)
    patient = account_services.patient_register_at_desk(
        actor=desk,
        email="walkin@example.test",
        full_name="Walk In",
        phone="+44 20 7946 0001",
        date_of_birth=dt.date(1980, 1, 2),
    )
    event = only(Action.ACCOUNT_CREATED)
    assert (event.actor, event.target_id) == (desk, str(patient.pk))
    assert event.details == {"role": "patient", "via": "desk"}


def test_a_refused_account_change_leaves_no_event(admin):
    with pytest.raises(LastAdministrator):
        account_services.user_deactivate(user=admin, actor=admin)
    assert events() == []


def test_a_rolled_back_transaction_leaves_no_event(admin):
    desk = make_user(Role.RECEPTIONIST)
    with pytest.raises(RuntimeError), transaction.atomic():
        account_services.user_set_role(user=desk, role=Role.DOCTOR, actor=admin)
        assert len(events(Action.ROLE_CHANGED)) == 1  # written inside the transaction...
        raise RuntimeError("the caller fails after the service")
    assert events() == []  # ...and gone with it
    desk.refresh_from_db()
    assert desk.role == Role.RECEPTIONIST


# --- clinic policies ----------------------------------------------------------------------------


def _policy_form(policies: ClinicPolicies, **changes) -> dict:
    values = {**model_to_dict(policies, exclude=["id"]), **changes}
    return {
        name: ("on" if value else "") if isinstance(value, bool) else value
        for name, value in values.items()
        if value is not False
    }


def test_a_policy_change_through_the_settings_screen_logs_each_field_from_and_to(admin):
    client = signed_in(admin)
    edit_url = client.get(POLICIES_URL)["Location"]
    policies = ClinicPolicies.load()
    assert (policies.max_reschedules, policies.confirmation_required) == (3, True)

    response = client.post(
        edit_url, _policy_form(policies, max_reschedules=5, confirmation_required=False)
    )
    assert response.status_code == 302, response.context["form"].errors

    event = only(Action.POLICY_CHANGED)
    assert event.actor == admin
    assert event.ip_address == IP
    assert event.at == NOW
    assert event.target == "Clinic policies"
    assert event.details == {
        "changes": {
            "confirmation_required": {"from": True, "to": False},
            "max_reschedules": {"from": 3, "to": 5},
        }
    }


def test_saving_the_policies_unchanged_logs_nothing(admin):
    client = signed_in(admin)
    edit_url = client.get(POLICIES_URL)["Location"]
    assert client.post(edit_url, _policy_form(ClinicPolicies.load())).status_code == 302
    assert events(Action.POLICY_CHANGED) == []


# --- appointments -------------------------------------------------------------------------------


def test_booking_and_each_status_change_log_an_appointment_transition(clinic):
    _, visit_type = clinic
    patient = make_user(Role.PATIENT, full_name="Nora Quinn")
    appointment = book(visit_type, at(DAY, "09:00"), patient=patient)
    desk = make_user(Role.RECEPTIONIST)
    booking_services.appointment_act(appointment=appointment, actor=desk, action="confirm")

    booked, confirmed = events(Action.APPOINTMENT_TRANSITION)
    assert booked.actor == patient
    assert booked.details == {"from": "", "to": Status.REQUESTED, "reason_given": False}
    assert confirmed.actor == desk
    assert confirmed.details == {
        "from": Status.REQUESTED,
        "to": Status.CONFIRMED,
        "reason_given": False,
    }
    assert (confirmed.target, confirmed.target_type, confirmed.target_id) == (
        f"Appointment {appointment.reference}",
        "appointment",
        appointment.reference,
    )
    assert confirmed.at == NOW
    assert Transition.objects.filter(appointment=appointment).count() == 2


def test_a_cancellation_logs_that_a_reason_was_given_but_not_its_words(clinic):
    _, visit_type = clinic
    appointment = book(visit_type, at(DAY, "09:00"))
    desk = make_user(Role.RECEPTIONIST)
    reason = "Patient rang: feeling worse after chemotherapy"
    booking_services.appointment_act(
        appointment=appointment, actor=desk, action="cancel", reason=reason
    )

    event = events(Action.APPOINTMENT_TRANSITION)[-1]
    assert event.details == {
        "from": Status.REQUESTED,
        "to": Status.CANCELLED,
        "by": "clinic",
        "reason_given": True,
    }
    assert "chemotherapy" not in as_text(event)


def test_a_reschedule_logs_the_old_and_new_times(clinic):
    _, visit_type = clinic
    desk = make_user(Role.RECEPTIONIST)
    appointment = book(visit_type, at(DAY, "09:00"), actor=desk)

    booking_services.appointment_reschedule(
        appointment=appointment, actor=desk, new_start=at(DAY, "10:20"), reason="Asked to"
    )

    event = only(Action.APPOINTMENT_RESCHEDULED)
    assert event.actor == desk
    assert event.target_id == appointment.reference
    assert event.details == {
        "old_start": at(DAY, "09:00").astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "new_start": at(DAY, "10:20").astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "visit_type": visit_type.name,
        "reason_given": True,
    }


def test_a_failed_action_leaves_no_transition_event(clinic):
    _, visit_type = clinic
    appointment = book(visit_type, at(DAY, "09:00"))
    before = len(events())
    with pytest.raises(RuntimeError), transaction.atomic():
        booking_services.appointment_act(
            appointment=appointment, actor=make_user(Role.RECEPTIONIST), action="confirm"
        )
        raise RuntimeError
    assert len(events()) == before


# --- consultation records -----------------------------------------------------------------------


def test_a_record_read_through_the_permission_gate_logs_reader_record_and_address(clinic, admin):
    _, visit_type = clinic
    visit = completed_visit(visit_type, at(TODAY - dt.timedelta(days=7), "09:00"))
    request = RequestFactory().get("/", REMOTE_ADDR=IP)

    record = record_get_for_user(admin, visit, how="dashboard", request=request)

    event = only(Action.RECORD_READ)
    assert event.actor == admin
    assert event.ip_address == IP
    assert event.at == NOW
    assert (event.target_type, event.target_id) == ("record", str(record.pk))
    assert event.target == f"Record {visit.reference} · {visit.patient.full_name}"
    assert event.details == {"how": "dashboard", "appointment": visit.reference}
    text = as_text(event)
    assert not [word for word in CLINICAL if word in text]


def test_reads_of_many_records_are_logged_in_one_insert(clinic, admin):
    from records import services as record_services
    from records.models import ConsultationRecord

    _, visit_type = clinic
    for i in range(3):
        completed_visit(visit_type, at(TODAY - dt.timedelta(days=7 - i), "09:00"))
    records = list(ConsultationRecord.objects.select_related("appointment__patient"))

    with CaptureQueriesContext(connection) as queries:
        record_services.record_accesses_log(records=records, user=admin, how="export")

    inserts = [q for q in queries.captured_queries if "activityevent" in q["sql"].lower()]
    assert len(inserts) == 1
    assert len(queries.captured_queries) == 2  # the access log's insert and ours
    assert len(events(Action.RECORD_READ)) == 3


def test_records_read_without_their_appointments_are_still_named_in_one_more_query(clinic, admin):
    from records import services as record_services
    from records.models import ConsultationRecord

    _, visit_type = clinic
    visits = [
        completed_visit(visit_type, at(TODAY - dt.timedelta(days=7 - i), "09:00")) for i in range(2)
    ]
    records = list(ConsultationRecord.objects.order_by("pk"))  # no appointment, no patient

    with CaptureQueriesContext(connection) as queries:
        record_services.record_accesses_log(records=records, user=admin, how="export")

    assert len(queries.captured_queries) == 3
    assert [e.target for e in events(Action.RECORD_READ)] == [
        f"Record {v.reference} · {v.patient.full_name}" for v in visits
    ]


# --- exports ------------------------------------------------------------------------------------


def test_exporting_the_appointments_list_logs_format_rows_and_filters(clinic):
    _, visit_type = clinic
    for hhmm in ("09:00", "09:40"):
        book(visit_type, at(DAY, hhmm))
    desk = make_user(Role.RECEPTIONIST)

    response = signed_in(desk).get(APPOINTMENTS_URL, {"status": "REQUESTED", "export": "csv"})
    assert response.status_code == 200

    event = only(Action.EXPORT)
    assert event.actor == desk
    assert event.ip_address == IP
    assert event.target == "Appointments list"
    assert event.details == {"format": "csv", "rows": 2, "filters": {"status": "REQUESTED"}}


def test_an_export_with_a_nul_character_in_a_filter_is_logged_without_it(clinic):
    desk = make_user(Role.RECEPTIONIST)
    response = signed_in(desk).get(APPOINTMENTS_URL, {"q": "Nora\x00", "export": "csv"})
    assert response.status_code == 200
    assert only(Action.EXPORT).details["filters"] == {"q": "Nora"}


def test_showing_the_appointments_list_is_not_an_export(clinic):
    desk = make_user(Role.RECEPTIONIST)
    assert signed_in(desk).get(APPOINTMENTS_URL).status_code == 200
    assert events(Action.EXPORT) == []


# --- the API ------------------------------------------------------------------------------------


def test_log_event_takes_actor_and_address_from_the_current_request(admin):
    request = RequestFactory().get("/", REMOTE_ADDR="2001:DB8::1")
    request.user = admin
    token = activity.request_started(request)
    try:
        event = log_event(action=Action.EXPORT, target="Something")
        anonymous = log_event(action=Action.LOGIN_FAILED, actor=NO_ACTOR)
    finally:
        activity.request_finished(token)
    assert (event.actor, event.ip_address) == (admin, "2001:db8::1")
    assert (anonymous.actor, anonymous.ip_address) == (None, "2001:db8::1")
    assert activity.current_context() is None
    assert log_event(action=Action.EXPORT).ip_address is None


def test_the_middleware_forgets_the_request_once_it_is_answered(admin):
    signed_in(admin).get("/admin/")
    assert activity.current_context() is None


@pytest.mark.parametrize("key", ["diagnosis", "notes", "prescriptions", "password", "Text"])
def test_details_refuse_clinical_content_and_secrets(key):
    with pytest.raises(ValueError, match="never carry"):
        log_event(action=Action.EXPORT, details={key: "x"})
    assert events() == []


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="Unknown activity action"):
        log_event(action="made_tea")


def test_log_events_writes_many_in_one_query(admin):
    with CaptureQueriesContext(connection) as queries:
        written = log_events(
            [{"action": Action.EXPORT, "actor": admin, "target": f"#{i}"} for i in range(5)]
        )
    assert len(written) == 5
    assert len([q for q in queries.captured_queries if "INSERT" in q["sql"]]) == 1
    assert [e.target for e in events()] == [f"#{i}" for i in range(5)]
    assert log_events([]) == []


def test_every_action_has_a_label_and_the_required_ones_exist():
    required = {
        "login",
        "login_failed",
        "logout",
        "account_created",
        "account_activated",
        "account_deactivated",
        "role_changed",
        "password_reset_requested",
        "policy_changed",
        "appointment_transition",
        "appointment_rescheduled",
        "record_read",
        "export",
    }
    assert required <= set(Action.values)
    assert all(label for label in Action.labels)
