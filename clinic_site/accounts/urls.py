from django.urls import path

from . import views

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
]

portal_urlpatterns = (
    [path("", views.PortalHomeView.as_view(), name="home")],
    "portal",
)
