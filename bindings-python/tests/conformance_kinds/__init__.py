"""Per-kind conformance runners (one module per kind or family of kinds).

Each runner takes ``(file, case)`` and returns the actual result document that
``test_conformance.py`` matches against ``expect`` (or raises a ``SiyuError``
that it matches against ``expect_error``), exactly as the Rust runner in
``core/tests/conformance/<kind>.rs`` does.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from . import identity, layering, points, rfm

RUNNERS: Dict[str, Callable[[Any, Any], Any]] = {
    "lifecycle": layering.run_lifecycle,
    "tags": layering.run_tags,
    "rfm": rfm.run,
    "points": points.run,
    "merge": identity.run_merge,
    "erasure": identity.run_erasure,
}
