# Type stubs of the native module; checked against the built module by
# `python -m mypy.stubtest siyu._native` in `make test`.
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union, final

__all__ = [
    "analytics_call",
    "clv_expected_average_value",
    "clv_expected_purchases",
    "clv_fit_gamma_gamma",
    "clv_fit_purchase",
    "clv_lifetime_value",
    "clv_predict",
    "clv_summary",
    "clv_value_model",
    "CompiledRuleSet",
    "ERROR_CODES",
    "erase",
    "EventLog",
    "evaluate_outputs",
    "Lifecycle",
    "Matcher",
    "merge_profiles",
    "OutputStream",
    "PointsModel",
    "Profile",
    "rfm_apply",
    "rfm_fit",
    "rfm_score",
    "rfm_score_columns",
    "rfm_segment",
    "rfm_values",
    "RuleSet",
    "sample_schema_json",
    "Schema",
    "TagRules",
    "__version__",
    "_panic_for_test",
    "normalize_timestamp",
    "parse_zone",
]
__version__: str
ERROR_CODES: Tuple[str, ...]

@final
class Schema:
    @staticmethod
    def from_json(text: str) -> Schema: ...
    def to_json(self) -> str: ...

@final
class RuleSet:
    @staticmethod
    def parse(text: str) -> RuleSet: ...
    @staticmethod
    def from_json(text: str) -> RuleSet: ...
    def to_text(self) -> str: ...
    def to_json(self) -> str: ...
    def names(self) -> list[str]: ...

@final
class Profile:
    @staticmethod
    def from_json(text: str, schema: Schema) -> Profile: ...
    def to_json(self) -> str: ...

@final
class EventLog:
    @staticmethod
    def from_json(text: str, schema: Schema) -> EventLog: ...
    def to_json(self) -> str: ...
    def __len__(self) -> int: ...

@final
class Matcher:
    def __call__(self, traits: Mapping[str, Any]) -> bool: ...
    def matches(self, traits: Mapping[str, Any]) -> bool: ...
    @property
    def rule(self) -> str: ...
    @property
    def now(self) -> str: ...

@final
class CompiledRuleSet:
    def __new__(cls, ruleset: RuleSet, schema: Schema) -> CompiledRuleSet: ...
    @staticmethod
    def from_text(text: str, schema: Schema) -> CompiledRuleSet: ...
    @property
    def rule_names(self) -> list[str]: ...
    def evaluate(
        self,
        profile: Union[Profile, str],
        events: Union[EventLog, str],
        now: str,
        default_zone: Optional[str] = None,
    ) -> list[bool]: ...
    def explain(
        self,
        profile: Union[Profile, str],
        events: Union[EventLog, str],
        now: str,
        rule: str,
        default_zone: Optional[str] = None,
    ) -> str: ...
    def evaluate_one(
        self, profile: Any, now: str, default_zone: Optional[str] = None
    ) -> Optional[list[bool]]: ...
    def matcher(self, rule: str, now: str, default_zone: Optional[str] = None) -> Matcher: ...
    def evaluate_arrow(
        self,
        profiles: Any,
        events: Any,
        now: str,
        default_zone: Optional[str] = None,
        id_column: str = ...,
        traits: Optional[Sequence[Tuple[str, str]]] = None,
        time_zone_column: Optional[str] = None,
        user_id_column: str = ...,
        event_name_column: str = ...,
        timestamp_column: str = ...,
        event_id_column: Optional[str] = None,
        properties: Optional[Sequence[Tuple[str, str]]] = None,
        threads: Optional[int] = None,
    ) -> Tuple[Any, int]: ...

def parse_zone(name: str) -> str: ...
def normalize_timestamp(text: str) -> str: ...
def _panic_for_test() -> None: ...

# Value models (src/clv.rs): Arrow columns in, pyarrow arrays/tables or JSON out.
def clv_summary(
    customer_id: Any,
    timestamp: Any,
    value: Any,
    observation_end: str,
    freq: str,
    zone: str,
    decimals: Optional[int] = None,
    calibration_end: Optional[str] = None,
) -> Any: ...
def clv_fit_purchase(
    model: str,
    frequency: Any,
    recency: Any,
    T: Any,
    penalizer: float = 0.0,
    max_evaluations: int = 20000,
) -> Tuple[str, float, int, int, bool]: ...
def clv_predict(params: str, what: str, t: float, frequency: Any, recency: Any, T: Any) -> Any: ...
def clv_expected_purchases(params: str, t: Any) -> Any: ...
def clv_fit_gamma_gamma(
    frequency: Any, monetary_value: Any, penalizer: float = 0.0, max_evaluations: int = 20000
) -> Tuple[str, float, int, int, bool]: ...
def clv_expected_average_value(params: str, frequency: Any, monetary_value: Any) -> Any: ...
def clv_lifetime_value(
    purchase: str,
    spend: str,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    months: int,
    monthly_discount_rate: float,
    freq: str,
) -> Any: ...
def clv_value_model(text: str) -> str: ...

# Analytics (src/analytics.rs): one entry point, JSON arguments and result.
def analytics_call(
    name: str,
    args: str,
    events: Optional[Tuple[Any, Any, Any]] = None,
    rows: Optional[Tuple[Any, Any, Optional[Any]]] = None,
) -> str: ...

# Layering engines (src/lifecycle.rs, tags.rs, points.rs, rfm.rs, identity.rs):
# JSON text in and out; the Python layer makes dicts.
_ProfileIn = Union[Profile, str]
_EventsIn = Union[EventLog, str]

@final
class Lifecycle:
    def __new__(cls, model: Optional[str] = None, schema: Optional[Schema] = None) -> Lifecycle: ...
    @property
    def rule_names(self) -> list[str]: ...
    def model_json(self) -> str: ...
    def evaluate(
        self,
        profile: _ProfileIn,
        events: _EventsIn,
        now: str,
        previous: Optional[str] = None,
        default_zone: Optional[str] = None,
    ) -> str: ...
    def replay(
        self,
        profile: _ProfileIn,
        events: _EventsIn,
        start: str,
        end: str,
        default_zone: Optional[str] = None,
        initial: Optional[str] = None,
    ) -> str: ...

def sample_schema_json() -> str: ...
@final
class TagRules:
    def __new__(cls, rules: str, schema: Optional[Schema] = None) -> TagRules: ...
    def apply(
        self, profile: _ProfileIn, events: _EventsIn, now: str, default_zone: Optional[str] = None
    ) -> str: ...

@final
class PointsModel:
    def __new__(cls, model: Optional[str] = None, schema: Optional[Schema] = None) -> PointsModel: ...
    def model_json(self) -> str: ...
    def apply_event(self, ledger: Optional[str], event: str, zone: Optional[str] = None) -> str: ...
    def apply_events(
        self, ledger: Optional[str], events: _EventsIn, now: str, zone: Optional[str] = None
    ) -> str: ...
    def redeem(self, ledger: Optional[str], points: int, at: str, reference: str = "") -> str: ...
    def expire(self, ledger: Optional[str], now: str) -> str: ...
    def summary(self, ledger: Optional[str], now: str) -> str: ...
    def evaluate_tier(
        self, ledger: Optional[str], events: _EventsIn, now: str, state: Optional[str] = None
    ) -> str: ...
    def engagement(self, events: _EventsIn, now: str) -> float: ...

def rfm_values(
    events: _EventsIn, now: str, config: Optional[str] = None, schema: Optional[Schema] = None
) -> str: ...
def rfm_fit(method: str, population: str) -> str: ...
def rfm_score(thresholds: str, values: str) -> str: ...
def rfm_segment(scores: str, map: Optional[str] = None) -> str: ...
def rfm_apply(
    profile: _ProfileIn,
    events: _EventsIn,
    now: str,
    thresholds: str,
    config: Optional[str] = None,
    map: Optional[str] = None,
    group: Optional[str] = None,
    schema: Optional[Schema] = None,
) -> str: ...
def rfm_score_columns(
    recency: Any,
    frequency: Any,
    monetary: Any,
    method: str = "quantile",
    thresholds: Optional[str] = None,
    map: Optional[str] = None,
) -> Tuple[str, Any]: ...
def merge_profiles(
    schema: Schema,
    primary: _ProfileIn,
    primary_events: _EventsIn,
    secondary: _ProfileIn,
    secondary_events: _EventsIn,
    policy: Optional[str] = None,
) -> str: ...
def erase(schema: Schema, profile: _ProfileIn, events: _EventsIn, request: Optional[str] = None) -> str: ...

# Journeys (src/journey.rs): JSON text in and out; user state as JSON text or bytes.
__all__ += [
    "JourneyEngine",
    "bucket_hash",
    "decode_journey_state",
    "encode_journey_instances",
    "encode_journey_state",
    "journey_mermaid",
    "validate_journey",
]

@final
class JourneyEngine:
    def __new__(
        cls, journeys: str, schema: Optional[Schema] = None, policies: Optional[str] = None
    ) -> JourneyEngine: ...
    def definitions(self) -> list[tuple[str, int]]: ...
    def definition(self, id: str, version: Optional[int] = None) -> str: ...
    def schema_json(self) -> str: ...
    def reports(self) -> str: ...
    def mermaid(self, id: str, version: Optional[int] = None) -> str: ...
    def step(
        self,
        state: Union[bytes, str, None],
        profile: Union[Profile, str],
        events: Union[EventLog, str],
        input: str,
        now: str,
        binary: bool = False,
    ) -> Tuple[str, Optional[bytes]]: ...
    def migrate(
        self, state: Union[bytes, str], map: str, now: str, dry_run: bool = False, binary: bool = False
    ) -> Tuple[str, Optional[bytes]]: ...
    def simulate(self, users: str, start: str, end: str, threads: Optional[int] = None) -> str: ...
    def simulate_arrow(
        self,
        profiles: Any,
        events: Any,
        start: str,
        end: str,
        id_column: str = ...,
        traits: Optional[Sequence[Tuple[str, str]]] = None,
        time_zone_column: Optional[str] = None,
        user_id_column: str = ...,
        event_name_column: str = ...,
        timestamp_column: str = ...,
        event_id_column: Optional[str] = None,
        properties: Optional[Sequence[Tuple[str, str]]] = None,
        threads: Optional[int] = None,
    ) -> Tuple[str, int]: ...

def validate_journey(definition: str, schema: Optional[Schema] = None) -> str: ...
def journey_mermaid(definition: str) -> str: ...
def encode_journey_state(state: str) -> bytes: ...
def encode_journey_instances(state: str) -> list[bytes]: ...
def decode_journey_state(state: bytes) -> str: ...
def bucket_hash(seed: str, value: str, version: int = 2) -> Optional[float]: ...

def evaluate_outputs(
    profiles: Any,
    events: Any,
    now: str,
    defs: Dict[str, Any],
    columns: Dict[str, Any],
    schema: Optional[Schema] = None,
    rfm: Optional[Tuple[Optional[str], Optional[str], Optional[str], Optional[str]]] = None,
    default_zone: Optional[str] = None,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int], Any]] = None,
) -> Tuple[Any, int, Optional[str]]: ...

@final
class OutputStream:
    def __new__(
        cls,
        profiles: Any,
        events: Any,
        now: str,
        defs: Dict[str, Any],
        columns: Dict[str, Any],
        schema: Optional[Schema] = None,
        rfm: Optional[Tuple[Optional[str], Optional[str], Optional[str], Optional[str]]] = None,
        default_zone: Optional[str] = None,
        threads: Optional[int] = None,
        progress: Optional[Callable[[int], Any]] = None,
    ) -> OutputStream: ...
    def __iter__(self) -> OutputStream: ...
    def __next__(self) -> Any: ...
    @property
    def unmatched_events(self) -> int: ...
