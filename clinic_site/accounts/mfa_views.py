"""Pages of two-step sign-in: the second step, setting up an authenticator app or a passkey,
recovery codes, and the list of one's methods (rules in mfa.py)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views import View
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic_site.forms import ClinicFormMixin

from . import mfa
from .models import PasskeyDevice
from .views import _safe_next, home_for


class CodeForm(ClinicFormMixin, forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The six-digit code your authenticator app shows now, or one of your "
        "recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class SetupForm(ClinicFormMixin, forms.Form):
    code = forms.CharField(
        label="Six-digit code from the app",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


def _next(request) -> str | None:
    return _safe_next(request, request.POST.get("next") or request.GET.get("next"))


def _done(request, codes: list[str] | None):
    """After a method is set up or verified: new recovery codes first, else onwards."""
    next_url = _next(request)
    if codes:
        request.session[mfa.SESSION_NEW_CODES] = codes
        target = reverse("accounts:mfa_recovery_codes")
        return redirect(target + (f"?{urlencode({'next': next_url})}" if next_url else ""))
    return redirect(next_url or home_for(request.user))


class VerifyView(LoginRequiredMixin, View):
    """The second step of a pending sign-in."""

    template_name = "accounts/mfa/verify.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not mfa.is_pending(request):
            return redirect(_next(request) or home_for(request.user))
        if request.user.is_authenticated and not mfa.methods(request.user):
            # Enrolment at first sign-in: the role needs a second step and there is none yet.
            target = reverse("accounts:mfa_setup")
            next_url = _next(request)
            return redirect(target + (f"?{urlencode({'next': next_url})}" if next_url else ""))
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request, form, status=200):
        methods = mfa.methods(request.user)
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "next": _next(request) or "",
                "has_app": any(isinstance(m, TOTPDevice) for m in methods),
                "has_passkey": any(isinstance(m, PasskeyDevice) for m in methods),
            },
            status=status,
        )

    def get(self, request):
        return self._render(request, CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                mfa.second_step(request, form.cleaned_data["code"])
            except mfa.MFAError as exc:
                form.add_error("code", exc.detail)
            else:
                return _done(request, None)
        return self._render(request, form, status=400)


class _SetupAllowed(LoginRequiredMixin):
    """Adding a method needs a finished sign-in — or, at the first sign-in of a role that needs
    a second step, a pending one with no method yet (never a way around an existing one)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and mfa.is_pending(request) and mfa.methods(request.user):
            return redirect("accounts:mfa_verify")
        return super().dispatch(request, *args, **kwargs)


class SetupView(_SetupAllowed, View):
    template_name = "accounts/mfa/setup.html"

    def _render(self, request, form, status=200):
        setup = mfa.totp_setup(request)
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "setup": setup,
                "next": _next(request) or "",
                "enrolment": mfa.is_pending(request),
                "required": mfa.required_by_policy(request.user),
            },
            status=status,
        )

    def get(self, request):
        return self._render(request, SetupForm())

    def post(self, request):
        form = SetupForm(request.POST)
        if form.is_valid():
            try:
                codes = mfa.totp_confirm(request, form.cleaned_data["code"])
            except mfa.MFAError as exc:
                form.add_error("code", exc.detail)
            else:
                messages.success(request, "Your authenticator app is set up.")
                return _done(request, codes)
        return self._render(request, form, status=400)


class RecoveryCodesView(LoginRequiredMixin, View):
    """New recovery codes, shown once; POST makes a fresh set (the old ones stop working)."""

    template_name = "accounts/mfa/recovery_codes.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and mfa.is_pending(request):
            return redirect("accounts:mfa_verify")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        codes = request.session.pop(mfa.SESSION_NEW_CODES, None)
        if not codes:
            return redirect("accounts:mfa_methods")
        response = render(
            request,
            self.template_name,
            {"codes": codes, "next": _next(request) or home_for(request.user)},
        )
        response["Cache-Control"] = "no-store"
        return response

    def post(self, request):
        if not mfa.methods(request.user):
            return redirect("accounts:mfa_methods")
        request.session[mfa.SESSION_NEW_CODES] = mfa.recovery_codes_create(request.user)
        return redirect("accounts:mfa_recovery_codes")


class MethodsView(LoginRequiredMixin, View):
    """The signed-in user's two-step methods: add, remove, new recovery codes."""

    template_name = "accounts/mfa/methods.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and mfa.is_pending(request):
            return redirect("accounts:mfa_verify")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        user = request.user
        return render(
            request,
            self.template_name,
            {
                "methods": mfa.methods(user),
                "codes_left": mfa.recovery_codes_left(user),
                "required": mfa.required_by_policy(user),
            },
        )

    def post(self, request):
        kind = request.POST.get("kind", "")
        pk = request.POST.get("pk", "")
        if pk.isdigit():
            try:
                mfa.method_remove(user=request.user, kind=kind, pk=int(pk[:18]))
            except mfa.LastMethod as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, "The sign-in method is removed.")
        return redirect("accounts:mfa_methods")


# --- Passkeys (JSON for static/js/passkeys.js) -----------------------------------------------


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _json_error(exc) -> JsonResponse:
    return JsonResponse({"detail": exc.detail, "code": exc.code}, status=exc.status)


class PasskeyRegisterOptionsView(_SetupAllowed, View):
    def post(self, request):
        return HttpResponse(
            mfa.passkey_registration_options(request), content_type="application/json"
        )


class PasskeyRegisterView(_SetupAllowed, View):
    def post(self, request):
        body = _json_body(request)
        try:
            codes = mfa.passkey_register(
                request, body.get("credential"), name=str(body.get("name") or "")
            )
        except mfa.MFAError as exc:
            return _json_error(exc)
        if codes:
            request.session[mfa.SESSION_NEW_CODES] = codes
        next_url = _next(request)
        target = (
            reverse("accounts:mfa_recovery_codes")
            if codes
            else next_url or reverse("accounts:mfa_methods")
        )
        messages.success(request, "Your passkey is added.")
        return JsonResponse({"redirect": target})


class PasskeyVerifyOptionsView(LoginRequiredMixin, View):
    def post(self, request):
        if not mfa.is_pending(request):
            return JsonResponse({"detail": "Nothing to verify.", "code": "invalid"}, status=400)
        return HttpResponse(
            mfa.passkey_authentication_options(request), content_type="application/json"
        )


class PasskeyVerifyView(LoginRequiredMixin, View):
    def post(self, request):
        if not mfa.is_pending(request):
            return JsonResponse({"detail": "Nothing to verify.", "code": "invalid"}, status=400)
        try:
            mfa.passkey_verify(request, _json_body(request).get("credential"))
        except mfa.MFAError as exc:
            return _json_error(exc)
        return JsonResponse({"redirect": _next(request) or home_for(request.user)})
