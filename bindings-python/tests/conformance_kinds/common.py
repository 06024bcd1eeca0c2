"""Helpers shared by the layering runners (mirrors core/tests/conformance/lifecycle_common.rs)."""

from __future__ import annotations

from typing import Any

import siyu
from conformance_support import field


def schema(file: Any, case: Any) -> siyu.Schema:
    """The case's schema: a schema document, or ``"default"``/absent for the sample schema."""
    doc = field(file, case, "schema")
    if doc is None or doc == "default":
        return siyu.sample_schema()
    return siyu.Schema.from_json(doc)


def model(file: Any, case: Any) -> Any:
    """The case's model document, or ``None`` for the shipped model."""
    doc = field(file, case, "model")
    return None if doc is None or doc == "default" else doc


def or_default(value: Any, default: Any) -> Any:
    """``value`` unless it is absent (an empty document is a value)."""
    return default if value is None else value


def profile(file: Any, case: Any) -> Any:
    return or_default(field(file, case, "profile"), {"id": "u1"})


def events(file: Any, case: Any) -> Any:
    return or_default(field(file, case, "events"), [])


def req(file: Any, case: Any, key: str) -> Any:
    value = field(file, case, key)
    if value is None:
        raise AssertionError(f"case needs `{key}`")
    return value
