from django.urls import path

from . import views

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="api-register"),
    path("auth/verify-email/", views.VerifyEmailView.as_view(), name="api-verify-email"),
    path(
        "auth/verify-email/resend/", views.ResendCodeView.as_view(), name="api-verify-email-resend"
    ),
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("patients/<int:pk>/", views.PatientDetailView.as_view(), name="api-patient-detail"),
]
