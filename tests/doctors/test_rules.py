"""The slot engine keeps scheduling-rules.md to the minute: the worked example, the working windows
of a date, notice / horizon / bookable, the grid and non-overlap properties (Hypothesis), daylight
saving in Europe/London, busy-range overlap, the nearest alternatives, and the weekly-window
validation."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from doctors.rules import (
    DAY_OFF,
    EXTRA_HOURS,
    BusyRanges,
    ScheduleChange,
    Slot,
    SlotRules,
    candidate_slots,
    local_time_exists,
    merge_windows,
    nearest_slots,
    offered_slots,
    windows_of_date,
)
from doctors.services import weekly_windows_problems

LONDON = ZoneInfo("Europe/London")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30 all year: local dates differ from UTC dates
MONDAY = date(2029, 1, 1)
SPRING_FORWARD = date(2027, 3, 28)  # 01:00 → 02:00 local does not exist
FALL_BACK = date(2027, 10, 31)  # 01:00-02:00 local happens twice
DURATIONS = (10, 15, 20, 30, 45, 60, 90, 120)


def hm(text: str) -> time:
    return time.fromisoformat(text)


def at(day: date, text: str, tz=UTC) -> datetime:
    return datetime.combine(day, hm(text)).replace(tzinfo=tz)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def slot_rules(d=30, before=5, after=5, notice=0, horizon=60, bookable=True) -> SlotRules:
    return SlotRules(
        duration=minutes(d),
        buffer_before=minutes(before),
        buffer_after=minutes(after),
        minimum_notice=minutes(notice),
        horizon_days=horizon,
        bookable=bookable,
    )


def every_day(*windows: tuple[str, str]) -> dict[int, list[tuple[time, time]]]:
    return {weekday: [(hm(s), hm(e)) for s, e in windows] for weekday in range(7)}


def offer(
    day: date,
    rules: SlotRules,
    *,
    weekly=None,
    now: datetime | None = None,
    busy=(),
    changes=(),
    tz=UTC,
    date_to: date | None = None,
    earliest: datetime | None = None,
) -> list[Slot]:
    return offered_slots(
        date_from=day,
        date_to=date_to or day,
        tz=tz,
        now=now or datetime.combine(day - timedelta(days=1), time(0), tzinfo=tz),
        weekly=weekly if weekly is not None else every_day(("09:00", "13:00")),
        changes=list(changes),
        busy=BusyRanges(busy),
        rules=rules,
        earliest=earliest,
    )


def local_starts(slots, tz=UTC) -> list[str]:
    return [s.start.astimezone(tz).strftime("%H:%M") for s in slots]


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def lasts(slot: Slot) -> timedelta:
    """Absolute length (subtracting two datetimes of one zone would give wall-clock time)."""
    return utc(slot.end) - utc(slot.start)


def blocked(slot: Slot, rules: SlotRules) -> tuple[datetime, datetime]:
    """The spec's blocked range, in absolute time."""
    return utc(slot.start) - rules.buffer_before, utc(slot.end) + rules.buffer_after


def overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return utc(a[0]) < utc(b[1]) and utc(b[0]) < utc(a[1])


def wall_time_exists(aware: datetime) -> bool:
    """Independent of the engine: the wall-clock reading survives a round trip through UTC."""
    back = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return back.replace(tzinfo=None) == aware.replace(tzinfo=None)


# --- The worked example -------------------------------------------------------------------------

EXAMPLE = ["09:00", "09:40", "10:20", "11:00", "11:40", "12:20"]


def test_worked_example_candidates_are_the_six_of_the_spec():
    slots = candidate_slots(MONDAY, [(hm("09:00"), hm("13:00"))], UTC, slot_rules(30))
    assert local_starts(slots) == EXAMPLE
    assert all(lasts(s) == minutes(30) for s in slots)


def test_worked_example_offers_all_six_when_nothing_is_booked():
    assert local_starts(offer(MONDAY, slot_rules(30))) == EXAMPLE


def test_booking_0940_leaves_the_other_five_offered():
    booked = (at(MONDAY, "09:35"), at(MONDAY, "10:15"))  # blocked range of 09:40-10:10
    offered = offer(MONDAY, slot_rules(30), busy=[booked])
    assert local_starts(offered) == ["09:00", "10:20", "11:00", "11:40", "12:20"]


def test_fifteen_minute_visit_type_has_its_own_grid_on_the_same_window():
    slots = candidate_slots(MONDAY, [(hm("09:00"), hm("13:00"))], UTC, slot_rules(15))
    assert local_starts(slots) == [
        "09:00", "09:25", "09:50", "10:15", "10:40", "11:05", "11:30", "11:55", "12:20", "12:45",
    ]  # fmt: skip


def test_fifteen_minute_candidates_overlapping_0940_blocked_range_are_not_offered():
    booked = (at(MONDAY, "09:35"), at(MONDAY, "10:15"))
    rules = slot_rules(15)
    candidates = candidate_slots(MONDAY, [(hm("09:00"), hm("13:00"))], UTC, rules)
    offered = offer(MONDAY, rules, busy=[booked])
    refused = [s for s in candidates if s not in offered]
    assert local_starts(refused) == ["09:25", "09:50", "10:15"]
    assert all(overlap(blocked(s, rules), booked) for s in refused)
    assert not any(overlap(blocked(s, rules), booked) for s in offered)
    assert local_starts(offered) == [
        "09:00", "10:40", "11:05", "11:30", "11:55", "12:20", "12:45",
    ]  # fmt: skip


def test_booked_slot_blocks_candidates_whose_blocked_range_overlaps_it_by_one_minute():
    # 09:00's blocked range is [08:55, 09:35); 10:20's is [10:15, 10:55).
    busy = [(at(MONDAY, "08:00"), at(MONDAY, "08:56")), (at(MONDAY, "10:54"), at(MONDAY, "11:00"))]
    assert "09:00" not in local_starts(offer(MONDAY, slot_rules(30), busy=busy))
    assert "10:20" not in local_starts(offer(MONDAY, slot_rules(30), busy=busy))


def test_busy_range_touching_a_candidates_blocked_range_does_not_block_it():
    # 09:00's blocked range starts at 08:55; 12:20's ends at 12:55.
    busy = [(at(MONDAY, "08:00"), at(MONDAY, "08:55")), (at(MONDAY, "12:55"), at(MONDAY, "14:00"))]
    assert local_starts(offer(MONDAY, slot_rules(30), busy=busy)) == EXAMPLE


def test_busy_ranges_of_other_visit_types_and_zones_block_in_absolute_time():
    # 10:20 UTC is 11:20 in Paris in January: a hold written in another zone still blocks.
    paris = ZoneInfo("Europe/Paris")
    hold = (at(MONDAY, "11:20", paris), at(MONDAY, "11:30", paris))
    assert "10:20" not in local_starts(offer(MONDAY, slot_rules(30), busy=[hold]))


def test_candidates_stop_when_the_next_one_would_not_fit_before_the_window_end():
    slots = candidate_slots(MONDAY, [(hm("09:00"), hm("10:10"))], UTC, slot_rules(30))
    assert local_starts(slots) == ["09:00", "09:40"]  # 09:40 + 30 = 10:10 ≤ 10:10
    slots = candidate_slots(MONDAY, [(hm("09:00"), hm("10:09"))], UTC, slot_rules(30))
    assert local_starts(slots) == ["09:00"]


def test_zero_buffers_give_back_to_back_slots():
    slots = candidate_slots(MONDAY, [(hm("09:00"), hm("10:00"))], UTC, slot_rules(20, 0, 0))
    assert local_starts(slots) == ["09:00", "09:20", "09:40"]


# --- Working windows of a date ------------------------------------------------------------------


def weekly_of(**days) -> dict[int, list[tuple[time, time]]]:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {names.index(k): [(hm(s), hm(e)) for s, e in v] for k, v in days.items()}


def as_text(windows) -> list[tuple[str, str]]:
    return [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in windows]


def test_several_windows_per_weekday_are_returned_in_order():
    weekly = weekly_of(mon=[("14:00", "17:00"), ("08:00", "12:00")], tue=[("10:00", "11:00")])
    assert as_text(windows_of_date(MONDAY, weekly, [])) == [("08:00", "12:00"), ("14:00", "17:00")]
    assert as_text(windows_of_date(MONDAY + timedelta(days=1), weekly, [])) == [("10:00", "11:00")]
    assert windows_of_date(MONDAY + timedelta(days=2), weekly, []) == []


def test_day_off_removes_every_window_of_that_date_only():
    weekly = every_day(("08:00", "12:00"), ("14:00", "17:00"))
    day_off = ScheduleChange(DAY_OFF, MONDAY, MONDAY)
    assert windows_of_date(MONDAY, weekly, [day_off]) == []
    assert len(windows_of_date(MONDAY + timedelta(days=1), weekly, [day_off])) == 2


def test_vacation_range_removes_every_date_it_covers_inclusive():
    weekly = every_day(("08:00", "12:00"))
    vacation = ScheduleChange(DAY_OFF, MONDAY + timedelta(days=1), MONDAY + timedelta(days=3))
    covered = [
        bool(windows_of_date(MONDAY + timedelta(days=i), weekly, [vacation])) for i in range(5)
    ]
    assert covered == [True, False, False, False, True]


def test_extra_hours_are_added_to_the_weekly_windows():
    weekly = weekly_of(mon=[("08:00", "12:00")])
    extra = ScheduleChange(EXTRA_HOURS, MONDAY, MONDAY, hm("18:00"), hm("20:00"))
    assert as_text(windows_of_date(MONDAY, weekly, [extra])) == [
        ("08:00", "12:00"),
        ("18:00", "20:00"),
    ]


def test_extra_hours_on_a_day_without_weekly_windows_make_it_a_working_day():
    saturday = MONDAY + timedelta(days=5)
    extra = ScheduleChange(EXTRA_HOURS, saturday, saturday, hm("10:00"), hm("12:00"))
    assert as_text(windows_of_date(saturday, weekly_of(mon=[]), [extra])) == [("10:00", "12:00")]
    assert windows_of_date(saturday + timedelta(days=1), weekly_of(mon=[]), [extra]) == []


def test_extra_hours_on_a_day_off_still_count_because_day_off_applies_first():
    weekly = every_day(("08:00", "12:00"))
    changes = [
        ScheduleChange(EXTRA_HOURS, MONDAY, MONDAY, hm("15:00"), hm("16:00")),
        ScheduleChange(DAY_OFF, MONDAY - timedelta(days=3), MONDAY + timedelta(days=3)),
    ]
    assert as_text(windows_of_date(MONDAY, weekly, changes)) == [("15:00", "16:00")]


def test_extra_hours_overlapping_and_touching_weekly_windows_are_merged():
    weekly = weekly_of(mon=[("08:00", "12:00"), ("14:00", "16:00")])
    changes = [
        ScheduleChange(EXTRA_HOURS, MONDAY, MONDAY, hm("11:00"), hm("13:00")),
        ScheduleChange(EXTRA_HOURS, MONDAY, MONDAY, hm("13:00"), hm("14:00")),
    ]
    assert as_text(windows_of_date(MONDAY, weekly, changes)) == [("08:00", "16:00")]


def test_merge_windows_merges_overlapping_and_touching_and_keeps_gaps():
    windows = [(hm(s), hm(e)) for s, e in [
        ("13:00", "14:00"), ("09:00", "10:00"), ("09:30", "11:00"), ("11:00", "12:00"),
        ("12:01", "12:30"), ("13:30", "13:45"),
    ]]  # fmt: skip
    assert as_text(merge_windows(windows)) == [
        ("09:00", "12:00"),
        ("12:01", "12:30"),
        ("13:00", "14:00"),
    ]


def test_merged_window_gives_one_grid_across_the_former_boundary():
    # 09:00-10:00 and 10:00-11:00 touch: one window, one grid (the 09:40 slot crosses 10:00).
    weekly = weekly_of(mon=[("09:00", "10:00"), ("10:00", "11:00")])
    assert local_starts(offer(MONDAY, slot_rules(30), weekly=weekly)) == ["09:00", "09:40", "10:20"]


def test_windows_closer_than_the_buffers_never_give_overlapping_offers():
    weekly = weekly_of(mon=[("09:00", "09:30"), ("09:32", "10:30")])
    rules = slot_rules(30)
    offered = offer(MONDAY, rules, weekly=weekly)
    assert offered and local_starts(offered)[0] == "09:00"
    for a, b in pairwise(offered):
        assert not overlap(blocked(a, rules), blocked(b, rules))


# --- Notice, horizon, bookable, earliest --------------------------------------------------------


def test_slot_exactly_at_the_minimum_notice_is_offered():
    now = at(MONDAY, "08:00")
    assert local_starts(offer(MONDAY, slot_rules(30, notice=60), now=now))[0] == "09:00"


def test_slot_one_second_inside_the_minimum_notice_is_not_offered():
    now = at(MONDAY, "08:00") + timedelta(seconds=1)
    assert local_starts(offer(MONDAY, slot_rules(30, notice=60), now=now))[0] == "09:40"


def test_minimum_notice_defaults_of_the_policy_hide_the_next_hour():
    now = at(MONDAY, "10:00")
    starts = local_starts(offer(MONDAY, slot_rules(30, notice=60), now=now))
    assert starts == ["11:00", "11:40", "12:20"]


def test_slots_in_the_past_are_never_offered():
    now = at(MONDAY, "12:00")
    assert offer(MONDAY - timedelta(days=3), slot_rules(30), now=now, date_to=MONDAY) == [
        s for s in offer(MONDAY, slot_rules(30), now=now) if s.start >= now
    ]


def test_horizon_includes_today_plus_horizon_days_and_not_the_day_after():
    now = at(MONDAY, "10:00")
    offered = offer(MONDAY, slot_rules(30, horizon=3), now=now, date_to=MONDAY + timedelta(days=10))
    days = sorted({s.start.date() for s in offered})
    assert days == [MONDAY + timedelta(days=i) for i in range(4)]


def test_horizon_of_zero_days_offers_today_only():
    now = at(MONDAY, "07:00")
    offered = offer(MONDAY, slot_rules(30, horizon=0), now=now, date_to=MONDAY + timedelta(days=2))
    assert {s.start.date() for s in offered} == {MONDAY}


def test_horizon_counts_from_the_clinics_local_today_not_the_utc_date():
    # 20:00 UTC on Sunday is 01:30 on Monday in Kolkata: "today" is Monday there.
    now = at(MONDAY - timedelta(days=1), "20:00")
    offered = offer(
        MONDAY - timedelta(days=1),
        slot_rules(30, horizon=1),
        now=now,
        tz=KOLKATA,
        date_to=MONDAY + timedelta(days=5),
    )
    local_days = sorted({s.start.astimezone(KOLKATA).date() for s in offered})
    assert local_days == [MONDAY, MONDAY + timedelta(days=1)]
    assert local_starts([s for s in offered if s.start.date() == MONDAY], KOLKATA) == EXAMPLE


def test_doctor_not_accepting_bookings_is_offered_nothing():
    assert offer(MONDAY, slot_rules(30, bookable=False), date_to=MONDAY + timedelta(days=7)) == []


def test_empty_date_range_offers_nothing():
    assert offer(MONDAY, slot_rules(30), date_to=MONDAY - timedelta(days=1)) == []


def test_earliest_overrides_the_minimum_notice_for_walk_ins():
    now = at(MONDAY, "09:30")
    rules = slot_rules(30, notice=60)
    assert local_starts(offer(MONDAY, rules, now=now))[0] == "11:00"
    assert local_starts(offer(MONDAY, rules, now=now, earliest=at(MONDAY, "09:00"))) == EXAMPLE
    later = offer(MONDAY, rules, now=now, earliest=at(MONDAY, "11:30"))
    assert local_starts(later) == ["11:40", "12:20"]


def test_earliest_never_bypasses_busy_ranges():
    now = at(MONDAY, "09:30")
    busy = [(at(MONDAY, "09:35"), at(MONDAY, "10:15"))]
    offered = offer(MONDAY, slot_rules(30), now=now, busy=busy, earliest=at(MONDAY, "09:00"))
    assert "09:40" not in local_starts(offered)


# --- Properties over random schedules -----------------------------------------------------------


def _merge_minutes(intervals):
    merged: list[list[int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return merged


def _clock(m: int) -> time:
    return time(m // 60, m % 60)


def _minute_of(t: time) -> int:
    return t.hour * 60 + t.minute


window_minutes = st.tuples(
    st.integers(0, 24 * 60 - 10).map(lambda m: m - m % 5), st.integers(5, 8 * 60)
).map(lambda p: (p[0], min(p[0] + p[1], 24 * 60 - 5)))

weekly_minutes = st.dictionaries(
    st.integers(0, 6), st.lists(window_minutes, min_size=1, max_size=4), max_size=7
)


@st.composite
def schedules(draw):
    base = MONDAY
    weekly = draw(weekly_minutes)
    change_list = []
    for _ in range(draw(st.integers(0, 3))):
        first = base + timedelta(days=draw(st.integers(0, 12)))
        last = first + timedelta(days=draw(st.integers(0, 2)))
        if draw(st.booleans()):
            change_list.append(ScheduleChange(DAY_OFF, first, last))
        else:
            s, e = draw(window_minutes)
            change_list.append(ScheduleChange(EXTRA_HOURS, first, last, _clock(s), _clock(e)))
    tz = draw(st.sampled_from([UTC, KOLKATA]))
    busy = []
    for _ in range(draw(st.integers(0, 8))):
        start = datetime.combine(base, time(0), tzinfo=tz) + minutes(
            draw(st.integers(0, 12 * 24 * 60))
        )
        busy.append((start, start + minutes(draw(st.integers(1, 180)))))
    rules = slot_rules(
        draw(st.sampled_from(DURATIONS)),
        draw(st.integers(0, 30)),
        draw(st.integers(0, 30)),
        notice=draw(st.integers(0, 240)),
        horizon=draw(st.integers(0, 8)),
    )
    now = datetime.combine(base, time(0), tzinfo=tz) + minutes(draw(st.integers(0, 5 * 24 * 60)))
    date_from = base + timedelta(days=draw(st.integers(0, 6)))
    date_to = date_from + timedelta(days=draw(st.integers(0, 6)))
    return {
        "weekly": {d: [(_clock(s), _clock(e)) for s, e in ws] for d, ws in weekly.items()},
        "weekly_minutes": weekly,
        "changes": change_list,
        "tz": tz,
        "busy": busy,
        "rules": rules,
        "now": now,
        "date_from": date_from,
        "date_to": date_to,
    }


def _offered(case):
    return offered_slots(
        date_from=case["date_from"],
        date_to=case["date_to"],
        tz=case["tz"],
        now=case["now"],
        weekly=case["weekly"],
        changes=case["changes"],
        busy=BusyRanges(case["busy"]),
        rules=case["rules"],
    )


def _windows_in_minutes(case, day: date) -> list[list[int]]:
    """The spec's four steps, computed independently of the engine."""
    intervals = list(case["weekly_minutes"].get(day.weekday(), []))
    if any(c.kind == DAY_OFF and c.date_from <= day <= c.date_to for c in case["changes"]):
        intervals = []
    intervals += [
        (_minute_of(c.start), _minute_of(c.end))
        for c in case["changes"]
        if c.kind == EXTRA_HOURS and c.date_from <= day <= c.date_to
    ]
    return _merge_minutes(intervals)


PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(schedules())
def test_offered_slots_are_sorted_by_start_and_last_exactly_their_duration(case):
    offered = _offered(case)
    assert [s.start for s in offered] == sorted({s.start for s in offered})
    assert all(lasts(s) == case["rules"].duration for s in offered)


@PROPERTY
@given(schedules())
def test_each_offered_slot_lies_on_the_grid_of_a_merged_window_of_its_local_date(case):
    tz, rules = case["tz"], case["rules"]
    step = int(rules.step.total_seconds() // 60)
    for slot in _offered(case):
        local_start, local_end = slot.start.astimezone(tz), slot.end.astimezone(tz)
        day = local_start.date()
        start = local_start.hour * 60 + local_start.minute
        end = start + int(rules.duration.total_seconds() // 60)
        assert local_end.date() == day
        windows = [w for w in _windows_in_minutes(case, day) if w[0] <= start and end <= w[1]]
        assert len(windows) == 1, (slot, _windows_in_minutes(case, day))
        assert (start - windows[0][0]) % step == 0


@PROPERTY
@given(schedules())
def test_offered_slots_blocked_ranges_overlap_neither_each_other_nor_any_busy_range(case):
    rules = case["rules"]
    offered = _offered(case)
    for a, b in pairwise(offered):
        assert blocked(a, rules)[1] <= blocked(b, rules)[0]
    for slot in offered:
        assert not any(overlap(blocked(slot, rules), busy) for busy in case["busy"])


@PROPERTY
@given(schedules())
def test_offered_slots_respect_notice_horizon_and_the_requested_dates(case):
    tz, rules = case["tz"], case["rules"]
    today = case["now"].astimezone(tz).date()
    for slot in _offered(case):
        day = slot.start.astimezone(tz).date()
        assert slot.start >= case["now"] + rules.minimum_notice
        assert day <= today + timedelta(days=rules.horizon_days)
        assert case["date_from"] <= day <= case["date_to"]


@PROPERTY
@given(schedules())
def test_every_candidate_left_out_has_a_reason_in_the_rules(case):
    """Completeness: nothing is dropped that the spec would offer, except a candidate that would
    overlap a slot offered just before it (two windows closer than the buffers)."""
    tz, rules = case["tz"], case["rules"]
    offered = _offered(case)
    offered_set = set(offered)
    today = case["now"].astimezone(tz).date()
    d = int(rules.duration.total_seconds() // 60)
    step = int(rules.step.total_seconds() // 60)
    day = case["date_from"]
    while day <= case["date_to"]:
        for ws, we in _windows_in_minutes(case, day):
            for start in range(ws, we - d + 1, step):
                local = datetime.combine(day, _clock(start), tzinfo=tz)
                slot = Slot(local, local + rules.duration)
                if slot in offered_set:
                    continue
                reasons = [
                    slot.start < case["now"] + rules.minimum_notice,
                    day < today or day > today + timedelta(days=rules.horizon_days),
                    any(overlap(blocked(slot, rules), b) for b in case["busy"]),
                    any(overlap(blocked(slot, rules), blocked(o, rules)) for o in offered),
                ]
                assert any(reasons), slot
        day += timedelta(days=1)


# --- Daylight saving (Europe/London) ------------------------------------------------------------

NIGHT_AND_MORNING = every_day(("00:00", "04:00"), ("09:00", "13:00"))


def _london_offer(day: date, rules: SlotRules, weekly=NIGHT_AND_MORNING, busy=()):
    now = datetime(2027, 1, 1, tzinfo=LONDON)
    return offer(day, rules, weekly=weekly, now=now, busy=busy, tz=LONDON)


DST_RULES = [
    pytest.param(slot_rules(d, b, a, horizon=400), id=f"d{d}-b{b}-a{a}")
    for d in DURATIONS
    for b, a in [(5, 5), (0, 0), (10, 20)]
]


@pytest.mark.parametrize("rules", DST_RULES)
def test_spring_forward_offers_no_slot_starting_or_ending_in_the_missing_hour(rules):
    offered = _london_offer(SPRING_FORWARD, rules)
    assert offered
    for slot in offered:
        assert wall_time_exists(slot.start) and wall_time_exists(slot.end), slot
        assert not hm("01:00") <= slot.start.astimezone(LONDON).time() < hm("02:00"), slot
        assert not hm("01:00") < slot.end.astimezone(LONDON).time() < hm("02:00"), slot
        assert lasts(slot) == rules.duration


@pytest.mark.parametrize("rules", DST_RULES)
@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK], ids=["spring", "fall"])
def test_daylight_saving_day_has_unique_non_overlapping_slots(day, rules):
    offered = _london_offer(day, rules)
    utc_starts = [s.start.astimezone(UTC) for s in offered]
    assert len(utc_starts) == len(set(utc_starts))
    assert utc_starts == sorted(utc_starts)
    for a, b in pairwise(offered):
        assert blocked(a, rules)[1] <= blocked(b, rules)[0], (a, b)
    assert all(lasts(s) == rules.duration for s in offered)


@pytest.mark.parametrize("rules", DST_RULES)
def test_fall_back_offers_each_repeated_wall_clock_time_once(rules):
    offered = _london_offer(FALL_BACK, rules)
    walls = [s.start.astimezone(LONDON).replace(tzinfo=None) for s in offered]
    assert len(walls) == len(set(walls))
    for slot in offered:
        assert wall_time_exists(slot.start) and wall_time_exists(slot.end)


@pytest.mark.parametrize("rules", DST_RULES)
@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK], ids=["spring", "fall"])
def test_rest_of_a_daylight_saving_day_is_offered_as_on_a_normal_sunday(day, rules):
    normal = day - timedelta(days=7)

    def morning(d):
        return [
            s.start.astimezone(LONDON).strftime("%H:%M")
            for s in _london_offer(d, rules)
            if s.start.astimezone(LONDON).time() >= hm("09:00")
        ]

    assert morning(day) == morning(normal)
    assert morning(day)


def test_spring_forward_night_slots_around_the_gap_for_the_worked_example_rules():
    offered = _london_offer(SPRING_FORWARD, slot_rules(30, horizon=400))
    night = [s for s in offered if s.start.astimezone(LONDON).time() < hm("05:00")]
    # Wall-clock grid 00:00, 00:40, 01:20, 02:00, 02:40, 03:20: 00:40 ends at the missing 01:10,
    # 01:20 does not exist.
    assert local_starts(night, LONDON) == ["00:00", "02:00", "02:40", "03:20"]


def test_fall_back_night_slots_are_offered_at_the_first_occurrence_of_repeated_times():
    offered = _london_offer(FALL_BACK, slot_rules(30, horizon=400))
    night = [s for s in offered if s.start.astimezone(LONDON).time() < hm("05:00")]
    assert local_starts(night, LONDON) == ["00:00", "00:40", "01:20", "02:00", "02:40", "03:20"]
    repeated = night[2]
    assert repeated.start.utcoffset() == timedelta(hours=1)  # 01:20 BST, the first 01:20
    assert repeated.end.astimezone(UTC) == repeated.start.astimezone(UTC) + minutes(30)


def test_spring_forward_slot_never_runs_past_its_window_end():
    # Window 00:30-03:00 on the spring-forward night, 120 minutes, no buffers: a slot starting at
    # 00:30 GMT lasting 120 minutes ends at 03:30 BST, half an hour after the doctor stops.
    weekly = every_day(("00:30", "03:00"))
    window_end = at(SPRING_FORWARD, "03:00", LONDON)
    offered = _london_offer(SPRING_FORWARD, slot_rules(120, 0, 0, horizon=400), weekly=weekly)
    assert all(utc(s.end) <= utc(window_end) for s in offered), offered


def test_spring_forward_booked_slot_right_after_the_gap_is_not_offered_again():
    # 02:00 BST is 01:00 UTC; booked with buffers 5/5 it blocks [00:55, 01:35) UTC.
    rules = slot_rules(30, horizon=400)
    first_after_gap = at(SPRING_FORWARD, "02:00", LONDON)
    assert first_after_gap in [s.start for s in _london_offer(SPRING_FORWARD, rules)]
    booked = (at(SPRING_FORWARD, "00:55"), at(SPRING_FORWARD, "01:35"))
    offered = _london_offer(SPRING_FORWARD, rules, busy=[booked])
    assert first_after_gap not in [s.start for s in offered]


def test_spring_forward_slots_on_both_sides_of_the_gap_do_not_overlap():
    # 00:40 GMT-00:50 GMT blocks until 01:10 UTC; 02:00 BST (01:00 UTC) with a 10-minute buffer
    # before blocks from 00:50 UTC: only one of them may be offered.
    rules = slot_rules(10, 10, 20, horizon=400)
    offered = _london_offer(SPRING_FORWARD, rules)
    for a, b in pairwise(offered):
        assert blocked(a, rules)[1] <= blocked(b, rules)[0], (a, b)


def test_fall_back_busy_range_blocks_a_slot_ending_in_the_repeated_hour():
    # 01:50 BST + 10 minutes ends at 01:00 GMT (the second 01:00): its blocked range is
    # [00:49, 01:00) UTC with a 1-minute buffer before, so a busy [00:00, 00:50) UTC overlaps it.
    rules = slot_rules(10, 1, 0, horizon=400)
    weekly = every_day(("00:00", "02:00"))
    busy = [(at(FALL_BACK, "00:00"), at(FALL_BACK, "00:50"))]
    offered = _london_offer(FALL_BACK, rules, weekly=weekly, busy=busy)
    assert at(FALL_BACK, "00:50") not in [utc(s.start) for s in offered]


def test_fall_back_buffer_before_a_slot_after_the_repeated_hour_reaches_back_in_real_time():
    # 02:00 GMT is 02:00 UTC; a 10-minute buffer before blocks from 01:50 UTC. Busy time in the
    # second 01:00-01:30 (GMT, 01:00-01:30 UTC) is twenty minutes earlier and must not hide it.
    rules = slot_rules(10, 10, 0, horizon=400)
    busy = [(at(FALL_BACK, "01:00"), at(FALL_BACK, "01:30"))]
    offered = _london_offer(FALL_BACK, rules, busy=busy)
    assert at(FALL_BACK, "02:00") in [utc(s.start) for s in offered]


# Wall-clock bounds that exist exactly once on both transition days (none in 01:00-02:00).
night_bounds = st.sampled_from([m for m in range(0, 6 * 60 + 1, 15) if not 60 <= m < 120])


@st.composite
def dst_cases(draw, day):
    bounds = sorted(draw(st.lists(night_bounds, min_size=2, max_size=6, unique=True)))
    windows = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]
    busy = []
    for _ in range(draw(st.integers(0, 3))):
        start = datetime.combine(day, time(0), tzinfo=UTC) + minutes(draw(st.integers(-60, 360)))
        busy.append((start, start + minutes(draw(st.integers(1, 90)))))
    rules = slot_rules(
        draw(st.sampled_from(DURATIONS)),
        draw(st.integers(0, 30)),
        draw(st.integers(0, 30)),
        horizon=400,
    )
    return windows, busy, rules


def _check_dst_case(day, case):
    windows, busy, rules = case
    weekly = {6: [(_clock(s), _clock(e)) for s, e in windows]}
    offered = _london_offer(day, rules, weekly=weekly, busy=busy)
    utc_starts = [s.start.astimezone(UTC) for s in offered]
    assert utc_starts == sorted(set(utc_starts))
    for slot in offered:
        assert wall_time_exists(slot.start) and wall_time_exists(slot.end), slot
        assert lasts(slot) == rules.duration
        assert not any(overlap(blocked(slot, rules), b) for b in busy)
        inside = [
            (s, e)
            for s, e in windows
            if utc(datetime.combine(day, _clock(s), tzinfo=LONDON)) <= utc(slot.start)
            and utc(slot.end) <= utc(datetime.combine(day, _clock(e), tzinfo=LONDON))
        ]
        assert inside, (slot, windows)
    for a, b in pairwise(offered):
        assert blocked(a, rules)[1] <= blocked(b, rules)[0]


@settings(max_examples=200, deadline=None)
@given(dst_cases(SPRING_FORWARD))
@example(([(30, 180)], [], slot_rules(120, 0, 0, horizon=400)))  # runs past 03:00
@example(([(0, 240)], [], slot_rules(10, 10, 20, horizon=400)))  # overlaps across the gap
def test_spring_forward_property_slots_exist_fit_their_window_and_never_overlap(case):
    _check_dst_case(SPRING_FORWARD, case)


@settings(max_examples=200, deadline=None)
@given(dst_cases(FALL_BACK))
@example(
    (
        [(0, 120)],
        [(at(FALL_BACK, "00:00"), at(FALL_BACK, "00:50"))],
        slot_rules(10, 1, 0, horizon=400),
    )
)
def test_fall_back_property_slots_exist_fit_their_window_and_never_overlap(case):
    _check_dst_case(FALL_BACK, case)


def test_local_time_exists_knows_the_missing_and_the_repeated_hour():
    assert not local_time_exists(datetime(2027, 3, 28, 1, 30), LONDON)
    assert not local_time_exists(datetime(2027, 3, 28, 1, 0), LONDON)
    assert local_time_exists(datetime(2027, 3, 28, 0, 59), LONDON)
    assert local_time_exists(datetime(2027, 3, 28, 2, 0), LONDON)
    assert local_time_exists(datetime(2027, 10, 31, 1, 30), LONDON)
    assert local_time_exists(datetime(2027, 3, 28, 1, 30), UTC)


# --- Busy ranges and alternatives ---------------------------------------------------------------


def test_busy_ranges_overlap_is_strict_touching_is_not_overlapping():
    busy = BusyRanges([(at(MONDAY, "10:00"), at(MONDAY, "11:00"))])
    assert not busy.overlaps(at(MONDAY, "09:00"), at(MONDAY, "10:00"))
    assert not busy.overlaps(at(MONDAY, "11:00"), at(MONDAY, "12:00"))
    assert busy.overlaps(at(MONDAY, "09:00"), at(MONDAY, "10:01"))
    assert busy.overlaps(at(MONDAY, "10:59"), at(MONDAY, "12:00"))
    assert busy.overlaps(at(MONDAY, "10:15"), at(MONDAY, "10:30"))
    assert busy.overlaps(at(MONDAY, "09:00"), at(MONDAY, "12:00"))


def test_busy_ranges_in_any_order_and_zone_are_compared_in_absolute_time():
    busy = BusyRanges(
        [
            (at(MONDAY, "15:00"), at(MONDAY, "16:00")),
            (at(MONDAY, "10:00", KOLKATA), at(MONDAY, "10:30", KOLKATA)),  # 04:30-05:00 UTC
            (at(MONDAY, "12:00"), at(MONDAY, "13:00")),
            (at(MONDAY, "12:30"), at(MONDAY, "14:00")),
        ]
    )
    assert busy.overlaps(at(MONDAY, "04:45"), at(MONDAY, "04:50"))
    assert not busy.overlaps(at(MONDAY, "10:00"), at(MONDAY, "10:30"))
    assert busy.overlaps(at(MONDAY, "13:30"), at(MONDAY, "13:40"))
    assert not busy.overlaps(at(MONDAY, "14:00"), at(MONDAY, "15:00"))


def test_no_busy_ranges_overlap_nothing():
    assert not BusyRanges([]).overlaps(at(MONDAY, "00:00"), at(MONDAY, "23:59"))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 600), st.integers(1, 120)), max_size=10),
    st.integers(0, 700),
    st.integers(1, 120),
)
def test_busy_ranges_overlaps_agrees_with_a_plain_scan(ranges, start, length):
    base = at(MONDAY, "00:00")
    spans = [(base + minutes(s), base + minutes(s + n)) for s, n in ranges]
    query = (base + minutes(start), base + minutes(start + length))
    assert BusyRanges(spans).overlaps(*query) == any(overlap(query, span) for span in spans)


def _example_slots():
    return candidate_slots(MONDAY, [(hm("09:00"), hm("13:00"))], UTC, slot_rules(30))


def test_nearest_slots_are_the_next_three_at_or_after_the_requested_time():
    assert local_starts(nearest_slots(_example_slots(), at(MONDAY, "10:00"))) == [
        "10:20",
        "11:00",
        "11:40",
    ]
    assert local_starts(nearest_slots(_example_slots(), at(MONDAY, "10:20"))) == [
        "10:20",
        "11:00",
        "11:40",
    ]


def test_nearest_slots_fill_up_with_the_latest_earlier_ones_sorted():
    assert local_starts(nearest_slots(_example_slots(), at(MONDAY, "12:00"))) == [
        "11:00",
        "11:40",
        "12:20",
    ]
    assert local_starts(nearest_slots(_example_slots(), at(MONDAY, "18:00"))) == [
        "11:00",
        "11:40",
        "12:20",
    ]


def test_nearest_slots_returns_fewer_when_fewer_exist():
    slots = _example_slots()[:2]
    assert local_starts(nearest_slots(slots, at(MONDAY, "09:00"))) == ["09:00", "09:40"]
    assert nearest_slots([], at(MONDAY, "09:00")) == []


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 24 * 60 - 1), st.integers(1, 5))
def test_nearest_slots_property_at_most_count_sorted_and_later_ones_first(minute, count):
    slots = _example_slots()
    around = at(MONDAY, "00:00") + minutes(minute)
    chosen = nearest_slots(slots, around, count)
    assert len(chosen) == min(count, len(slots))
    assert chosen == sorted(chosen)
    assert set(chosen) <= set(slots)
    later = [s for s in slots if s.start >= around]
    assert [s for s in chosen if s.start >= around] == later[:count]


# --- Weekly window validation -------------------------------------------------------------------


def w(weekday: int, start: str, end: str) -> tuple[int, dt.time, dt.time]:
    return weekday, hm(start), hm(end)


def test_weekly_windows_inverted_or_empty_are_refused():
    assert len(weekly_windows_problems([w(0, "12:00", "09:00")])) == 1
    assert len(weekly_windows_problems([w(0, "09:00", "09:00")])) == 1


def test_weekly_windows_overlapping_on_the_same_weekday_are_refused():
    assert len(weekly_windows_problems([w(2, "09:00", "12:00"), w(2, "11:59", "14:00")])) == 1
    assert len(weekly_windows_problems([w(2, "09:00", "17:00"), w(2, "10:00", "11:00")])) == 1


def test_weekly_windows_touching_on_the_same_weekday_are_allowed():
    windows = [w(2, "13:00", "17:00"), w(2, "09:00", "13:00"), w(2, "17:00", "18:00")]
    assert weekly_windows_problems(windows) == []


def test_weekly_windows_of_different_weekdays_are_independent():
    windows = [w(0, "09:00", "12:00"), w(1, "10:00", "11:00"), w(6, "09:00", "12:00")]
    assert weekly_windows_problems(windows) == []


def test_weekly_windows_problems_name_every_problem():
    windows = [
        w(0, "09:00", "12:00"),
        w(0, "11:00", "13:00"),
        w(3, "15:00", "14:00"),
        w(7, "09:00", "10:00"),
    ]
    assert len(weekly_windows_problems(windows)) == 3


# --- Review findings: the same instant, and a window ending in the skipped hour --------------


def test_the_same_instant_of_now_gives_the_same_offer_in_any_zone():
    """Notice is added in absolute time: `now` in the clinic's zone on the night the clocks go
    back gives exactly what the same instant in UTC gives."""
    rules = slot_rules(d=10, before=0, after=0, notice=120)
    weekly = every_day(("00:00", "06:00"))
    now_local = datetime(2027, 10, 31, 0, 30, tzinfo=LONDON)  # BST, before the change
    local = offer(FALL_BACK, rules, weekly=weekly, tz=LONDON, now=now_local)
    in_utc = offer(FALL_BACK, rules, weekly=weekly, tz=LONDON, now=now_local.astimezone(UTC))
    assert [utc(s.start) for s in local] == [utc(s.start) for s in in_utc]
    assert utc(local[0].start) >= utc(now_local) + minutes(120)


def test_window_ending_inside_the_skipped_hour_keeps_its_slots_up_to_the_jump():
    """00:00-01:30 on the night 01:00 becomes 02:00: the window really ends at the jump, so the
    slots whose wall-clock times exist before it are all offered."""
    rules = slot_rules(d=10, before=0, after=0)
    slots = offer(SPRING_FORWARD, rules, weekly=every_day(("00:00", "01:30")), tz=LONDON)
    assert local_starts(slots, LONDON) == ["00:00", "00:10", "00:20", "00:30", "00:40"]
    assert all(utc(s.end) <= datetime(2027, 3, 28, 1, 0, tzinfo=UTC) for s in slots)
