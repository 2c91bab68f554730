"""The site shell (home/shell.py): the main menu and the links to the site's fixed pages come
from the cache on every page, and whatever an editor changes in Wagtail shows on the next request.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, PageViewRestriction

from clinic_site.accounts.roles import Role
from home.models import StandardPage
from tests.factories import build_site, make_user

pytestmark = pytest.mark.django_db

PORTAL_URL = "/portal/appointments/"
MENU_LINK = re.compile(r'<a class="nav__link" href="([^"]*)"( aria-current="page")?>([^<]*)</a>')


def menu(client, url=PORTAL_URL) -> list[tuple[str, str, bool]]:
    """(title, href, is_current) of the menu's page links, in order, as the page shows them
    (the portal's own links, which are not pages, left out)."""
    response = client.get(url)
    assert response.status_code == 200
    links = [
        (title, href, bool(current))
        for href, current, title in MENU_LINK.findall(response.content.decode())
        if not href.startswith(("/portal/", "/accounts/"))
    ]
    # The header and the phone menu may show the same list: keep one copy, in order.
    return list(dict.fromkeys(links))


@pytest.fixture
def site():
    return build_site()


@pytest.fixture
def patient_client(client):
    client.force_login(make_user(Role.PATIENT))
    return client


def test_menu_lists_the_pages_shown_in_menus_in_tree_order(site, patient_client):
    assert menu(patient_client) == [
        ("Our doctors", "/doctors/", False),
        ("About us", "/about/", False),
        ("News", "/news/", False),
    ]


def test_the_current_section_is_marked_on_public_pages(site, client):
    assert ("News", "/news/", True) in menu(client, "/news/flu/")
    assert ("About us", "/about/", False) in menu(client, "/news/flu/")
    assert ("About us", "/about/", True) in menu(client, "/about/")


def test_a_warm_shell_reads_no_page_or_site_rows(site, patient_client):
    patient_client.get(PORTAL_URL)  # builds the shell
    with CaptureQueriesContext(connection) as ctx:
        response = patient_client.get(PORTAL_URL)
    assert response.status_code == 200
    wagtail_reads = [q["sql"] for q in ctx.captured_queries if "wagtailcore_" in q["sql"]]
    assert wagtail_reads == []
    # ...and the page still links the menu and the doctors directory.
    assert ("Our doctors", "/doctors/", False) in menu(patient_client)
    assert 'href="/doctors/"' in response.content.decode()


def test_a_newly_published_menu_page_shows_on_the_next_request(site, patient_client):
    menu(patient_client)  # warm
    page = StandardPage(
        title="Opening hours", slug="hours", show_in_menus=True, intro="When.", live=False
    )
    site.home.add_child(instance=page)
    assert ("Opening hours", "/hours/", False) not in menu(patient_client)  # a draft
    page.save_revision().publish()
    assert menu(patient_client)[-1] == ("Opening hours", "/hours/", False)


def test_an_unpublished_page_leaves_the_menu(site, patient_client):
    menu(patient_client)
    site.about.unpublish()
    assert [title for title, _, _ in menu(patient_client)] == ["Our doctors", "News"]


def test_a_renamed_page_shows_its_new_title_once_published(site, patient_client):
    menu(patient_client)
    about = StandardPage.objects.get(pk=site.about.pk)
    about.title = "Who we are"
    about.save_revision().publish()
    assert ("Who we are", "/about/", False) in menu(patient_client)


def test_a_changed_slug_changes_the_link(site, patient_client):
    menu(patient_client)
    about = StandardPage.objects.get(pk=site.about.pk)
    about.slug = "about-the-clinic"
    about.save_revision().publish()
    assert ("About us", "/about-the-clinic/", False) in menu(patient_client)


def test_a_private_page_leaves_the_menu_and_returns_when_opened_again(site, patient_client):
    menu(patient_client)
    restriction = PageViewRestriction.objects.create(
        page=site.about, restriction_type=PageViewRestriction.LOGIN
    )
    assert "About us" not in [title for title, _, _ in menu(patient_client)]
    restriction.delete()
    assert "About us" in [title for title, _, _ in menu(patient_client)]


def test_a_page_moved_out_of_the_top_level_leaves_the_menu(site, patient_client):
    menu(patient_client)
    Page.objects.get(pk=site.about.pk).move(site.news, pos="last-child")
    assert [title for title, _, _ in menu(patient_client)] == ["Our doctors", "News"]


def test_a_deleted_page_leaves_the_menu_and_its_link_everywhere(site, patient_client):
    menu(patient_client)
    Page.objects.get(pk=site.doctors.pk).delete()
    assert [title for title, _, _ in menu(patient_client)] == ["About us", "News"]
    # The portal's "Find a doctor" links disappear with the directory.
    assert 'href="/doctors/"' not in patient_client.get(PORTAL_URL).content.decode()


def test_an_unknown_host_gets_an_empty_shell_and_no_error(site, client, settings):
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    response = client.get(PORTAL_URL, HTTP_HOST="evil.example")
    assert response.status_code == 400  # Django's answer to a disallowed host, not a 500
