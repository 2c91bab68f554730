"""The booking panel of a doctor's public page (product.md §14): visit types with duration, mode
and price, the next available times (links to the review step) and the way to the slot picker —
or, with online booking closed, a sentence saying so. The page runs a fixed number of queries
however booked the doctor is.

The clock is frozen at 06:00 on Monday `TODAY` (clinic zone UTC); the doctor works 09:00-13:00
every day, so today's offered consultation times are 09:00, 09:40, 10:20, 11:00, 11:40, 12:20.
The panel shows at most three a day, six in all.
"""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic_site.accounts.roles import Role
from home.services import doctor_page_ensure
from tests.factories import VisitTypeFactory, at, book, bookable_doctor, build_site, make_user

pytestmark = pytest.mark.django_db

TODAY = dt.date(2031, 3, 3)  # a Monday
TOMORROW = TODAY + dt.timedelta(days=1)
GRID = ("09:00", "09:40", "10:20", "11:00", "11:40", "12:20")

# Pinned: a change here is a deliberate decision, not an accident. Anonymous visitor: Wagtail's
# routing (site, page tree, aliases, view restrictions: 8), the doctor with specialties, photo and
# renditions (4), the panel's visit types and policies (2), then weekly windows, exceptions and
# busy ranges for the next slots (3) and the clinic details (1); the menu comes from the site
# shell's cache (home/shell.py).
DOCTOR_PAGE_QUERIES = 18

SLOT_LINK = re.compile(r'<a class="slot" href="([^"]+)"')


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(at(TODAY, "06:00"), tick=False)
    return time_machine


@pytest.fixture
def site():
    return build_site()


@pytest.fixture
def clinic(site):
    """Dr Ada Hart with a live page: a 30-minute in-person consultation at £40."""
    doctor, visit_type = bookable_doctor(name="Dr Ada Hart", slug="ada-hart")
    return doctor, visit_type, doctor_page_ensure(doctor=doctor)


@pytest.fixture
def page_url(clinic):
    return clinic[2].url


def page(response) -> str:
    return response.content.decode()


def slot_links(html: str) -> list[tuple[str, dict[str, str], dt.datetime]]:
    links = []
    for href in SLOT_LINK.findall(html):
        parts = urlsplit(htmllib.unescape(href))
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        links.append((parts.path, query, dt.datetime.fromisoformat(query["start"])))
    return links


def panel(html: str) -> str:
    start = html.index('class="card card--raised booking-panel"')
    return html[start : html.index("</section>", start)]


def test_panel_lists_visit_types_with_duration_mode_and_price(client, doctor, page_url):
    VisitTypeFactory(
        doctor=doctor, name="Telephone follow-up", duration_minutes=45, mode="telephone", price=0
    )
    response = client.get(page_url)
    assert response.status_code == 200
    html = panel(page(response))
    names = re.findall(r'<span class="visit-types__name">([^<]+)</span>', html)
    assert names == ["Consultation", "Telephone follow-up"]
    assert "30 min · In person" in html
    assert "45 min · Telephone" in html
    prices = re.findall(r'<span class="visit-types__price">([^<]+)</span>', html)
    assert prices == ["£40.00", "Free"]


def test_panel_shows_next_available_times_as_links_to_the_review(
    client, doctor, visit_type, page_url
):
    html = panel(page(client.get(page_url)))
    assert "Next available for a consultation" in html
    links = slot_links(html)
    assert [start for _, _, start in links] == [
        at(TODAY, "09:00"),
        at(TODAY, "09:40"),
        at(TODAY, "10:20"),
        at(TOMORROW, "09:00"),
        at(TOMORROW, "09:40"),
        at(TOMORROW, "10:20"),
    ]
    for path, query, _ in links:
        assert path == f"/book/{doctor.slug}/review/"
        assert query["visit_type"] == str(visit_type.pk)


def test_next_available_link_opens_the_review_of_that_time(client, page_url):
    href = SLOT_LINK.search(page(client.get(page_url))).group(1)
    client.force_login(make_user(Role.PATIENT))
    response = client.get(htmllib.unescape(href))
    assert response.status_code == 200
    html = page(response)
    assert "Review your booking" in html
    assert "Monday 3 March 2031" in html
    assert "09:00 – 09:30" in html


def test_panel_skips_a_booked_time(client, visit_type, page_url):
    book(visit_type, at(TODAY, "09:40"))
    starts = [start for _, _, start in slot_links(page(client.get(page_url)))]
    assert at(TODAY, "09:40") not in starts
    assert starts[:3] == [at(TODAY, "09:00"), at(TODAY, "10:20"), at(TODAY, "11:00")]


def test_panel_links_to_the_slot_picker(client, doctor, page_url):
    html = panel(page(client.get(page_url)))
    link = re.search(r'<a class="btn[^"]*" href="([^"]+)">.*?See all times and book', html, re.S)
    assert link, "no link to the slot picker"
    assert link.group(1) == f"/book/{doctor.slug}/"
    assert client.get(link.group(1)).status_code == 200


def test_panel_with_online_booking_closed_says_so(client, doctor, page_url):
    doctor.accepting_bookings = False
    doctor.save()
    response = client.get(page_url)
    assert response.status_code == 200
    html = panel(page(response))
    assert "Online booking is closed for Dr Ada Hart at the moment" in html
    assert "Consultation" in html and "£40.00" in html  # the visit types are still described
    assert not slot_links(html)
    assert "See all times and book" not in html


def test_panel_of_a_doctor_without_visit_types(client, site):
    doctor, visit_type = bookable_doctor(name="Dr Ben Other", slug="ben-other")
    visit_type.is_active = False
    visit_type.save()
    html = panel(page(client.get(doctor_page_ensure(doctor=doctor).url)))
    assert "Dr Ben Other has no visits to book online yet" in html
    assert not slot_links(html)


def test_panel_with_no_times_in_the_next_two_weeks_says_so(client, visit_type, page_url):
    # Fully booked for a fortnight: every offered consultation of the next 15 days is taken.
    for i in range(15):
        for hhmm in GRID:
            book(visit_type, at(TODAY + dt.timedelta(days=i), hhmm))
    html = panel(page(client.get(page_url)))
    assert not slot_links(html)
    assert "No online times in the next two weeks" in html
    assert "See all times and book" in html


def _count(client, url) -> int:
    client.get(url)  # warm per-process caches (content types, site root paths)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_doctor_page_query_count_is_the_same_however_booked_the_doctor_is(
    client, visit_type, page_url
):
    book(visit_type, at(TODAY, "09:40"))
    few = _count(client, page_url)
    for day, hhmm in [(TODAY, "11:00"), (TOMORROW, "09:00"), (TOMORROW, "10:20")] + [
        (TODAY + dt.timedelta(days=2 + i), "09:40") for i in range(6)
    ]:
        book(visit_type, at(day, hhmm))
    many = _count(client, page_url)
    assert few == many == DOCTOR_PAGE_QUERIES
