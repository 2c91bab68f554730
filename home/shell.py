"""What every public and portal page shows around its content: the main menu and the links to
the site's fixed pages, kept in the cache between requests.

Building it costs five queries (the site, the view restrictions, the menu pages, the site root
paths, the doctors directory) on every page otherwise. It changes only when an editor changes
pages or sites, so it is read from the cache (one read) and dropped whenever a page is saved,
published, unpublished, moved or deleted, a view restriction changes or a site changes
(`connect()`, called by the app's `ready`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.db.models.signals import post_delete, post_save
from wagtail.models import Page, PageViewRestriction, Site
from wagtail.signals import page_published, page_unpublished, post_page_move

CACHE_KEY = "clinic:site-shell"
# Dropped on every change; the timeout bounds what a build racing with a change may keep.
CACHE_SECONDS = 5 * 60
# Pages templates link to by type (`{% site_page_url %}`): the first live page of each.
LINKED_PAGE_TYPES = ("DoctorIndexPage",)


@dataclass(frozen=True)
class MenuEntry:
    title: str
    url: str
    url_path: str


@dataclass(frozen=True)
class Shell:
    menu: tuple[MenuEntry, ...]
    page_urls: dict[str, str]


EMPTY = Shell(menu=(), page_urls={})


def _build(request) -> Shell:
    from django.apps import apps

    site = Site.find_for_request(request)
    if site is None:
        return EMPTY
    pages = site.root_page.get_children().live().public().in_menu().specific(defer=True)
    menu = tuple(MenuEntry(p.title, p.get_url(request) or "", p.url_path) for p in pages)
    page_urls = {}
    for page_type in LINKED_PAGE_TYPES:
        page = apps.get_model("home", page_type).objects.live().first()
        page_urls[page_type] = (page.get_url(request) or "") if page else ""
    return Shell(menu=menu, page_urls=page_urls)


def site_shell(request) -> Shell:
    """The shell for the request's host, from the cache (built and stored on a miss)."""
    if request is None:
        return EMPTY
    memo = getattr(request, "_clinic_shell", None)
    if memo is not None:
        return memo
    try:
        host = request.get_host().lower()
    except DisallowedHost:
        return EMPTY
    shells = cache.get(CACHE_KEY) or {}
    shell = shells.get(host)
    if shell is None:
        shell = _build(request)
        cache.set(CACHE_KEY, {**shells, host: shell}, CACHE_SECONDS)
    request._clinic_shell = shell
    return shell


def forget(**kwargs) -> None:
    cache.delete(CACHE_KEY)


def _page_saved_or_deleted(sender, instance, **kwargs) -> None:
    if isinstance(instance, Page):
        forget()


def connect() -> None:
    for signal in (page_published, page_unpublished, post_page_move):
        signal.connect(forget, dispatch_uid=f"clinic_shell_{signal!r}")
    # Every page model sends its own post_save/post_delete: listen to all and keep pages.
    post_save.connect(_page_saved_or_deleted, dispatch_uid="clinic_shell_page_saved")
    post_delete.connect(_page_saved_or_deleted, dispatch_uid="clinic_shell_page_deleted")
    for model in (PageViewRestriction, Site):
        post_save.connect(forget, sender=model, dispatch_uid=f"clinic_shell_{model.__name__}_s")
        post_delete.connect(forget, sender=model, dispatch_uid=f"clinic_shell_{model.__name__}_d")
