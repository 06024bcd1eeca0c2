"""The layering examples of docs/python.md run, and say what they print.

Every Python block from "## Lifecycle stages" up to "## Journeys" runs in one
namespace, in order. A line ``expression  # literal`` whose comment is a Python
literal is checked: the expression must equal the literal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def _blocks() -> List[str]:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index("## Lifecycle stages"), text.index("## Journeys")
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def _claim(line: str) -> Tuple[str, Any] | None:
    """``(expression, literal)`` when the line states a literal result."""
    if "#" not in line or line.startswith((" ", "\t")):
        return None
    code, _, comment = line.partition("#")
    code, comment = code.strip(), comment.strip()
    literal = comment.split(" — ")[0].strip()
    try:
        tree = ast.parse(code, mode="eval")
        expected = ast.literal_eval(literal)
    except (SyntaxError, ValueError):
        return None
    if isinstance(tree.body, ast.Call) and getattr(tree.body.func, "id", "") == "print":
        return None
    return code, expected


def test_layering_examples_run_and_match_their_comments() -> None:
    blocks = _blocks()
    assert len(blocks) >= 5
    namespace: Dict[str, Any] = {}
    checked = 0
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
        for line in block.splitlines():
            claim = _claim(line)
            if claim is None:
                continue
            code, expected = claim
            assert eval(code, namespace) == expected, f"docs/python.md: {code} is not {expected!r}"
            checked += 1
    assert checked >= 10
