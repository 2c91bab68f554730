"""The slot engine: pure functions of scheduling-rules.md ("Working windows of a date",
"Slot generation"). No ORM, no settings: the time zone, `now` and the policies come in as values.

Wall-clock and absolute time: weekly windows are local wall-clock times. The candidate grid is laid
out in wall-clock time (`ws + k·step`), each candidate start is then made aware in the clinic's
zone, and its end is `start + d` in absolute time, so every slot lasts exactly its duration.
On a daylight-saving day a candidate whose wall-clock start or end does not exist is skipped; a
wall-clock time that exists twice (clocks going back) is offered once, at its first occurrence.

Speed: on a local day whose UTC offset does not change (every day but two a year), wall-clock
and absolute time differ by that one offset, so `offered_slots` converts each window's start
once and lays the grid out in integer microseconds, walking the sorted busy ranges with a
pointer; only offered slots become datetimes. A day with an offset change takes the careful
per-candidate path (`candidate_slots`). Assumed: a zone changes its offset at most once between
two local midnights (true of every rule-based zone; two changes that cancel out within one day
would go unnoticed).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

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


class Slot(NamedTuple):
    """Aware datetimes in the clinic's zone; ordered by start, then end. A tuple because a
    60-day search makes hundreds of them (a frozen dataclass costs ~1 µs each to build)."""

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


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_EPOCH_ORDINAL = EPOCH.toordinal()


def to_us(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (absolute time)."""
    return (moment - EPOCH) // _US


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


class BusyRanges:
    """Blocked ranges of existing appointments and live holds, for fast overlap tests."""

    def __init__(self, ranges: Iterable[Range]):
        # In integer microseconds of absolute time: subtracting the epoch converts any zone.
        merged: list[list[int]] = []
        for start, end in sorted(((s - EPOCH) // _US, (e - EPOCH) // _US) for s, e in ranges):
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1][1] = end
            else:
                merged.append([start, end])
        self.starts_us = [r[0] for r in merged]
        self.ends_us = [r[1] for r in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Does [start, end) overlap any busy range? (Touching is not overlapping.)"""
        # The merged ranges are disjoint and sorted, so only the last one starting before `end`
        # can overlap.
        i = bisect.bisect_left(self.starts_us, to_us(end)) - 1
        return i >= 0 and self.ends_us[i] > to_us(start)


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
    limit: int | None = None,
) -> list[Slot]:
    """The offered slots of `date_from`..`date_to` (local dates, inclusive), sorted by start.

    A candidate is offered when its blocked range overlaps no busy range, it starts at least the
    minimum notice after `now` (or at `earliest` when given: staff walk-ins), its local date is
    within the booking horizon and the doctor is bookable. Where two merged windows lie closer
    than the buffers, a candidate whose blocked range would overlap the previous offered slot's is
    skipped, so offered slots never overlap one another. `limit`: stop after that many (the
    first ones), so "the next available time" does not compute the whole horizon.
    """
    if not rules.bookable or date_to < date_from or (limit is not None and limit <= 0):
        return []
    today = now.astimezone(tz).date()
    first_day = max(date_from, today)
    last_day = min(date_to, today + timedelta(days=rules.horizon_days))
    # Compared in UTC: datetimes of one zone compare by wall clock, which a DST night breaks.
    not_before = to_us(earliest if earliest is not None else now) + (
        0 if earliest is not None else rules.minimum_notice // _US
    )
    duration_td = rules.duration
    duration = duration_td // _US
    before = rules.buffer_before // _US
    after = rules.buffer_after // _US
    step_td = rules.step
    step = step_td // _US
    if step <= 0:  # a zero-length visit type cannot be booked (and would never end the grid)
        return []
    offsets: list[timedelta] = []  # step_td * k, built once per call
    # Exceptions of these dates only; a date none of them touches takes its weekday's windows.
    changes = [c for c in changes if c.date_to >= first_day and c.date_from <= last_day]
    by_weekday = {weekday: _weekday_windows(ws) for weekday, ws in weekly.items()}
    starts_us, ends_us = busy.starts_us, busy.ends_us
    n_busy = len(starts_us)
    j = 0  # busy ranges before j end at or before every blocked range still to come
    offered: list[Slot] = []
    append = offered.append
    new_slot = tuple.__new__  # Slot(start, end) without NamedTuple's Python-level __new__
    room = limit if limit is not None else -1  # offered slots still wanted (-1: no limit)
    tail = duration + after  # from a start to the end of its blocked range
    previous_blocked_end = -(1 << 62)  # µs
    day = first_day
    one_day = timedelta(days=1)
    offset = datetime.combine(day, time.min, tzinfo=tz).utcoffset()
    while day <= last_day:
        next_day = day + one_day
        next_offset = datetime.combine(next_day, time.min, tzinfo=tz).utcoffset()
        if changes and any(c.date_from <= day <= c.date_to for c in changes):
            windows = _grid_windows(windows_of_date(day, weekly, changes))
        else:
            windows = by_weekday.get(day.weekday(), ())
        if windows:
            local_midnight = (day.toordinal() - _EPOCH_ORDINAL) * _DAY_US
            changing = offset != next_offset
            for window_start, window_end, ws, span in windows:
                if span < duration:
                    continue
                if changing:
                    window_offset = _steady_offset(day, window_start, window_end, tz)
                    if window_offset is None:
                        # The clocks change inside this window: the careful path.
                        for slot in candidate_slots(day, [(window_start, window_end)], tz, rules):
                            start = to_us(slot.start)
                            if start < not_before or start - before < previous_blocked_end:
                                continue
                            if busy.overlaps(*blocked_range(slot.start, slot.end, rules)):
                                continue
                            append(slot)
                            room -= 1
                            if room == 0:
                                return offered
                            previous_blocked_end = start + tail
                        continue
                else:
                    window_offset = offset
                ws += local_midnight - window_offset // _US
                count = (span - duration) // step + 1  # grid starts that end by the window end
                k = 0 if ws >= not_before else -((ws - not_before) // step)  # ceil
                base = None
                while k < count:
                    start = ws + k * step
                    blocked_start = start - before
                    if blocked_start < previous_blocked_end:
                        # the first k whose blocked range starts at the previous one's end
                        k = -((ws - before - previous_blocked_end) // step)
                        continue
                    while j < n_busy and ends_us[j] <= blocked_start:
                        j += 1
                    if j < n_busy and starts_us[j] < start + tail:
                        # overlaps busy range j: the first k whose blocked range starts after it
                        k = -((ws - before - ends_us[j]) // step)
                        continue
                    if base is None:
                        base = datetime.combine(day, window_start, tzinfo=tz)
                        if len(offsets) < count:
                            offsets.extend(step_td * i for i in range(len(offsets), count))
                    local = base + offsets[k]
                    append(new_slot(Slot, (local, local + duration_td)))
                    room -= 1
                    if room == 0:
                        return offered
                    previous_blocked_end = start + tail
                    k += 1
        day, offset = next_day, next_offset
    return offered


def _steady_offset(day: date, start: time, end: time, tz: tzinfo) -> timedelta | None:
    """The UTC offset of a window on a day the clocks change, when the change lies outside it:
    both ends exist once (neither skipped nor repeated) with one offset. None otherwise."""
    offsets = {
        datetime.combine(day, t, tzinfo=tz).replace(fold=fold).utcoffset()
        for t in (start, end)
        for fold in (0, 1)
    }
    return offsets.pop() if len(offsets) == 1 else None


def _weekday_windows(windows: Sequence[Window]) -> list[tuple[time, time, int, int]]:
    try:
        return _weekday_grid(tuple(windows))
    except TypeError:  # windows given as lists (unhashable): no cache
        return _grid_windows(merge_windows(windows))


@functools.lru_cache(maxsize=4096)
def _weekday_grid(windows: tuple[Window, ...]) -> list[tuple[time, time, int, int]]:
    """A weekday's merged windows as `_grid_windows`; the same few weeks' windows come back for
    every visit type and request (do not mutate the list)."""
    return _grid_windows(merge_windows(windows))


def _grid_windows(windows: Sequence[Window]) -> list[tuple[time, time, int, int]]:
    """Each window with its start after midnight and its length, in µs of wall-clock time."""
    return [(ws, we, _time_us(ws), _time_us(we) - _time_us(ws)) for ws, we in windows]


def nearest_slots(slots: Sequence[Slot], around: datetime, count: int = 3) -> list[Slot]:
    """Up to `count` slots nearest to `around`: those at or after it first, then the latest
    before it. Sorted by start."""
    later = [s for s in slots if s.start >= around]
    earlier = [s for s in slots if s.start < around]
    chosen = later[:count]
    if len(chosen) < count:
        chosen = earlier[max(0, len(earlier) - (count - len(chosen))) :] + chosen
    return sorted(chosen)
