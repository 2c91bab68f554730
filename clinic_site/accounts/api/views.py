"""Accounts API: register, verify, tokens, me/, and a patient's details for the front desk."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from clinic_site.api import WriteThrottle, django_validation_error_to_drf
from clinic_site.openapi import errors

from .. import services
from ..permissions import patient_get_for_user
from .serializers import (
    AccessTokenSerializer,
    DetailSerializer,
    ProfileSerializer,
    RegisteredSerializer,
    RegisterSerializer,
    ResendCodeSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
    VerifiedSerializer,
    VerifyEmailSerializer,
)


def _service_call(fn, **kwargs):
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        raise django_validation_error_to_drf(exc) from exc


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [WriteThrottle]
    throttle_scope = "register"

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredSerializer})
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _service_call(services.patient_register, **serializer.validated_data)
        return Response(
            {"id": user.pk, "email": user.email, "email_verified": user.email_verified},
            status=status.HTTP_201_CREATED,
        )


class VerifyEmailView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [WriteThrottle]
    throttle_scope = "auth"

    @extend_schema(request=VerifyEmailSerializer, responses={200: VerifiedSerializer})
    def post(self, request):
        serializer = VerifyEmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.email_verify(**serializer.validated_data)
        return Response({"email_verified": user.email_verified})


class ResendCodeView(APIView):
    """Ask for a new code. The answer is the same whether or not the address has an account."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = []
    throttle_classes = [WriteThrottle]
    throttle_scope = "auth"

    @extend_schema(request=ResendCodeSerializer, responses={202: DetailSerializer})
    def post(self, request):
        serializer = ResendCodeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_verification_resend(email=serializer.validated_data["email"])
        return Response(
            {"detail": "If that address is waiting for confirmation, a new code is on its way."},
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(
    request=TokenObtainSerializer,
    responses={200: TokenPairSerializer, **errors(401)},
    description="E-mail and password in, a JWT pair out (401 `no_active_account` when they do "
    "not match an active account; 429 after repeated failures).",
)
class TokenObtainView(jwt_views.TokenObtainPairView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "auth"


@extend_schema(
    request=TokenRefreshSerializer,
    responses={200: AccessTokenSerializer, **errors(401)},
    description="A refresh token in, a new access token out (401 `token_not_valid` for a bad, "
    "expired or revoked token).",
)
class TokenRefreshView(jwt_views.TokenRefreshView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "auth"


class _ProfileMixin:
    serializer_class = ProfileSerializer

    def _update(self, request, user):
        serializer = ProfileSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        _service_call(
            services.profile_update, user=user, actor=request.user, data=serializer.validated_data
        )
        user.refresh_from_db()
        return Response(ProfileSerializer(user).data)


class MeView(_ProfileMixin, APIView):
    @extend_schema(responses=ProfileSerializer)
    def get(self, request):
        return Response(ProfileSerializer(request.user).data)

    @extend_schema(request=ProfileSerializer, responses=ProfileSerializer)
    def patch(self, request):
        return self._update(request, request.user)


class PatientDetailView(_ProfileMixin, APIView):
    """A patient's details: the patient themself and the front desk. Others get 404."""

    @extend_schema(responses=ProfileSerializer)
    def get(self, request, pk: int):
        return Response(ProfileSerializer(patient_get_for_user(request.user, pk)).data)

    @extend_schema(request=ProfileSerializer, responses=ProfileSerializer)
    def patch(self, request, pk: int):
        return self._update(request, patient_get_for_user(request.user, pk))
