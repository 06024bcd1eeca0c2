"""Error mapping: one SiyuError subclass per core ErrorKind, carrying code/position/path/suggestion."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import siyu
from siyu import _native


def test_one_class_per_native_code_and_no_extra() -> None:
    assert set(siyu._errors.STATIC_CODES) == set(_native.ERROR_CODES), "update siyu/_errors.py"
    assert set(siyu.ERROR_CLASSES) == set(_native.ERROR_CODES)
    assert len(_native.ERROR_CODES) == len(set(_native.ERROR_CODES))


@pytest.mark.parametrize("code", _native.ERROR_CODES)
def test_class_names_are_camel_case_of_the_code(code: str) -> None:
    cls = siyu.ERROR_CLASSES[code]
    expected = "".join(p[0] + p[1:].lower() for p in code.split("_")) + "Error"
    assert cls.__name__ == expected
    assert issubclass(cls, siyu.SiyuError) and cls.code == code
    # Exported at package level, statically declared (not generated).
    assert getattr(siyu, cls.__name__) is cls
    assert cls.__module__ == "siyu._errors"


def test_known_class_names() -> None:
    assert siyu.RuleSyntaxError.code == "RULE_SYNTAX"
    assert siyu.UnknownTraitError.code == "UNKNOWN_TRAIT"
    assert siyu.UnknownTagGroupError.code == "UNKNOWN_TAG_GROUP"
    assert siyu.InvalidTimeZoneError.code == "INVALID_TIME_ZONE"
    assert siyu.class_name("INVALID_JSON") == "InvalidJsonError"


def test_invalid_schema_maps_to_its_class() -> None:
    with pytest.raises(siyu.InvalidSchemaError) as info:
        siyu.Schema.from_json("{not json")
    err = info.value
    assert err.code == "INVALID_SCHEMA"
    assert isinstance(err, siyu.SiyuError)
    assert str(err).startswith("INVALID_SCHEMA: ")


def test_unknown_zone_maps_to_invalid_time_zone() -> None:
    with pytest.raises(siyu.InvalidTimeZoneError) as info:
        siyu.parse_zone("Asia/Shanghia")
    assert info.value.code == "INVALID_TIME_ZONE"
    assert siyu.parse_zone("Asia/Shanghai") == "Asia/Shanghai"
    assert siyu.parse_zone("+08:00") == "+08:00"


def test_panic_becomes_internal_error() -> None:
    with pytest.raises(siyu.InternalError) as info:
        _native._panic_for_test()
    assert "deliberate test panic" in info.value.message
    # The interpreter and the module are still usable afterwards.
    assert siyu.parse_zone("UTC") == "UTC"


def test_naive_datetime_is_rejected_with_invalid_time() -> None:
    schema = siyu.Schema.from_json({"traits": {}})
    with pytest.raises(siyu.InvalidTimeError):
        siyu._instant(dt.datetime(2026, 3, 1))  # noqa: SLF001
    assert siyu._instant(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)).startswith("2026-03-01T00:00:00")
    assert schema.to_dict()["traits"] == {}


def test_error_fields_and_dict_form() -> None:
    err = siyu._errors.from_native("UNKNOWN_TRAIT", "unknown trait `ciyt`", (2, 5, 17), "rules[0].expr", "city")
    assert isinstance(err, siyu.UnknownTraitError)
    assert (err.position, err.offset, err.path, err.suggestion) == ((2, 5), 17, "rules[0].expr", "city")
    assert err.to_dict() == {
        "code": "UNKNOWN_TRAIT",
        "message": "unknown trait `ciyt`",
        "position": {"line": 2, "column": 5, "offset": 17},
        "path": "rules[0].expr",
        "suggestion": "city",
    }
    assert re.fullmatch(
        r"UNKNOWN_TRAIT: unknown trait `ciyt` \(at rules\[0\]\.expr\) at line 2, column 5; did you mean `city`\?",
        str(err),
    )


def test_unknown_code_from_a_newer_core_still_maps_to_base() -> None:
    err = siyu._errors.from_native("SOMETHING_NEW", "m", None, None, None)
    assert type(err) is siyu.SiyuError and err.code == "SOMETHING_NEW" and err.position is None
