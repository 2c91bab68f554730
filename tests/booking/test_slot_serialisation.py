"""The slots API writes each slot's times exactly as DRF's DateTimeField does (issue 11: the
list is built in one pass instead of field by field), in every zone and across DST changes; the
doctors list writes visit types exactly as VisitTypeSerializer does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone as django_timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from booking.api.serializers import (
    SlotSerializer,
    VisitTypeSerializer,
    datetime_texts,
    slot_list_data,
    visit_type_data,
)
from doctors.models import VisitType
from doctors.rules import Slot

ZONES = [UTC, ZoneInfo("Europe/London"), ZoneInfo("America/New_York")]
ZONES += [ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-3))]

moments = st.builds(
    lambda base, seconds, micro, tz, fold: (
        (base + timedelta(seconds=seconds, microseconds=micro)).astimezone(tz).replace(fold=fold)
    ),
    st.sampled_from(
        [datetime(2027, m, d, tzinfo=UTC) for m, d in ((3, 13), (3, 27), (4, 3), (10, 2), (10, 30))]
    ),
    st.integers(0, 3 * 86_400),
    st.sampled_from([0, 0, 1, 500_000]),
    st.sampled_from(ZONES),
    st.sampled_from([0, 1]),
)


@pytest.mark.parametrize("current", ["UTC", "Europe/London", "America/New_York"])
@settings(max_examples=100, deadline=None)
@given(values=st.lists(moments, max_size=12))
def test_datetime_texts_are_drfs_datetime_field_output(current, values):
    field = serializers.DateTimeField()
    with django_timezone.override(ZoneInfo(current)):
        assert datetime_texts(values) == [field.to_representation(v) for v in values]


def test_slot_list_data_is_slot_serializers_output():
    london = ZoneInfo("Europe/London")
    start = datetime(2027, 10, 31, 0, 40, tzinfo=london)
    slots = [
        Slot(start + timedelta(minutes=40 * k), start + timedelta(minutes=40 * k + 30))
        for k in range(4)
    ]
    slots.append(
        Slot(
            datetime(2027, 10, 31, 1, 20, fold=1, tzinfo=london),
            datetime(2027, 10, 31, 1, 50, fold=1, tzinfo=london),
        )
    )
    expected = SlotSerializer(
        [{"start": s.start, "end": s.end, "visit_type": 7} for s in slots], many=True
    ).data
    assert slot_list_data(slots, 7) == [dict(item) for item in expected]


def test_another_datetime_format_goes_through_drf(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DATETIME_FORMAT": "%d/%m/%Y %H:%M"}
    value = datetime(2027, 6, 1, 9, 30, tzinfo=UTC)
    assert datetime_texts([value]) == [serializers.DateTimeField().to_representation(value)]


@pytest.mark.parametrize(
    "price", [Decimal("40"), Decimal("12.5"), Decimal("0.00"), Decimal("999999.99")]
)
def test_visit_type_data_is_visit_type_serializers_output(price):
    visit_types = [
        VisitType(id=3, name="Consultation", duration_minutes=30, mode="video", price=price),
        VisitType(id=9, name="Follow-up ✓", duration_minutes=15, mode="in_person", price=price),
    ]
    expected = VisitTypeSerializer(visit_types, many=True).data
    assert visit_type_data(visit_types) == [dict(item) for item in expected]
