"""The fast slot engine (`doctors.rules.offered_slots`: integer grid on days without an offset
change, the careful path on the others) offers exactly what a straightforward per-candidate
implementation of scheduling-rules.md offers, on random schedules in zones with daylight saving,
on dates around their transitions (issue 11).

`reference_offered_slots` below is the engine as it was before the fast path: every candidate's
wall-clock start and end checked through the zone, every slot taken to UTC and back, every
busy-range test a bisection. It is kept here, apart from the engine, as the yardstick."""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from doctors.rules import (
    DAY_OFF,
    EXTRA_HOURS,
    BusyRanges,
    ScheduleChange,
    Slot,
    SlotRules,
    offered_slots,
    windows_of_date,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # clocks move by 30 minutes
SANTIAGO = ZoneInfo("America/Santiago")  # clocks change at midnight
KOLKATA = ZoneInfo("Asia/Kolkata")

# Transition dates of 2027 (and the days around them are drawn too).
TRANSITIONS = {
    LONDON: [date(2027, 3, 28), date(2027, 10, 31)],
    NEW_YORK: [date(2027, 3, 14), date(2027, 11, 7)],
    LORD_HOWE: [date(2027, 4, 4), date(2027, 10, 3)],
    SANTIAGO: [date(2027, 4, 3), date(2027, 4, 4), date(2027, 9, 4), date(2027, 9, 5)],
    KOLKATA: [date(2027, 6, 1)],
    UTC: [date(2027, 6, 1)],
}
DURATIONS = (10, 15, 20, 30, 45, 60, 90, 120)


# --- The reference: one candidate at a time -------------------------------------------------


def _exists(naive: datetime, tz) -> bool:
    aware = naive.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def _end_instant(we: datetime, tz) -> datetime:
    if _exists(we, tz):
        return we.replace(tzinfo=tz, fold=1).astimezone(UTC)
    earlier = we
    while not _exists(earlier, tz):
        earlier -= timedelta(minutes=1)
    return earlier.replace(tzinfo=tz).astimezone(UTC) + timedelta(minutes=1)


def _reference_candidates(day, windows, tz, rules):
    slots = []
    for window_start, window_end in windows:
        ws = datetime.combine(day, window_start)
        we = datetime.combine(day, window_end)
        window_end_utc = _end_instant(we, tz)
        start = ws
        while start + rules.duration <= we:
            end = start + rules.duration
            if _exists(start, tz) and _exists(end, tz):
                start_utc = start.replace(tzinfo=tz, fold=0).astimezone(UTC)
                end_utc = start_utc + rules.duration
                if end_utc <= window_end_utc:
                    slots.append(Slot(start_utc.astimezone(tz), end_utc.astimezone(tz)))
            start += rules.step
    return slots


def _reference_overlaps(busy, start, end) -> bool:
    merged = []
    for s, e in sorted((s.astimezone(UTC), e.astimezone(UTC)) for s, e in busy):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    i = bisect.bisect_left([m[0] for m in merged], end) - 1
    return i >= 0 and merged[i][1] > start


def reference_offered_slots(
    *, date_from, date_to, tz, now, weekly, changes, busy, rules, earliest=None
):
    if not rules.bookable or date_to < date_from:
        return []
    today = now.astimezone(tz).date()
    first_day = max(date_from, today)
    last_day = min(date_to, today + timedelta(days=rules.horizon_days))
    not_before = (
        earliest.astimezone(UTC)
        if earliest is not None
        else now.astimezone(UTC) + rules.minimum_notice
    )
    offered, previous_blocked_end = [], None
    day = first_day
    while day <= last_day:
        for slot in _reference_candidates(day, windows_of_date(day, weekly, changes), tz, rules):
            if slot.start.astimezone(UTC) < not_before:
                continue
            blocked_start = slot.start.astimezone(UTC) - rules.buffer_before
            blocked_end = slot.end.astimezone(UTC) + rules.buffer_after
            if _reference_overlaps(busy, blocked_start, blocked_end):
                continue
            if previous_blocked_end is not None and blocked_start < previous_blocked_end:
                continue
            offered.append(slot)
            previous_blocked_end = blocked_end
        day += timedelta(days=1)
    return offered


# --- Random schedules ---------------------------------------------------------------------------


def _clock(m: int) -> time:
    return time(m // 60, m % 60)


# Any minute of the day (the missing and the repeated hours included), 5 minutes to 10 hours.
window = st.tuples(st.integers(0, 24 * 60 - 6), st.integers(5, 10 * 60)).map(
    lambda p: (_clock(p[0]), _clock(min(p[0] + p[1], 24 * 60 - 1)))
)


@st.composite
def cases(draw):
    tz = draw(st.sampled_from(list(TRANSITIONS)))
    around = draw(st.sampled_from(TRANSITIONS[tz]))
    base = around + timedelta(days=draw(st.integers(-4, 2)))
    weekly = draw(st.dictionaries(st.integers(0, 6), st.lists(window, max_size=3), max_size=7))
    changes = []
    for _ in range(draw(st.integers(0, 3))):
        first = base + timedelta(days=draw(st.integers(-1, 6)))
        last = first + timedelta(days=draw(st.integers(0, 2)))
        if draw(st.booleans()):
            changes.append(ScheduleChange(DAY_OFF, first, last))
        else:
            start, end = draw(window)
            changes.append(ScheduleChange(EXTRA_HOURS, first, last, start, end))
    midnight = datetime.combine(base, time(0), tzinfo=UTC)
    busy = []
    for _ in range(draw(st.integers(0, 12))):
        start = midnight + timedelta(seconds=draw(st.integers(-86_400, 8 * 86_400)))
        busy.append((start, start + timedelta(seconds=draw(st.integers(1, 4 * 3600)))))
    rules = SlotRules(
        duration=timedelta(minutes=draw(st.sampled_from(DURATIONS))),
        buffer_before=timedelta(minutes=draw(st.integers(0, 45))),
        buffer_after=timedelta(minutes=draw(st.integers(0, 45))),
        minimum_notice=timedelta(minutes=draw(st.integers(0, 24 * 60))),
        horizon_days=draw(st.integers(0, 10)),
        bookable=draw(st.booleans()) or draw(st.booleans()),
    )
    now = midnight + timedelta(seconds=draw(st.integers(-2 * 86_400, 4 * 86_400)))
    earliest = None
    if draw(st.integers(0, 3)) == 0:
        earliest = now + timedelta(minutes=draw(st.integers(-120, 600)))
    date_from = base + timedelta(days=draw(st.integers(-2, 4)))
    date_to = date_from + timedelta(days=draw(st.integers(-1, 7)))
    return {
        "date_from": date_from,
        "date_to": date_to,
        "tz": tz,
        "now": now.astimezone(draw(st.sampled_from([UTC, tz]))),
        "weekly": weekly,
        "changes": changes,
        "busy": busy,
        "rules": rules,
        "earliest": earliest,
    }


def _fast(case, **extra):
    return offered_slots(**{**case, "busy": BusyRanges(case["busy"])}, **extra)


def _texts(slots):
    """What a client sees: the ISO 8601 strings in the clinic's zone, offset included."""
    return [(s.start.isoformat(), s.end.isoformat()) for s in slots]


LONDON_NIGHT = {6: [(time(0, 30), time(3, 30)), (time(9), time(11))]}


@settings(max_examples=600, deadline=None)
@given(cases())
@example(  # spring forward in London: the grid runs into the missing hour
    {
        "date_from": date(2027, 3, 27),
        "date_to": date(2027, 3, 29),
        "tz": LONDON,
        "now": datetime(2027, 3, 20, tzinfo=UTC),
        "weekly": LONDON_NIGHT,
        "changes": [],
        "busy": [
            (datetime(2027, 3, 28, 1, 50, tzinfo=UTC), datetime(2027, 3, 28, 2, 5, tzinfo=UTC))
        ],
        "rules": SlotRules(
            timedelta(minutes=20), timedelta(minutes=5), timedelta(minutes=10), timedelta(0), 30
        ),
        "earliest": None,
    }
)
@example(  # fall back in London: the repeated hour
    {
        "date_from": date(2027, 10, 31),
        "date_to": date(2027, 10, 31),
        "tz": LONDON,
        "now": datetime(2027, 10, 20, tzinfo=UTC),
        "weekly": LONDON_NIGHT,
        "changes": [],
        "busy": [
            (datetime(2027, 10, 31, 0, 55, tzinfo=UTC), datetime(2027, 10, 31, 1, 5, tzinfo=UTC))
        ],
        "rules": SlotRules(
            timedelta(minutes=15), timedelta(0), timedelta(minutes=25), timedelta(0), 30
        ),
        "earliest": None,
    }
)
def test_fast_engine_offers_exactly_what_the_reference_offers(case):
    expected = reference_offered_slots(**case)
    offered = _fast(case)
    assert offered == expected
    assert _texts(offered) == _texts(expected)
    assert all(s.start.tzinfo is case["tz"] and s.end.tzinfo is case["tz"] for s in offered)


@settings(max_examples=200, deadline=None)
@given(cases(), st.integers(1, 4))
def test_a_limit_gives_the_first_offered_slots(case, limit):
    assert _fast(case, limit=limit) == reference_offered_slots(**case)[:limit]


def test_slots_are_ordered_and_compared_by_start_then_end():
    a = datetime(2027, 6, 1, 9, tzinfo=LONDON)
    early, late = Slot(a, a + timedelta(minutes=30)), Slot(a + timedelta(hours=1), a)
    assert sorted([late, early]) == [early, late]
    assert Slot(a, a + timedelta(minutes=30)) == early
    assert early.start == a and early.end == a + timedelta(minutes=30)
    assert len({early, Slot(a, a + timedelta(minutes=30))}) == 1


@settings(max_examples=300, deadline=None)
@given(cases(), st.data())
def test_busy_ranges_touching_or_just_overlapping_candidates_agree_with_the_reference(case, data):
    """Busy ranges placed against the candidates' own blocked ranges: touching either end (not an
    overlap) or overlapping by one microsecond."""
    free = reference_offered_slots(**{**case, "busy": []})
    if not free:
        return
    rules, busy = case["rules"], []
    for slot in data.draw(st.lists(st.sampled_from(free), max_size=4)):
        blocked_start = slot.start.astimezone(UTC) - rules.buffer_before
        blocked_end = slot.end.astimezone(UTC) + rules.buffer_after
        nudge = timedelta(microseconds=data.draw(st.sampled_from([0, 1])))
        length = timedelta(minutes=data.draw(st.integers(1, 90)))
        if data.draw(st.booleans()):
            busy.append((blocked_start - length, blocked_start + nudge))
        else:
            busy.append((blocked_end - nudge, blocked_end + length))
    case = {**case, "busy": busy}
    assert _fast(case) == reference_offered_slots(**case)
