from django import template
from wagtail.models import Site

register = template.Library()


@register.simple_tag(takes_context=True)
def main_menu(context):
    """Top-level pages marked "show in menus": [(page, is_current)]. Two queries per request."""
    request = context.get("request")
    site = Site.find_for_request(request) if request else None
    if site is None:
        return []
    root = site.root_page
    current = context.get("page") or context.get("self")
    current_path = getattr(current, "url_path", None)
    items = []
    for page in root.get_children().live().public().in_menu().specific(defer=True):
        is_current = bool(current_path and current_path.startswith(page.url_path))
        items.append((page, is_current))
    return items


@register.simple_tag(takes_context=True)
def site_page_url(context, page_type: str):
    """URL of the first live page of `home.<PageType>` (e.g. the doctors directory), or ""."""
    from django.apps import apps

    model = apps.get_model("home", page_type)
    cache = context.render_context.setdefault("_site_page_urls", {})
    if page_type not in cache:
        page = model.objects.live().first()
        cache[page_type] = page.get_url(context.get("request")) if page else ""
    return cache[page_type]
