"""The OpenAPI document says what the API answers (api-v1.md, "Schema"), checked here on real
answers with a JSON Schema validator, besides the fuzzing gate (tests/test_api_fuzzing.py).

- An appointment's history was documented as a free-form object; it is
  `{"reschedules": [...], "transitions": [...]}` with the entries of api-v1.md.
"""

from __future__ import annotations

import datetime as dt

import jsonschema
import pytest
from rest_framework.test import APIClient

from booking import services
from clinic_site.accounts.roles import Role
from tests.factories import at, book, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
DAY = TODAY + dt.timedelta(days=2)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "08:00"), tick=False)


def openapi() -> dict:
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def documented(doc: dict, path: str, method: str, status: int) -> dict:
    """The documented body of one answer, as a JSON Schema that resolves the document's refs
    (OpenAPI 3.0's `nullable` read as JSON Schema's null type)."""
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"][
        "schema"
    ]
    return {**_nullable(schema), "components": _nullable(doc["components"])}


def _nullable(node):
    if isinstance(node, dict):
        node = {key: _nullable(value) for key, value in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            else:
                node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(value) for value in node]
    return node


def test_history_is_documented_with_its_reschedules_and_transitions(visit_type):
    patient = make_user(Role.PATIENT, full_name="Hana History")
    receptionist = make_user(Role.RECEPTIONIST)
    appointment = book(visit_type, at(DAY, "09:00"), patient=patient)
    services.appointment_act(appointment=appointment, actor=receptionist, action="confirm")
    services.appointment_reschedule(
        appointment=appointment, actor=receptionist, new_start=at(DAY, "10:20"), reason="Late"
    )
    client = APIClient()
    client.force_authenticate(patient)
    body = client.get(f"/api/v1/appointments/{appointment.reference}/history/").json()
    assert len(body["reschedules"]) == 1 and len(body["transitions"]) >= 2

    schema = documented(openapi(), "/api/v1/appointments/{reference}/history/", "get", 200)
    jsonschema.validate(body, schema)
    history = schema["components"]["schemas"]["History"]
    assert set(history["required"]) == {"reschedules", "transitions"}
    entries = {
        name: schema["components"]["schemas"][name]
        for name in ("HistoryReschedule", "HistoryTransition")
    }
    assert set(entries["HistoryReschedule"]["required"]) == set(body["reschedules"][0])
    assert set(entries["HistoryTransition"]["required"]) == set(body["transitions"][0])
    # The document now refuses what the API never answers.
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"reschedules": "none"}, schema)
