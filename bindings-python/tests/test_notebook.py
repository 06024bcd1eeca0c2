"""Runs the example notebooks under docs/examples (code cells in order, one namespace),
so the documented notebook workflow cannot rot. No Jupyter needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def test_there_are_example_notebooks() -> None:
    assert NOTEBOOKS, f"no notebooks in {EXAMPLES}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    namespace: Dict[str, Any] = {"__name__": "__notebook__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = compile(source, f"{path.name}[cell {i}]", "exec")
        exec(code, namespace)  # noqa: S102 - our own documentation
    assert "members" not in namespace or namespace["members"].num_rows > 0
