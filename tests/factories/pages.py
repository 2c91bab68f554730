"""A small public site, built the way editors build it."""

from __future__ import annotations

from dataclasses import dataclass

from wagtail.models import Page, Site

from home.models import DoctorIndexPage, HomePage, NewsIndexPage, NewsPage, StandardPage


@dataclass
class SiteTree:
    home: HomePage
    doctors: DoctorIndexPage
    about: StandardPage
    news: NewsIndexPage
    article: NewsPage


def _publish(parent: Page, page: Page) -> Page:
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def build_site() -> SiteTree:
    root = Page.get_first_root_node()
    if root is None:  # a transactional test flushed Wagtail's initial tree
        root = Page.add_root(title="Root", slug="root")
    for starter in root.get_children():
        starter.delete()
    home = HomePage(title="Home", slug="home", hero_heading="Care that fits around your life")
    _publish(root, home)
    Site.objects.all().delete()
    Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)
    doctors = _publish(
        home,
        DoctorIndexPage(title="Our doctors", slug="doctors", show_in_menus=True, intro="Find one."),
    )
    about = _publish(
        home,
        StandardPage(
            title="About us",
            slug="about",
            show_in_menus=True,
            intro="Who we are.",
            body=[("paragraph", "<p>We care.</p>")],
        ),
    )
    news = _publish(home, NewsIndexPage(title="News", slug="news", show_in_menus=True))
    article = _publish(
        news, NewsPage(title="Flu jabs are open", slug="flu", intro="Book your flu jab now.")
    )
    home.body = [("latest_news", {"heading": "News", "count": 3})]
    home.hero_cta_page = doctors
    home.save_revision().publish()
    return SiteTree(home=home, doctors=doctors, about=about, news=news, article=article)
