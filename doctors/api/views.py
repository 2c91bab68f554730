"""Doctors' own data: specialties (public) and schedules (the doctor and the front desk).

The doctor list, doctor detail and slots live in `booking.api`, because they include
availability, which depends on appointments.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic_site.api import WriteThrottle, json_body
from clinic_site.exceptions import Forbidden
from clinic_site.openapi import errors

from .. import selectors, services
from ..models import Doctor, ScheduleException
from ..permissions import can_manage_schedule
from .serializers import (
    ScheduleExceptionSerializer,
    SpecialtySerializer,
    WeeklyWindowSerializer,
)


class SpecialtyListView(generics.ListAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = SpecialtySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.specialty_list()


def _doctor_for_schedule(request, pk) -> Doctor:
    doctor = get_object_or_404(Doctor, pk=pk, is_active=True)
    if not can_manage_schedule(request.user, doctor):
        raise Forbidden("Only the doctor and the front desk manage this schedule.")
    return doctor


class WeeklyScheduleView(APIView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(responses={200: WeeklyWindowSerializer(many=True), **errors(403)})
    def get(self, request, pk: int):
        doctor = _doctor_for_schedule(request, pk)
        return Response(WeeklyWindowSerializer(doctor.weekly_windows.all(), many=True).data)

    @extend_schema(
        request=WeeklyWindowSerializer(many=True),
        responses={200: WeeklyWindowSerializer(many=True), **errors(403)},
    )
    def put(self, request, pk: int):
        """Replace the whole week with a JSON list of windows (`[]`: no weekly hours). Anything
        else is refused before the week is touched: a form body (even an empty one, which DRF
        would read as an empty list) is 415, JSON that is not a list is 400."""
        doctor = _doctor_for_schedule(request, pk)
        serializer = WeeklyWindowSerializer(data=json_body(request), many=True)
        serializer.is_valid(raise_exception=True)
        windows = services.weekly_schedule_replace(
            doctor=doctor,
            windows=[(w["weekday"], w["start"], w["end"]) for w in serializer.validated_data],
            actor=request.user,
        )
        return Response(WeeklyWindowSerializer(windows, many=True).data)


class ScheduleExceptionListView(APIView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(responses={200: ScheduleExceptionSerializer(many=True), **errors(403)})
    def get(self, request, pk: int):
        doctor = _doctor_for_schedule(request, pk)
        return Response(
            ScheduleExceptionSerializer(doctor.schedule_exceptions.all(), many=True).data
        )

    @extend_schema(
        request=ScheduleExceptionSerializer,
        responses={201: ScheduleExceptionSerializer, **errors(403)},
    )
    def post(self, request, pk: int):
        doctor = _doctor_for_schedule(request, pk)
        serializer = ScheduleExceptionSerializer(data=json_body(request))
        serializer.is_valid(raise_exception=True)
        exception = services.schedule_exception_add(
            doctor=doctor, actor=request.user, **serializer.validated_data
        )
        return Response(ScheduleExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)


class ScheduleExceptionDetailView(APIView):
    throttle_classes = [WriteThrottle]
    throttle_scope = "writes"

    @extend_schema(responses={204: None, **errors(403)})
    def delete(self, request, pk: int, exception_id: int):
        doctor = _doctor_for_schedule(request, pk)
        exception = get_object_or_404(ScheduleException, pk=exception_id, doctor=doctor)
        services.schedule_exception_delete(exception=exception, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
