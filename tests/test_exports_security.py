"""Exports are safe to open in a spreadsheet (OWASP "CSV injection"): text that a spreadsheet
would run as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — leaves
every CSV and XLSX export with a leading `'`, while numbers stay numbers.

Covered: the appointments list (CSV and XLSX), the activity log (CSV) and the analytics figures
(CSV), each with a name an outsider can choose (a patient's own name, an address typed at the
sign-in form, a doctor's name).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from clinic_site.accounts.roles import Role
from clinic_site.activity import Action, log_events
from dashboard.exports import neutralise
from tests.factories import at, book, bookable_doctor, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)
DAY = TODAY + dt.timedelta(days=2)
FORMULA = '=HYPERLINK("http://x.test","y")'
APPOINTMENTS = "/admin/clinic/appointments/"  # with `q=""`: the whole list, not today's
ACTIVITY = "/admin/clinic/activity/"
ANALYTICS = "/admin/clinic/analytics/"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "08:00"), tick=False)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def xlsx_cells(response) -> list[list]:
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows()]


def column(rows: list[list], header: str) -> list:
    index = rows[0].index(header)
    return [row[index] for row in rows[1:]]


# --- the rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", [FORMULA, "+44 20 7946 0000", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|' /C calc'!A0"]
)
def test_formula_like_text_gets_a_leading_quote(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["Mia Plain", "", "O'Brien", "a=b", "-3", "+1.5", -3, 0, 2.5, Decimal("-40.00"), None]
)
def test_plain_text_and_numbers_are_left_alone(value):
    assert neutralise(value) == value


# --- the appointments list --------------------------------------------------------------------


@pytest.fixture
def formula_booking(visit_type):
    patient = make_user(Role.PATIENT, full_name=FORMULA)
    return book(visit_type, at(DAY, "10:20"), patient=patient)


def test_appointments_csv_holds_the_formula_as_quoted_text(desk, formula_booking):
    rows = csv_rows(desk.get(APPOINTMENTS, {"q": "", "export": "csv"}))
    assert column(rows, "Patient") == ["'" + FORMULA]
    assert column(rows, "Reference") == [formula_booking.reference]


def test_appointments_xlsx_holds_the_formula_as_text_not_a_formula(desk, formula_booking):
    rows = xlsx_cells(desk.get(APPOINTMENTS, {"q": "", "export": "xlsx"}))
    header = [cell.value for cell in rows[0]]
    cell = rows[1][header.index("Patient")]
    assert cell.data_type == "s"  # openpyxl marks a formula "f"
    assert cell.value == "'" + FORMULA
    assert rows[1][header.index("Reference")].value == formula_booking.reference


# --- the activity log -------------------------------------------------------------------------


def test_activity_csv_quotes_what_an_anonymous_visitor_typed(client):
    client.force_login(make_user(Role.ADMIN, full_name="Alma Admin"))
    log_events(
        [
            {
                "action": Action.LOGIN_FAILED,
                "actor": None,
                "ip_address": "192.0.2.7",
                "at": at(TODAY, "07:00"),
                "target": "@SUM(1+1)*cmd|' /C calc'!A0",
                "target_type": "login",
                "target_id": "",
                "details": {"via": "web"},
            }
        ]
    )
    rows = csv_rows(client.get(ACTIVITY, {"action": Action.LOGIN_FAILED, "export": "csv"}))
    assert column(rows, "Target") == ["'@SUM(1+1)*cmd|' /C calc'!A0"]


# --- analytics ----------------------------------------------------------------------------------


def test_analytics_csv_quotes_a_formula_name_and_keeps_counts_numeric(client):
    _, visit_type = bookable_doctor(name=FORMULA, slug="formula")
    book(visit_type, at(DAY, "10:20"))
    client.force_login(make_user(Role.ADMIN))
    rows = csv_rows(
        client.get(
            ANALYTICS, {"date_from": str(TODAY), "date_to": str(DAY), "export": "per_doctor"}
        )
    )
    assert rows[1][0] == "'" + FORMULA
    assert rows[1][-1] == "1"  # the total, a number
