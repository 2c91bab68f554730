from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import Doctor, DoctorPayoutDetails, Specialty
from ..permissions import can_view_payout
from ..selectors import PORTRAIT_FILTER


class SpecialtySerializer(serializers.ModelSerializer):
    class Meta:
        model = Specialty
        fields = ["id", "name", "slug"]


class PayoutSerializer(serializers.ModelSerializer):
    class Meta:
        model = DoctorPayoutDetails
        fields = ["pan", "bank_account_number", "ifsc"]


class DoctorSerializer(serializers.ModelSerializer):
    specialties = SpecialtySerializer(many=True, read_only=True)
    photo_url = serializers.SerializerMethodField()
    languages = serializers.ListField(
        child=serializers.CharField(), source="language_list", read_only=True
    )
    visit_types = serializers.SerializerMethodField()
    next_available = serializers.SerializerMethodField()

    class Meta:
        model = Doctor
        fields = [
            "id",
            "name",
            "slug",
            "specialties",
            "photo_url",
            "biography",
            "languages",
            "accepting_new_patients",
            "visit_types",
            "next_available",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_photo_url(self, doctor: Doctor) -> str | None:
        if doctor.photo is None:
            return None
        url = doctor.photo.get_rendition(PORTRAIT_FILTER).url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_visit_types(self, doctor: Doctor) -> list:
        # Visit types arrive with the scheduling engine; until then a doctor offers none.
        return []

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_available(self, doctor: Doctor):
        return None


class DoctorDetailSerializer(DoctorSerializer):
    """One doctor; adds payout details for that doctor and administrators only."""

    payout = serializers.SerializerMethodField()

    class Meta(DoctorSerializer.Meta):
        fields = DoctorSerializer.Meta.fields + ["phone", "date_joined", "payout"]

    @extend_schema_field(PayoutSerializer(allow_null=True))
    def get_payout(self, doctor: Doctor):
        request = self.context.get("request")
        if request is None or not can_view_payout(request.user, doctor):
            return None
        payout = DoctorPayoutDetails.objects.filter(doctor=doctor).first()
        return PayoutSerializer(payout).data if payout else None

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if data.get("payout") is None:
            data.pop("payout", None)
        return data
