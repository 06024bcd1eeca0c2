"""siyu: customer-lifecycle engine for private-domain customer operations.

The Rust core does all the work; this package converts Python values (dicts,
JSON text, ``datetime``) to the core's inputs and maps every core error to a
:class:`SiyuError` subclass. Start with :class:`Schema`, :class:`RuleSet` and
:class:`CompiledRuleSet`; see ``docs/python.md``.
"""

from __future__ import annotations

import datetime as _dt
import html as _html
import json as _json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import *  # noqa: F401,F403  (the exception classes)
from ._errors import ERROR_CLASSES, InvalidArgumentError, InvalidTimeError, SiyuError, class_name
from . import analytics, clv  # noqa: E402  (value models and analytics: tables in, tables out)

__version__: str = _native.__version__

Matcher = _native.Matcher
"""A native callable for one rule at a fixed instant (see :meth:`CompiledRuleSet.matcher`)."""

JsonDoc = Union[str, Mapping[str, Any]]
"""A JSON document given as text or as an already parsed mapping."""

Instant = Union[str, _dt.datetime]
"""An instant: RFC 3339 text or a time-zone-aware ``datetime``."""


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return _instant(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise InvalidArgumentError(f"cannot encode {type(value).__name__} as JSON")


def _to_json(doc: Any) -> str:
    if isinstance(doc, str):
        return doc
    if isinstance(doc, bytes):
        return doc.decode("utf-8")
    return _json.dumps(doc, default=_json_default, ensure_ascii=False)


def _instant(now: Instant) -> str:
    if isinstance(now, _dt.datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise InvalidTimeError(
                "a naive datetime has no time zone; pass an aware datetime "
                "(e.g. datetime(..., tzinfo=timezone.utc)) or RFC 3339 text"
            )
        return now.isoformat()
    if isinstance(now, str):
        return now
    raise InvalidTimeError(f"expected RFC 3339 text or an aware datetime, got {type(now).__name__}")


class Schema:
    """What profiles and events may hold: traits, events with typed properties, tag groups."""

    __slots__ = ("_inner",)

    def __init__(self, inner: _native.Schema) -> None:
        self._inner = inner

    @classmethod
    def from_json(cls, doc: JsonDoc) -> "Schema":
        """Reads and validates a schema document (JSON text or dict)."""
        return cls(_native.Schema.from_json(_to_json(doc)))

    def to_json(self) -> str:
        """The schema as JSON text."""
        return self._inner.to_json()

    def to_dict(self) -> Dict[str, Any]:
        """The schema as a dict."""
        out: Dict[str, Any] = _json.loads(self._inner.to_json())
        return out

    def __repr__(self) -> str:
        return f"Schema({self._inner.to_json()})"


class RuleSet:
    """Named segmentation rules, in DSL text or JSON form (not yet checked against a schema)."""

    __slots__ = ("_inner", "_source")

    def __init__(self, inner: _native.RuleSet, source: Optional[str] = None) -> None:
        self._inner = inner
        # The DSL text it was parsed from, so compile errors can point into it.
        self._source = source

    @classmethod
    def parse(cls, text: str) -> "RuleSet":
        """Parses rule DSL text (``segment name: expr``…); raises ``RuleSyntaxError`` with a position."""
        return cls(_native.RuleSet.parse(text), text)

    @classmethod
    def from_json(cls, doc: JsonDoc) -> "RuleSet":
        """Reads the JSON form ``{"rules": [{"name", "expr", "description"?}]}`` (text or dict)."""
        return cls(_native.RuleSet.from_json(_to_json(doc)))

    def to_text(self) -> str:
        """The canonical DSL text (parsing it gives the same rule set)."""
        return self._inner.to_text()

    def to_json(self) -> str:
        """The JSON form with AST objects, as text."""
        return self._inner.to_json()

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form as a dict."""
        out: Dict[str, Any] = _json.loads(self._inner.to_json())
        return out

    @property
    def names(self) -> List[str]:
        """Rule names in declaration order."""
        return self._inner.names()

    def __repr__(self) -> str:
        return f"RuleSet({self._inner.to_text()!r})"


class Profile:
    """A profile validated against a schema (reuse it to evaluate several rule sets)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: _native.Profile) -> None:
        self._inner = inner

    @classmethod
    def from_json(cls, doc: JsonDoc, schema: Schema) -> "Profile":
        """Reads and validates a profile document (text or dict)."""
        return cls(_native.Profile.from_json(_to_json(doc), schema._inner))

    def to_dict(self) -> Dict[str, Any]:
        """The canonical profile document."""
        out: Dict[str, Any] = _json.loads(self._inner.to_json())
        return out


class EventLog:
    """Events validated against a schema, sorted by (timestamp, id), de-duplicated by id."""

    __slots__ = ("_inner",)

    def __init__(self, inner: _native.EventLog) -> None:
        self._inner = inner

    @classmethod
    def from_json(cls, events: Union[str, Sequence[Mapping[str, Any]]], schema: Schema) -> "EventLog":
        """Reads and validates a list of event documents (JSON text or list of dicts)."""
        return cls(_native.EventLog.from_json(_to_json(list(events) if not isinstance(events, str) else events), schema._inner))

    def to_list(self) -> List[Dict[str, Any]]:
        """The canonical event documents, in order."""
        out: List[Dict[str, Any]] = _json.loads(self._inner.to_json())
        return out

    def __len__(self) -> int:
        return len(self._inner)


ProfileLike = Union[Profile, JsonDoc]
EventsLike = Union[EventLog, str, Sequence[Mapping[str, Any]], None]


def _profile_arg(profile: ProfileLike) -> Union[_native.Profile, str]:
    return profile._inner if isinstance(profile, Profile) else _to_json(profile)


def _events_arg(events: EventsLike) -> Union[_native.EventLog, str]:
    if events is None:
        return "[]"
    if isinstance(events, EventLog):
        return events._inner
    if isinstance(events, str):
        return events
    return _to_json(list(events))


class ExplainNode(dict):  # type: ignore[type-arg]
    """One clause: ``clause`` (DSL text), ``truth`` (``true``/``false``/``unknown``),
    optional ``observed`` (e.g. ``count = 2, needed >= 3``) and ``children``."""

    @property
    def clause(self) -> str:
        return str(self["clause"])

    @property
    def truth(self) -> str:
        return str(self["truth"])

    @property
    def observed(self) -> Optional[str]:
        value = self.get("observed")
        return None if value is None else str(value)

    @property
    def children(self) -> List["ExplainNode"]:
        return [ExplainNode(c) for c in self.get("children", [])]

    def _html(self) -> str:
        colour = {"true": "#1a7f37", "false": "#cf222e"}.get(self.truth, "#9a6700")
        observed = self.observed
        text = (
            f'<code>{_html.escape(self.clause)}</code> '
            f'<b style="color:{colour}">{_html.escape(self.truth)}</b>'
        )
        if observed:
            text += f' <span style="color:#57606a">({_html.escape(observed)})</span>'
        kids = "".join(f"<li>{c._html()}</li>" for c in self.children)
        return text + (f"<ul>{kids}</ul>" if kids else "")


class Explanation(dict):  # type: ignore[type-arg]
    """Why a rule matched or not: a dict ``{"rule", "matched", "root"}`` with the clause tree.

    Displays as a tree in Jupyter (``_repr_html_``) and as indented text with ``str()``.
    """

    @property
    def rule(self) -> str:
        return str(self["rule"])

    @property
    def matched(self) -> bool:
        return bool(self["matched"])

    @property
    def root(self) -> ExplainNode:
        return ExplainNode(self["root"])

    def __str__(self) -> str:
        lines = [f"{self.rule}: {'member' if self.matched else 'not a member'}"]

        def walk(node: ExplainNode, depth: int) -> None:
            observed = f"  [{node.observed}]" if node.observed else ""
            lines.append(f"{'  ' * depth}{node.truth.upper():7} {node.clause}{observed}")
            for child in node.children:
                walk(child, depth + 1)

        walk(self.root, 1)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        verdict = "member" if self.matched else "not a member"
        return (
            f"<div><b>{_html.escape(self.rule)}</b>: {verdict}"
            f"<ul><li>{self.root._html()}</li></ul></div>"
        )


class CompiledRuleSet:
    """A rule set compiled against a schema: evaluate it for many profiles.

    Immutable and thread-safe; evaluation releases the GIL.
    """

    __slots__ = ("_inner", "_names")

    def __init__(self, ruleset: Union[RuleSet, str, Mapping[str, Any]], schema: Union[Schema, JsonDoc]) -> None:
        if not isinstance(schema, Schema):
            schema = Schema.from_json(schema)
        if isinstance(ruleset, str):
            ruleset = RuleSet.parse(ruleset)
        elif not isinstance(ruleset, RuleSet):
            ruleset = RuleSet.from_json(ruleset)
        if ruleset._source is not None:
            # Compile from the text so errors carry line and column.
            self._inner = _native.CompiledRuleSet.from_text(ruleset._source, schema._inner)
        else:
            self._inner = _native.CompiledRuleSet(ruleset._inner, schema._inner)
        self._names: List[str] = self._inner.rule_names

    @property
    def rule_names(self) -> List[str]:
        """Rule names in declaration order."""
        return list(self._names)

    def evaluate(
        self,
        profile: ProfileLike,
        events: EventsLike,
        now: Instant,
        default_zone: Optional[str] = None,
    ) -> Dict[str, bool]:
        """Memberships of one profile: ``{rule name: bool}`` in declaration order.

        ``profile`` is a :class:`Profile`, a dict or JSON text; ``events`` an
        :class:`EventLog`, a list of dicts, JSON text or ``None``; ``now`` RFC 3339
        text or an aware ``datetime``; ``default_zone`` the zone for calendar
        windows when the profile has none (default UTC).
        """
        if events is None and isinstance(profile, (dict, Profile)):
            # Fast path: no JSON text, no event log, GIL kept (see docs/benchmarks.md).
            native = profile._inner if isinstance(profile, Profile) else profile
            fast = self._inner.evaluate_one(native, now if isinstance(now, str) else _instant(now), default_zone)
            if fast is not None:
                return dict(zip(self._names, fast))
        flags = self._inner.evaluate(
            _profile_arg(profile), _events_arg(events), _instant(now), default_zone
        )
        return dict(zip(self._names, flags))

    def matcher(self, rule: str, now: Instant, default_zone: Optional[str] = None) -> "Matcher":
        """A fast callable for one rule at a fixed ``now``: ``m(traits) -> bool``.

        ``traits`` is a dict of trait name → value (the ``"traits"`` of a profile
        dict). ``m(traits)`` equals ``self.evaluate({"id": "matcher", "traits":
        traits}, None, now, default_zone)[rule]`` — same answers, same errors —
        but reads the dict in place (no profile is built) and returns a plain
        ``bool``; use it to test many profiles one call at a time. The profile
        has no events, tags, consents, identities, scores or zone.
        """
        return self._inner.matcher(rule, _instant(now), default_zone)

    def explain(
        self,
        profile: ProfileLike,
        events: EventsLike,
        now: Instant,
        rule: str,
        default_zone: Optional[str] = None,
    ) -> Explanation:
        """Explains rule ``rule``'s verdict for one profile (same inputs as :meth:`evaluate`)."""
        text = self._inner.explain(
            _profile_arg(profile), _events_arg(events), _instant(now), rule, default_zone
        )
        return Explanation(_json.loads(text))

    def evaluate_table(
        self,
        profiles: Any,
        events: Any = None,
        *,
        now: Instant,
        default_zone: Optional[str] = None,
        id_column: str = "id",
        traits: Union[Mapping[str, str], Sequence[str], None] = None,
        time_zone_column: Optional[str] = None,
        user_id_column: str = "user_id",
        event_name_column: str = "name",
        timestamp_column: str = "timestamp",
        event_id_column: Optional[str] = None,
        properties: Union[Mapping[str, str], Sequence[str], None] = None,
        threads: Optional[int] = None,
    ) -> Any:
        """Evaluates every profile of an Arrow table at once; returns a ``pyarrow.Table``.

        ``profiles`` and ``events`` are any Arrow-compatible tables (pyarrow Table or
        RecordBatchReader, polars DataFrame, anything with ``__arrow_c_stream__``;
        pandas DataFrames go through pyarrow). Profiles have one row per user:
        ``id_column`` and trait columns (``traits``: a list of column names equal to
        trait names, a ``{column: trait}`` mapping, or ``None`` for every other
        column). Events have one row per event: ``user_id_column``,
        ``event_name_column``, ``timestamp_column`` (Arrow timestamps; naive ones
        are read as UTC; or RFC 3339 text), optional ``event_id_column`` and
        property columns (``properties``, like ``traits``). Nulls mean "missing".
        Events of users not in ``profiles`` are ignored (their count is in
        ``table.schema.metadata[b"siyu.unmatched_events"]``).

        The result has ``id_column`` and one bool column per rule, rows in the
        order of ``profiles``. Runs without the GIL on ``threads`` threads (default:
        all cores); the output does not depend on the thread count.
        """
        now_text = _instant(now)
        table, unmatched = self._inner.evaluate_arrow(
            _arrow_stream(profiles, "profiles"),
            None if events is None else _arrow_stream(events, "events"),
            now_text,
            default_zone,
            id_column,
            _pairs(traits),
            time_zone_column,
            user_id_column,
            event_name_column,
            timestamp_column,
            event_id_column,
            _pairs(properties),
            threads,
        )
        metadata = {b"siyu.unmatched_events": str(unmatched).encode(), b"siyu.now": now_text.encode()}
        return table.replace_schema_metadata(metadata)

    def __repr__(self) -> str:
        return f"CompiledRuleSet(rules={self._names!r})"


def _pairs(spec: Union[Mapping[str, str], Sequence[str], None]) -> Optional[List[Tuple[str, str]]]:
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        return [(str(k), str(v)) for k, v in spec.items()]
    if isinstance(spec, str):
        return [(spec, spec)]
    return [(str(c), str(c)) for c in spec]


def _arrow_stream(data: Any, what: str) -> Any:
    """Anything the Arrow PyCapsule stream interface accepts; pandas through pyarrow."""
    if hasattr(data, "__arrow_c_stream__"):
        return data
    module = type(data).__module__ or ""
    if module.startswith("pandas"):
        import pyarrow as pa  # type: ignore[import-untyped]

        return pa.Table.from_pandas(data, preserve_index=False)
    raise InvalidArgumentError(
        f"{what}: expected an Arrow table (pyarrow, polars, pandas or any object with "
        f"__arrow_c_stream__), got {type(data).__name__}"
    )


def parse_zone(name: str) -> str:
    """The canonical name of a time zone (IANA name, ``UTC`` or a fixed offset like ``+08:00``)."""
    return _native.parse_zone(name)


# The layering engines and RFM build on the classes above.
from ._layering import Lifecycle, PointsModel, TagRules, erase, merge_profiles, sample_schema  # noqa: E402
from . import rfm  # noqa: E402
from ._bulk import ResultBatches, evaluate_batches, evaluate_table  # noqa: E402

__all__ = [
    "Schema",
    "RuleSet",
    "Profile",
    "EventLog",
    "CompiledRuleSet",
    "Matcher",
    "Explanation",
    "ExplainNode",
    "SiyuError",
    "ERROR_CLASSES",
    "class_name",
    "parse_zone",
    "Lifecycle",
    "TagRules",
    "PointsModel",
    "merge_profiles",
    "erase",
    "sample_schema",
    "rfm",
    "evaluate_table",
    "evaluate_batches",
    "ResultBatches",
    *(cls.__name__ for cls in ERROR_CLASSES.values()),
]


# --- Journeys (siyu/journeys.py): engine, validation, state encoding, simulation, Mermaid ---
from . import journeys  # noqa: E402
from .journeys import (  # noqa: E402
    JourneyDiagram,
    JourneyEngine,
    SimulationReport,
    UserJourneys,
    bucket_hash,
    decode_journey_state,
    encode_journey_state,
    journey_mermaid,
    simulate_journeys,
    validate_journey,
)

__all__ += [
    "JourneyEngine",
    "UserJourneys",
    "JourneyDiagram",
    "SimulationReport",
    "validate_journey",
    "simulate_journeys",
    "journey_mermaid",
    "encode_journey_state",
    "decode_journey_state",
    "bucket_hash",
]
