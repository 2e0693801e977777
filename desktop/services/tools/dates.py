"""Today's date and date arithmetic, so the assistant need not guess either."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from desktop.core.errors import UsageError

MAX_DAYS = 365_000  # about a thousand years either way

Clock = Callable[[], dt.date]


class DateError(UsageError):
    """A date that cannot be read, or arithmetic beyond the calendar."""


def read_date(text: str, today: dt.date) -> dt.date:
    """``YYYY-MM-DD`` or ``today``."""
    text = text.strip()
    if text.lower() == "today":
        return today
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DateError(f"'{text[:40]}' is not a date: write it as YYYY-MM-DD, or 'today'") from None


def add_days(start: dt.date, days: int) -> dt.date:
    if abs(days) > MAX_DAYS:
        raise DateError(f"at most {MAX_DAYS} days either way")
    try:
        return start + dt.timedelta(days=days)
    except OverflowError:
        raise DateError("the date would be outside the calendar (years 1 to 9999)") from None


def described(day: dt.date) -> str:
    """2025-03-14 (Friday)"""
    return f"{day.isoformat()} ({day.strftime('%A')})"
