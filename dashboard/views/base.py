"""The base of every dashboard screen: Wagtail's admin page furniture, a role gate, and times in
the clinic's zone (Wagtail would otherwise show each staff member's own zone)."""

from __future__ import annotations

from django.urls import reverse_lazy
from django.utils import timezone
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from clinic_site.activity import log_export
from clinic_site.policies import clinic_tz

from ..exports import SafeTableExport
from ..permissions import CLINIC_STAFF, require, role_of


class StaffRequiredMixin:
    """Gate a view to `allowed_roles` and render it in the clinic's time zone."""

    allowed_roles = CLINIC_STAFF

    def dispatch(self, request, *args, **kwargs):
        require(role_of(request.user) in self.allowed_roles)
        with timezone.override(clinic_tz()):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # template responses render lazily: do it in the clinic zone
        return response


class StaffView(StaffRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    """A dashboard screen for the roles in `allowed_roles` (clinic staff by default)."""

    header_icon = "calendar"
    breadcrumbs_items = [{"url": reverse_lazy("wagtailadmin_home"), "label": "Home"}]

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.get_page_title()}]


class LoggedExportMixin:
    """django-tables2's ExportMixin export, written to the activity log (what, format, rows and
    the filters), after the rows are read so the file holds exactly what the log says. Cells
    are made spreadsheet-safe (dashboard/exports.py)."""

    export_class = SafeTableExport
    export_label = ""  # e.g. "Appointments list"
    export_target = ""  # e.g. "appointments"

    def create_export(self, export_format):
        exporter = self.export_class(
            export_format=export_format,
            table=self.get_table(**self.get_table_kwargs()),
            exclude_columns=self.exclude_columns,
            dataset_kwargs=self.get_dataset_kwargs(),
        )
        response = exporter.response(filename=self.get_export_filename(export_format))
        log_export(
            self.export_label,
            target_id=self.export_target,
            export_format=export_format,
            rows=len(exporter.dataset),
            query=self.request.GET,
            ignore=(self.export_trigger_param, "page", "sort"),
        )
        return response
