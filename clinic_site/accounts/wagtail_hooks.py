"""Staff-dashboard screens for accounts: the queue of accounts awaiting activation."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from clinic_site.exceptions import ClinicError

from . import services
from .models import User
from .permissions import can_manage_users


class PendingAccountsView(WagtailAdminTemplateMixin, TemplateView):
    page_title = "Accounts awaiting activation"
    header_icon = "user"
    template_name = "accounts/admin/pending_accounts.html"

    def dispatch(self, request, *args, **kwargs):
        if not can_manage_users(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["accounts"] = (
            User.objects.filter(is_active=False, activated_at__isnull=True)
            .select_related("patient_profile")
            .order_by("date_joined")
        )
        return context

    def post(self, request):
        user = get_object_or_404(User, pk=request.POST.get("user"), is_active=False)
        try:
            services.user_activate(user=user, actor=request.user)
        except ClinicError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"{user.full_name} can now sign in; we e-mailed them.")
        return redirect("accounts_pending")


@hooks.register("register_admin_urls")
def register_urls():
    return [path("accounts/pending/", PendingAccountsView.as_view(), name="accounts_pending")]


class AdminOnlyMenuItem(MenuItem):
    def is_shown(self, request):
        return can_manage_users(request.user)


@hooks.register("register_settings_menu_item")
def register_pending_menu_item():
    return AdminOnlyMenuItem(
        "Pending accounts", reverse("accounts_pending"), icon_name="user", order=610
    )


@hooks.register("register_account_menu_item")
def register_two_step_account_item(request):
    """Staff manage their two-step sign-in from their Wagtail account page."""
    return {
        "url": reverse("accounts:mfa_methods"),
        "label": "Two-step sign-in",
        "help_text": "Authenticator app, passkeys and recovery codes for signing in.",
    }
