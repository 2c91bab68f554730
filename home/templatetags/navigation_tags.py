from django import template

from home.shell import site_shell

register = template.Library()


@register.simple_tag(takes_context=True)
def main_menu(context):
    """Top-level pages marked "show in menus": [(entry, is_current)], entry with `title` and
    `url`. Read from the site shell's cache (home/shell.py), so no query on most requests."""
    current = context.get("page") or context.get("self")
    current_path = getattr(current, "url_path", None)
    return [
        (entry, bool(current_path and current_path.startswith(entry.url_path)))
        for entry in site_shell(context.get("request")).menu
    ]


@register.simple_tag(takes_context=True)
def site_page_url(context, page_type: str):
    """URL of the first live page of `home.<PageType>` (e.g. the doctors directory), or ""."""
    shell = site_shell(context.get("request"))
    if page_type in shell.page_urls:
        return shell.page_urls[page_type]
    from django.apps import apps

    cache = context.render_context.setdefault("_site_page_urls", {})
    if page_type not in cache:
        page = apps.get_model("home", page_type).objects.live().first()
        cache[page_type] = page.get_url(context.get("request")) if page else ""
    return cache[page_type]
