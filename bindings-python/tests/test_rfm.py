"""siyu.rfm: values, thresholds, scores, segments, one profile and whole tables."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pyarrow as pa
import pytest

import siyu
from siyu import rfm

NOW = "2026-03-20T00:00:00Z"


def purchase(i: int, ts: str, amount: float) -> Dict[str, Any]:
    return {"id": f"p{i}", "name": "purchase", "timestamp": ts, "properties": {"amount": amount}}


def population() -> List[Dict[str, float]]:
    # Ten buyers: the later the index, the better on every dimension.
    return [{"recency_days": 100.0 - 10 * i, "frequency": float(i + 1), "monetary": 50.0 * (i + 1)} for i in range(10)]


def test_values_from_purchase_events() -> None:
    events = [purchase(1, "2026-03-01T00:00:00Z", 80.0), purchase(2, "2026-03-10T12:00:00Z", 20.0)]
    v = rfm.values(events, NOW)
    assert v == {"recency_days": 9.0, "frequency": 2.0, "monetary": 100.0}
    # A window excludes older purchases; no purchase at all gives None.
    assert rfm.values(events, NOW, config={"window": "15d"}) == {"recency_days": 9.0, "frequency": 1.0, "monetary": 20.0}
    assert rfm.values([], NOW) is None
    assert rfm.values(json.dumps(events), NOW, config=json.dumps({"event": "purchase"})) == v


def test_fit_score_and_segment_agree() -> None:
    fitted = rfm.fit(population())
    scores = fitted["scores"]
    assert scores[0] == [1, 1, 1] and scores[-1] == [5, 5, 5]
    for member, expected in zip(population(), scores):
        assert rfm.score(fitted["thresholds"], member) == expected
    assert rfm.segment(scores[-1]) == "champions"
    assert rfm.segment([1, 1, 1]) == "lost"  # Lost is checked before Hibernating
    assert rfm.segment([1, 1, 2]) == "hibernating"
    assert rfm.segment([5, 5, 5], rfm.FOUR_LAYER) != rfm.segment([1, 1, 1], rfm.FOUR_LAYER)
    custom = {"boxes": [{"segment": "top", "r": [5, 5]}, {"segment": "rest"}]}
    assert rfm.segment([5, 1, 1], custom) == "top"
    assert rfm.segment([4, 5, 5], json.dumps(custom)) == "rest"


def test_equal_values_get_equal_scores() -> None:
    tied = [{"recency_days": 5.0, "frequency": 2.0, "monetary": 100.0}] * 4 + population()
    scores = rfm.fit(tied, "quantile")["scores"]
    assert len({tuple(s) for s in scores[:4]}) == 1


def test_apply_writes_scores_and_segment_into_the_profile() -> None:
    thresholds = rfm.fit(population())["thresholds"]
    events = [purchase(i, f"2026-03-{10 + i}T00:00:00Z", 200.0) for i in range(8)]
    out = rfm.apply({"id": "u1"}, events, NOW, thresholds)
    r, f, m = out["scores"]
    assert out["profile"]["scores"] == {"rfm_r": r, "rfm_f": f, "rfm_m": m}
    tag = [t for t in out["profile"]["tags"] if t.get("group") == "rfm_segment"]
    assert [t["name"] for t in tag] == [out["segment"]]
    # The written scores are usable inside rules.
    compiled = siyu.CompiledRuleSet(f'segment top: score("rfm_r") >= {r}', siyu.sample_schema())
    assert compiled.evaluate(out["profile"], events, NOW) == {"top": True}
    assert rfm.apply({"id": "u2"}, [], NOW, thresholds) == {"values": None}


def test_rfm_errors_are_typed() -> None:
    with pytest.raises(siyu.InvalidArgumentError) as err:
        rfm.segment([1, 1, 1], "gold_members")
    assert err.value.code == "INVALID_ARGUMENT"
    with pytest.raises(siyu.InvalidJsonError):
        rfm.fit(population(), "median")
    with pytest.raises(siyu.InvalidJsonError):
        rfm.values([], NOW, config={"evnt": "purchase"})
    with pytest.raises(siyu.InvalidModelError):
        rfm.segment([1, 1, 1], {"boxes": [{"segment": "only_fives", "r": [5, 5]}]})  # R1 not covered


def test_score_table_over_pyarrow_and_polars() -> None:
    pop = population()
    table = pa.table({
        "user": [f"u{i}" for i in range(len(pop))],
        "recency_days": [p["recency_days"] for p in pop],
        "frequency": pa.array([int(p["frequency"]) for p in pop], pa.int32()),  # any numeric type
        "monetary": [p["monetary"] for p in pop],
    })
    scored = rfm.score_table(table)
    assert scored.table.column_names == ["user", "recency_days", "frequency", "monetary", "rfm_r", "rfm_f", "rfm_m", "segment"]
    rows = scored.table.to_pylist()
    fitted = rfm.fit(pop)
    assert [[r["rfm_r"], r["rfm_f"], r["rfm_m"]] for r in rows] == fitted["scores"]
    assert [r["segment"] for r in rows] == [rfm.segment(s) for s in fitted["scores"]]
    assert scored.thresholds == fitted["thresholds"]
    # Stored thresholds score a new table the same way; polars works as input.
    import polars as pl

    again = rfm.score_table(pl.from_arrow(table), thresholds=scored.thresholds, map=rfm.FOUR_LAYER)
    assert again.table.column("rfm_r").to_pylist() == scored.table.column("rfm_r").to_pylist()
    assert again.table.column("segment").to_pylist() == [rfm.segment(s, rfm.FOUR_LAYER) for s in fitted["scores"]]


def test_score_table_rejects_nulls_and_missing_columns() -> None:
    with pytest.raises(siyu.InvalidArgumentError) as err:
        rfm.score_table({"recency_days": [1.0, None], "frequency": [1.0, 2.0], "monetary": [1.0, 2.0]})
    assert err.value.path == "recency"
    with pytest.raises(siyu.InvalidArgumentError) as missing:
        rfm.score_table({"r": [1.0]}, recency="r")
    assert "frequency" in str(missing.value)
    no_rows = {name: pa.array([], pa.float64()) for name in ("recency_days", "frequency", "monetary")}
    with pytest.raises(siyu.NumericDomainError):  # nothing to fit thresholds over
        rfm.score_table(no_rows)
    thresholds = rfm.fit(population())["thresholds"]
    empty = rfm.score_table(no_rows, thresholds=thresholds)
    assert empty.table.num_rows == 0 and empty.thresholds == thresholds
