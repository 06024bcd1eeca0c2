# Type stubs of the native module; checked against the built module by
# `python -m mypy.stubtest siyu._native` in `make test`.
from typing import Any, Optional, Sequence, Tuple, Union, final

__all__ = [
    "CompiledRuleSet",
    "ERROR_CODES",
    "EventLog",
    "Profile",
    "RuleSet",
    "Schema",
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
