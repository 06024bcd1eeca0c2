"""RFM layering: recency, frequency and monetary value from purchase events,
scored 1–5 and mapped to segments by an ordered box table (first match wins).

One profile at a time::

    v = siyu.rfm.values(events, now)               # {"recency_days", "frequency", "monetary"}
    fitted = siyu.rfm.fit([v, ...])                 # {"thresholds", "scores"}
    siyu.rfm.score(fitted["thresholds"], v)         # [r, f, m]
    siyu.rfm.segment([5, 5, 4])                     # "champions"

A whole population (a pyarrow/polars/pandas table of raw values)::

    scored = siyu.rfm.score_table(table)            # + rfm_r, rfm_f, rfm_m, segment
    scored.table, scored.thresholds

Equal values always get equal scores (see docs/rfm.md for the tie rule).
Segment maps: ``"standard_11"`` (default), ``"four_layer"``, or a map document.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Union

from . import EventsLike, Instant, JsonDoc, ProfileLike, _events_arg, _instant, _native, _profile_arg, _to_json
from ._columns import TableLike, column, to_table
from ._layering import SchemaLike, _loads, _native_schema, _optional_json

STANDARD_11 = "standard_11"
"""The common 11-segment map (Champions … Lost; Lost = R1 F1 M1 is checked before Hibernating)."""

FOUR_LAYER = "four_layer"
"""DOMAIN.md's four layers: high-value loyal, churn warning, new, potential repeat."""

MapLike = Union[str, Mapping[str, Any], None]
"""A built-in map name, a map document (dict or JSON text) or ``None`` for ``standard_11``."""

ValuesLike = Union[Mapping[str, Any], str]
"""Raw values ``{"recency_days", "frequency", "monetary"}`` (dict or JSON text)."""


def _map_arg(map: MapLike) -> Optional[str]:
    return None if map is None else _to_json(map) if not isinstance(map, str) else map


def values(
    events: EventsLike,
    now: Instant,
    *,
    config: Union[JsonDoc, None] = None,
    schema: SchemaLike = None,
) -> Optional[Dict[str, float]]:
    """Raw RFM values of one event history at ``now``: ``{"recency_days",
    "frequency", "monetary"}``, or ``None`` without a purchase in the window.

    ``config``: ``{"event": "purchase", "amount_property": "amount",
    "window": "365d"}`` (every field optional). ``schema`` validates the events
    (default: the sample schema).
    """
    out: Optional[Dict[str, float]] = _loads(
        _native.rfm_values(_events_arg(events), _instant(now), _optional_json(config), _native_schema(schema))
    )
    return out


def fit(population: Union[Sequence[ValuesLike], str], method: str = "quantile") -> Dict[str, Any]:
    """Fits thresholds over a population of raw values and scores every member:
    ``{"thresholds", "scores": [[r, f, m], ...]}`` (scores in population order).

    ``method``: ``"quantile"`` (quintiles), ``"range"`` (five equal-width bands)
    or ``"fixed"``. Store ``thresholds`` to score later profiles with :func:`score`.
    """
    text = population if isinstance(population, str) else _to_json(
        [_loads(v) if isinstance(v, str) else v for v in population]
    )
    out: Dict[str, Any] = _loads(_native.rfm_fit(method, text))
    return out


def score(thresholds: JsonDoc, values: ValuesLike) -> List[int]:
    """Scores one profile's raw values with stored thresholds: ``[r, f, m]``."""
    out: List[int] = _loads(_native.rfm_score(_to_json(thresholds), _to_json(values)))
    return out


def segment(scores: Sequence[int], map: MapLike = None) -> Optional[str]:
    """The segment id of ``[r, f, m]`` scores in a segment map (first matching box)."""
    out: Optional[str] = _loads(_native.rfm_segment(_to_json(list(scores)), _map_arg(map)))
    return out


def apply(
    profile: ProfileLike,
    events: EventsLike,
    now: Instant,
    thresholds: JsonDoc,
    *,
    config: Union[JsonDoc, None] = None,
    map: MapLike = None,
    group: Optional[str] = None,
    schema: SchemaLike = None,
) -> Dict[str, Any]:
    """Computes values, scores and segment for a profile and writes them into it:
    scores ``rfm_r``/``rfm_f``/``rfm_m`` (rules read ``score("rfm_r")``) and the
    segment as a tag of the exclusive ``group`` (default ``rfm_segment``).

    Returns ``{"values", "scores", "segment", "profile"}`` with the updated
    profile document, or ``{"values": None}`` without a purchase.
    """
    out: Dict[str, Any] = _loads(
        _native.rfm_apply(
            _profile_arg(profile),
            _events_arg(events),
            _instant(now),
            _to_json(thresholds),
            _optional_json(config),
            _map_arg(map),
            group,
            _native_schema(schema),
        )
    )
    return out


class ScoredTable(NamedTuple):
    """The result of :func:`score_table`."""

    table: Any
    """The input table with ``rfm_r``, ``rfm_f``, ``rfm_m`` (uint8) and ``segment`` appended."""
    thresholds: Dict[str, Any]
    """The thresholds used (fitted, or the ones given): store them to score new profiles."""


def score_table(
    data: TableLike,
    *,
    recency: str = "recency_days",
    frequency: str = "frequency",
    monetary: str = "monetary",
    method: str = "quantile",
    thresholds: Union[JsonDoc, None] = None,
    map: MapLike = None,
) -> ScoredTable:
    """Scores a whole population at once (the batch API, no Python loop).

    ``data`` is any table (pyarrow, polars, pandas, a mapping of columns) with one
    row per profile and numeric ``recency`` (days), ``frequency`` and ``monetary``
    columns; nulls are rejected with the column named. With ``thresholds`` the
    rows are scored against them, else thresholds are fitted with ``method``.
    Returns :class:`ScoredTable` ``(table, thresholds)``; the table is a
    ``pyarrow.Table`` (``.to_pandas()``, ``polars.from_arrow``) in input order.
    """
    table = to_table(data)
    fitted, scores = _native.rfm_score_columns(
        column(table, recency, "recency"),
        column(table, frequency, "frequency"),
        column(table, monetary, "monetary"),
        method,
        _optional_json(thresholds),
        _map_arg(map),
    )
    for name in scores.column_names:
        if name in table.column_names:
            table = table.drop_columns([name])
        table = table.append_column(name, scores.column(name))
    return ScoredTable(table, _loads(fitted))


__all__ = [
    "STANDARD_11",
    "FOUR_LAYER",
    "ScoredTable",
    "apply",
    "fit",
    "score",
    "score_table",
    "segment",
    "values",
]
