"""Vector discovery and the subset matcher, mirroring core/tests/conformance/support.rs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, List, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTOR_ROOT = REPO_ROOT / "conformance"


def vector_files() -> List[Path]:
    """Every ``*.json`` under conformance/ (except ``schema/``) and under SIYU_EXTRA_VECTORS, sorted."""
    dirs = [VECTOR_ROOT]
    extra = os.environ.get("SIYU_EXTRA_VECTORS", "")
    dirs.extend(Path(p) for p in extra.split(":") if p)
    files: List[Path] = []
    for d in dirs:
        if not d.is_dir():
            print(f"warning: cannot read vector folder {d}")
            continue
        for dirpath, dirnames, filenames in os.walk(d):
            dirnames[:] = [n for n in dirnames if n != "schema"]
            files.extend(Path(dirpath) / f for f in filenames if f.endswith(".json"))
    return sorted(files, key=lambda p: str(p))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def field(file: Any, case: Any, key: str) -> Any:
    """A case field, falling back to the file's shared field."""
    if key in case:
        return case[key]
    return file.get(key)


def tolerance(file: Any, case: Any) -> float:
    t = case.get("tolerance", file.get("tolerance"))
    return 1e-9 if t is None else float(t)


def _is_number(v: Any) -> bool:
    # JSON true/false must not match 1/0 (Python's bool is an int).
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def matches(expected: Any, actual: Any, tol: float, path: str = "") -> Optional[str]:
    """None when ``actual`` matches ``expected`` as a subset, else the first mismatch."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k, ev in expected.items():
            err = matches(ev, actual.get(k), tol, f"{path}.{k}")
            if err:
                return err
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path}: expected {len(expected)} items, got {len(actual)}: {json.dumps(actual)}"
        for i, (ev, av) in enumerate(zip(expected, actual)):
            err = matches(ev, av, tol, f"{path}[{i}]")
            if err:
                return err
        return None
    if _is_number(expected) and _is_number(actual):
        e, a = float(expected), float(actual)
        if math.isfinite(e) and abs(e - a) <= tol * max(abs(e), 1.0):
            return None
        return f"{path}: expected {expected}, got {actual}"
    if type(expected) is type(actual) and expected == actual:
        return None
    return f"{path}: expected {json.dumps(expected)}, got {json.dumps(actual)}"
