"""Working days: Monday to Friday, less the bank holidays of one jurisdiction.

Bank holidays come from the `holidays` package (one-off holidays such as the
state funeral of 19 September 2022 included), never from a hand-kept list.
Day counting follows spec §4: the trigger's day is day 0, even when it is not
a working day; day N is the Nth working day after it.
"""

from __future__ import annotations

from bisect import bisect_left
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
        self._years: dict[int, tuple[int, list[int]]] = {}

    def _is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def deadline(self, start: date, days: int, unit: Unit) -> date:
        """Day ``days`` counted from ``start`` (day 0): the last day that meets the deadline."""
        if unit == "calendar":
            return start + timedelta(days=days)
        if days <= 0:
            return start
        # The first day by which ``days`` more working days have passed: a working day.
        first, counts = self._year(start.year)
        wanted = counts[start.toordinal() - first] + days
        year = start.year
        while counts[-1] < wanted:
            if year == date.max.year:
                # As stepping past 31 December 9999 fails.
                raise OverflowError("date value out of range")
            wanted -= counts[-1]
            year += 1
            first, counts = self._year(year)
        return date.fromordinal(first + bisect_left(counts, wanted))

    def days_between(self, start: date, end: date, unit: Unit) -> int:
        """Which day ``end`` is, counted from ``start`` as day 0 (negative if before it)."""
        if unit == "calendar":
            return (end - start).days
        if end < start:
            return -self.days_between(end, start, unit)
        # The working days after ``start`` up to and including ``end``.
        if start.year == end.year:
            return self._working_by(end) - self._working_by(start)
        count = self._year(start.year)[1][-1] - self._working_by(start)
        for year in range(start.year + 1, end.year):
            count += self._year(year)[1][-1]
        return count + self._working_by(end)

    def _working_by(self, day: date) -> int:
        """The working days of ``day``'s year up to and including it."""
        first, counts = self._year(day.year)
        return counts[day.toordinal() - first]

    def _year(self, year: int) -> tuple[int, list[int]]:
        """1 January's ordinal, and the working days of the year up to each day: entry
        k counts the first k days (entry 0 is 0)."""
        found = self._years.get(year)
        if found is None:
            day = date(year, 1, 1)
            counts, count = [0], 0
            while day.year == year:
                count += self.is_working_day(day)
                counts.append(count)
                if day.month == 12 and day.day == 31:
                    break  # 31 December 9999 has no next day
                day += timedelta(days=1)
            found = self._years[year] = (date(year, 1, 1).toordinal() - 1, counts)
        return found

    def bank_holiday(self, day: date) -> str | None:
        """The bank holiday's name, for explaining a count; None on an ordinary day."""
        name = self._holidays.get(day)
        return str(name) if name else None
