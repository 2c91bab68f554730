"""The activity log (product.md §9, permissions.md: administrators only): every sensitive action —
sign-ins, account and role changes, policy changes, appointment status changes, record reads,
exports — newest first, filtered, paginated and exportable to CSV (the export is logged too).

Events are written by the actions themselves (clinic_site/activity.py); this screen only reads.
Who and what are shown as they were recorded, so the list needs no joins.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

import django_filters
import django_tables2 as tables
from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from django_tables2.export.views import ExportMixin
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from booking.filters import DateInput
from booking.models import Status
from booking.selectors import local_day_range
from clinic_site.accounts.roles import Role
from clinic_site.activity import Action
from clinic_site.dates import in_range
from clinic_site.models import ActivityEvent, ClinicPolicies

from .base import LoggedExportMixin, StaffRequiredMixin

PAGE_SIZE = 50
ADMINS = frozenset({Role.ADMIN})
IP_PREFIX = re.compile(r"^[0-9A-Fa-f:.]{1,45}$")
CHANNELS = {"web": "web", "api": "API", "dashboard": "dashboard", "page": "portal", "pdf": "PDF"}


# --- Filters ----------------------------------------------------------------------------------


def _text_input(placeholder: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder})


class ActivityFilter(django_filters.FilterSet):
    # Who: the person who acted, or the account acted on (a failed sign-in has no actor, only
    # the address that was typed).
    who = django_filters.CharFilter(
        label="Who", method="filter_who", widget=_text_input("Name or e-mail address")
    )
    action = django_filters.ChoiceFilter(
        label="Action", choices=Action.choices, empty_label="All actions"
    )
    target = django_filters.CharFilter(
        label="Target",
        method="filter_target",
        widget=_text_input("Reference, name or e-mail"),
    )
    date_from = django_filters.DateFilter(label="From", method="filter_date_from", widget=DateInput)
    date_to = django_filters.DateFilter(label="To", method="filter_date_to", widget=DateInput)
    ip = django_filters.CharFilter(
        label="IP address",
        method="filter_ip",
        widget=_text_input("e.g. 203.0.113.7 or 10.0."),
    )

    class Meta:
        model = ActivityEvent
        fields = ["who", "action", "target", "date_from", "date_to", "ip"]

    @staticmethod
    def _text(value: str) -> str:
        return value.replace("\x00", "").strip()

    def filter_who(self, queryset, name, value):
        value = self._text(value)
        if not value:
            return queryset
        return queryset.filter(
            Q(actor_name__icontains=value)
            | Q(actor_email__icontains=value)
            | Q(target_type__in=("account", "login"), target__icontains=value)
        )

    def filter_target(self, queryset, name, value):
        value = self._text(value)
        return queryset.filter(target__icontains=value) if value else queryset

    def filter_date_from(self, queryset, name, value):
        if not in_range(value):
            return queryset.none()
        return queryset.filter(at__gte=local_day_range(value)[0])

    def filter_date_to(self, queryset, name, value):
        if not in_range(value):
            return queryset.none()
        return queryset.filter(at__lt=local_day_range(value)[1])

    def filter_ip(self, queryset, name, value):
        value = self._text(value)
        if not value:
            return queryset
        try:
            return queryset.filter(ip_address=str(ipaddress.ip_address(value)))
        except ValueError:
            pass
        if not IP_PREFIX.match(value):
            return queryset.none()
        return queryset.filter(ip_address__istartswith=value)


# --- Summaries of the details -----------------------------------------------------------------


def _status(value: str) -> str:
    try:
        return Status(value).label
    except ValueError:
        return value


def _role(value: str | None) -> str:
    if not value:
        return "no role"
    try:
        return Role(value).label
    except ValueError:
        return value


def _local(value) -> str:
    when = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        return str(value)
    return timezone.localtime(when).strftime("%a %d %b %Y %H:%M")


def _policy_value(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _policy_label(name: str) -> str:
    try:
        return str(ClinicPolicies._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a policy that no longer exists
        return name.replace("_", " ")


def summarise(event: ActivityEvent) -> str:
    """One line saying what happened beyond who, what and to what (for the table and CSV)."""
    d = event.details or {}
    action = event.action
    parts: list[str] = []
    if action in (Action.LOGIN, Action.LOGOUT, Action.LOGIN_FAILED):
        parts.append(f"via {CHANNELS.get(d.get('via'), d.get('via') or 'web')}")
        if d.get("locked_out"):
            parts.append("locked out")
    elif action == Action.ACCOUNT_CREATED:
        parts.append(f"as {_role(d.get('role'))}")
        via = {"desk": "registered at the desk", "registration": "self-registration"}
        if d.get("via") in via:
            parts.append(via[d["via"]])
    elif action == Action.ACCOUNT_ACTIVATED:
        parts.append("first activation" if d.get("first_activation") else "re-activated")
    elif action == Action.ROLE_CHANGED:
        parts.append(f"{_role(d.get('from'))} → {_role(d.get('to'))}")
    elif action == Action.POLICY_CHANGED:
        for name, change in (d.get("changes") or {}).items():
            parts.append(
                f"{_policy_label(name)}: {_policy_value(change.get('from'))} → "
                f"{_policy_value(change.get('to'))}"
            )
    elif action == Action.APPOINTMENT_TRANSITION:
        if d.get("from"):
            parts.append(f"{_status(d['from'])} → {_status(d.get('to', ''))}")
        else:
            parts.append(f"booked as {_status(d.get('to', '')).lower()}")
        flags = {
            "walk_in": "walk-in",
            "notice_bypassed": "notice bypassed",
            "declined": "declined",
            "rescheduled": "with a reschedule",
        }
        parts += [label for key, label in flags.items() if d.get(key)]
        if d.get("by"):
            parts.append(f"by the {d['by']}")
        if "excused" in d:
            parts.append("excused" if d["excused"] else "unexcused")
        if d.get("hold"):
            parts.append(f"hold: {str(d['hold']).replace('_', ' ')}")
    elif action == Action.APPOINTMENT_RESCHEDULED:
        parts.append(f"{_local(d.get('old_start'))} → {_local(d.get('new_start'))}")
        if d.get("old_visit_type"):
            parts.append(f"{d['old_visit_type']} → {d.get('visit_type', '')}")
    elif action in (Action.MFA_ENROLLED, Action.MFA_REMOVED, Action.MFA_FAILED):
        methods = {"authenticator_app": "authenticator app", "passkey": "passkey", "code": "code"}
        parts.append(methods.get(d.get("method"), str(d.get("method", ""))))
        if d.get("channel") == "api":
            parts.append("via the API")
    elif action == Action.MFA_RESET:
        parts.append(f"{d.get('removed', 0)} methods removed")
    elif action == Action.RECORD_READ:
        parts.append(f"via {CHANNELS.get(d.get('how'), d.get('how') or '?')}")
    elif action == Action.EXPORT:
        parts.append(f"{str(d.get('format', '')).upper()}, {d.get('rows', 0)} rows")
        filters = d.get("filters") or {}
        if filters:
            shown = ", ".join(
                f"{key}={'/'.join(v) if isinstance(v, list) else v}" for key, v in filters.items()
            )
            parts.append(f"filters: {shown}")
    else:
        parts += [f"{key}: {value}" for key, value in d.items() if key != "reason_given"]
    if d.get("reason_given"):
        parts.append("reason given")
    return " · ".join(parts)


def target_url(event: ActivityEvent) -> str | None:
    """Where the target is looked at in the admin, if anywhere (no queries: from the event)."""
    kind, key = event.target_type, event.target_id
    try:
        if kind == "appointment" and key:
            return reverse("dashboard:appointment", args=[key])
        if kind == "record" and (event.details or {}).get("appointment"):
            return reverse("dashboard:record", args=[event.details["appointment"]])
        if kind == "account" and key.isdigit():
            try:
                return reverse("dashboard:user", args=[int(key)])
            except NoReverseMatch:
                return reverse("wagtailusers_users:edit", args=[key])
        if kind == "policies" and key:
            return reverse("wagtailsettings:edit", args=["clinic_site", "clinicpolicies", key])
    except NoReverseMatch:
        return None
    return None


# --- Table --------------------------------------------------------------------------------------


class ActivityTable(tables.Table):
    at = tables.DateTimeColumn(verbose_name="When", attrs={"td": {"class": "cp-nowrap"}})
    who = tables.Column(verbose_name="Who", empty_values=(), orderable=False)
    action = tables.Column(verbose_name="Action", orderable=False)
    target = tables.Column(verbose_name="Target", empty_values=(), orderable=False)
    summary = tables.Column(verbose_name="Details", empty_values=(), orderable=False)
    ip_address = tables.Column(
        verbose_name="IP address", orderable=False, attrs={"td": {"class": "cp-activity__ip"}}
    )

    row_noun = "event"
    region_label = "activity"  # names the table's scrolling region

    class Meta:
        model = ActivityEvent
        fields = ["at", "who", "action", "target", "summary", "ip_address"]
        sequence = fields
        order_by = ("-at",)
        attrs = {"class": "listing cp-activity"}
        template_name = "dashboard/includes/table.html"
        empty_text = "No activity matches."

    def order_at(self, queryset, is_descending):
        return queryset.order_by("-at" if is_descending else "at", "-pk"), True

    def render_at(self, record):
        when = timezone.localtime(record.at)
        return format_html(
            '{}<span class="cp-activity__time">{}</span>',
            dateformat.format(when, "D j M Y"),
            dateformat.format(when, "H:i:s"),
        )

    def render_who(self, record):
        if not (record.actor_name or record.actor_email):
            label = "anonymous" if record.action == Action.LOGIN_FAILED else "the system"
            return format_html('<span class="cp-empty">{}</span>', label)
        return format_html(
            '{}<span class="cp-activity__email">{}</span>',
            record.actor_name or record.actor_email,
            record.actor_email if record.actor_name else "",
        )

    def render_action(self, record):
        return format_html(
            '<span class="cp-activity__action cp-activity__action--{}">{}</span>',
            record.action,
            record.action_label,
        )

    def render_target(self, record):
        if not record.target or record.action in (Action.LOGIN, Action.LOGOUT):
            return "—"  # signing in and out: the account is the person in "Who"
        url = target_url(record)
        if url:
            return format_html('<a href="{}">{}</a>', url, record.target)
        return record.target

    def render_summary(self, record):
        return summarise(record) or "—"

    def render_ip_address(self, value):
        return value or "—"

    # The CSV: plain values, local times.
    def value_at(self, record):
        return timezone.localtime(record.at).strftime("%Y-%m-%d %H:%M:%S")

    def value_who(self, record):
        if record.actor_name and record.actor_email:
            return f"{record.actor_name} <{record.actor_email}>"
        return record.actor_email or record.actor_name

    def value_action(self, record):
        return record.action_label

    def value_target(self, record):
        return record.target

    def value_summary(self, record):
        return summarise(record)

    def value_ip_address(self, record):
        return record.ip_address or ""


# --- The screen ---------------------------------------------------------------------------------


class ActivityLogView(
    StaffRequiredMixin,
    WagtailAdminTemplateMixin,
    LoggedExportMixin,
    ExportMixin,
    SingleTableMixin,
    FilterView,
):
    allowed_roles = ADMINS
    export_label = "Activity log"
    export_target = "activity"
    page_title = "Activity log"
    header_icon = "history"
    template_name = "dashboard/activity/list.html"
    table_class = ActivityTable
    filterset_class = ActivityFilter
    table_pagination = {"per_page": PAGE_SIZE}
    export_formats = ("csv",)
    export_trigger_param = "export"

    def get_queryset(self):
        return ActivityEvent.objects.order_by("-at", "-pk")

    def get_table_data(self):
        # An invalid filter form lists nothing rather than everything.
        if not self.filterset.is_bound or self.filterset.is_valid():
            return self.filterset.qs
        return self.filterset.queryset.none()

    def get_breadcrumbs_items(self):
        return [
            {"url": reverse("wagtailadmin_home"), "label": "Home"},
            {"url": "", "label": self.page_title},
        ]

    def get_export_filename(self, export_format):
        stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
        return f"activity-{stamp}.{export_format}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        query["export"] = "csv"
        context["export_url"] = f"?{query.urlencode()}"
        context["filtered"] = any(
            self.request.GET.get(name) for name in ActivityFilter.base_filters
        )
        return context
