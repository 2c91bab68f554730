"""Wagtail's user admin, adapted to clinic accounts.

Our users have one full name and exactly one role, and every change that touches roles or
activation goes through the account services, so the administrator limit and the last-admin
rule hold here too.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html
from wagtail.users.views import users as wagtail_users

from clinic_site.exceptions import ClinicError

from . import services
from .models import User, normalise_email
from .roles import Role

ROLE_CHOICES = [(role.value, role.label) for role in Role]


class _ClinicUserForm(forms.ModelForm):
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, widget=forms.RadioSelect)
    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Repeat the password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = ["email", "full_name", "phone"]

    def __init__(self, *args, actor: User | None = None, editing_self: bool = False, **kwargs):
        self.actor = actor
        self.editing_self = editing_self
        super().__init__(*args, **kwargs)
        self.fields["password1"].help_text = format_html("{}", password_validators_help_text_html())

    # Wagtail's generic views ask these of user forms.
    def separate_username_field(self):
        return False

    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        clash = User.objects.filter(email=email)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError("An account with this e-mail address already exists.")
        return email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 or p2:
            if p1 != p2:
                self.add_error("password2", "The two passwords are not the same.")
            else:
                probe = User(
                    email=cleaned.get("email", ""),
                    full_name=cleaned.get("full_name", ""),
                    phone=cleaned.get("phone", ""),
                )
                try:
                    validate_password(p1, user=probe)
                except ValidationError as exc:
                    self.add_error("password2", exc)
        return cleaned


class ClinicUserCreationForm(_ClinicUserForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password1"].required = True
        self.fields["password2"].required = True
        # Patients register themselves (or at the front desk), with their patient profile.
        self.fields["role"].choices = [c for c in ROLE_CHOICES if c[0] != Role.PATIENT]

    def save(self, commit=True):
        # Wagtail's create view reads the new object from `form.instance`.
        self.instance = services.staff_create(
            email=self.cleaned_data["email"],
            full_name=self.cleaned_data["full_name"],
            phone=self.cleaned_data.get("phone", ""),
            role=Role(self.cleaned_data["role"]),
            password=self.cleaned_data["password1"],
            actor=self.actor,
        )
        return self.instance


class ClinicUserEditForm(_ClinicUserForm):
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        help_text="Inactive accounts cannot sign in; their sessions and tokens stop working.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.instance
        self.fields["password1"].help_text = "Leave empty to keep the current password."
        self.initial.setdefault("is_active", user.is_active)
        if user.role:
            self.initial.setdefault("role", user.role.value)
        else:
            self.fields["role"].required = False
        if self.editing_self:
            # An administrator cannot demote or deactivate themself from this screen.
            del self.fields["role"]
            del self.fields["is_active"]

    @transaction.atomic
    def save(self, commit=True):
        user = super().save(commit=False)
        if self.cleaned_data.get("password1"):
            user.set_password(self.cleaned_data["password1"])
        user.save()
        role = self.cleaned_data.get("role")
        if role and Role(role) != user.role:
            services.user_set_role(user=user, role=Role(role), actor=self.actor)
        if "is_active" in self.cleaned_data:
            wanted = self.cleaned_data["is_active"]
            if wanted and not User.objects.get(pk=user.pk).is_active:
                services.user_activate(user=user, actor=self.actor)
            elif not wanted and User.objects.get(pk=user.pk).is_active:
                services.user_deactivate(user=user, actor=self.actor)
        user.refresh_from_db()
        return user


class _ServiceErrorsMixin:
    """Show a refused rule (administrator limit, last admin) next to the form, not as a 500."""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["actor"] = self.request.user
        return kwargs

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except ClinicError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.detail)
            self.produced_error_code = exc.code
            self.produced_error_message = exc.detail
            return self.form_invalid(form)


# Templates: templates/wagtailusers/users/accounts/user/{create,edit}.html (Wagtail looks there
# first for this model).
class CreateView(_ServiceErrorsMixin, wagtail_users.CreateView):
    pass


class EditView(_ServiceErrorsMixin, wagtail_users.EditView):
    pass


class ClinicUserViewSet(wagtail_users.UserViewSet):
    add_view_class = CreateView
    edit_view_class = EditView

    def get_form_class(self, for_update=False):
        return ClinicUserEditForm if for_update else ClinicUserCreationForm
