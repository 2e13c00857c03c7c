"""Calendar periods as whole numbers, in the database: day, week (Monday to Sunday) or month.

Times are naive wall-clock times in the spec's time zone (as every segrules rule sees them), so a
period is the calendar period of that wall-clock time. A period *index* counts periods since the
Unix epoch: days since 1970-01-01, weeks since Monday 1969-12-29, months since January of year 0.
Period ``k`` of an entity is ``index(activity time) - index(start)``.

Labels: day ``2025-03-03``, week ``2025-W10`` (ISO 8601 week: the year of its Thursday), month
``2025-03``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.datatypes as dt

_EPOCH = datetime(1970, 1, 1)
_SECONDS_PER_DAY = 86_400


def _timestamp(t):
    return t.cast(dt.timestamp) if t.type().is_date() else t


def period_index(t, grain: str):
    """The period index of the Ibis date/timestamp ``t`` (int64)."""
    t = _timestamp(t)
    if grain == "month":
        return (t.year().cast(dt.int64) * 12 + t.month().cast(dt.int64) - 1)
    days = (t.epoch_seconds() / _SECONDS_PER_DAY).floor().cast(dt.int64)
    return days if grain == "day" else ((days + 3) / 7).floor().cast(dt.int64)


def period_label(index, grain: str):
    """The label of the Ibis period index ``index`` (string)."""
    if grain == "month":
        year, month = (index / 12).floor().cast(dt.int64), index % 12 + 1
        return year.cast(dt.string) + "-" + month.cast(dt.string).lpad(2, "0")
    epoch = ibis.date(1970, 1, 1)
    if grain == "day":
        return (epoch + index.as_interval("D")).strftime("%Y-%m-%d")
    thursday = epoch + (index * 7).as_interval("D")  # Monday of week 0 is 1969-12-29, 3 days before
    week = ((thursday.day_of_year() - 1) / 7).floor().cast(dt.int64) + 1
    return thursday.year().cast(dt.string) + "-W" + week.cast(dt.string).lpad(2, "0")


def python_index(t: datetime, grain: str) -> int:
    """:func:`period_index` for a Python datetime (the run's ``now``)."""
    if grain == "month":
        return t.year * 12 + t.month - 1
    days = (t - _EPOCH) // timedelta(days=1)
    return days if grain == "day" else (days + 3) // 7
