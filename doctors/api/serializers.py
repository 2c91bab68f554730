from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic_site import api

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
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_photo_url(self, doctor: Doctor) -> str | None:
        if doctor.photo is None:
            return None
        url = doctor.photo.get_rendition(PORTRAIT_FILTER).url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class DoctorDetailSerializer(DoctorSerializer):
    """One doctor; adds payout details for that doctor and administrators only."""

    payout = serializers.SerializerMethodField()

    class Meta(DoctorSerializer.Meta):
        fields = DoctorSerializer.Meta.fields + ["phone", "date_joined", "payout"]
        # Left out of the answer (not null) for everyone else (clinic_site.openapi).
        optional_in_response = ["payout"]

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


class WeeklyWindowSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6)
    start = api.TimeField()
    end = api.TimeField()

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["The window ends before it starts."]})
        return attrs


class ScheduleExceptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=["day_off", "extra_hours"])
    date_from = api.DateField(required=False)
    date_to = api.DateField(required=False)
    date = api.DateField(required=False, write_only=True)
    start = api.TimeField(required=False, allow_null=True)
    end = api.TimeField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs):
        date = attrs.pop("date", None)
        if attrs["kind"] == "extra_hours":
            date = date or attrs.get("date_from")
            if date is None:
                raise serializers.ValidationError({"date": ["Give the date of the extra hours."]})
            attrs["date_from"] = date
            attrs.pop("date_to", None)
        else:
            if "date_from" not in attrs:
                raise serializers.ValidationError({"date_from": ["Give the first day off."]})
            if attrs.get("start") or attrs.get("end"):
                raise serializers.ValidationError(
                    {"start": ["A day off has no hours; use extra_hours for working hours."]}
                )
        return attrs

    def to_representation(self, instance):
        data = {
            "id": instance.pk,
            "kind": instance.kind,
            "date_from": instance.date_from.isoformat(),
            "date_to": instance.date_to.isoformat(),
            "reason": instance.reason,
        }
        if instance.kind == "extra_hours":
            data.update(
                date=instance.date_from.isoformat(),
                start=instance.start.strftime("%H:%M"),
                end=instance.end.strftime("%H:%M"),
            )
        return data
