"""Runners for ``merge`` and ``erasure`` (core/tests/conformance/{merge,erasure}.rs)."""

from __future__ import annotations

from typing import Any

import siyu
from conformance_support import field

from .common import or_default, req


def run_merge(file: Any, case: Any) -> Any:
    return siyu.merge_profiles(
        req(file, case, "schema"),
        req(file, case, "primary"),
        req(file, case, "secondary"),
        primary_events=or_default(field(file, case, "primary_events"), []),
        secondary_events=or_default(field(file, case, "secondary_events"), []),
        policy=field(file, case, "policy"),
    )


def run_erasure(file: Any, case: Any) -> Any:
    return siyu.erase(
        req(file, case, "schema"),
        req(file, case, "profile"),
        or_default(field(file, case, "events"), []),
        request=field(file, case, "request"),
    )
