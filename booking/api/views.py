"""Booking API: doctors with availability, slots, appointments and their actions, the queue.

Views parse input, call one selector or service and serialise; every rule lives in the services,
`rules.py` and `permissions.py`.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic_site.accounts.models import User
from clinic_site.accounts.roles import Role
from clinic_site.api import WriteThrottle, django_validation_error_to_drf, no_nul
from clinic_site.exceptions import Forbidden
from clinic_site.openapi import errors
from clinic_site.policies import clinic_tz, get_policies
from doctors import selectors as doctor_selectors
from doctors.models import Doctor, VisitType

from .. import selectors, services
from ..models import Appointment
from ..permissions import (
    appointment_get_for_user,
    can_list_appointments,
    can_search_patients,
    can_view_queue,
    is_front_desk,
    role_of,
)
from .serializers import (
    MAX_ID,
    AppointmentCreateSerializer,
    AppointmentListQuerySerializer,
    AppointmentSchema,
    AppointmentSerializer,
    DoctorDetailWithAvailabilitySerializer,
    DoctorWithAvailabilitySerializer,
    HistorySchema,
    HistorySerializer,
    NoShowSerializer,
    QueueEntrySchema,
    QueueEntrySerializer,
    QueueQuerySerializer,
    QueueReorderSerializer,
    ReasonSerializer,
    RescheduleSerializer,
    SlotQuerySerializer,
    SlotSerializer,
    slot_list_data,
)

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _call(fn, **kwargs):
    """Run a service; its field errors answer 400 with DRF's field map."""
    try:
        return fn(**kwargs)
    except DjangoValidationError as exc:
        raise django_validation_error_to_drf(exc) from exc


def _context(request, **extra) -> dict:
    return {"request": request, "now": timezone.now(), "policies": get_policies(request), **extra}


# --- Doctors with availability ----------------------------------------------------------------


def _availability(doctors, request) -> dict:
    visit_types = [vt for doctor in doctors for vt in doctor.active_visit_types]
    return selectors.next_available(visit_types, policies=get_policies(request))


@extend_schema(
    parameters=[
        OpenApiParameter("specialty", OpenApiTypes.STR, description="specialty slug"),
        OpenApiParameter("q", OpenApiTypes.STR, description="name or specialty contains"),
    ]
)
class DoctorListView(generics.ListAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = DoctorWithAvailabilitySerializer
    filter_backends = []

    def get_queryset(self):
        return doctor_selectors.doctor_list(
            specialty=no_nul(self.request.query_params.get("specialty")) or None,
            q=(no_nul(self.request.query_params.get("q")) or "").strip()[:100] or None,
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "next_available": _availability(page, request)}
        data = DoctorWithAvailabilitySerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)


class DoctorDetailView(generics.RetrieveAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = DoctorDetailWithAvailabilitySerializer

    def get_queryset(self):
        return doctor_selectors.doctor_list()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "_doctor"):
            context["next_available"] = _availability([self._doctor], self.request)
        return context

    def get_object(self):
        self._doctor = super().get_object()
        return self._doctor

    def retrieve(self, request, *args, **kwargs):
        doctor = self.get_object()
        return Response(self.get_serializer(doctor).data)


class SlotListView(APIView):
    """The offered slots of scheduling-rules.md for one doctor and visit type."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[SlotQuerySerializer], responses=SlotSerializer(many=True))
    def get(self, request, pk: int):
        query = SlotQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        visit_type_id = query.validated_data.get("visit_type")
        # The visit type with its doctor in one query; the doctor alone only when there is none
        # (and for an id beyond any database id, which the doctor lookup answers with 404).
        visit_type = None
        if pk <= MAX_ID:
            visit_types = VisitType.objects.select_related("doctor").filter(
                doctor_id=pk, doctor__is_active=True, is_active=True
            )
            visit_type = (
                visit_types.filter(pk=visit_type_id) if visit_type_id else visit_types
            ).first()
        if visit_type is None:
            get_object_or_404(Doctor, pk=pk, is_active=True)
            if visit_type_id:
                return Response(
                    {"visit_type": ["This doctor offers no such visit type."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            return Response([])
        today = timezone.now().astimezone(clinic_tz()).date()
        date_from = query.validated_data.get("date_from") or today
        date_to = query.validated_data.get("date_to") or date_from + timedelta(days=6)
        if (date_to - date_from).days + 1 > SlotQuerySerializer.MAX_DAYS or date_to < date_from:
            return Response(
                {"date_to": [f"Ask for 1 to {SlotQuerySerializer.MAX_DAYS} days at a time."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        slots = selectors.slot_search(
            visit_type=visit_type,
            date_from=date_from,
            date_to=date_to,
            policies=get_policies(request),
        )
        return Response(slot_list_data(slots, visit_type.pk))


# --- Appointments -----------------------------------------------------------------------------


class AppointmentListView(generics.GenericAPIView):
    queryset = Appointment.objects.none()  # lists come from the selectors; this names the model
    serializer_class = AppointmentCreateSerializer  # the POST body, as OPTIONS describes it
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(
        parameters=[AppointmentListQuerySerializer],
        responses={200: AppointmentSchema(many=True), **errors(403)},
    )
    def get(self, request):
        if not can_list_appointments(request.user):
            raise Forbidden("Your role does not include appointments.")
        query = AppointmentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        if (filters.get("patient") or filters.get("q")) and not can_search_patients(request.user):
            raise Forbidden("Filtering by patient and searching are for clinic staff.")
        qs = selectors.filter_appointments(
            selectors.appointments_visible_to(request.user), **filters
        ).order_by("start", "pk")
        page = self.paginate_queryset(qs)
        data = AppointmentSerializer(page, many=True, context=_context(request)).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=AppointmentCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                pattern=IDEMPOTENCY_KEY.pattern,
                description=(
                    "A key of the client's choosing (a UUID) for this booking: sending the "
                    "request again with it answers with the appointment the first one made "
                    "instead of booking twice; the same key for a different booking is 409 "
                    "`idempotency_key_reused`."
                ),
            )
        ],
        responses={201: AppointmentSchema, **errors(400, 403, 409)},
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key", "")
        if key and not IDEMPOTENCY_KEY.fullmatch(key):
            return Response(
                {
                    "detail": "Idempotency-Key must be 1 to 64 letters, digits, '-' or '_'.",
                    "code": "invalid",
                },
                status=400,
            )
        body = AppointmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        patient = request.user
        if data.get("patient") and data["patient"] != request.user.pk:
            if not is_front_desk(request.user):
                raise Forbidden("Only the front desk books for other patients.")
            patient = User.objects.filter(pk=data["patient"]).first()
            if patient is None:
                return Response({"patient": ["No such patient."]}, status=400)
        elif is_front_desk(request.user):
            return Response({"patient": ["Choose the patient to book for."]}, status=400)
        policies = get_policies(request)
        appointment = _call(
            services.appointment_book,
            actor=request.user,
            patient=patient,
            visit_type_id=data["visit_type"],
            doctor_id=data["doctor"],
            start=data["start"],
            reason=data.get("reason", ""),
            walk_in=data.get("walk_in", False),
            idempotency_key=key,
            policies=policies,
        )
        return Response(
            AppointmentSerializer(appointment, context=_context(request)).data,
            status=status.HTTP_201_CREATED,
        )


class AppointmentDetailView(APIView):
    @extend_schema(responses=AppointmentSchema)
    def get(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        return Response(AppointmentSerializer(appointment, context=_context(request)).data)


class _ActionView(APIView):
    """POST appointments/{id}/<action>/ → 200 with the appointment."""

    action_name = ""
    body_serializer = None
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    def perform(self, request, appointment, body) -> None:
        _call(
            services.appointment_act,
            appointment=appointment,
            actor=request.user,
            action=self.action_name,
            **body,
        )

    def post(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        body = {}
        if self.body_serializer is not None:
            parsed = self.body_serializer(data=request.data)
            parsed.is_valid(raise_exception=True)
            body = dict(parsed.validated_data)
        self.perform(request, appointment, body)
        appointment = appointment_get_for_user(request.user, reference)
        return Response(AppointmentSerializer(appointment, context=_context(request)).data)


def _action_view(name: str, body=None, doc_request=None):
    view = type(
        f"{name.title().replace('_', '')}View",
        (_ActionView,),
        {"action_name": name, "body_serializer": body},
    )
    return extend_schema(
        request=doc_request or body, responses={200: AppointmentSchema, **errors(403, 409)}
    )(view)


ConfirmView = _action_view("confirm")
DeclineView = _action_view("decline", ReasonSerializer)
CancelView = _action_view("cancel", ReasonSerializer)
CheckInView = _action_view("check_in")
NoShowView = _action_view("no_show", NoShowSerializer)
CompleteView = _action_view("complete")


@extend_schema(request=RescheduleSerializer, responses={200: AppointmentSchema, **errors(403, 409)})
class RescheduleView(_ActionView):
    body_serializer = RescheduleSerializer

    def perform(self, request, appointment, body) -> None:
        visit_type = None
        if body.get("visit_type"):
            visit_type = VisitType.objects.filter(
                pk=body["visit_type"], doctor_id=appointment.doctor_id
            ).first()
            if visit_type is None:
                raise django_validation_error_to_drf(
                    DjangoValidationError(
                        {"visit_type": ["This doctor offers no such visit type."]}
                    )
                )
        _call(
            services.appointment_reschedule,
            appointment=appointment,
            actor=request.user,
            new_start=body["start"],
            reason=body.get("reason", ""),
            visit_type=visit_type,
        )


class HistoryView(APIView):
    @extend_schema(responses=HistorySchema)
    def get(self, request, reference: str):
        appointment = appointment_get_for_user(request.user, reference)
        appointment = (
            type(appointment)
            .objects.prefetch_related("reschedules__changed_by", "transitions__by")
            .get(pk=appointment.pk)
        )
        return Response(HistorySerializer(appointment).data)


# --- Queue ------------------------------------------------------------------------------------


def _queue_doctor(request, doctor_id) -> Doctor:
    if doctor_id:
        doctor = get_object_or_404(Doctor, pk=doctor_id)
    else:
        doctor = Doctor.objects.filter(user=request.user).first()
        if doctor is None:
            raise DjangoValidationError({"doctor": ["Choose a doctor."]})
    if not can_view_queue(request.user, doctor):
        raise Forbidden("Only the doctor and the front desk see this queue.")
    return doctor


class QueueView(APIView):
    @extend_schema(
        parameters=[QueueQuerySerializer],
        responses={200: QueueEntrySchema(many=True), **errors(403, 404)},
    )
    def get(self, request):
        if role_of(request.user) not in (Role.DOCTOR, Role.RECEPTIONIST, Role.ADMIN):
            raise Forbidden("The queue is for clinic staff.")
        query = QueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        doctor = _call(_queue_doctor, request=request, doctor_id=query.validated_data.get("doctor"))
        day = query.validated_data.get("date") or timezone.now().astimezone(clinic_tz()).date()
        entries = selectors.queue_for(doctor, day)
        return Response(QueueEntrySerializer(entries, many=True, context=_context(request)).data)


class QueueReorderView(APIView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(
        request=QueueReorderSerializer,
        responses={200: QueueEntrySchema(many=True), **errors(403, 404)},
    )
    def post(self, request):
        if not is_front_desk(request.user):
            raise Forbidden("Only the front desk reorders the queue.")
        body = QueueReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        doctor = get_object_or_404(Doctor, pk=body.validated_data["doctor"])
        _call(
            services.queue_reorder,
            doctor=doctor,
            day=body.validated_data["date"],
            order=body.validated_data["order"],
            actor=request.user,
        )
        entries = selectors.queue_for(doctor, body.validated_data["date"])
        return Response(QueueEntrySerializer(entries, many=True, context=_context(request)).data)
