"""The exception hierarchy: one ``SiyuError`` subclass per core ``ErrorKind``.

Class names are the CamelCase of the stable code plus ``Error`` (``RULE_SYNTAX`` ->
``RuleSyntaxError``). The classes are written out so type checkers and IDEs see
them; ``_sync_with_native`` adds a class for any code a newer core knows that this
file does not (and the test suite fails on such drift).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Type

from . import _native


class SiyuError(Exception):
    """Base class of every siyu error.

    Attributes:
        code: the stable code string, e.g. ``"UNKNOWN_TRAIT"``.
        message: the human-readable message (without code or position).
        position: ``(line, column)`` (1-based) in the source text, or ``None``.
        path: where in a document the error is (e.g. ``"rules[0].expr"``), or ``None``.
        suggestion: a "did you mean" correction, or ``None``.
        offset: the 0-based byte offset of ``position`` in the source, or ``None``.
    """

    code: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        position: Optional[Tuple[int, int]] = None,
        path: Optional[str] = None,
        suggestion: Optional[str] = None,
        offset: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.position = position
        self.path = path
        self.suggestion = suggestion
        self.offset = offset

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.path is not None:
            text += f" (at {self.path})"
        if self.position is not None:
            text += f" at line {self.position[0]}, column {self.position[1]}"
        if self.suggestion is not None:
            text += f"; did you mean `{self.suggestion}`?"
        return text

    def to_dict(self) -> Dict[str, object]:
        """The error's JSON form, as the conformance suite matches it."""
        out: Dict[str, object] = {"code": self.code, "message": self.message}
        if self.position is not None:
            pos: Dict[str, int] = {"line": self.position[0], "column": self.position[1]}
            if self.offset is not None:
                pos["offset"] = self.offset
            out["position"] = pos
        if self.path is not None:
            out["path"] = self.path
        if self.suggestion is not None:
            out["suggestion"] = self.suggestion
        return out


class RuleSyntaxError(SiyuError):
    """The rule DSL text could not be parsed."""

    code = "RULE_SYNTAX"


class InvalidJsonError(SiyuError):
    """A JSON document is malformed or of the wrong shape."""

    code = "INVALID_JSON"


class UnknownTraitError(SiyuError):
    """A rule references a trait the schema does not declare."""

    code = "UNKNOWN_TRAIT"


class UnknownEventError(SiyuError):
    """A rule references an event name the schema does not declare."""

    code = "UNKNOWN_EVENT"


class UnknownPropertyError(SiyuError):
    """A rule references an event property the schema does not declare."""

    code = "UNKNOWN_PROPERTY"


class UnknownSegmentError(SiyuError):
    """A rule references a segment that does not exist."""

    code = "UNKNOWN_SEGMENT"


class UnknownTagGroupError(SiyuError):
    """A rule references a tag group the schema does not declare."""

    code = "UNKNOWN_TAG_GROUP"


class UnknownFunctionError(SiyuError):
    """An unknown function name in the DSL."""

    code = "UNKNOWN_FUNCTION"


class TypeMismatchError(SiyuError):
    """Operand types do not fit the operator."""

    code = "TYPE_MISMATCH"


class SegmentCycleError(SiyuError):
    """Segment references form a cycle."""

    code = "SEGMENT_CYCLE"


class DuplicateNameError(SiyuError):
    """Two rules (or definitions) share one name."""

    code = "DUPLICATE_NAME"


class LimitExceededError(SiyuError):
    """A depth or size limit was exceeded."""

    code = "LIMIT_EXCEEDED"


class InvalidRegexError(SiyuError):
    """A regular expression is invalid or too large."""

    code = "INVALID_REGEX"


class InvalidTimeZoneError(SiyuError):
    """A time zone name is not a known IANA zone."""

    code = "INVALID_TIME_ZONE"


class InvalidTimeError(SiyuError):
    """A timestamp, date or duration literal is invalid."""

    code = "INVALID_TIME"


class InvalidSchemaError(SiyuError):
    """The schema itself is invalid."""

    code = "INVALID_SCHEMA"


class InvalidProfileError(SiyuError):
    """A profile fails validation against the schema."""

    code = "INVALID_PROFILE"


class InvalidEventError(SiyuError):
    """An event fails validation against the schema."""

    code = "INVALID_EVENT"


class InvalidMergeError(SiyuError):
    """A merge request is invalid."""

    code = "INVALID_MERGE"


class InvalidArgumentError(SiyuError):
    """An argument to an API call is invalid (e.g. an unknown rule name)."""

    code = "INVALID_ARGUMENT"


class InvalidModelError(SiyuError):
    """A lifecycle, tag, RFM, points or journey model definition is invalid."""

    code = "INVALID_MODEL"


class InvalidStateError(SiyuError):
    """Persisted state has an unsupported format version or is corrupt."""

    code = "INVALID_STATE"


class NumericDomainError(SiyuError):
    """A numeric computation cannot produce a meaningful result."""

    code = "NUMERIC_DOMAIN"


class InternalError(SiyuError):
    """An internal invariant was violated (a bug; please report it)."""

    code = "INTERNAL"


def class_name(code: str) -> str:
    """The exception class name of a code: ``UNKNOWN_TAG_GROUP`` -> ``UnknownTagGroupError``."""
    return "".join(part.capitalize() for part in code.split("_")) + "Error"


ERROR_CLASSES: Dict[str, Type[SiyuError]] = {
    cls.code: cls
    for cls in SiyuError.__subclasses__()
}


STATIC_CODES = frozenset(ERROR_CLASSES)
"""Codes with a class written out above (the drift check compares it to the core's)."""


def _sync_with_native() -> None:
    for code in _native.ERROR_CODES:
        if code not in ERROR_CLASSES:
            cls = type(class_name(code), (SiyuError,), {"code": code, "__module__": __name__})
            ERROR_CLASSES[code] = cls
            globals()[cls.__name__] = cls


_sync_with_native()


def from_native(
    code: str,
    message: str,
    position: Optional[Tuple[int, int, int]],
    path: Optional[str],
    suggestion: Optional[str],
) -> SiyuError:
    """Builds the exception for a core error (called by the native module).

    ``position`` is ``(line, column, offset)`` from the core.
    """
    cls = ERROR_CLASSES.get(code, SiyuError)
    line_col = None if position is None else (position[0], position[1])
    offset = None if position is None else position[2]
    return cls(
        message, code=code, position=line_col, path=path, suggestion=suggestion, offset=offset
    )
