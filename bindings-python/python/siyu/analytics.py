"""Analytics: retention cohorts, active users, repeat rate, funnels, growth,
A/B tests, product association and best send hour.

Event tables (pyarrow/polars/pandas) come in with ``user_id``, ``name`` and
``timestamp`` columns (renamable per call); per-row results come back as
``pyarrow.Table``, scalar results as dataclasses. All computation is in the
Rust core (``siyu_core::analytics``).
"""

from __future__ import annotations

import datetime as _dt
import json as _json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa  # type: ignore[import-untyped]

from . import _native
from ._columns import TableLike, column, date_text, to_table
from ._errors import InvalidArgumentError

__all__ = [
    "retention_matrix",
    "active_users",
    "repeat_purchase_rate",
    "funnel",
    "k_factor",
    "channel_conversion",
    "two_proportion_z_test",
    "chi_square_test",
    "beta_binomial_beats_control",
    "sample_size_per_arm",
    "frequent_pairs",
    "sequential_rules",
    "best_send_hours",
    "RepeatRate",
    "KFactor",
    "ZTestResult",
    "ChiSquareResult",
    "BayesResult",
    "SendTimeReport",
]

Window = Union[float, _dt.timedelta]
"""A time window: a ``timedelta`` or seconds."""
ArmLike = Union[Tuple[int, int], Mapping[str, int]]
"""An A/B arm: ``(conversions, trials)`` or ``{"conversions": .., "trials": ..}``."""


@dataclass(frozen=True)
class RepeatRate:
    """Buyers, buyers with ≥ 2 purchases, and their share."""

    buyers: int
    repeat_buyers: int
    rate: float


@dataclass(frozen=True)
class KFactor:
    """Invites per user × invite conversion rate."""

    invites_per_user: float
    conversion_rate: Optional[float]
    k_factor: float


@dataclass(frozen=True)
class ZTestResult:
    """Two-proportion z-test (two-sided p-value)."""

    rate_control: float
    rate_variant: float
    difference: float
    z: float
    p_value: float


@dataclass(frozen=True)
class ChiSquareResult:
    """Chi-square test of independence over k arms."""

    statistic: float
    degrees_of_freedom: int
    p_value: float


@dataclass(frozen=True)
class BayesResult:
    """Beta-binomial posterior means and P(variant beats control)."""

    mean_control: float
    mean_variant: float
    probability_variant_beats_control: float


@dataclass(frozen=True)
class SendTimeReport:
    """Population hour distribution and per-user best hour (``users`` table)."""

    weight: float
    population: List[float]
    population_best_hour: int
    users: pa.Table


def _call(name: str, args: Mapping[str, Any], events: Any = None, rows: Any = None) -> Any:
    return _json.loads(_native.analytics_call(name, _json.dumps(args), events, rows))


def _events(
    events: TableLike, user_id_col: str, event_col: str, timestamp_col: str
) -> Tuple[pa.Array, pa.Array, pa.Array]:
    t = to_table(events)
    return (
        column(t, user_id_col, "user_id_col"),
        column(t, event_col, "event_col"),
        column(t, timestamp_col, "timestamp_col"),
    )


def _seconds(window: Window, role: str) -> float:
    if isinstance(window, _dt.timedelta):
        return window.total_seconds()
    if isinstance(window, (int, float)):
        return float(window)
    raise InvalidArgumentError(f"{role}: expected a timedelta or seconds", path=role)


def _arm(arm: ArmLike, role: str) -> Dict[str, int]:
    if isinstance(arm, Mapping):
        return {"conversions": int(arm["conversions"]), "trials": int(arm["trials"])}
    if isinstance(arm, (tuple, list)) and len(arm) == 2:
        return {"conversions": int(arm[0]), "trials": int(arm[1])}
    raise InvalidArgumentError(f"{role}: expected (conversions, trials)", path=role)


def _instant(value: Union[str, _dt.datetime], role: str) -> str:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise InvalidArgumentError(f"{role}: a naive datetime has no time zone", path=role)
        return value.isoformat()
    return str(value)


def _dates(texts: List[str]) -> pa.Array:
    return pa.array([_dt.date.fromisoformat(d) for d in texts], pa.date32())


def retention_matrix(
    events: TableLike,
    cohort_event: str,
    *,
    activity_events: Optional[Sequence[str]] = None,
    granularity: str = "day",
    periods: int = 8,
    zone: str = "UTC",
    end: Optional[Union[str, _dt.datetime]] = None,
    values: str = "rate",
    user_id_col: str = "user_id",
    event_col: str = "name",
    timestamp_col: str = "timestamp",
) -> pa.Table:
    """N-day (``granularity="day"``) or weekly cohort retention.

    A user's cohort is the local day/week (in ``zone``) of their first
    ``cohort_event``; period k counts cohort users with an activity event
    (``activity_events``, default any) in the k-th period after. Returns a
    table ``cohort, size, period_0 … period_{periods-1}`` holding rates
    (``values="rate"``) or user counts (``values="count"``); periods after
    ``end`` are null.
    """
    if values not in ("rate", "count"):
        raise InvalidArgumentError('values must be "rate" or "count"', path="values")
    args: Dict[str, Any] = {
        "cohort_event": cohort_event,
        "activity_events": list(activity_events or []),
        "granularity": granularity,
        "periods": periods,
        "zone": zone,
    }
    if end is not None:
        args["end"] = _instant(end, "end")
    out = _call(
        "retention_matrix", args, _events(events, user_id_col, event_col, timestamp_col)
    )
    rows = out["cohorts"]
    cols: Dict[str, Any] = {
        "cohort": _dates([r["cohort"] for r in rows]),
        "size": pa.array([r["size"] for r in rows], pa.uint64()),
    }
    key, typ = ("rates", pa.float64()) if values == "rate" else ("retained", pa.uint64())
    for k in range(periods):
        cols[f"period_{k}"] = pa.array([r[key][k] for r in rows], typ)
    return pa.table(cols)


def active_users(
    events: TableLike,
    start: Union[str, _dt.date],
    end: Union[str, _dt.date],
    *,
    activity_events: Optional[Sequence[str]] = None,
    zone: str = "UTC",
    user_id_col: str = "user_id",
    event_col: str = "name",
    timestamp_col: str = "timestamp",
) -> pa.Table:
    """DAU/WAU/MAU and stickiness (DAU/MAU) per local day from ``start`` to ``end``."""
    out = _call(
        "active_users",
        {
            "start": date_text(start, "start"),
            "end": date_text(end, "end"),
            "activity_events": list(activity_events or []),
            "zone": zone,
        },
        _events(events, user_id_col, event_col, timestamp_col),
    )
    return pa.table(
        {
            "date": _dates([r["date"] for r in out]),
            "dau": pa.array([r["dau"] for r in out], pa.uint64()),
            "wau": pa.array([r["wau"] for r in out], pa.uint64()),
            "mau": pa.array([r["mau"] for r in out], pa.uint64()),
            "stickiness": pa.array([r["stickiness"] for r in out], pa.float64()),
        }
    )


def repeat_purchase_rate(
    events: TableLike,
    purchase_event: str,
    *,
    user_id_col: str = "user_id",
    event_col: str = "name",
    timestamp_col: str = "timestamp",
) -> RepeatRate:
    """Share of buyers with at least two ``purchase_event`` events."""
    out = _call(
        "repeat_purchase_rate",
        {"purchase_event": purchase_event},
        _events(events, user_id_col, event_col, timestamp_col),
    )
    return RepeatRate(**out)


def _rows_table(rows: List[Dict[str, Any]], names: Sequence[str], types: Sequence[Any]) -> pa.Table:
    return pa.table({n: pa.array([r[n] for r in rows], t) for n, t in zip(names, types)})


def funnel(
    events: TableLike,
    steps: Sequence[str],
    window: Window,
    *,
    user_id_col: str = "user_id",
    event_col: str = "name",
    timestamp_col: str = "timestamp",
) -> pa.Table:
    """Ordered funnel: users reaching each step in order within ``window`` of
    their first step. Table ``name, users, conversion_from_start, conversion_from_previous``."""
    out = _call(
        "funnel",
        {"steps": list(steps), "window_seconds": _seconds(window, "window")},
        _events(events, user_id_col, event_col, timestamp_col),
    )
    return _rows_table(
        out["steps"],
        ["name", "users", "conversion_from_start", "conversion_from_previous"],
        [pa.string(), pa.uint64(), pa.float64(), pa.float64()],
    )


def k_factor(users: int, invites: int, conversions: int) -> KFactor:
    """Referral K-factor."""
    return KFactor(
        **_call("k_factor", {"users": users, "invites": invites, "conversions": conversions})
    )


def channel_conversion(
    touches: TableLike,
    events: TableLike,
    conversion_event: str,
    *,
    window: Optional[Window] = None,
    channel_col: str = "channel",
    user_id_col: str = "user_id",
    event_col: str = "name",
    timestamp_col: str = "timestamp",
) -> pa.Table:
    """Per channel: touched users and those converting (``conversion_event``
    after the touch, within ``window`` if given). Table ``channel, users, converted, rate``."""
    t = to_table(touches)
    rows = (
        column(t, user_id_col, "user_id_col"),
        column(t, channel_col, "channel_col"),
        column(t, timestamp_col, "timestamp_col"),
    )
    args: Dict[str, Any] = {"conversion_event": conversion_event}
    if window is not None:
        args["window_seconds"] = _seconds(window, "window")
    out = _call(
        "channel_conversion", args, _events(events, user_id_col, event_col, timestamp_col), rows
    )
    return _rows_table(
        out,
        ["channel", "users", "converted", "rate"],
        [pa.string(), pa.uint64(), pa.uint64(), pa.float64()],
    )


def two_proportion_z_test(control: ArmLike, variant: ArmLike) -> ZTestResult:
    """Two-proportion z-test of ``variant`` against ``control``."""
    out = _call(
        "two_proportion_z_test",
        {"control": _arm(control, "control"), "variant": _arm(variant, "variant")},
    )
    return ZTestResult(**out)


def chi_square_test(arms: Sequence[ArmLike]) -> ChiSquareResult:
    """Chi-square test that k arms share one conversion rate."""
    out = _call("chi_square_test", {"arms": [_arm(a, f"arms[{i}]") for i, a in enumerate(arms)]})
    return ChiSquareResult(**out)


def beta_binomial_beats_control(
    control: ArmLike, variant: ArmLike, prior_alpha: float = 1.0, prior_beta: float = 1.0
) -> BayesResult:
    """Bayesian P(variant's rate > control's) under Beta(prior_alpha, prior_beta) priors."""
    out = _call(
        "beta_binomial_beats_control",
        {
            "control": _arm(control, "control"),
            "variant": _arm(variant, "variant"),
            "prior_alpha": prior_alpha,
            "prior_beta": prior_beta,
        },
    )
    return BayesResult(**out)


def sample_size_per_arm(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per arm to detect an absolute lift ``mde`` over ``baseline`` (two-sided)."""
    out: int = _call(
        "sample_size_per_arm",
        {"baseline": baseline, "mde": mde, "alpha": alpha, "power": power},
    )
    return out


_RULE_NAMES = ["antecedent", "consequent", "count", "support", "confidence", "lift"]
_RULE_TYPES = [pa.string(), pa.string(), pa.uint64(), pa.float64(), pa.float64(), pa.float64()]


def frequent_pairs(
    baskets: TableLike,
    min_support: float,
    min_confidence: float,
    *,
    basket_col: str = "basket_id",
    item_col: str = "item",
) -> pa.Table:
    """Pair rules ``antecedent → consequent`` within baskets, with support,
    confidence and lift. Table ``antecedent, consequent, count, support, confidence, lift``."""
    t = to_table(baskets)
    rows = (column(t, basket_col, "basket_col"), column(t, item_col, "item_col"), None)
    out = _call(
        "frequent_pairs", {"min_support": min_support, "min_confidence": min_confidence}, None, rows
    )
    return _rows_table(out, _RULE_NAMES, _RULE_TYPES)


def sequential_rules(
    events: TableLike,
    window: Window,
    min_support: float,
    min_confidence: float,
    *,
    user_id_col: str = "user_id",
    event_col: str = "name",
    timestamp_col: str = "timestamp",
) -> pa.Table:
    """Rules "did A → does B within ``window``" over users' event sequences
    (e.g. bought milk powder → buys bottles within 30 days)."""
    out = _call(
        "sequential_rules",
        {
            "window_seconds": _seconds(window, "window"),
            "min_support": min_support,
            "min_confidence": min_confidence,
        },
        _events(events, user_id_col, event_col, timestamp_col),
    )
    return _rows_table(out, _RULE_NAMES, _RULE_TYPES)


def best_send_hours(
    events: TableLike,
    open_event: str,
    *,
    zones: Optional[Mapping[str, str]] = None,
    default_zone: str = "UTC",
    weight: float = 5.0,
    user_id_col: str = "user_id",
    event_col: str = "name",
    timestamp_col: str = "timestamp",
) -> SendTimeReport:
    """Best local send hour per user from ``open_event`` times, smoothed toward
    the population's hour pattern with ``weight`` pseudo-opens."""
    out = _call(
        "best_send_hours",
        {
            "open_event": open_event,
            "zones": dict(zones or {}),
            "default_zone": default_zone,
            "weight": weight,
        },
        _events(events, user_id_col, event_col, timestamp_col),
    )
    users = _rows_table(
        out["users"],
        ["user_id", "opens", "best_hour", "share"],
        [pa.string(), pa.uint64(), pa.uint32(), pa.float64()],
    )
    return SendTimeReport(out["weight"], out["population"], out["population_best_hour"], users)
