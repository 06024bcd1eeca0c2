"""Constants the hand-written translations share with siyu's semantics (docs/rules.md).

- Rolling windows `within Nd` are `(now - N days, now]`; nothing after `now` is visible.
- `x within last Nd` is `now - N days <= x <= now` (dates: `today - N <= x <= today`,
  `today` in the evaluation zone); `within next` likewise forwards.
- `weeks_without(e)`: ISO weeks in the zone. Only matching events *before the current
  week* count; with one, the result is `current_week - its_week - 1` (at least 0);
  without, `current_week - week_of(earliest event of any name)` when that event is not
  after `now`, else 0; 0 for a user with no events.
- A missing trait makes its comparison unknown, and an unknown rule does not match;
  `sum` over no events is 0; `in_segment(x)` is false when `x` does not match.
- `has_consent(...)`: the Arrow bulk path has no consent input, so it is false for every
  profile; the translations say the same.
"""

from gen_data import DAY_US, NOW_US, ZONE_OFFSET_US

SEGMENTS = ["high_value_loyal", "potential_repeat_buyer", "churn_warning", "new_user",
            "milk_powder_repeat_buyer", "has_kids_browser", "expecting_or_newborn",
            "win_back_audience"]

WEEK_US = 7 * DAY_US


def local_days(us: int) -> int:
    """Days since 1970-01-01 of the local (zone) date of a UTC microsecond instant."""
    return (us + ZONE_OFFSET_US) // DAY_US


def week_index(days: int) -> int:
    """ISO (Monday-based) week index of a day number (1970-01-01 was a Thursday)."""
    return (days + 3) // 7


TODAY = local_days(NOW_US)
CUR_WEEK = week_index(TODAY)
#: UTC instant at which the current local ISO week started.
CUR_WEEK_START_US = (CUR_WEEK * 7 - 3) * DAY_US - ZONE_OFFSET_US


def since(days: float) -> int:
    """Exclusive lower bound of a rolling window of `days` days."""
    return NOW_US - int(days * DAY_US)
