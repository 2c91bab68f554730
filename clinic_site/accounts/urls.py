from django.urls import path

from . import mfa_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("after-login/", views.AfterLoginView.as_view(), name="after_login"),
    path("register/", views.RegisterView.as_view(), name="register"),
    path("verify/", views.VerifyEmailView.as_view(), name="verify"),
    path("verify/resend/", views.ResendCodeView.as_view(), name="verify_resend"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("profile/", views.ProfileView.as_view(), name="profile"),
    path("profile/edit/", views.ProfileEditView.as_view(), name="profile_edit"),
    # Two-step sign-in (clinic_site/accounts/mfa.py); MFAMiddleware lets a pending session
    # reach only these.
    path("two-step/", mfa_views.VerifyView.as_view(), name="mfa_verify"),
    path("two-step/setup/", mfa_views.SetupView.as_view(), name="mfa_setup"),
    path("two-step/methods/", mfa_views.MethodsView.as_view(), name="mfa_methods"),
    path(
        "two-step/recovery-codes/",
        mfa_views.RecoveryCodesView.as_view(),
        name="mfa_recovery_codes",
    ),
    path(
        "two-step/passkey/register/options/",
        mfa_views.PasskeyRegisterOptionsView.as_view(),
        name="mfa_passkey_register_options",
    ),
    path(
        "two-step/passkey/register/",
        mfa_views.PasskeyRegisterView.as_view(),
        name="mfa_passkey_register",
    ),
    path(
        "two-step/passkey/verify/options/",
        mfa_views.PasskeyVerifyOptionsView.as_view(),
        name="mfa_passkey_verify_options",
    ),
    path(
        "two-step/passkey/verify/",
        mfa_views.PasskeyVerifyView.as_view(),
        name="mfa_passkey_verify",
    ),
]

portal_urlpatterns = (
    [path("", views.PortalHomeView.as_view(), name="home")],
    "portal",
)
