"""The slot engine: pure functions of scheduling-rules.md ("Working windows of a date",
"Slot generation"). No ORM, no settings: the time zone, `now` and the policies come in as values.

Wall-clock and absolute time: weekly windows are local wall-clock times. The candidate grid is laid
out in wall-clock time (`ws + k·step`), each candidate start is then made aware in the clinic's
zone, and its end is `start + d` in absolute time, so every slot lasts exactly its duration.
On a daylight-saving day a candidate whose wall-clock start or end does not exist is skipped; a
wall-clock time that exists twice (clocks going back) is offered once, at its first occurrence.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DAY_OFF = "day_off"
EXTRA_HOURS = "extra_hours"

Window = tuple[time, time]
Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class ScheduleChange:
    """A schedule exception as plain values (see doctors.models.ScheduleException)."""

    kind: str
    date_from: date
    date_to: date
    start: time | None = None
    end: time | None = None


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SlotRules:
    """Everything besides the schedule that decides which candidates are offered."""

    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    minimum_notice: timedelta
    horizon_days: int
    bookable: bool = True

    @property
    def step(self) -> timedelta:
        return self.buffer_before + self.duration + self.buffer_after


def merge_windows(windows: Iterable[Window]) -> list[Window]:
    """Sort windows and merge those that overlap or touch."""
    merged: list[list[time]] = []
    for start, end in sorted(windows):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def windows_of_date(
    day: date, weekly: Mapping[int, Sequence[Window]], changes: Iterable[ScheduleChange]
) -> list[Window]:
    """1. the weekday's windows; 2. none on a day off; 3. plus extra hours; 4. merged."""
    changes = list(changes)
    windows: list[Window] = list(weekly.get(day.weekday(), ()))
    if any(c.kind == DAY_OFF and c.date_from <= day <= c.date_to for c in changes):
        windows = []
    windows += [
        (c.start, c.end)
        for c in changes
        if c.kind == EXTRA_HOURS and c.date_from <= day <= c.date_to and c.start and c.end
    ]
    return merge_windows(windows)


def local_time_exists(naive: datetime, tz: tzinfo) -> bool:
    """False for wall-clock times skipped when clocks go forward."""
    aware = naive.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def blocked_range(start: datetime, end: datetime, rules: SlotRules) -> Range:
    """`[start - buffer_before, end + buffer_after)` in absolute time (UTC).

    Arithmetic on datetimes of one zone works on the wall clock; on a daylight-saving day that
    would shift a buffer by an hour, so the range is computed in UTC.
    """
    return (
        start.astimezone(UTC) - rules.buffer_before,
        end.astimezone(UTC) + rules.buffer_after,
    )


def _window_end_instant(we: datetime, tz: tzinfo) -> datetime:
    """A window's wall-clock end as an instant: its later reading when the clocks go back, and
    the moment the clocks jump when it falls in the hour that is skipped."""
    if local_time_exists(we, tz):
        return we.replace(tzinfo=tz, fold=1).astimezone(UTC)
    earlier = we
    while not local_time_exists(earlier, tz):  # at most the length of the gap
        earlier -= timedelta(minutes=1)
    return earlier.replace(tzinfo=tz).astimezone(UTC) + timedelta(minutes=1)


def candidate_slots(
    day: date, windows: Sequence[Window], tz: tzinfo, rules: SlotRules
) -> list[Slot]:
    """The grid `start_k = ws + k·step` of each merged window, while `start_k + d ≤ we`."""
    slots = []
    step, duration = rules.step, rules.duration
    for window_start, window_end in windows:
        ws = datetime.combine(day, window_start)
        we = datetime.combine(day, window_end)
        window_end_utc = _window_end_instant(we, tz)
        start = ws
        while start + duration <= we:
            end = start + duration
            if local_time_exists(start, tz) and local_time_exists(end, tz):
                start_utc = start.replace(tzinfo=tz, fold=0).astimezone(UTC)
                end_utc = start_utc + duration
                # On the night the clocks go forward, real time runs ahead of the wall clock.
                if end_utc <= window_end_utc:
                    slots.append(Slot(start_utc.astimezone(tz), end_utc.astimezone(tz)))
            start += step
    return slots


class BusyRanges:
    """Blocked ranges of existing appointments and live holds, for fast overlap tests."""

    def __init__(self, ranges: Iterable[Range]):
        merged: list[list[datetime]] = []
        for start, end in sorted((s.astimezone(UTC), e.astimezone(UTC)) for s, e in ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self._starts = [r[0] for r in merged]
        self._ends = [r[1] for r in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Does [start, end) overlap any busy range? (Touching is not overlapping.)"""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        # The merged ranges are disjoint and sorted, so only the last one starting before `end`
        # can overlap.
        i = bisect.bisect_left(self._starts, end) - 1
        return i >= 0 and self._ends[i] > start


def offered_slots(
    *,
    date_from: date,
    date_to: date,
    tz: tzinfo,
    now: datetime,
    weekly: Mapping[int, Sequence[Window]],
    changes: Sequence[ScheduleChange],
    busy: BusyRanges,
    rules: SlotRules,
    earliest: datetime | None = None,
) -> list[Slot]:
    """The offered slots of `date_from`..`date_to` (local dates, inclusive), sorted by start.

    A candidate is offered when its blocked range overlaps no busy range, it starts at least the
    minimum notice after `now` (or at `earliest` when given: staff walk-ins), its local date is
    within the booking horizon and the doctor is bookable. Where two merged windows lie closer
    than the buffers, a candidate whose blocked range would overlap the previous offered slot's is
    skipped, so offered slots never overlap one another.
    """
    if not rules.bookable or date_to < date_from:
        return []
    today = now.astimezone(tz).date()
    first_day = max(date_from, today)
    last_day = min(date_to, today + timedelta(days=rules.horizon_days))
    # Compared in UTC: datetimes of one zone compare by wall clock, which a DST night breaks.
    if earliest is not None:
        not_before = earliest.astimezone(UTC)
    else:
        not_before = now.astimezone(UTC) + rules.minimum_notice
    offered: list[Slot] = []
    previous_blocked_end: datetime | None = None
    day = first_day
    while day <= last_day:
        for slot in candidate_slots(day, windows_of_date(day, weekly, changes), tz, rules):
            if slot.start.astimezone(UTC) < not_before:
                continue
            blocked_start, blocked_end = blocked_range(slot.start, slot.end, rules)
            if busy.overlaps(blocked_start, blocked_end):
                continue
            if previous_blocked_end is not None and blocked_start < previous_blocked_end:
                continue
            offered.append(slot)
            previous_blocked_end = blocked_end
        day += timedelta(days=1)
    return offered


def nearest_slots(slots: Sequence[Slot], around: datetime, count: int = 3) -> list[Slot]:
    """Up to `count` slots nearest to `around`: those at or after it first, then the latest
    before it. Sorted by start."""
    later = [s for s in slots if s.start >= around]
    earlier = [s for s in slots if s.start < around]
    chosen = later[:count]
    if len(chosen) < count:
        chosen = earlier[max(0, len(earlier) - (count - len(chosen))) :] + chosen
    return sorted(chosen)
