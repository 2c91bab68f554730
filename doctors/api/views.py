"""Public reads: specialties and doctors."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions

from .. import selectors
from .serializers import DoctorDetailSerializer, DoctorSerializer, SpecialtySerializer


class SpecialtyListView(generics.ListAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = SpecialtySerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.specialty_list()


@extend_schema(
    parameters=[
        OpenApiParameter("specialty", OpenApiTypes.STR, description="specialty slug"),
        OpenApiParameter("q", OpenApiTypes.STR, description="name or specialty contains"),
    ]
)
class DoctorListView(generics.ListAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = DoctorSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.doctor_list(
            specialty=self.request.query_params.get("specialty") or None,
            q=self.request.query_params.get("q") or None,
        )


class DoctorDetailView(generics.RetrieveAPIView):
    permission_classes = [permissions.AllowAny]
    serializer_class = DoctorDetailSerializer

    def get_queryset(self):
        return selectors.doctor_list()
