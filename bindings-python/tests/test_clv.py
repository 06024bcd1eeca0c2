"""Value models through Python: CDNOW golden values (Fader, Hardie & Lee 2005;
Fader & Hardie's Gamma-Gamma note), tables in and out, typed errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import siyu
from siyu import clv


def _cdnow_dir() -> Optional[Path]:
    env = os.environ.get("SIYU_CDNOW_DIR")
    here = Path(__file__).resolve()
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "external" / "cdnow" for p in here.parents]
    return next((d for d in candidates if (d / "cdnow_customers_summary.csv").is_file()), None)


CDNOW = _cdnow_dir()
needs_cdnow = pytest.mark.skipif(CDNOW is None, reason="CDNOW data not found (SIYU_CDNOW_DIR)")


def _transactions() -> pa.Table:
    assert CDNOW is not None
    rows = [line.split() for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines() if line.strip()]
    return pa.table(
        {
            "customer": [r[1].zfill(4) for r in rows],
            "date": [r[2] for r in rows],
            "dollars": [float(r[4]) for r in rows],
        }
    )


def _rf() -> pa.Table:
    assert CDNOW is not None
    return pacsv.read_csv(CDNOW / "cdnow_customers_summary.csv")


@needs_cdnow
def test_summary_reproduces_published_csv_exactly() -> None:
    got = clv.summary_from_transactions(
        _transactions(),
        "customer",
        "date",
        "dollars",
        observation_period_end="1997-09-30",
        freq="W",
        datetime_format="%Y%m%d",
        decimals=2,
    )
    assert isinstance(got, pa.Table)
    assert got.column_names == ["customer", "frequency", "recency", "T", "monetary_value"]
    assert CDNOW is not None
    want = pacsv.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    assert got.num_rows == want.num_rows
    assert [int(c) for c in got["customer"].to_pylist()] == want["ID"].to_pylist()
    assert got["frequency"].to_pylist() == want["x"].to_pylist()
    assert got["recency"].to_pylist() == want["t_x"].to_pylist()
    assert got["T"].to_pylist() == want["T"].to_pylist()
    assert got["monetary_value"].to_pylist() == want["zbar"].to_pylist()


@needs_cdnow
def test_summary_accepts_pandas_and_polars() -> None:
    t = _transactions()
    kwargs = dict(observation_period_end="1997-09-30", freq="W", datetime_format="%Y%m%d", decimals=2)
    base = clv.summary_from_transactions(t, "customer", "date", "dollars", **kwargs)  # type: ignore[arg-type]
    for other in (t.to_pandas(), pl.from_arrow(t)):
        got = clv.summary_from_transactions(other, "customer", "date", "dollars", **kwargs)  # type: ignore[arg-type]
        assert got.equals(base)
    frame = base.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2357


@needs_cdnow
def test_bgnbd_golden_values() -> None:
    rf = _rf()
    m = clv.BGNBD().fit(rf["frequency"], rf["recency"], rf["T"])
    p = m.params
    assert p["r"] == pytest.approx(0.243, abs=5e-4)
    assert p["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert p["a"] == pytest.approx(0.793, abs=5e-4)
    assert p["b"] == pytest.approx(2.426, abs=5e-4)
    assert m.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert m.info is not None and m.info.customers == 2357 and m.info.converged
    e = m.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    assert isinstance(e, float) and e == pytest.approx(1.226, abs=5e-4)


@needs_cdnow
def test_bgnbd_inputs_from_pandas_polars_numpy_agree() -> None:
    rf = _rf()
    cols = ("frequency", "recency", "T")
    fits = [
        clv.BGNBD().fit(*(rf[c] for c in cols)).params,
        clv.BGNBD().fit(*(rf.to_pandas()[c] for c in cols)).params,
        clv.BGNBD().fit(*(pl.from_arrow(rf)[c] for c in cols)).params,  # type: ignore[index]
        clv.BGNBD().fit(*(rf[c].to_numpy() for c in cols)).params,
    ]
    assert all(f == fits[0] for f in fits)


@needs_cdnow
def test_paretonbd_golden_values() -> None:
    rf = _rf()
    m = clv.ParetoNBD().fit(rf["frequency"], rf["recency"], rf["T"])
    p = m.params
    assert p["r"] == pytest.approx(0.553, abs=5e-3)
    assert p["alpha"] == pytest.approx(10.578, abs=5e-2)
    assert p["s"] == pytest.approx(0.606, abs=5e-3)
    assert p["beta"] == pytest.approx(11.669, abs=5e-2)
    assert m.log_likelihood_ == pytest.approx(-9595.0, abs=0.5)


@needs_cdnow
def test_gamma_gamma_golden_values_and_clv_table() -> None:
    summary = clv.summary_from_transactions(
        _transactions(),
        "customer",
        "date",
        "dollars",
        observation_period_end="1997-09-30",
        freq="W",
        datetime_format="%Y%m%d",
    )
    gg = clv.GammaGamma().fit(summary["frequency"], summary["monetary_value"])
    assert gg.params["p"] == pytest.approx(6.25, abs=5e-3)
    assert gg.params["q"] == pytest.approx(3.74, abs=5e-3)
    assert gg.params["gamma"] == pytest.approx(15.44, abs=5e-3)
    bg = clv.BGNBD().fit(summary["frequency"], summary["recency"], summary["T"])
    scores = clv.score(summary, bg, gg, horizon=39, freq="W")
    assert scores.column_names == ["customer", "p_alive", "expected_purchases", "expected_value", "clv"]
    assert scores.num_rows == summary.num_rows
    p_alive = scores["p_alive"].to_numpy()
    assert ((p_alive > 0) & (p_alive <= 1)).all()
    # The table agrees with the per-method API.
    x, tx, t, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
    np.testing.assert_array_equal(p_alive, bg.conditional_probability_alive(x, tx, t))
    clv_values = gg.customer_lifetime_value(bg, x, tx, t, m, time=12, discount_rate=0.01, freq="W")
    np.testing.assert_array_equal(scores["clv"].to_numpy(), clv_values)
    assert (clv_values >= 0).all() and clv_values.sum() > 0
    ev = gg.conditional_expected_average_profit(x, m)
    np.testing.assert_array_equal(scores["expected_value"].to_numpy(), ev)
    assert pl.from_arrow(scores).height == summary.num_rows  # type: ignore[union-attr]


def test_model_json_round_trip_and_value_model_document() -> None:
    bg = clv.BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    doc = json.loads(bg.to_json())
    assert doc == {"version": 1, "purchase": {"model": "bgnbd", "r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}}
    again = clv.BGNBD.from_json(bg.to_json())
    assert again.params == bg.params
    gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    both = clv.value_model_json(bg, gg)
    purchase, spend = clv.load_value_model(both)
    assert isinstance(purchase, clv.BGNBD) and purchase.params == bg.params
    assert spend is not None and spend.params == gg.params
    assert clv.BetaGeoFitter is clv.BGNBD and clv.GammaGammaFitter is clv.GammaGamma
    e = again.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    assert e == pytest.approx(1.226, abs=2e-3)
    assert again.expected_number_of_purchases_up_to_time(0.0) == 0.0


def test_degenerate_inputs_raise_typed_errors() -> None:
    with pytest.raises(siyu.NumericDomainError):  # no repeat buyer
        clv.BGNBD().fit([0, 0, 0], [0.0, 0.0, 0.0], [10.0, 20.0, 30.0])
    with pytest.raises(siyu.NumericDomainError):  # one customer
        clv.BGNBD().fit([2], [5.0], [10.0])
    with pytest.raises(siyu.NumericDomainError):  # all zero spend
        clv.GammaGamma().fit([1, 2, 3], [0.0, 0.0, 0.0])
    with pytest.raises(siyu.InvalidArgumentError) as err:  # recency > T
        clv.BGNBD().fit([1, 2], [5.0, 50.0], [10.0, 20.0])
    assert err.value.path == "[1].recency"
    with pytest.raises(siyu.InvalidArgumentError):  # missing value
        clv.BGNBD().fit(pa.array([1.0, None]), [1.0, 2.0], [3.0, 4.0])
    with pytest.raises(siyu.InvalidModelError):
        clv.BGNBD.from_params(r=-1.0, alpha=1.0, a=1.0, b=1.0)
    with pytest.raises(siyu.InvalidModelError):
        _ = clv.BGNBD().params
    with pytest.raises(siyu.InvalidStateError):
        clv.BGNBD.from_json({"version": 2, "purchase": {"model": "bgnbd", "r": 1, "alpha": 1, "a": 1, "b": 1}})
    with pytest.raises(siyu.InvalidArgumentError) as err:
        clv.summary_from_transactions(
            {"c": ["a"], "d": ["2024-01-01T00:00:00Z"], "v": [1.0]},
            "c", "d", "v", observation_period_end="2024-02-01", freq="M",
        )
    assert err.value.path == "freq"
    with pytest.raises(siyu.InvalidArgumentError) as err:
        clv.summary_from_transactions({"c": ["a"]}, "c", "missing", observation_period_end="2024-02-01")
    assert err.value.path == "datetime_col"
    with pytest.raises(siyu.InvalidArgumentError) as err:  # negative spend
        clv.summary_from_transactions(
            {"c": ["a"], "d": ["2024-01-01"], "v": [-1.0]}, "c", "d", "v", observation_period_end="2024-02-01"
        )
    with pytest.raises(siyu.NumericDomainError):  # nothing before the end
        clv.summary_from_transactions(
            {"c": ["a"], "d": ["2024-03-01"], "v": [1.0]}, "c", "d", "v", observation_period_end="2024-02-01"
        )


def test_summary_reads_text_dates_and_integer_ids() -> None:
    t = {"c": [1, 1, 2], "d": ["2024-01-01T00:00:00Z", "2024-01-05T10:00:00+08:00", "2024-01-02"], "v": [1.0, 2.0, 3.0]}
    rows = clv.summary_from_transactions(t, "c", "d", "v", observation_period_end="2024-02-01").to_pylist()
    assert rows == [
        {"c": "1", "frequency": 1, "recency": 4.0, "T": 31.0, "monetary_value": 2.0},
        {"c": "2", "frequency": 0, "recency": 0.0, "T": 30.0, "monetary_value": 0.0},
    ]


def test_summary_calibration_holdout_small() -> None:
    tx = pa.table(
        {
            "id": ["a", "a", "a", "b", "b"],
            "ts": pa.array(
                ["2024-01-01T09:00:00Z", "2024-01-01T18:00:00Z", "2024-01-08T10:00:00Z",
                 "2024-01-03T10:00:00Z", "2024-01-20T10:00:00Z"]
            ).cast(pa.timestamp("us", "UTC")),
            "v": [10.0, 5.0, 20.0, 7.0, 9.0],
        }
    )
    s = clv.summary_from_transactions(tx, "id", "ts", "v", observation_period_end="2024-01-31")
    assert s.to_pylist() == [
        {"id": "a", "frequency": 1, "recency": 7.0, "T": 30.0, "monetary_value": 20.0},
        {"id": "b", "frequency": 1, "recency": 17.0, "T": 28.0, "monetary_value": 9.0},
    ]
    ch = clv.calibration_and_holdout_data(tx, "id", "ts", "2024-01-10", "2024-01-31", "v")
    rows = {r["id"]: r for r in ch.to_pylist()}
    assert rows["a"]["frequency_holdout"] == 0 and rows["b"]["frequency_holdout"] == 1
    assert rows["b"]["duration_holdout"] == 21.0


def test_row_errors_keep_the_core_path_and_name_the_row() -> None:
    # A one-row column answers exactly like the scalar call in every binding
    # (path "recency"); the row index is in the message.
    m = clv.BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    with pytest.raises(siyu.InvalidArgumentError) as err:
        m.conditional_probability_alive([1, 1], [5.0, 40.0], [38.0, 38.0])
    assert err.value.path == "recency"
    assert "row 1" in str(err.value)
    with pytest.raises(siyu.InvalidArgumentError) as horizon:
        m.conditional_expected_number_of_purchases_up_to_time(-1.0, [1], [5.0], [38.0])
    assert horizon.value.path == "t"
