"""Working days for England and Wales, from the `holidays` package (spec §4, Deadlines)."""

from __future__ import annotations

from datetime import date

import pytest

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
