"""Clinic policies changed in the admin are written to the activity log: which fields changed,
from what to what, by whom — in the same transaction as the change itself.

Wagtail's settings edit view saves through the "edit" action registered for the model, so the
policies get their own edit action (registered with Wagtail's `register_actions` hook).

Wagtail's site history report is kept to those who work on pages (administrators and editors,
permissions.md "Wagtail pages"): Wagtail lets anyone into the admin open it and lists the changes
to whatever they hold any permission on, so a receptionist read who changed which account.
`SiteHistoryView` is mounted over Wagtail's URLs in clinic_site/urls.py.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from wagtail import hooks
from wagtail.actions import EditAction
from wagtail.admin.auth import user_has_any_page_permission
from wagtail.admin.views.reports.audit_logging import LogEntriesView

from .activity import Action, log_event
from .models import ClinicPolicies

POLICY_FIELDS = tuple(
    field.name for field in ClinicPolicies._meta.concrete_fields if not field.primary_key
)


class ClinicPoliciesEditAction(EditAction):
    """Wagtail's edit action for the clinic policies, plus a `policy_changed` event."""

    def _edit(self, skip_permission_checks=False):
        model = type(self.instance)
        with transaction.atomic():
            before = model.objects.filter(pk=self.instance.pk).values(*POLICY_FIELDS).first()
            instance = super()._edit(skip_permission_checks=skip_permission_checks)
            changes = {
                name: {"from": before[name], "to": getattr(instance, name)}
                for name in POLICY_FIELDS
                if before is not None and before[name] != getattr(instance, name)
            }
            if changes:
                log_event(
                    action=Action.POLICY_CHANGED,
                    actor=self.user,
                    target="Clinic policies",
                    target_type="policies",
                    target_id=str(instance.pk),
                    details={"changes": changes},
                )
        return instance


@hooks.register("register_actions")
def register_policy_actions(registry):
    registry.register(ClinicPolicies, ClinicPoliciesEditAction)


def can_view_site_history(user) -> bool:
    """The users Wagtail shows the report to in its menu: those with a permission on pages."""
    return user_has_any_page_permission(user)


class SiteHistoryView(LogEntriesView):
    """Wagtail's site history, refused (Wagtail's "no permission") to everyone else."""

    def dispatch(self, request, *args, **kwargs):
        if not can_view_site_history(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
