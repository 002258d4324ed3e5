"""Working days: Monday to Friday, less the bank holidays of one jurisdiction.

Bank holidays come from the `holidays` package (one-off holidays such as the
state funeral of 19 September 2022 included), never from a hand-kept list.
Day counting follows spec §4: the trigger's day is day 0, even when it is not
a working day; day N is the Nth working day after it.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import holidays

Unit = Literal["calendar", "working"]


class WorkingCalendar:
    """Counts calendar or working days for one jurisdiction's bank holidays."""

    def __init__(self, country: str, subdivision: str | None) -> None:
        self._holidays = holidays.country_holidays(country, subdiv=subdivision)
        self.is_working_day = lru_cache(maxsize=None)(self._is_working_day)
        self.deadline = lru_cache(maxsize=65536)(self._deadline)

    def _is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def _deadline(self, start: date, days: int, unit: Unit) -> date:
        """Day ``days`` counted from ``start`` (day 0): the last day that meets the deadline."""
        if unit == "calendar":
            return start + timedelta(days=days)
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def days_between(self, start: date, end: date, unit: Unit) -> int:
        """Which day ``end`` is, counted from ``start`` as day 0 (negative if before it)."""
        if unit == "calendar":
            return (end - start).days
        if end < start:
            return -self.days_between(end, start, unit)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def bank_holiday(self, day: date) -> str | None:
        """The bank holiday's name, for explaining a count; None on an ordinary day."""
        name = self._holidays.get(day)
        return str(name) if name else None
