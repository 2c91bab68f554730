"""The consultation record's representation (api-v1.md) and the bodies of its writes.

Serializers only parse and shape: the services (records.rules) check the values again, so a
body that slips past here is still refused with a field error, never stored half-way.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import rules
from ..models import Medicine


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, default="", **kwargs
    )


class PrescriptionItemSerializer(serializers.Serializer):
    drug = serializers.CharField(max_length=rules.PRESCRIPTION_FIELDS["drug"])
    dose = _text(rules.PRESCRIPTION_FIELDS["dose"])
    frequency = _text(rules.PRESCRIPTION_FIELDS["frequency"])
    duration = _text(rules.PRESCRIPTION_FIELDS["duration"])
    instructions = _text(rules.PRESCRIPTION_FIELDS["instructions"])


class RequestedTestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=rules.TEST_FIELDS["name"])
    notes = _text(rules.TEST_FIELDS["notes"])


class AddendumSerializer(serializers.Serializer):
    text = serializers.CharField()
    by = serializers.SerializerMethodField()
    at = serializers.DateTimeField(source="created_at")

    def get_by(self, addendum) -> str:
        return self.context["record"].signer_name(addendum.author)


class ConsultationSerializer(serializers.Serializer):
    """GET/PUT appointments/{id}/consultation/ — api-v1.md's fields, plus `appointment`,
    `status`, `author`, `finalised_by` and `updated_at`."""

    appointment = serializers.CharField(source="appointment.reference")
    status = serializers.SerializerMethodField()
    diagnosis = serializers.CharField()
    notes = serializers.CharField()
    prescriptions = PrescriptionItemSerializer(many=True)
    tests = RequestedTestSerializer(many=True)
    author = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()
    finalised_at = serializers.DateTimeField(allow_null=True)
    finalised_by = serializers.SerializerMethodField()
    addenda = serializers.SerializerMethodField()

    def get_status(self, record) -> str:
        return "finalised" if record.is_finalised else "draft"

    def get_author(self, record) -> str:
        return record.signer_name(record.author)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_finalised_by(self, record) -> str | None:
        return record.signer_name(record.finalised_by) or None

    @extend_schema_field(AddendumSerializer(many=True))
    def get_addenda(self, record) -> list:
        return AddendumSerializer(record.addenda.all(), many=True, context={"record": record}).data


class ConsultationWriteSerializer(serializers.Serializer):
    """PUT body: the whole draft; fields left out are empty (PUT replaces)."""

    diagnosis = _text(rules.MAX_DIAGNOSIS)
    notes = _text(rules.MAX_NOTES)
    prescriptions = serializers.ListField(
        child=PrescriptionItemSerializer(), required=False, default=list, max_length=rules.MAX_ITEMS
    )
    tests = serializers.ListField(
        child=RequestedTestSerializer(), required=False, default=list, max_length=rules.MAX_ITEMS
    )


class FinaliseSerializer(serializers.Serializer):
    complete = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also complete the appointment, in the same step (all or nothing).",
    )


class AddendumWriteSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=rules.MAX_ADDENDUM)


class MedicineSerializer(serializers.ModelSerializer):
    class Meta:
        model = Medicine
        fields = ["id", "name", "form", "strength", "default_dose", "default_frequency"]


class MedicineQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
