"""Journeys (自动化旅程 / SOP): step users through journey definitions, validate,
simulate and draw them.

A :class:`JourneyEngine` holds journey definitions (all versions), the engine
policies (consent, frequency caps, quiet hours) and a schema. :meth:`JourneyEngine.step`
processes one input for one user across all journeys and returns the effects for
the host to carry out, notices, the next wake-up and the new user state (a dict,
or ``bytes`` in the versioned binary form). All behaviour is in the Rust core
(``siyu_core::journey``); semantics are in ``docs/journeys.md``.
"""

from __future__ import annotations

import html as _html
import json as _json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import (
    EventLog,
    EventsLike,
    Instant,
    JsonDoc,
    Profile,
    ProfileLike,
    Schema,
    _arrow_stream,
    _events_arg,
    _instant,
    _native,
    _pairs,
    _profile_arg,
    _to_json,
)
from ._errors import InvalidArgumentError

__all__ = [
    "JourneyEngine",
    "UserJourneys",
    "StepResult",
    "MigrationResult",
    "ValidationReport",
    "SimulationReport",
    "JourneyDiagram",
    "validate_journey",
    "simulate_journeys",
    "journey_mermaid",
    "encode_journey_state",
    "encode_journey_instances",
    "decode_journey_state",
    "bucket_hash",
]

StateLike = Union[Mapping[str, Any], bytes, bytearray, memoryview, str, None]
"""A user's journey state: its JSON form (dict or text), its binary form, or
``None`` for a user with no instances yet."""

InputLike = Union[Mapping[str, Any], str, None]
"""A step input: ``{"type": "event", "event": {...}}``, ``{"type": "tick"}``,
``{"type": "profile_changed"}``, ``{"type": "outcome", "effect": id, "status":
"delivered"|"failed"}``, ``{"type": "enter", "journey": id, "key"?: k}``; the
strings ``"tick"`` and ``"profile_changed"`` and ``None`` (a tick) as shorthands."""

DefinitionsLike = Union[str, Mapping[str, Any], Sequence[Union[str, Mapping[str, Any]]]]
"""Journey definitions: a list of definition dicts (or JSON texts), one
definition dict, or JSON text of either."""


def _definitions_text(definitions: DefinitionsLike) -> str:
    if isinstance(definitions, (str, bytes)):
        text = definitions.decode("utf-8") if isinstance(definitions, bytes) else definitions
        return text if text.lstrip().startswith("[") else f"[{text}]"
    if isinstance(definitions, Mapping):
        return _to_json([definitions])
    items = [_json.loads(d) if isinstance(d, str) else d for d in definitions]
    return _to_json(items)


def _state_arg(state: StateLike) -> Union[bytes, str, None]:
    if state is None or isinstance(state, bytes):
        return state
    if isinstance(state, (bytearray, memoryview)):
        return bytes(state)
    if isinstance(state, str):
        return state
    if isinstance(state, Mapping):
        return _to_json(state)
    raise InvalidArgumentError(
        f"state: expected a dict, JSON text, bytes or None, got {type(state).__name__}"
    )


def _input_text(input: InputLike) -> str:
    if input is None:
        return '{"type":"tick"}'
    if isinstance(input, str):
        if input.lstrip().startswith("{"):
            return input
        return _to_json({"type": input})
    return _to_json(input)


def _wants_binary(state: StateLike, state_format: Optional[str]) -> bool:
    if state_format is None:
        return isinstance(state, (bytes, bytearray, memoryview))
    if state_format not in ("json", "bytes"):
        raise InvalidArgumentError(
            f'state_format is "json" or "bytes", got {state_format!r}', path="state_format"
        )
    return state_format == "bytes"


def _state_out(doc: Dict[str, Any], binary: Optional[bytes]) -> Union[Dict[str, Any], bytes]:
    if binary is not None:
        return binary
    state: Dict[str, Any] = doc["state"]
    return state


@dataclass(frozen=True)
class StepResult:
    """What one step produced.

    ``effects`` are for the host to carry out in order (use each ``id`` as the
    idempotency key); ``notices`` say what happened (entries, exits, suppressions,
    deferrals …); call again with a tick at ``next_wake`` (RFC 3339, UTC) at the
    latest; persist ``state`` (a dict, or ``bytes`` in the binary form).
    """

    effects: List[Dict[str, Any]]
    notices: List[Dict[str, Any]]
    next_wake: Optional[str]
    state: Union[Dict[str, Any], bytes]

    @property
    def instances(self) -> List[Dict[str, Any]]:
        """The user's running instances (decoded from the binary form if needed)."""
        state = self.state if isinstance(self.state, dict) else decode_journey_state(self.state)
        out: List[Dict[str, Any]] = state.get("instances", [])
        return out

    def _repr_html_(self) -> str:
        def rows(items: List[Dict[str, Any]], keys: Sequence[str]) -> str:
            return "".join(
                "<tr>" + "".join(f"<td>{_html.escape(str(i.get(k, '')))}</td>" for k in keys) + "</tr>"
                for i in items
            )

        def head(keys: Sequence[str]) -> str:
            return "".join(f"<th>{k}</th>" for k in keys)

        effect_keys = ("at", "type", "journey", "node", "template")
        notice_keys = ("at", "type", "journey", "node", "reason")
        return (
            f"<div><b>Effects</b><table><tr>{head(effect_keys)}</tr>{rows(self.effects, effect_keys)}</table>"
            f"<b>Notices</b><table><tr>{head(notice_keys)}</tr>{rows(self.notices, notice_keys)}</table>"
            f"next wake: {_html.escape(str(self.next_wake))}</div>"
        )


@dataclass(frozen=True)
class MigrationResult:
    """A migration (or its dry run): per instance ``moves`` (``key``, ``seq``,
    ``from_node``, ``to_node`` or ``problem``) and the resulting ``state`` (the
    input state for a dry run)."""

    moves: List[Dict[str, Any]]
    state: Union[Dict[str, Any], bytes]

    @property
    def clean(self) -> bool:
        """Whether every instance can move."""
        return all("problem" not in m for m in self.moves)


@dataclass(frozen=True)
class ValidationReport:
    """What validation learns about a valid definition: the most messages one
    instance can send within any 24 hours along any path (``None`` when an
    event-driven loop makes it unbounded) and the node count."""

    max_messages_per_day: Optional[int]
    nodes: int

    @classmethod
    def _from(cls, doc: Mapping[str, Any]) -> "ValidationReport":
        return cls(doc.get("max_messages_per_day"), int(doc["nodes"]))


class JourneyDiagram:
    """A journey as a Mermaid flowchart.

    ``str(diagram)`` (or ``.text``) is the Mermaid source; in Jupyter it renders
    as a diagram (``_repr_markdown_`` gives a ```` ```mermaid ```` block, which
    JupyterLab ≥ 4.1 draws natively; ``_repr_html_`` loads mermaid.js from a CDN
    and shows the source when offline).
    """

    __slots__ = ("text", "title")

    def __init__(self, text: str, title: Optional[str] = None) -> None:
        self.text = text
        self.title = title

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"JourneyDiagram({self.title or ''!s}, {len(self.text.splitlines())} lines)"

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.text}\n```"

    def _repr_html_(self) -> str:
        caption = f"<div><b>{_html.escape(self.title)}</b></div>" if self.title else ""
        return (
            f'<div class="siyu-journey">{caption}<pre class="mermaid">{_html.escape(self.text)}</pre>'
            '<script type="module">import mermaid from '
            '"https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs";'
            "mermaid.run();</script></div>"
        )


_NODE_COUNTS = ("entered", "waiting", "exited", "converted", "completed")


@dataclass(frozen=True)
class SimulationReport:
    """A simulation's forecast: counts per journey and node, messages per local
    day, suppressions and deferrals by reason, effects by type.

    ``journeys`` maps each journey id to ``{"entered", "entry_skipped",
    "completed", "converted", "exited", "nodes": {node: {"entered", "waiting",
    "exited", "converted", "completed"}}}``. :meth:`nodes_table` gives the node
    counts as a table (every node of every loaded journey, zeros included).
    """

    users: int
    steps: int
    journeys: Dict[str, Dict[str, Any]]
    messages_per_day: Dict[str, int]
    suppressions: Dict[str, int]
    deferrals: Dict[str, int]
    effects: Dict[str, int]
    unmatched_events: int = 0
    _node_order: Dict[str, List[str]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def max_messages_per_day(self) -> int:
        """The busiest day's message count across all simulated users."""
        return max(self.messages_per_day.values(), default=0)

    def to_dict(self) -> Dict[str, Any]:
        """The report as the core's JSON document (as a dict)."""
        return {
            "users": self.users,
            "steps": self.steps,
            "journeys": self.journeys,
            "messages_per_day": self.messages_per_day,
            "suppressions": self.suppressions,
            "deferrals": self.deferrals,
            "effects": self.effects,
        }

    def _node_rows(self) -> List[Tuple[str, str, Dict[str, Any]]]:
        rows: List[Tuple[str, str, Dict[str, Any]]] = []
        for journey in sorted(set(self._node_order) | set(self.journeys)):
            counted: Dict[str, Any] = self.journeys.get(journey, {}).get("nodes", {})
            order = list(self._node_order.get(journey, []))
            order += sorted(n for n in counted if n not in order)
            rows.extend((journey, node, counted.get(node, {})) for node in order)
        return rows

    def nodes_table(self) -> Any:
        """Per-node counts as a ``pyarrow.Table``: ``journey``, ``node`` (in
        definition order) and ``entered``, ``waiting``, ``exited``, ``converted``,
        ``completed`` (int64)."""
        import pyarrow as pa  # type: ignore[import-untyped]

        rows = self._node_rows()
        columns: Dict[str, Any] = {
            "journey": pa.array([r[0] for r in rows], pa.string()),
            "node": pa.array([r[1] for r in rows], pa.string()),
        }
        for c in _NODE_COUNTS:
            columns[c] = pa.array([int(r[2].get(c, 0)) for r in rows], pa.int64())
        return pa.table(columns)

    def to_pandas(self) -> Any:
        """:meth:`nodes_table` as a pandas DataFrame."""
        return self.nodes_table().to_pandas()

    def to_polars(self) -> Any:
        """:meth:`nodes_table` as a polars DataFrame."""
        import polars as pl

        return pl.from_arrow(self.nodes_table())

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in ("journey", "node", *_NODE_COUNTS))
        body = "".join(
            "<tr>"
            + f"<td>{_html.escape(j)}</td><td>{_html.escape(n)}</td>"
            + "".join(f"<td>{int(c.get(k, 0))}</td>" for k in _NODE_COUNTS)
            + "</tr>"
            for j, n, c in self._node_rows()
        )
        supp = ", ".join(f"{k}: {v}" for k, v in self.suppressions.items()) or "none"
        return (
            f"<div><b>Journey simulation</b>: {self.users} users, {self.steps} steps, "
            f"{sum(self.messages_per_day.values())} messages (busiest day "
            f"{self.max_messages_per_day}), suppressed: {_html.escape(supp)}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


class JourneyEngine:
    """Journey definitions (all versions) compiled against a schema under engine
    policies. Immutable and thread-safe; steps release the GIL.

    ``definitions``: a list of definition dicts or JSON texts (or one definition,
    or JSON text of an array). ``schema``: a :class:`siyu.Schema`, dict or JSON
    text (default: empty — journeys then may use no traits or events).
    ``policies``: ``{"default_zone", "caps", "quiet_hours", …}`` (dict or text;
    default: none). Invalid definitions raise ``InvalidModelError`` (and friends)
    with the path of the offending field.
    """

    __slots__ = ("_inner",)

    def __init__(
        self,
        definitions: DefinitionsLike,
        schema: Union[Schema, JsonDoc, None] = None,
        policies: Optional[JsonDoc] = None,
    ) -> None:
        if schema is not None and not isinstance(schema, Schema):
            schema = Schema.from_json(schema)
        self._inner = _native.JourneyEngine(
            _definitions_text(definitions),
            None if schema is None else schema._inner,
            None if policies is None else _to_json(policies),
        )

    @property
    def definitions(self) -> List[Tuple[str, int]]:
        """``(id, version)`` of every loaded definition."""
        return self._inner.definitions()

    @property
    def schema(self) -> Schema:
        """The schema the definitions were checked against."""
        return Schema.from_json(self._inner.schema_json())

    def definition(self, id: str, version: Optional[int] = None) -> Dict[str, Any]:
        """A loaded definition (latest version unless given) as a dict."""
        out: Dict[str, Any] = _json.loads(self._inner.definition(id, version))
        return out

    def reports(self) -> Dict[str, ValidationReport]:
        """The validation report of every journey id (latest version)."""
        docs = _json.loads(self._inner.reports())
        return {k: ValidationReport._from(v) for k, v in docs.items()}

    def mermaid(self, id: str, version: Optional[int] = None) -> JourneyDiagram:
        """The Mermaid flowchart of a loaded journey; displays as a diagram in Jupyter."""
        return JourneyDiagram(self._inner.mermaid(id, version), id)

    def step(
        self,
        state: StateLike,
        profile: ProfileLike,
        events: EventsLike,
        input: InputLike,
        now: Instant,
        *,
        state_format: Optional[str] = None,
    ) -> StepResult:
        """Processes one input for one user at ``now`` across all journeys.

        ``state`` is the user's persisted state (dict, JSON text, ``bytes`` in the
        binary form, or ``None`` for a new user); ``profile`` a :class:`siyu.Profile`,
        dict or JSON text; ``events`` the user's event history (an event input is
        added to it); ``input`` see :data:`InputLike`; ``now`` RFC 3339 text or an
        aware ``datetime``. The new state comes back in the form given (``bytes``
        for ``bytes``, else a dict) unless ``state_format`` is ``"json"`` or
        ``"bytes"``. Pure: the input state is not modified, and on error nothing
        changed. A ``now`` earlier than the last one seen is clamped (notice
        ``clock_clamped``); items that fell due in between run at their due time.
        """
        binary = _wants_binary(state, state_format)
        text, raw = self._inner.step(
            _state_arg(state),
            _profile_arg(profile),
            _events_arg(events),
            _input_text(input),
            _instant(now),
            binary,
        )
        doc = _json.loads(text)
        return StepResult(doc["effects"], doc["notices"], doc["next_wake"], _state_out(doc, raw))

    def migrate(
        self,
        state: StateLike,
        map: JsonDoc,
        now: Instant,
        *,
        dry_run: bool = False,
        state_format: Optional[str] = None,
    ) -> MigrationResult:
        """Moves a user's instances between versions of one journey per ``map``
        (``{"journey", "from_version", "to_version", "nodes"?: {old: new}}``); all
        or nothing. With ``dry_run`` only reports who would move where (and any
        ``problem``). The state comes back in the form given, as for :meth:`step`."""
        if state is None:
            raise InvalidArgumentError("migrate needs a state", path="state")
        binary = _wants_binary(state, state_format)
        arg = _state_arg(state)
        assert arg is not None
        text, raw = self._inner.migrate(arg, _to_json(map), _instant(now), dry_run, binary)
        doc = _json.loads(text)
        return MigrationResult(doc["moves"], _state_out(doc, raw))

    def user(
        self,
        profile: ProfileLike,
        events: Optional[Sequence[Mapping[str, Any]]] = None,
        state: StateLike = None,
    ) -> "UserJourneys":
        """One user's journeys held in memory (profile, event history, state) for
        repeated :meth:`UserJourneys.step` calls — handy in notebooks and tests."""
        return UserJourneys(self, profile, events, state)

    def simulate(
        self,
        users: Any,
        events: Any = None,
        *,
        start: Instant,
        end: Instant,
        **columns: Any,
    ) -> SimulationReport:
        """See :func:`simulate_journeys`."""
        return simulate_journeys(self, users, events, start=start, end=end, **columns)

    def __repr__(self) -> str:
        ids = ", ".join(f"{i} v{v}" for i, v in self.definitions)
        return f"JourneyEngine({ids})"


class UserJourneys:
    """One user's journeys held in memory: the engine, the user's profile, event
    history and journey state. :meth:`step` keeps the new state (and adds an
    event input to the history) only when the step succeeds, as a host would.
    """

    __slots__ = ("engine", "profile", "events", "_state", "_next_wake")

    def __init__(
        self,
        engine: JourneyEngine,
        profile: ProfileLike,
        events: Optional[Sequence[Mapping[str, Any]]] = None,
        state: StateLike = None,
    ) -> None:
        self.engine = engine
        self.profile = profile
        self.events: List[Mapping[str, Any]] = list(events or [])
        arg = _state_arg(state)
        self._state: Optional[bytes] = (
            None if arg is None else arg if isinstance(arg, bytes) else encode_journey_state(arg)
        )
        self._next_wake: Optional[str] = None

    def step(self, input: InputLike = None, now: Optional[Instant] = None) -> StepResult:
        """Steps the user with ``input`` (default: a tick) at ``now`` (default: the
        wake-up the previous step announced — an error when there is none)."""
        if now is None:
            if self._next_wake is None:
                raise InvalidArgumentError("now is needed: no wake-up was announced", path="now")
            now = self._next_wake
        r = self.engine.step(self._state, self.profile, self.events, input, now, state_format="bytes")
        assert isinstance(r.state, bytes)
        self._state = r.state
        self._next_wake = r.next_wake
        if isinstance(input, Mapping) and input.get("type") == "event":
            self.events.append(input["event"])
        return StepResult(r.effects, r.notices, r.next_wake, self.state)

    @property
    def state(self) -> Dict[str, Any]:
        """The journey state (JSON form)."""
        if self._state is None:
            return {}
        return decode_journey_state(self._state)

    def state_bytes(self) -> Optional[bytes]:
        """The journey state in the binary form (``None`` before the first step)."""
        return self._state

    @property
    def next_wake(self) -> Optional[str]:
        """The wake-up the last step announced (RFC 3339), or ``None``."""
        return self._next_wake

    def __repr__(self) -> str:
        nodes = [f"{i['journey']}@{i['node']}" for i in self.state.get("instances", [])]
        return f"UserJourneys({', '.join(nodes) or 'no instances'})"


def _is_table(data: Any) -> bool:
    return hasattr(data, "__arrow_c_stream__") or (type(data).__module__ or "").startswith("pandas")


def _users_json(users: Any, events: Any) -> str:
    """``[{"profile", "events"}]`` from (profile, events) pairs, or from profiles
    plus events grouped by ``user_id`` (a list of event dicts with ``user_id``, or
    a mapping user id → events)."""
    out: List[Dict[str, Any]] = []

    def profile_doc(p: Any) -> Any:
        if isinstance(p, Profile):
            return p.to_dict()
        return _json.loads(p) if isinstance(p, str) else p

    def events_doc(e: Any) -> Any:
        if isinstance(e, EventLog):
            return e.to_list()
        return _json.loads(e) if isinstance(e, str) else list(e or [])

    if events is None:
        for u in users:
            if isinstance(u, Mapping) and "profile" in u:
                out.append({"profile": profile_doc(u["profile"]), "events": events_doc(u.get("events"))})
            elif isinstance(u, (tuple, list)) and len(u) == 2:
                out.append({"profile": profile_doc(u[0]), "events": events_doc(u[1])})
            else:
                out.append({"profile": profile_doc(u), "events": []})
        return _to_json(out)
    grouped: Dict[str, List[Any]] = {}
    if isinstance(events, Mapping):
        grouped = {str(k): list(v) for k, v in events.items()}
    else:
        for e in events:
            if not isinstance(e, Mapping) or "user_id" not in e:
                raise InvalidArgumentError(
                    "events: each event needs a \"user_id\" (or pass {user_id: [events]})",
                    path="events",
                )
            doc = {k: v for k, v in e.items() if k != "user_id"}
            grouped.setdefault(str(e["user_id"]), []).append(doc)
    for p in users:
        doc = profile_doc(p)
        out.append({"profile": doc, "events": grouped.get(str(doc.get("id")), [])})
    return _to_json(out)


def simulate_journeys(
    engine: JourneyEngine,
    users: Any,
    events: Any = None,
    *,
    start: Instant,
    end: Instant,
    id_column: str = "id",
    traits: Union[Mapping[str, str], Sequence[str], None] = None,
    time_zone_column: Optional[str] = None,
    user_id_column: str = "user_id",
    event_name_column: str = "name",
    timestamp_column: str = "timestamp",
    event_id_column: Optional[str] = None,
    properties: Union[Mapping[str, str], Sequence[str], None] = None,
    threads: Optional[int] = None,
) -> SimulationReport:
    """Replays users' events in ``[start, end)`` through ``engine`` (ticking at
    every wake-up in between, from empty state) and counts what would happen —
    a forecast before launch.

    ``users`` is either an Arrow table of profiles (pyarrow/polars/pandas, with
    ``events`` an Arrow table of events and the column mapping of
    :meth:`siyu.CompiledRuleSet.evaluate_table`), or a list of profile dicts with
    ``events`` a list of event dicts carrying ``user_id`` (or a mapping user id →
    events), or a list of ``(profile, events)`` pairs / ``{"profile", "events"}``
    dicts with ``events=None``. Runs without the GIL on ``threads`` threads
    (default: all cores); the report does not depend on the thread count.
    """
    unmatched = 0
    if _is_table(users):
        text, unmatched = engine._inner.simulate_arrow(
            _arrow_stream(users, "profiles"),
            None if events is None else _arrow_stream(events, "events"),
            _instant(start),
            _instant(end),
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
    else:
        if isinstance(users, str) or not isinstance(users, Iterable):
            raise InvalidArgumentError(
                f"users: expected a table or a list of profiles, got {type(users).__name__}",
                path="users",
            )
        if events is not None and _is_table(events):
            raise InvalidArgumentError(
                "events is a table, so users must be a table of profiles too", path="users"
            )
        text = engine._inner.simulate(
            _users_json(users, events), _instant(start), _instant(end), threads
        )
    doc = _json.loads(text)
    order = {}
    for jid, _version in engine.definitions:
        nodes = engine.definition(jid).get("nodes", [])
        order[jid] = [str(n["id"]) for n in nodes]
    return SimulationReport(
        users=doc["users"],
        steps=doc["steps"],
        journeys=doc["journeys"],
        messages_per_day=doc["messages_per_day"],
        suppressions=doc["suppressions"],
        deferrals=doc["deferrals"],
        effects=doc["effects"],
        unmatched_events=unmatched,
        _node_order=order,
    )


def validate_journey(definition: JsonDoc, schema: Union[Schema, JsonDoc, None] = None) -> ValidationReport:
    """Checks one journey definition (dict or JSON text) — structure, and against
    ``schema`` when given — and returns its :class:`ValidationReport`
    (``max_messages_per_day``: the worst case per instance). Raises
    ``InvalidModelError`` with a ``reason`` prefix in the message (``unknown_node``,
    ``cycle_without_wait`` …) and the path of the offending field."""
    if schema is not None and not isinstance(schema, Schema):
        schema = Schema.from_json(schema)
    text = _native.validate_journey(_to_json(definition), None if schema is None else schema._inner)
    return ValidationReport._from(_json.loads(text))


def journey_mermaid(definition: JsonDoc) -> JourneyDiagram:
    """The Mermaid flowchart of one journey definition (dict or JSON text)."""
    doc = _json.loads(definition) if isinstance(definition, str) else definition
    title = doc.get("id") if isinstance(doc, Mapping) else None
    return JourneyDiagram(_native.journey_mermaid(_to_json(definition)), title)


def encode_journey_state(state: Union[Mapping[str, Any], str]) -> bytes:
    """A user state (dict or JSON text) in the compact, versioned binary form."""
    return _native.encode_journey_state(_to_json(state))


def encode_journey_instances(state: Union[Mapping[str, Any], str]) -> List[bytes]:
    """Each instance of a user state (dict or JSON text) in its own binary form
    (for hosts that store instances separately)."""
    return _native.encode_journey_instances(_to_json(state))


def decode_journey_state(data: Union[bytes, bytearray, memoryview]) -> Dict[str, Any]:
    """The JSON form (dict) of a user state in the binary form; raises
    ``InvalidStateError`` when corrupt or of an unsupported format version."""
    out: Dict[str, Any] = _json.loads(_native.decode_journey_state(bytes(data)))
    return out


def bucket_hash(seed: str, value: str, version: int = 2) -> Optional[float]:
    """The deterministic bucketing hash in ``[0, 1)`` random splits use
    (GrowthBook-compatible, versions 1 and 2); ``None`` for another version."""
    return _native.bucket_hash(seed, value, version)
