from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.conf import settings as django_settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from clinic_site import api
from doctors.api.serializers import DoctorDetailSerializer, DoctorSerializer
from doctors.models import VisitMode

from ..models import Appointment, Status
from ..permissions import allowed_actions, can_see_meeting_url
from ..services import meeting_url

# Database ids are 64-bit: a larger number is no id at all (and must not reach the database).
MAX_ID = 2**63 - 1


def IdField(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


ACTION_CHOICES = ["confirm", "decline", "cancel", "reschedule", "check_in", "no_show", "complete"]


class VisitTypeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    mode = serializers.CharField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2)


class _AvailabilityMixin(serializers.Serializer):
    """Visit types (prefetched) and the next offered start (computed for the whole page)."""

    visit_types = serializers.SerializerMethodField()
    next_available = serializers.SerializerMethodField()

    @extend_schema_field(VisitTypeSerializer(many=True))
    def get_visit_types(self, doctor) -> list:
        return visit_type_data(doctor.active_visit_types)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_available(self, doctor):
        starts = [
            self.context.get("next_available", {}).get(vt.pk) for vt in doctor.active_visit_types
        ]
        starts = [s for s in starts if s is not None]
        return datetime_texts([min(starts)])[0] if starts else None


_PRICE = VisitTypeSerializer().fields["price"]


def visit_type_data(visit_types) -> list[dict]:
    """VisitTypeSerializer's output, without a serializer per doctor (a page of 20 doctors built
    20 of them)."""
    return [
        {
            "id": vt.id,
            "name": str(vt.name),
            "duration_minutes": int(vt.duration_minutes),
            "mode": str(vt.mode),
            "price": _PRICE.to_representation(vt.price),
        }
        for vt in visit_types
    ]


class DoctorWithAvailabilitySerializer(_AvailabilityMixin, DoctorSerializer):
    class Meta(DoctorSerializer.Meta):
        fields = DoctorSerializer.Meta.fields + ["visit_types", "next_available"]


class DoctorDetailWithAvailabilitySerializer(_AvailabilityMixin, DoctorDetailSerializer):
    class Meta(DoctorDetailSerializer.Meta):
        fields = DoctorDetailSerializer.Meta.fields + ["visit_types", "next_available"]


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    visit_type = serializers.IntegerField()


def datetime_texts(values: Iterable[datetime]) -> list[str]:
    """What `serializers.DateTimeField().to_representation` gives for each aware datetime, byte
    for byte (ISO 8601 in the current zone, "Z" for UTC), without its per-value overhead: a
    60-day slot list has a thousand of them (issue 11). Any other DATETIME_FORMAT, or a naive
    value, goes through the field itself."""
    values = list(values)
    fmt = api_settings.DATETIME_FORMAT
    if not django_settings.USE_TZ or fmt is None or fmt.lower() != ISO_8601:
        field = serializers.DateTimeField()
        return [field.to_representation(value) for value in values]
    tz = timezone.get_current_timezone()
    texts = []
    for value in values:
        if value.tzinfo is not tz:
            if value.utcoffset() is None:
                texts.append(serializers.DateTimeField().to_representation(value))
                continue
            value = value.astimezone(tz)
        text = value.isoformat()
        texts.append(text[:-6] + "Z" if text.endswith("+00:00") else text)
    return texts


def slot_list_data(slots: Sequence, visit_type_id: int) -> list[dict]:
    """SlotSerializer's output for offered slots of one visit type, in one pass."""
    texts = datetime_texts(moment for slot in slots for moment in (slot.start, slot.end))
    return [
        {"start": texts[i], "end": texts[i + 1], "visit_type": visit_type_id}
        for i in range(0, len(texts), 2)
    ]


class SlotQuerySerializer(serializers.Serializer):
    date_from = api.DateField(required=False)
    date_to = api.DateField(required=False)
    visit_type = IdField(required=False)

    MAX_DAYS = 62

    def validate(self, attrs):
        date_from, date_to = attrs.get("date_from"), attrs.get("date_to")
        if date_from and date_to:
            if date_to < date_from:
                raise serializers.ValidationError({"date_to": ["date_to is before date_from."]})
            if (date_to - date_from).days + 1 > self.MAX_DAYS:
                raise serializers.ValidationError(
                    {"date_to": [f"Ask for at most {self.MAX_DAYS} days at a time."]}
                )
        return attrs


class _Ref(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AppointmentSerializer(serializers.Serializer):
    """The appointment representation of api-v1.md (plus a few added fields)."""

    def to_representation(self, appointment: Appointment) -> dict:
        request = self.context["request"]
        now: datetime = self.context["now"]
        policies = self.context["policies"]
        user = request.user
        dt = serializers.DateTimeField()
        visit_type = appointment.visit_type
        waiting = None
        if appointment.status == Status.CHECKED_IN and appointment.checked_in_at:
            waiting = max(0, int((now - appointment.checked_in_at).total_seconds() // 60))
        show_meeting = can_see_meeting_url(user, appointment)
        return {
            "id": appointment.reference,
            "doctor": {"id": appointment.doctor_id, "name": appointment.doctor.name},
            "patient": {"id": appointment.patient_id, "name": appointment.patient.full_name},
            "visit_type": {
                "id": visit_type.pk,
                "name": visit_type.name,
                "duration_minutes": visit_type.duration_minutes,
                "mode": visit_type.mode,
            },
            "start": dt.to_representation(appointment.start),
            "end": dt.to_representation(appointment.end),
            "status": appointment.status,
            "reason": appointment.reason,
            "created_at": dt.to_representation(appointment.created_at),
            "checked_in_at": dt.to_representation(appointment.checked_in_at)
            if appointment.checked_in_at
            else None,
            "waiting_minutes": waiting,
            "meeting_url": meeting_url(appointment)
            if show_meeting and visit_type.mode == VisitMode.VIDEO
            else None,
            "payment_status": appointment.payment_status,
            "price": str(appointment.price),
            "hold_expires_at": dt.to_representation(appointment.hold_expires_at)
            if appointment.status == Status.HELD
            else None,
            "reschedule_count": appointment.reschedule_count,
            "walk_in": appointment.walk_in,
            "queue_position": appointment.queue_position
            if appointment.status == Status.CHECKED_IN
            else None,
            "cancellation_reason": appointment.cancellation_reason or None,
            "allowed_actions": allowed_actions(user, appointment, now=now, policies=policies),
        }


class _AppointmentVisitType(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    duration_minutes = serializers.IntegerField()
    mode = serializers.CharField()


class AppointmentSchema(serializers.Serializer):
    """The documented shape of AppointmentSerializer (drf-spectacular reads it)."""

    id = serializers.CharField()
    doctor = _Ref()
    patient = _Ref()
    visit_type = _AppointmentVisitType()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Status.values)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    checked_in_at = serializers.DateTimeField(allow_null=True)
    waiting_minutes = serializers.IntegerField(allow_null=True)
    meeting_url = serializers.URLField(allow_null=True)
    payment_status = serializers.CharField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2)
    hold_expires_at = serializers.DateTimeField(allow_null=True)
    reschedule_count = serializers.IntegerField()
    walk_in = serializers.BooleanField()
    queue_position = serializers.IntegerField(allow_null=True)
    cancellation_reason = serializers.CharField(allow_null=True)
    allowed_actions = serializers.ListField(child=serializers.ChoiceField(ACTION_CHOICES))


class AppointmentListQuerySerializer(serializers.Serializer):
    status = serializers.CharField(required=False, max_length=200)
    date_from = api.DateField(required=False)
    date_to = api.DateField(required=False)
    doctor = IdField(required=False)
    patient = IdField(required=False)
    q = serializers.CharField(required=False, max_length=100, allow_blank=True)

    def validate_status(self, value):
        statuses = [s.strip().upper() for s in value.split(",") if s.strip()]
        unknown = sorted(set(statuses) - set(Status.values))
        if unknown:
            raise serializers.ValidationError(f"Unknown status: {', '.join(unknown)}.")
        return ",".join(statuses)


class AppointmentCreateSerializer(serializers.Serializer):
    doctor = IdField()
    visit_type = IdField()
    start = api.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    patient = IdField(required=False)
    walk_in = serializers.BooleanField(required=False, default=False)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RescheduleSerializer(serializers.Serializer):
    start = api.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    visit_type = IdField(required=False)


class NoShowSerializer(serializers.Serializer):
    excused = serializers.BooleanField(required=False, default=False)


class HistorySerializer(serializers.Serializer):
    def to_representation(self, appointment: Appointment) -> dict:
        dt = serializers.DateTimeField()
        return {
            "reschedules": [
                {
                    "old_start": dt.to_representation(r.old_start),
                    "new_start": dt.to_representation(r.new_start),
                    "changed_by": _person(r.changed_by),
                    "reason": r.reason,
                    "changed_at": dt.to_representation(r.changed_at),
                }
                for r in appointment.reschedules.all()
            ],
            "transitions": [
                {
                    "from": t.from_status or None,
                    "to": t.to_status,
                    "by": _person(t.by),
                    "at": dt.to_representation(t.at),
                    "reason": t.reason,
                    "details": t.details,
                }
                for t in appointment.transitions.all()
            ],
        }


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.full_name}


# The documented shape of HistorySerializer (drf-spectacular reads it); `from` is a Python
# keyword, hence the inline serializers.
HistorySchema = inline_serializer(
    "History",
    fields={
        "reschedules": inline_serializer(
            "HistoryReschedule",
            fields={
                "old_start": serializers.DateTimeField(),
                "new_start": serializers.DateTimeField(),
                "changed_by": _Ref(allow_null=True),
                "reason": serializers.CharField(allow_blank=True),
                "changed_at": serializers.DateTimeField(),
            },
            many=True,
        ),
        "transitions": inline_serializer(
            "HistoryTransition",
            fields={
                # Statuses (as an appointment's `status`); `from` is null for the booking.
                "from": serializers.CharField(allow_null=True),
                "to": serializers.CharField(),
                "by": _Ref(allow_null=True),
                "at": serializers.DateTimeField(),
                "reason": serializers.CharField(allow_blank=True),
                "details": serializers.DictField(),
            },
            many=True,
        ),
    },
)


class QueueEntrySerializer(serializers.Serializer):
    def to_representation(self, appointment: Appointment) -> dict:
        now = self.context["now"]
        return {
            "position": appointment.queue_position,
            "appointment": appointment.reference,
            "patient": {"id": appointment.patient_id, "name": appointment.patient.full_name},
            "visit_type": appointment.visit_type.name,
            "start": serializers.DateTimeField().to_representation(appointment.start),
            "checked_in_at": serializers.DateTimeField().to_representation(
                appointment.checked_in_at
            ),
            "waiting_minutes": max(0, int((now - appointment.checked_in_at).total_seconds() // 60)),
        }


class QueueEntrySchema(serializers.Serializer):
    """The documented shape of QueueEntrySerializer (drf-spectacular reads it)."""

    position = serializers.IntegerField(allow_null=True)
    appointment = serializers.CharField()
    patient = _Ref()
    visit_type = serializers.CharField()
    start = serializers.DateTimeField()
    checked_in_at = serializers.DateTimeField()
    waiting_minutes = serializers.IntegerField()


class QueueQuerySerializer(serializers.Serializer):
    doctor = IdField(required=False)
    date = api.DateField(required=False)


class QueueReorderSerializer(serializers.Serializer):
    doctor = IdField()
    date = api.DateField()
    order = serializers.ListField(child=serializers.CharField(max_length=12), allow_empty=True)
