"""Layering engines: lifecycle stages, rule-driven tags, points/levels/tiers,
identity merge and erasure.

Definitions (models, tag rules, policies, requests) are accepted as dicts or
JSON text; results are plain dicts and lists in the core's document forms
(the same documents every siyu binding reads and writes). Persisted state —
stage states, ledgers, tier states — is a dict you store and pass back.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
from typing import Any, Dict, List, Optional, Union

from . import (
    EventsLike,
    Explanation,
    Instant,
    JsonDoc,
    ProfileLike,
    Schema,
    _events_arg,
    _instant,
    _native,
    _profile_arg,
    _to_json,
)
from ._columns import date_text

SchemaLike = Union[Schema, JsonDoc, None]
"""A :class:`Schema`, a schema document, or ``None`` for the sample schema of the
shipped models (:func:`sample_schema`)."""

StateLike = Union[JsonDoc, None]
"""Persisted state (a dict or JSON text) or ``None`` for "none yet"."""

DateLike = Union[str, _dt.date]
"""A calendar date: ``YYYY-MM-DD`` text or a ``date``."""


def _optional_json(doc: Any) -> Optional[str]:
    return None if doc is None else _to_json(doc)


def _native_schema(schema: SchemaLike) -> Optional[_native.Schema]:
    if schema is None:
        return None
    if not isinstance(schema, Schema):
        schema = Schema.from_json(schema)
    return schema._inner


def _required_schema(schema: Union[Schema, JsonDoc]) -> _native.Schema:
    return schema._inner if isinstance(schema, Schema) else Schema.from_json(schema)._inner


def _loads(text: str) -> Any:
    return _json.loads(text)


def sample_schema() -> Schema:
    """The sample schema the shipped lifecycle and points models are written against
    (events such as ``purchase{amount, category}``, ``message_opened``, ``check_in``;
    tag groups ``lifecycle``, ``rfm_segment``, ``interest``…)."""
    return Schema.from_json(_native.sample_schema_json())


class Lifecycle:
    """A lifecycle model compiled against a schema: which stage is a profile in?

    ``Lifecycle()`` is the shipped model (prospect, new, activated, first_purchase,
    repeat, loyal, at_risk, dormant, churned, won_back) on the sample schema.
    Immutable and thread-safe; evaluation releases the GIL.
    """

    __slots__ = ("_inner",)

    def __init__(self, model: Union[JsonDoc, None] = None, schema: SchemaLike = None) -> None:
        self._inner = _native.Lifecycle(_optional_json(model), _native_schema(schema))

    @property
    def rule_names(self) -> List[str]:
        """The compiled stage rules (``stage__<name>``), in declaration order."""
        return self._inner.rule_names

    def model(self) -> Dict[str, Any]:
        """The model document."""
        out: Dict[str, Any] = _loads(self._inner.model_json())
        return out

    def evaluate(
        self,
        profile: ProfileLike,
        events: EventsLike,
        now: Instant,
        previous: StateLike = None,
        default_zone: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Classifies the profile at ``now``.

        ``previous`` is the ``state`` of the last evaluation (``None`` the first
        time). Returns ``{"state", "matched", "rule", "reason", "held",
        "transition"}``: store ``state`` for next time; ``reason`` is the
        :class:`Explanation` of the deciding rule; ``transition`` is set when
        the stage changed.
        """
        out: Dict[str, Any] = _loads(
            self._inner.evaluate(
                _profile_arg(profile),
                _events_arg(events),
                _instant(now),
                _optional_json(previous),
                default_zone,
            )
        )
        if out.get("reason") is not None:
            out["reason"] = Explanation(out["reason"])
        return out

    def replay(
        self,
        profile: ProfileLike,
        events: EventsLike,
        start: DateLike,
        end: DateLike,
        default_zone: Optional[str] = None,
        initial: StateLike = None,
    ) -> List[Dict[str, Any]]:
        """The stage on each local day from ``start`` to ``end`` (inclusive):
        ``[{"date", "stage", "transition"}]``. Day ``D``'s stage is evaluated at
        the start of ``D + 1`` with the events before it, so dwell times and
        transition limits apply as they would have live."""
        out: List[Dict[str, Any]] = _loads(
            self._inner.replay(
                _profile_arg(profile),
                _events_arg(events),
                date_text(start, "start"),
                date_text(end, "end"),
                default_zone,
                _optional_json(initial),
            )
        )
        return out

    def __repr__(self) -> str:
        return f"Lifecycle(stages={self.rule_names!r})"


class TagRules:
    """Tag rules compiled against a schema: add, remove and expire rule-owned tags.

    Applying is idempotent; manual and imported tags are never touched.
    """

    __slots__ = ("_inner",)

    def __init__(self, rules: JsonDoc, schema: SchemaLike = None) -> None:
        self._inner = _native.TagRules(_to_json(rules), _native_schema(schema))

    def apply(
        self,
        profile: ProfileLike,
        events: EventsLike,
        now: Instant,
        default_zone: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Applies the rules at ``now``: ``{"diff": {"added", "removed",
        "expired"}, "profile"}`` where ``profile`` is the updated profile
        document (store it) and each diff entry carries its reason."""
        out: Dict[str, Any] = _loads(
            self._inner.apply(_profile_arg(profile), _events_arg(events), _instant(now), default_zone)
        )
        return out


LedgerLike = StateLike
"""A ledger document (dict or JSON text) as returned by :class:`PointsModel`, or
``None`` for a new, empty ledger."""


class PointsModel:
    """Points (earn rules, caps, FIFO expiry), levels, tiers with grace periods
    and an engagement score.

    Ledgers are documents you keep: each method takes a ledger and returns the
    new one; a failed call raises and changes nothing. ``PointsModel()`` is the
    shipped model on the sample schema.
    """

    __slots__ = ("_inner",)

    def __init__(self, model: Union[JsonDoc, None] = None, schema: SchemaLike = None) -> None:
        self._inner = _native.PointsModel(_optional_json(model), _native_schema(schema))

    def model(self) -> Dict[str, Any]:
        """The model document."""
        out: Dict[str, Any] = _loads(self._inner.model_json())
        return out

    def apply_event(
        self, ledger: LedgerLike, event: JsonDoc, zone: Optional[str] = None
    ) -> Dict[str, Any]:
        """Earns points for one event: ``{"ledger", "entries"}`` (the new ledger and
        its new earn entries). Caps per day/week/month count in ``zone`` (default UTC)."""
        out: Dict[str, Any] = _loads(
            self._inner.apply_event(_optional_json(ledger), _to_json(event), zone)
        )
        return out

    def apply_events(
        self, ledger: LedgerLike, events: EventsLike, now: Instant, zone: Optional[str] = None
    ) -> Dict[str, Any]:
        """Earns points for every event at or before ``now`` not yet in the ledger,
        then expires due lots; returns the new ledger."""
        out: Dict[str, Any] = _loads(
            self._inner.apply_events(_optional_json(ledger), _events_arg(events), _instant(now), zone)
        )
        return out

    def redeem(
        self, ledger: LedgerLike, points: int, at: Instant, reference: str = ""
    ) -> Dict[str, Any]:
        """Redeems ``points`` (oldest lots first): ``{"ledger", "entry"}``. Raises
        ``InvalidArgumentError`` when the balance is too small."""
        out: Dict[str, Any] = _loads(
            self._inner.redeem(_optional_json(ledger), points, _instant(at), reference)
        )
        return out

    def expire(self, ledger: LedgerLike, now: Instant) -> Dict[str, Any]:
        """Expires the lots due at or before ``now``; returns the new ledger."""
        out: Dict[str, Any] = _loads(self._inner.expire(_optional_json(ledger), _instant(now)))
        return out

    def summary(self, ledger: LedgerLike, now: Instant) -> Dict[str, Any]:
        """``{"balance", "lifetime", "level", "benefits", "entries", "lots"}`` at ``now``."""
        out: Dict[str, Any] = _loads(self._inner.summary(_optional_json(ledger), _instant(now)))
        return out

    def evaluate_tier(
        self, ledger: LedgerLike, events: EventsLike, now: Instant, state: StateLike = None
    ) -> Dict[str, Any]:
        """The membership tier at ``now`` given the previous tier ``state``:
        ``{"state", "tier", "benefits", "qualified", "in_grace", "change", …}``.
        Store ``state`` for the next evaluation (it carries the grace clock)."""
        out: Dict[str, Any] = _loads(
            self._inner.evaluate_tier(
                _optional_json(ledger), _events_arg(events), _instant(now), _optional_json(state)
            )
        )
        return out

    def engagement(self, events: EventsLike, now: Instant) -> float:
        """The engagement score of an event history at ``now`` (decayed, capped)."""
        return self._inner.engagement(_events_arg(events), _instant(now))


def merge_profiles(
    schema: Union[Schema, JsonDoc],
    primary: ProfileLike,
    secondary: ProfileLike,
    primary_events: EventsLike = None,
    secondary_events: EventsLike = None,
    policy: Union[JsonDoc, None] = None,
) -> Dict[str, Any]:
    """Merges ``secondary`` (and its events) into ``primary`` under a merge policy
    (``None``: the default policy). Returns ``{"profile", "events", "changes"}``:
    the merged profile, the merged events and every decision taken."""
    out: Dict[str, Any] = _loads(
        _native.merge_profiles(
            _required_schema(schema),
            _profile_arg(primary),
            _events_arg(primary_events),
            _profile_arg(secondary),
            _events_arg(secondary_events),
            _optional_json(policy),
        )
    )
    return out


def erase(
    schema: Union[Schema, JsonDoc],
    profile: ProfileLike,
    events: EventsLike = None,
    request: Union[JsonDoc, None] = None,
) -> Dict[str, Any]:
    """Erases a person's personal data from a profile and its events.

    ``request`` says what to erase; ``None`` (or ``{}``) removes identities,
    traits marked ``personal`` and personal event properties. Other fields:
    ``identity_namespaces``, ``all_traits``, ``delete_events``, ``remove_tags``,
    ``remove_scores``, ``remove_consents``, ``replacement_id``. Returns
    ``{"profile", "events", "erased"}``; ``erased`` counts what was removed and
    names fields, never values, so it can go into an audit log."""
    out: Dict[str, Any] = _loads(
        _native.erase(_required_schema(schema), _profile_arg(profile), _events_arg(events), _optional_json(request))
    )
    return out
