"""The staff dashboard inside the Wagtail admin: its URLs, the menu each role sees, the home
panels and the "Clinic" reference-data group."""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import NoReverseMatch, include, path, reverse
from django.utils.html import format_html
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel
from wagtail_modeladmin.options import ModelAdmin, ModelAdminGroup, modeladmin_register

from clinic_site.accounts.roles import Role
from doctors.models import Specialty, VisitType
from records.models import Medicine

from . import urls
from .panels import DoctorPanel, FrontDeskPanel
from .permissions import CLINIC_STAFF, FRONT_DESK, role_of


@hooks.register("register_admin_urls")
def register_dashboard_urls():
    return [path("clinic/", include((urls.urlpatterns, "dashboard"), namespace="dashboard"))]


@hooks.register("insert_global_admin_css")
def dashboard_css():
    return format_html('<link rel="stylesheet" href="{}">', static("dashboard/dashboard.css"))


@hooks.register("insert_global_admin_js")
def dashboard_js():
    return format_html('<script src="{}" defer></script>', static("dashboard/dashboard.js"))


class RoleMenuItem(MenuItem):
    """A menu item shown to the given roles only."""

    def __init__(self, label, url_name, *, roles, **kwargs):
        self.roles = frozenset(roles)
        self.url_name = url_name
        super().__init__(label, "", name=url_name.replace(":", "-"), **kwargs)

    @property
    def url(self):
        return reverse(self.url_name)

    @url.setter
    def url(self, value):  # MenuItem.__init__ assigns it; the URL is resolved when shown
        pass

    def is_shown(self, request):
        if role_of(request.user) not in self.roles:
            return False
        try:
            reverse(self.url_name)
        except NoReverseMatch:  # a screen that is not installed
            return False
        return True


# (label, url name, icon, order, roles)
MENU = [
    ("Appointments", "dashboard:appointments", "date", 101, CLINIC_STAFF),
    ("Queue", "dashboard:queue", "group", 102, CLINIC_STAFF),
    ("Calendar", "dashboard:calendar", "calendar-alt", 103, CLINIC_STAFF),
    ("Book for a patient", "dashboard:book", "plus", 104, FRONT_DESK),
    ("Schedules", "dashboard:schedules", "time", 105, CLINIC_STAFF),
    ("Analytics", "dashboard:analytics", "table", 106, CLINIC_STAFF),
    ("Users and roles", "dashboard:users", "user", 107, frozenset({Role.ADMIN})),
    ("Activity log", "dashboard:activity", "history", 108, frozenset({Role.ADMIN})),
]


def _menu_hook(label, url_name, icon, order, roles):
    def register():
        return RoleMenuItem(label, url_name, icon_name=icon, order=order, roles=roles)

    hooks.register("register_admin_menu_item", register)


for _entry in MENU:
    _menu_hook(*_entry)


@hooks.register("construct_homepage_panels")
def clinic_home_panels(request, panels):
    role = role_of(request.user)
    if role in FRONT_DESK:
        panels.insert(0, FrontDeskPanel())
    elif role == Role.DOCTOR:
        panels.insert(0, DoctorPanel())


# --- Reference data: one "Clinic" menu group (wagtail-modeladmin) -----------------------------


def in_words(field: str, label: str):
    """A yes/no list column written as words. modeladmin would draw a boolean field with Django
    admin's icons (`admin/img/icon-yes.svg`), which are never collected: `django.contrib.admin` is
    not installed, so production's manifest storage fails on them."""

    def column(self, obj) -> str:
        return "Yes" if getattr(obj, field) else "No"

    column.short_description = label
    column.admin_order_field = field
    return column


class SpecialtyAdmin(ModelAdmin):
    model = Specialty
    menu_label = "Specialties"
    menu_icon = "tag"
    list_display = ("name", "slug")
    search_fields = ("name",)
    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")]


class VisitTypeAdmin(ModelAdmin):
    model = VisitType
    menu_label = "Visit types"
    menu_icon = "time"
    list_display = ("name", "doctor", "duration_minutes", "mode", "price", "active")
    active = in_words("is_active", "Active")
    list_filter = ("mode", "duration_minutes", "is_active")
    search_fields = ("name", "doctor__name")
    panels = [
        FieldPanel("doctor"),
        FieldPanel("name"),
        FieldPanel("duration_minutes"),
        FieldPanel("mode"),
        FieldPanel("price"),
        FieldPanel("sort_order"),
        FieldPanel("is_active"),
    ]


class MedicineAdmin(ModelAdmin):
    """The catalogue doctors get suggestions from while prescribing."""

    model = Medicine
    menu_label = "Medicines"
    menu_icon = "clipboard-list"
    list_display = ("name", "form", "strength", "default_dose", "default_frequency", "active")
    active = in_words("is_active", "Active")
    list_filter = ("form", "is_active")
    search_fields = ("name",)
    panels = [
        FieldPanel("name"),
        FieldPanel("form"),
        FieldPanel("strength"),
        FieldPanel("default_dose"),
        FieldPanel("default_frequency"),
        FieldPanel("is_active"),
    ]


class ClinicReferenceGroup(ModelAdminGroup):
    """Reference data: specialties, visit types and the medicines catalogue."""

    menu_label = "Clinic"
    menu_icon = "site"
    menu_order = 150
    items = (SpecialtyAdmin, VisitTypeAdmin, MedicineAdmin)


modeladmin_register(ClinicReferenceGroup)
