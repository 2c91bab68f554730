"""Portal pages for accounts: register, verify, sign in and out, password reset, profile."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import FormView, TemplateView, View

from clinic_site.activity import Action, account_label, log_event
from clinic_site.exceptions import ClinicError

from . import limits, services
from .forms import (
    ClinicPasswordChangeForm,
    ClinicPasswordResetForm,
    ClinicSetPasswordForm,
    LoginForm,
    ProfileForm,
    RegistrationForm,
    ResendCodeForm,
    VerifyEmailForm,
)
from .models import PatientProfile, User
from .roles import Role

SESSION_PENDING_EMAIL = "accounts.pending_email"
SESSION_REGISTERED_USER = "accounts.registered_user"
SESSION_NEXT = "accounts.next"
BACKEND = "clinic_site.accounts.backends.EmailOrNationalIdBackend"
TOO_MANY_REGISTRATIONS = (
    "Too many accounts have been opened from your network in the last hour. "
    "Please try again later, or ask the front desk to register you."
)
TOO_MANY_RESETS = (
    "Too many password resets have been asked for from your network in the last hour. "
    "Please try again later."
)


def _safe_next(request: HttpRequest, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


def _pending_booking(url: str | None):
    """The slot a visitor is on their way to book (`next`), to keep it in sight."""
    from booking.views import pending_booking

    return pending_booking(url)


def home_for(user: User) -> str:
    """Where a signed-in user starts: the portal for patients, the dashboard for staff."""
    if user.uses_admin_area:
        return reverse("wagtailadmin_home")
    return reverse("portal:home")


@method_decorator(sensitive_post_parameters("password1", "password2"), name="dispatch")
class RegisterView(FormView):
    template_name = "accounts/register.html"
    form_class = RegistrationForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return redirect(home_for(request.user))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        wanted = self.request.POST.get("next") or self.request.GET.get("next")
        context["next"] = _safe_next(self.request, wanted)
        context["pending"] = _pending_booking(context["next"])
        return context

    def form_valid(self, form):
        if limits.registrations_exhausted(self.request):
            form.add_error(None, TOO_MANY_REGISTRATIONS)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        try:
            user = services.patient_register(**form.service_kwargs())
        except ValidationError as exc:
            form.field_errors_from(exc)
            return self.form_invalid(form)
        limits.registration_counted(self.request)
        self.request.session[SESSION_PENDING_EMAIL] = user.email
        self.request.session[SESSION_REGISTERED_USER] = user.pk
        next_url = _safe_next(self.request, self.request.POST.get("next"))
        if next_url:
            self.request.session[SESSION_NEXT] = next_url
        return redirect("accounts:verify")


class VerifyEmailView(FormView):
    template_name = "accounts/verify_email.html"
    form_class = VerifyEmailForm

    def get(self, request, *args, **kwargs):
        # Somewhere to come back to once the address is confirmed (a slot being booked).
        next_url = _safe_next(request, request.GET.get("next"))
        if next_url:
            request.session[SESSION_NEXT] = next_url
        return super().get(request, *args, **kwargs)

    def get_initial(self):
        email = self.request.GET.get("email") or self.request.session.get(SESSION_PENDING_EMAIL)
        if not email and self.request.user.is_authenticated:
            email = self.request.user.email
        return {"email": email or ""}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        # The address is known from registration (or the link): it is not asked again, and the
        # page names it rather than whatever was typed into the form.
        if self.request.session.get(SESSION_PENDING_EMAIL):
            form.fields["email"].widget = forms.HiddenInput()
        return form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["resend_form"] = ResendCodeForm(initial=self.get_initial())
        context["sent_to"] = (
            self.request.session.get(SESSION_PENDING_EMAIL) or self.get_initial()["email"]
        )
        context["pending"] = _pending_booking(self.request.session.get(SESSION_NEXT))
        return context

    def form_valid(self, form):
        try:
            user = services.email_verify(
                email=form.cleaned_data["email"], code=form.cleaned_data["code"]
            )
        except ClinicError as exc:
            form.add_error("code", exc.detail)
            return self.form_invalid(form)
        session = self.request.session
        registered_here = session.get(SESSION_REGISTERED_USER) == user.pk
        next_url = session.pop(SESSION_NEXT, None)
        session.pop(SESSION_PENDING_EMAIL, None)
        session.pop(SESSION_REGISTERED_USER, None)
        if not user.is_active:
            return render(self.request, "accounts/awaiting_activation.html", {"account": user})
        if self.request.user.is_authenticated and self.request.user.pk == user.pk:
            messages.success(self.request, "Thank you — your e-mail address is confirmed.")
            return redirect(next_url or home_for(user))
        if registered_here:
            # The browser that registered the account, now holding the e-mailed code.
            login(self.request, user, backend=BACKEND)
            messages.success(self.request, "Welcome! Your e-mail address is confirmed.")
            return redirect(next_url or home_for(user))
        messages.success(self.request, "Your e-mail address is confirmed. Please sign in.")
        return redirect("accounts:login")


class ResendCodeView(View):
    def post(self, request):
        form = ResendCodeForm(request.POST)
        if form.is_valid():
            services.email_verification_resend(email=form.cleaned_data["email"])
            request.session[SESSION_PENDING_EMAIL] = form.cleaned_data["email"]
            messages.info(
                request,
                "If that address is waiting for confirmation, a new code is on its way. "
                "Codes can be re-sent once a minute.",
            )
        else:
            messages.error(request, "Enter a valid e-mail address to get a new code.")
        return redirect("accounts:verify")


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("accounts:after_login")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["pending"] = _pending_booking(context.get("next"))
        return context


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


class AfterLoginView(LoginRequiredMixin, View):
    def get(self, request):
        return redirect(home_for(request.user))


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    form_class = ClinicPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        # Same page, same timing class, whether or not the address has an account.
        if limits.password_resets_exhausted(self.request):
            form.add_error(None, TOO_MANY_RESETS)
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = ClinicSetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        # The link arrived by e-mail: using it proves the address (desk-registered patients set
        # their first password this way).
        user = form.user
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email_verified_at"])
        log_event(
            action=Action.PASSWORD_RESET_COMPLETED,
            actor=user,
            target=account_label(user),
            target_type="user",
            target_id=str(user.pk),
        )
        return super().form_valid(form)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = ClinicPasswordChangeForm
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed.")
        return response


class ProfileView(LoginRequiredMixin, TemplateView):
    """The signed-in user's own details; there is no URL for anyone else's."""

    template_name = "accounts/profile.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["profile"] = PatientProfile.objects.filter(user=user).first()
        context["form"] = ProfileForm(user=user)
        return context


class ProfileEditView(LoginRequiredMixin, FormView):
    template_name = "accounts/profile_edit.html"
    form_class = ProfileForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def form_valid(self, form):
        try:
            services.profile_update(
                user=self.request.user, actor=self.request.user, data=form.cleaned_data
            )
        except ValidationError as exc:
            form.field_errors_from(exc)
            return self.form_invalid(form)
        messages.success(self.request, "Your details are saved.")
        return redirect("accounts:profile")


class PortalHomeView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/portal_home.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role not in (Role.PATIENT, None):
            return redirect(home_for(request.user))
        return super().dispatch(request, *args, **kwargs)


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """django-axes' answer once an e-mail and address pair has failed too often: 429."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    detail = f"Too many failed sign-in attempts. Please try again in {minutes} minutes."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail, "code": "throttled"}, status=429)
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
