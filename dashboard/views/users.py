"""Users and roles, for administrators: the list, a new staff account (a doctor gets their doctor
profile and public page too), and one account's page with its actions — activate, deactivate,
change role, e-mail a password reset.

Every change goes through the account services, which enforce the administrator limit, the
activation policy and the last-administrator rule; their refusals are shown as messages.
"""

from __future__ import annotations

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.generic import FormView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from clinic_site.accounts import invitations, mfa
from clinic_site.accounts import services as accounts
from clinic_site.accounts.models import PasskeyDevice, User
from clinic_site.accounts.roles import GROUP_TO_ROLE, Role
from clinic_site.exceptions import ClinicError
from doctors.models import Doctor, Specialty
from doctors.services import doctor_create

from ..permissions import role_of
from .base import StaffRequiredMixin, StaffView

ADMIN_ONLY = frozenset({Role.ADMIN})
STAFF_ROLE_CHOICES = [
    (Role.DOCTOR.value, "Doctor"),
    (Role.RECEPTIONIST.value, "Receptionist"),
    (Role.ADMIN.value, "Administrator"),
    (Role.EDITOR.value, "Editor (website pages only)"),
]
STATUS_CHOICES = [
    ("active", "Active"),
    ("pending", "Awaiting activation"),
    ("deactivated", "Deactivated"),
]


def account_status(user: User) -> tuple[str, str]:
    if user.is_active:
        return "active", "Active"
    if user.activated_at is None:
        return "pending", "Awaiting activation"
    return "deactivated", "Deactivated"


def _role_of(user: User) -> Role | None:
    """The role from the prefetched groups (no query per row)."""
    held = [GROUP_TO_ROLE[g.name] for g in user.groups.all() if g.name in GROUP_TO_ROLE]
    order = (Role.ADMIN, Role.DOCTOR, Role.RECEPTIONIST, Role.EDITOR, Role.PATIENT)
    return next((role for role in order if role in held), None)


# --- The list ---------------------------------------------------------------------------------


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_q", help_text="Name or e-mail")
    role = django_filters.ChoiceFilter(
        label="Role",
        choices=[(r.value, r.label) for r in Role],
        method="filter_role",
        empty_label="All roles",
    )
    status = django_filters.ChoiceFilter(
        label="Status", choices=STATUS_CHOICES, method="filter_status", empty_label="Any status"
    )

    class Meta:
        model = User
        fields = ["q", "role", "status"]

    def filter_q(self, queryset, name, value):
        value = value.replace("\x00", "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(full_name__icontains=value) | Q(email__icontains=value))

    def filter_role(self, queryset, name, value):
        return queryset.filter(groups__name=Role(value).group_name)

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(is_active=True)
        if value == "pending":
            return queryset.filter(is_active=False, activated_at__isnull=True)
        return queryset.filter(is_active=False, activated_at__isnull=False)


class UserTable(tables.Table):
    full_name = tables.Column(verbose_name="Name")
    email = tables.Column(verbose_name="E-mail")
    role = tables.Column(verbose_name="Role", empty_values=(), orderable=False)
    status = tables.Column(verbose_name="Status", empty_values=(), order_by=("is_active",))
    email_verified_at = tables.Column(verbose_name="E-mail confirmed")
    last_login = tables.DateTimeColumn(
        verbose_name="Last sign-in", format="j M Y, H:i", attrs={"td": {"class": "cp-nowrap"}}
    )
    date_joined = tables.DateTimeColumn(
        verbose_name="Joined", format="j M Y", attrs={"td": {"class": "cp-nowrap"}}
    )

    row_noun = "account"
    region_label = "accounts"  # names the table's scrolling region

    class Meta:
        model = User
        fields = [
            "full_name",
            "email",
            "role",
            "status",
            "email_verified_at",
            "last_login",
            "date_joined",
        ]
        sequence = fields
        order_by = ("full_name",)
        attrs = {"class": "listing"}
        template_name = "dashboard/includes/table.html"
        empty_text = "No accounts match."

    def render_full_name(self, record):
        url = reverse("dashboard:user", args=[record.pk])
        return format_html('<a href="{}"><strong>{}</strong></a>', url, record.full_name)

    def render_role(self, record):
        role = _role_of(record)
        return role.label if role else "—"

    def render_status(self, record):
        key, label = account_status(record)
        css = {"active": "confirmed", "pending": "requested", "deactivated": "cancelled"}[key]
        return format_html('<span class="cp-badge cp-badge--{}">{}</span>', css, label)

    def render_email_verified_at(self, record):
        return "Yes" if record.email_verified_at else "Not yet"


class UserListView(StaffRequiredMixin, WagtailAdminTemplateMixin, SingleTableMixin, FilterView):
    allowed_roles = ADMIN_ONLY
    page_title = "Users and roles"
    header_icon = "group"
    template_name = "dashboard/users/list.html"
    table_class = UserTable
    filterset_class = UserFilter
    table_pagination = {"per_page": 25}

    def get_queryset(self):
        return User.objects.prefetch_related("groups")

    def get_table_data(self):
        if not self.filterset.is_bound or self.filterset.is_valid():
            return self.filterset.qs.distinct()
        return self.filterset.queryset.none()

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]


# --- A new staff account ----------------------------------------------------------------------


class StaffForm(forms.Form):
    full_name = forms.CharField(max_length=150)
    email = forms.EmailField(label="E-mail address")
    phone = forms.CharField(max_length=40, required=False)
    role = forms.ChoiceField(choices=STAFF_ROLE_CHOICES, widget=forms.RadioSelect)
    specialties = forms.ModelMultipleChoiceField(
        queryset=Specialty.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Doctors only: at least one.",
    )
    languages = forms.CharField(
        max_length=200, required=False, help_text="Doctors only, e.g. English, French."
    )
    biography = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Doctors only: shown on their public page (editors can refine it later).",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") == Role.DOCTOR and not cleaned.get("specialties"):
            self.add_error("specialties", "Choose at least one specialty for a doctor.")
        return cleaned


class StaffCreateView(StaffRequiredMixin, WagtailAdminTemplateMixin, FormView):
    allowed_roles = ADMIN_ONLY
    page_title = "New staff account"
    header_icon = "user"
    template_name = "dashboard/users/create.html"
    form_class = StaffForm
    http_method_names = ["get", "post", "head", "options"]

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("dashboard:users"), "label": "Users and roles"},
            {"url": "", "label": self.page_title},
        ]

    def form_valid(self, form):
        data = form.cleaned_data
        role = Role(data["role"])
        try:
            with transaction.atomic():
                user = accounts.staff_create(
                    email=data["email"],
                    full_name=data["full_name"],
                    role=role,
                    actor=self.request.user,
                    phone=data["phone"],
                )
                if role == Role.DOCTOR:
                    name = data["full_name"].strip()
                    doctor_create(
                        name=name if name.startswith("Dr ") else f"Dr {name}",
                        user=user,
                        specialties=list(data["specialties"]),
                        languages=data["languages"],
                        biography=data["biography"],
                        phone=data["phone"],
                    )
                invitations.staff_welcome_send(user=user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        except ClinicError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"{user.full_name} can now be set up: we e-mailed {user.email} a link to choose "
            "a password.",
        )
        return redirect("dashboard:user", user_id=user.pk)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- One account ------------------------------------------------------------------------------


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in Role])


class UserView(StaffView):
    allowed_roles = ADMIN_ONLY
    template_name = "dashboard/users/detail.html"
    header_icon = "user"

    def dispatch(self, request, *args, **kwargs):
        if role_of(request.user) in self.allowed_roles:
            self.account = get_object_or_404(
                User.objects.prefetch_related("groups"), pk=kwargs["user_id"]
            )
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return self.account.full_name

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("dashboard:users"), "label": "Users and roles"},
            {"url": "", "label": self.account.full_name},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        account = self.account
        role = _role_of(account)
        status_key, status_label = account_status(account)
        context.update(
            account=account,
            role=role,
            status_key=status_key,
            status_label=status_label,
            role_form=kwargs.get("role_form") or RoleForm(initial={"role": role}),
            doctor=Doctor.objects.filter(user=account).first(),
            is_self=account.pk == self.request.user.pk,
            mfa_methods=[
                "passkey" if isinstance(m, PasskeyDevice) else "authenticator app"
                for m in mfa.methods(account)
            ],
            mfa_required=mfa.required_by_policy(account),
        )
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        account = self.account
        try:
            if action == "activate":
                accounts.user_activate(user=account, actor=request.user)
                messages.success(request, f"{account.full_name} can sign in again.")
            elif action == "deactivate":
                accounts.user_deactivate(user=account, actor=request.user)
                messages.success(
                    request, f"{account.full_name} can no longer sign in; their sessions ended."
                )
            elif action == "role":
                form = RoleForm(request.POST)
                if not form.is_valid():
                    context = self.get_context_data(role_form=form)
                    return self.render_to_response(context, status=400)
                accounts.user_set_role(
                    user=account, role=Role(form.cleaned_data["role"]), actor=request.user
                )
                messages.success(
                    request, f"{account.full_name} is now: {Role(form.cleaned_data['role']).label}."
                )
            elif action == "mfa_reset":
                mfa.mfa_reset(user=account, actor=request.user)
                messages.success(
                    request,
                    f"{account.full_name}’s two-step sign-in is reset"
                    + (
                        "; they set up a new method at their next sign-in."
                        if mfa.required_by_policy(account)
                        else "."
                    ),
                )
            elif action == "password_reset":
                invitations.password_reset_send(user=account, actor=request.user)
                messages.success(request, f"We e-mailed {account.email} a link to set a password.")
            else:
                messages.error(request, "Choose an action.")
        except ClinicError as exc:
            messages.error(request, exc.detail)
        return redirect("dashboard:user", user_id=account.pk)
