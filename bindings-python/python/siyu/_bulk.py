"""Bulk outputs for notebooks: segment membership, lifecycle stage, tag diffs and
RFM for every profile of an Arrow table in one call (:func:`evaluate_table`), or
batch by batch for data larger than memory (:func:`evaluate_batches`).

All computing is the core's; this module only normalises arguments."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple, Union

from . import CompiledRuleSet, Instant, _arrow_stream, _instant, _native, _pairs, _to_json
from ._errors import InvalidArgumentError
from ._layering import Lifecycle, SchemaLike, TagRules, _native_schema

RfmSpec = Union[bool, Mapping[str, Any], None]
"""``True`` (quantile scores fitted over the table, ``standard_11`` segments) or
``{"config": {...}, "method": "quantile"|"range", "thresholds": {...}, "map": ...}``."""

ColumnSpec = Union[Mapping[str, str], Sequence[str], None]


def _rfm_parts(rfm: RfmSpec) -> Optional[Tuple[Optional[str], Optional[str], Optional[str], Optional[str]]]:
    if rfm is None or rfm is False:
        return None
    if rfm is True:
        return (None, None, None, None)
    if not isinstance(rfm, Mapping):
        raise InvalidArgumentError(f"rfm: expected True or a mapping, got {type(rfm).__name__}")
    unknown = set(rfm) - {"config", "method", "thresholds", "map"}
    if unknown:
        raise InvalidArgumentError(f"rfm: unknown keys {sorted(unknown)} (config, method, thresholds, map)")

    def doc(key: str) -> Optional[str]:
        v = rfm.get(key)
        return None if v is None else _to_json(v)

    method = rfm.get("method")
    map_ = rfm.get("map")
    return (doc("config"), None if method is None else str(method), doc("thresholds"),
            map_ if isinstance(map_, str) or map_ is None else _to_json(map_))


def _defs(segments: Any, lifecycle: Any, tag_rules: Any, schema: SchemaLike) -> Dict[str, Any]:
    if isinstance(segments, str):
        if schema is None:
            raise InvalidArgumentError("segments given as rule text need a schema")
        segments = CompiledRuleSet(segments, schema)
    if segments is not None and not isinstance(segments, CompiledRuleSet):
        raise InvalidArgumentError(f"segments: expected a CompiledRuleSet or rule text, got {type(segments).__name__}")
    if lifecycle is True:
        lifecycle = Lifecycle(schema=schema)
    elif lifecycle is not None and not isinstance(lifecycle, Lifecycle):
        lifecycle = Lifecycle(lifecycle, schema=schema)
    if tag_rules is not None and not isinstance(tag_rules, TagRules):
        tag_rules = TagRules(tag_rules, schema=schema)
    return {
        "segments": None if segments is None else segments._inner,
        "lifecycle": None if lifecycle is None else lifecycle._inner,
        "tag_rules": None if tag_rules is None else tag_rules._inner,
    }


def _columns(
    id_column: str,
    traits: ColumnSpec,
    time_zone_column: Optional[str],
    user_id_column: str,
    event_name_column: str,
    timestamp_column: str,
    event_id_column: Optional[str],
    properties: ColumnSpec,
    tags_column: Optional[str],
    stage_column: Optional[str],
    stage_since_column: Optional[str],
) -> Dict[str, Any]:
    return {
        "id_column": id_column,
        "traits": _pairs(traits),
        "time_zone_column": time_zone_column,
        "user_id_column": user_id_column,
        "event_name_column": event_name_column,
        "timestamp_column": timestamp_column,
        "event_id_column": event_id_column,
        "properties": _pairs(properties),
        "tags_column": tags_column,
        "stage_column": stage_column,
        "stage_since_column": stage_since_column,
    }


class _Progress:
    """A tqdm bar when ``progress`` is true and tqdm is installed; else nothing."""

    def __init__(self, progress: bool, total: Optional[int], unit: str) -> None:
        self.bar: Any = None
        if progress:
            try:
                module = importlib.import_module("tqdm.auto")
            except ImportError:
                try:
                    module = importlib.import_module("tqdm")
                except ImportError:
                    module = None
            if module is not None:
                self.bar = module.tqdm(total=total, unit=unit, desc="siyu")

    @property
    def callback(self) -> Optional[Callable[[int], None]]:
        return None if self.bar is None else self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _native_args(profiles: Any, events: Any, now_text: str, defs: Dict[str, Any],
                 rfm_parts: Any, schema: SchemaLike, default_zone: Optional[str],
                 threads: Optional[int], bar: "_Progress", *columns: Any) -> Tuple[Any, ...]:
    """The positional arguments of ``_native.evaluate_outputs`` and
    ``_native.OutputStream`` (same order); ``columns`` as :func:`_columns` takes them."""
    return (
        _arrow_stream(profiles, "profiles"),
        None if events is None else _arrow_stream(events, "events"),
        now_text,
        defs,
        _columns(*columns),
        _native_schema(schema),
        rfm_parts,
        default_zone,
        threads,
        bar.callback,
    )


def evaluate_table(
    profiles: Any,
    events: Any = None,
    *,
    now: Instant,
    segments: Any = None,
    lifecycle: Any = None,
    tag_rules: Any = None,
    rfm: RfmSpec = None,
    schema: SchemaLike = None,
    default_zone: Optional[str] = None,
    id_column: str = "id",
    traits: ColumnSpec = None,
    time_zone_column: Optional[str] = None,
    user_id_column: str = "user_id",
    event_name_column: str = "name",
    timestamp_column: str = "timestamp",
    event_id_column: Optional[str] = None,
    properties: ColumnSpec = None,
    tags_column: Optional[str] = None,
    stage_column: Optional[str] = None,
    stage_since_column: Optional[str] = None,
    threads: Optional[int] = None,
    progress: bool = False,
) -> Any:
    """Every requested output for every profile of an Arrow table; a ``pyarrow.Table``
    with one row per profile, in input order.

    Inputs are read as :meth:`CompiledRuleSet.evaluate_table` reads them (same
    column arguments). Outputs, each only when asked for:

    * ``segments`` (a :class:`CompiledRuleSet`, or rule text with ``schema``): one
      bool column per rule.
    * ``lifecycle`` (a :class:`Lifecycle`, a model document, or ``True`` for the
      shipped model): ``stage``, ``stage_since``, ``stage_rule`` (the deciding
      rule, null for the default stage), ``stage_held`` (``min_dwell`` /
      ``transition_not_allowed`` / null) and ``stage_changed``. The previous stage
      comes from ``stage_column`` + ``stage_since_column`` (both or neither; a
      null stage means none), e.g. last run's ``stage`` and ``stage_since``.
    * ``tag_rules`` (a :class:`TagRules` or a rule document): ``tags_added`` and
      ``tags_removed`` (``list<string>``) relative to ``tags_column`` (the
      profile's current rule tags, ``list<string>``; none when not given).
    * ``rfm`` (``True`` or ``{"config", "method", "thresholds", "map"}``):
      ``rfm_recency_days``, ``rfm_frequency``, ``rfm_monetary``, ``rfm_r``,
      ``rfm_f``, ``rfm_m`` and ``rfm_segment`` (null for non-buyers). Without
      ``thresholds`` they are fitted over this table's buyers (``method``,
      default ``quantile``); the thresholds used are in
      ``table.schema.metadata[b"siyu.rfm_thresholds"]`` (JSON).

    ``tags_column`` is also what ``has_tag`` reads in every rule. Definitions
    should share one schema; the tables are validated against ``schema``
    (default: that of ``segments``, else ``lifecycle``, else ``tag_rules``).
    ``progress=True`` shows a tqdm bar (one tick per output) when tqdm is
    installed and does nothing otherwise. Each output equals the per-profile call
    on the same data (a core test proves it).
    """
    defs = _defs(segments, lifecycle, tag_rules, schema)
    rfm_parts = _rfm_parts(rfm)
    steps = sum(d is not None for d in defs.values()) + (rfm_parts is not None)
    now_text = _instant(now)
    bar = _Progress(progress, steps, "output")
    try:
        table, unmatched, thresholds = _native.evaluate_outputs(
            *_native_args(profiles, events, now_text, defs, rfm_parts, schema, default_zone,
                          threads, bar, id_column, traits, time_zone_column, user_id_column,
                          event_name_column, timestamp_column, event_id_column, properties,
                          tags_column, stage_column, stage_since_column),
        )
    finally:
        bar.close()
    metadata = {b"siyu.unmatched_events": str(unmatched).encode(), b"siyu.now": now_text.encode()}
    if thresholds is not None:
        metadata[b"siyu.rfm_thresholds"] = thresholds.encode()
    return table.replace_schema_metadata(metadata)


class ResultBatches:
    """An iterator of ``pyarrow.RecordBatch`` results (see :func:`evaluate_batches`);
    ``unmatched_events`` is known once it is exhausted."""

    def __init__(self, stream: _native.OutputStream, bar: _Progress) -> None:
        self._stream = stream
        self._bar = bar

    def __iter__(self) -> "ResultBatches":
        return self

    def __next__(self) -> Any:
        try:
            return next(self._stream)
        except BaseException:
            self._bar.close()
            raise

    @property
    def unmatched_events(self) -> int:
        """Events whose user had no profile in any batch."""
        return self._stream.unmatched_events


def evaluate_batches(
    profiles: Any,
    events: Any = None,
    *,
    now: Instant,
    segments: Any = None,
    lifecycle: Any = None,
    tag_rules: Any = None,
    rfm: RfmSpec = None,
    schema: SchemaLike = None,
    default_zone: Optional[str] = None,
    id_column: str = "id",
    traits: ColumnSpec = None,
    time_zone_column: Optional[str] = None,
    user_id_column: str = "user_id",
    event_name_column: str = "name",
    timestamp_column: str = "timestamp",
    event_id_column: Optional[str] = None,
    properties: ColumnSpec = None,
    tags_column: Optional[str] = None,
    stage_column: Optional[str] = None,
    stage_since_column: Optional[str] = None,
    threads: Optional[int] = None,
    progress: bool = False,
) -> Iterator[Any]:
    """As :func:`evaluate_table`, batch by batch: yields one ``pyarrow.RecordBatch``
    of results per batch of ``profiles`` (a ``pyarrow.RecordBatchReader`` or any
    Arrow stream), reading only what that batch needs, so data larger than memory
    flows through.

    **Precondition.** ``events`` is read one batch per profile batch (the k-th
    with the k-th), and every event of a user must arrive in the same batch as
    the user's profile or an earlier one (events of later users wait). Split both
    by the same ordered user ranges; a whole events table (one batch) is also
    fine. An event of a user whose profile batch has already been yielded raises
    :class:`InvalidArgumentError` naming the batch, row and user.

    Streamed RFM needs stored thresholds (``rfm={"thresholds": ...}``), so a user
    scores the same whatever batch they are in. ``progress=True`` counts profiles.
    The concatenated batches equal :func:`evaluate_table` on the whole data.
    """
    bar = _Progress(progress, None, "profile")
    stream = _native.OutputStream(
        *_native_args(profiles, events, _instant(now), _defs(segments, lifecycle, tag_rules, schema),
                      _rfm_parts(rfm), schema, default_zone, threads, bar, id_column, traits,
                      time_zone_column, user_id_column, event_name_column, timestamp_column,
                      event_id_column, properties, tags_column, stage_column, stage_since_column),
    )
    return ResultBatches(stream, bar)


__all__ = ["evaluate_table", "evaluate_batches", "ResultBatches"]
