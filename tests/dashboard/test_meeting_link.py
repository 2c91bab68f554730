"""The video link on the dashboard's appointment screen (permissions.md; api-v1.md: `meeting_url`
only to the patient, the doctor and admins): the treating doctor and administrators see it, the
front desk never does — the same rule as the API's (booking.permissions.can_see_meeting_url).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from booking import selectors, services
from clinic_site.accounts.roles import Role
from tests.factories import VisitTypeFactory, at, book, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
DAY = TODAY + dt.timedelta(days=2)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "08:00"), tick=False)


@pytest.fixture
def video_visit(doctor):
    video = VisitTypeFactory(doctor=doctor, name="Video call", mode="video", duration_minutes=20)
    start = selectors.slot_search(visit_type=video, date_from=DAY, date_to=DAY)[0].start
    appointment = book(video, start, patient=make_user(Role.PATIENT, full_name="Vera Video"))
    url = services.meeting_url(appointment)
    assert url and appointment.meeting_token in url
    return appointment, url


def screen(client, user, appointment):
    client.force_login(user)
    response = client.get(reverse("dashboard:appointment", args=[appointment.reference]))
    assert response.status_code == 200
    return response


def test_receptionist_never_sees_the_meeting_link(client, video_visit, receptionist):
    appointment, _url = video_visit
    response = screen(client, receptionist, appointment)
    assert response.context["meeting_url"] is None
    assert appointment.meeting_token.encode() not in response.content
    assert b"Video link" not in response.content
    assert b"Vera Video" in response.content  # the screen itself is shown


@pytest.mark.parametrize("viewer", ["treating doctor", "admin"])
def test_treating_doctor_and_admin_see_the_meeting_link(client, video_visit, doctor, viewer):
    appointment, url = video_visit
    user = doctor.user if viewer == "treating doctor" else make_user(Role.ADMIN)
    response = screen(client, user, appointment)
    assert response.context["meeting_url"] == url
    assert f'href="{url}"'.encode() in response.content
