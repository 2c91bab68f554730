"""Every page type renders, reading its doctor data from the Doctor records."""

import pytest

from home.services import doctor_page_ensure
from tests.factories import DoctorFactory, SpecialtyFactory, build_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return build_site()


def test_home_page_renders_hero_menu_and_news(client, site):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Care that fits around your life" in html
    assert 'href="/doctors/"' in html  # menu and hero button
    assert "Flu jabs are open" in html  # latest news block


def test_standard_news_index_and_article_render(client, site):
    for url, text in [
        ("/about/", "We care."),
        ("/news/", "Flu jabs are open"),
        ("/news/flu/", "Book your flu jab now."),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode()


def test_doctor_page_reads_name_and_specialties_from_the_doctor(client, site):
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    doctor = DoctorFactory(name="Dr Ada Lovelace", slug="ada-lovelace", specialties=[cardiology])
    page = doctor_page_ensure(doctor=doctor)
    doctor.name = "Dr Ada King"
    doctor.save()
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dr Ada King" in html
    assert "Cardiology" in html


def test_directory_filters_by_specialty(client, site):
    cardiology = SpecialtyFactory(name="Cardiology", slug="cardiology")
    skin = SpecialtyFactory(name="Dermatology", slug="dermatology")
    doctor_page_ensure(doctor=DoctorFactory(name="Dr Heart", specialties=[cardiology]))
    doctor_page_ensure(doctor=DoctorFactory(name="Dr Skin", specialties=[skin]))
    html = client.get("/doctors/?specialty=cardiology").content.decode()
    assert "Dr Heart" in html and "Dr Skin" not in html
    assert client.get("/doctors/?specialty=nope").status_code == 404


def test_directory_cards_are_headings_right_under_the_page_title(client, site):
    """Regression (Lighthouse: heading-order): the directory's cards were h3s straight under the
    h1; on the home page, under the block's own h2, they stay h3s."""
    doctor_page_ensure(doctor=DoctorFactory(name="Dr Heart"))
    html = client.get("/doctors/").content.decode()
    assert '<h2 class="doctor-card__name">' in html
    assert '<h3 class="doctor-card__name">' not in html


def test_pages_without_a_search_description_describe_themselves_with_their_intro(client, site):
    """Regression (Lighthouse SEO: meta-description) for the directory, news and standard pages;
    an editor's search description still comes first."""
    assert (
        '<meta name="description" content="Find one.">' in client.get("/doctors/").content.decode()
    )
    assert '<meta name="description" content="Book your flu jab now.">' in (
        client.get("/news/flu/").content.decode()
    )
    site.doctors.search_description = "Every doctor of the clinic."
    site.doctors.save_revision().publish()
    html = client.get("/doctors/").content.decode()
    assert '<meta name="description" content="Every doctor of the clinic.">' in html


def test_creating_a_doctor_in_the_admin_gives_them_a_live_page(client, site):
    from clinic_site.accounts.roles import Role
    from home.models import DoctorPage
    from tests.factories import make_user

    specialty = SpecialtyFactory(name="Cardiology", slug="cardiology")
    client.force_login(make_user(Role.ADMIN))
    response = client.post(
        "/admin/snippets/doctors/doctor/add/",
        {
            "name": "Dr Grace Hopper",
            "slug": "grace-hopper",
            "specialties": [specialty.pk],
            "biography": "Cardiologist.",
            "phone": "",
            "languages": "English",
            "date_joined": "2020-01-01",
            "accepting_new_patients": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    page = DoctorPage.objects.get(doctor__slug="grace-hopper")
    assert page.live and page.title == "Dr Grace Hopper"
    assert client.get(page.url).status_code == 200

    doctor = page.doctor
    client.post(
        f"/admin/snippets/doctors/doctor/edit/{doctor.pk}/",
        {
            "name": "Dr Grace B. Hopper",
            "slug": "grace-hopper",
            "specialties": [specialty.pk],
            "biography": "Cardiologist.",
            "languages": "English",
            "date_joined": "2020-01-01",
            "accepting_new_patients": "on",
            "is_active": "on",
        },
    )
    page.refresh_from_db()
    assert page.title == "Dr Grace B. Hopper"


def test_editors_cannot_change_doctor_records(client, site):
    from clinic_site.accounts.roles import Role
    from tests.factories import make_user

    doctor = DoctorFactory()
    client.force_login(make_user(Role.EDITOR))
    response = client.get(f"/admin/snippets/doctors/doctor/edit/{doctor.pk}/")
    assert response.status_code in (302, 403)
    assert client.get("/admin/pages/").status_code == 200


def test_unknown_page_gets_the_friendly_404(client, site):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We couldn’t find that page" in html
    assert 'href="/doctors/"' in html


def test_server_error_page_renders_without_a_request_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
    assert "/static/css/clinic.css" in html
