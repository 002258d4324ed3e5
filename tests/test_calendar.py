"""Working days for England and Wales, from the `holidays` package (spec §4, Deadlines)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.calendar import WorkingCalendar

ENGLAND = WorkingCalendar("GB", "ENG")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2019, 3, 4), True),     # a Monday
        (date(2019, 3, 9), False),    # a Saturday
        (date(2019, 4, 19), False),   # Good Friday
        (date(2019, 4, 22), False),   # Easter Monday
        (date(2022, 9, 19), False),   # state funeral of Queen Elizabeth II (one-off)
        (date(2022, 6, 3), False),    # Platinum Jubilee (one-off)
        (date(2023, 5, 8), False),    # Coronation (one-off)
        (date(2021, 12, 28), False),  # Boxing Day, substitute day
        (date(2019, 3, 17), False),   # St Patrick's Day is not a holiday here (a Sunday anyway)
        (date(2019, 3, 18), True),    # ... and its Monday is a working day in England and Wales
        (date(2019, 11, 30), False),  # St Andrew's Day: Scotland only; a Saturday in 2019
        (date(2020, 11, 30), True),   # St Andrew's Day 2020, a Monday: working in England and Wales
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert ENGLAND.is_working_day(day) is working


def test_day_zero_is_the_trigger_even_at_a_weekend() -> None:
    assert ENGLAND.deadline(date(2019, 3, 2), 2, "working") == date(2019, 3, 5)


def test_working_deadline_skips_bank_holidays() -> None:
    assert ENGLAND.deadline(date(2019, 4, 15), 15, "working") == date(2019, 5, 9)


def test_calendar_deadline() -> None:
    assert ENGLAND.deadline(date(2019, 3, 4), 10, "calendar") == date(2019, 3, 14)


def test_days_between_counts_from_day_zero() -> None:
    assert ENGLAND.days_between(date(2019, 4, 18), date(2019, 4, 24), "working") == 2
    assert ENGLAND.days_between(date(2019, 4, 24), date(2019, 4, 18), "working") == -2
    assert ENGLAND.days_between(date(2019, 3, 4), date(2019, 3, 4), "working") == 0


def test_bank_holiday_names() -> None:
    assert ENGLAND.bank_holiday(date(2022, 9, 19)) is not None
    assert ENGLAND.bank_holiday(date(2019, 3, 4)) is None


def _counted_day_by_day(start: date, end: date) -> int:
    if end < start:
        return -_counted_day_by_day(end, start)
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += ENGLAND.is_working_day(day)
    return count


@given(start=st.dates(date(2015, 1, 1), date(2027, 12, 31)),
       span=st.integers(min_value=-800, max_value=800))
@settings(max_examples=300, deadline=None)
def test_days_between_counts_each_working_day_once(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    assert ENGLAND.days_between(start, end, "working") == _counted_day_by_day(start, end)
    assert ENGLAND.days_between(start, end, "calendar") == span


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2019, 12, 31), date(2020, 1, 2), 1),  # New Year's Day between
        (date(2019, 12, 20), date(2020, 1, 2), 6),  # Christmas, Boxing Day, New Year's Day
        (date(2018, 12, 31), date(2020, 12, 31), 507),  # 2019: 253 working days; 2020: 254
        (date(9999, 12, 30), date(9999, 12, 31), 1),  # the last day there is
        (date(1, 1, 1), date(1, 1, 3), 2),
    ],
)
def test_days_between_across_years(start: date, end: date, days: int) -> None:
    assert ENGLAND.days_between(start, end, "working") == days


def _deadline_day_by_day(start: date, days: int) -> date:
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        counted += ENGLAND.is_working_day(day)
    return day


@given(start=st.dates(date(2015, 1, 1), date(2027, 12, 31)),
       days=st.integers(min_value=0, max_value=400))
@settings(max_examples=300, deadline=None)
def test_a_working_deadline_is_the_day_the_count_reaches(start: date, days: int) -> None:
    due = ENGLAND.deadline(start, days, "working")
    assert due == _deadline_day_by_day(start, days)
    assert ENGLAND.days_between(start, due, "working") == days
    assert ENGLAND.deadline(start, days, "calendar") == start + timedelta(days=days)


def test_a_working_deadline_across_new_year() -> None:
    # 24 Dec 2019 (Tue): Christmas, Boxing Day, the weekend and New Year's Day skipped.
    assert ENGLAND.deadline(date(2019, 12, 24), 3, "working") == date(2019, 12, 31)
    assert ENGLAND.deadline(date(2019, 12, 24), 4, "working") == date(2020, 1, 2)
    assert ENGLAND.deadline(date(2019, 12, 31), 1, "working") == date(2020, 1, 2)


def test_a_deadline_past_the_last_date_there_is_fails_as_a_date_overflows() -> None:
    # Only a checklist could ask for this (its days have no upper limit); the error, which
    # the batch reports as an internal error, is the one stepping past 9999 gives.
    with pytest.raises(OverflowError, match="date value out of range"):
        ENGLAND.deadline(date(9999, 12, 30), 5, "working")
    assert ENGLAND.deadline(date(9999, 12, 29), 2, "working") == date(9999, 12, 31)
