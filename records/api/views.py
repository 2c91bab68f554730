"""Consultation record API (api-v1.md, "Consultation record") and medicine suggestions.

Views parse, call one service or selector and serialise; who may do what is decided in
records/permissions.py, the rules in records/services.py. Every answer that carries a record's
content is a read, logged through `record_get_for_user(how="api")`.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from booking.permissions import appointment_get_for_user, role_of
from clinic_site.accounts.roles import Role
from clinic_site.api import WriteThrottle, json_body
from clinic_site.exceptions import Forbidden
from clinic_site.openapi import errors

from .. import selectors, services
from ..models import AccessChannel, Medicine
from ..permissions import can_write_record, record_get_for_user
from .serializers import (
    AddendumWriteSerializer,
    ConsultationSerializer,
    ConsultationWriteSerializer,
    FinaliseSerializer,
    MedicineQuerySerializer,
    MedicineSerializer,
)

ERRORS = errors(403, 404)
# 409: record_finalised, record_not_finalised, record_not_open, invalid_transition.
WRITE_ERRORS = errors(400, 403, 404, 409)


def _representation(request, appointment, *, status_code=status.HTTP_200_OK) -> Response:
    record = record_get_for_user(request.user, appointment, how=AccessChannel.API, request=request)
    return Response(ConsultationSerializer(record).data, status=status_code)


def _writable_appointment(request, reference: str):
    """The appointment, if the caller may see it (else 404) and write its record (else 403)."""
    appointment = appointment_get_for_user(request.user, reference)
    if not can_write_record(request.user, appointment):
        raise Forbidden("Only the treating doctor writes the consultation record.")
    return appointment


class ConsultationView(APIView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(responses={200: ConsultationSerializer, **ERRORS})
    def get(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        return _representation(request, appointment)

    @extend_schema(
        request=ConsultationWriteSerializer,
        responses={200: ConsultationSerializer, **WRITE_ERRORS},
    )
    def put(self, request, reference: str):
        appointment = _writable_appointment(request, reference)
        # PUT replaces the draft: an empty form body must not pass for an empty record.
        body = ConsultationWriteSerializer(data=json_body(request))
        body.is_valid(raise_exception=True)
        services.record_save(appointment=appointment, actor=request.user, **body.validated_data)
        return _representation(request, appointment)


class FinaliseView(APIView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(
        request=FinaliseSerializer, responses={200: ConsultationSerializer, **WRITE_ERRORS}
    )
    def post(self, request, reference: str):
        appointment = _writable_appointment(request, reference)
        body = FinaliseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.record_finalise(
            appointment=appointment,
            actor=request.user,
            complete=body.validated_data["complete"],
        )
        return _representation(request, appointment)


class AddendumView(APIView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(
        request=AddendumWriteSerializer, responses={201: ConsultationSerializer, **WRITE_ERRORS}
    )
    def post(self, request, reference: str):
        appointment = _writable_appointment(request, reference)
        body = AddendumWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.addendum_add(
            appointment=appointment, actor=request.user, text=body.validated_data["text"]
        )
        return _representation(request, appointment, status_code=status.HTTP_201_CREATED)


@extend_schema(
    parameters=[MedicineQuerySerializer],
    responses={200: MedicineSerializer(many=True), **errors(403)},
)
class MedicineListView(generics.ListAPIView):
    """Suggestions from the medicine catalogue while prescribing (doctors only): active
    medicines whose name contains `q`, names starting with it first."""

    serializer_class = MedicineSerializer
    queryset = Medicine.objects.none()  # names the model for the schema; lists use the selector
    filter_backends = []

    def get_queryset(self):
        if role_of(self.request.user) != Role.DOCTOR:
            raise Forbidden("Medicine suggestions are for doctors.")
        query = MedicineQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.medicine_search(query.validated_data.get("q"))
