"""Analytics through Python: event tables in (pyarrow/pandas/polars), tables
and dataclasses out, typed errors for degenerate inputs."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pyarrow as pa
import pytest

import siyu
from siyu import analytics as an


def _ts(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, tzinfo=dt.timezone.utc)


def _events() -> pa.Table:
    rows = [
        ("u1", "signup", _ts(1)), ("u1", "open", _ts(2)), ("u1", "purchase", _ts(2, 11)),
        ("u1", "purchase", _ts(9)),
        ("u2", "signup", _ts(1)), ("u2", "open", _ts(3)),
        ("u3", "signup", _ts(2)), ("u3", "purchase", _ts(2, 12)),
    ]
    return pa.table(
        {
            "user_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "timestamp": pa.array([r[2] for r in rows], pa.timestamp("us", "UTC")),
        }
    )


def test_retention_matrix_rates_counts_and_table_kinds() -> None:
    ev = _events()
    rates = an.retention_matrix(ev, "signup", periods=3, end="2024-01-10T00:00:00Z")
    assert rates.column_names == ["cohort", "size", "period_0", "period_1", "period_2"]
    rows = rates.to_pylist()
    assert rows[0]["cohort"] == dt.date(2024, 1, 1) and rows[0]["size"] == 2
    assert rows[0]["period_1"] == pytest.approx(0.5)  # u1 active on day 1 after signup
    counts = an.retention_matrix(ev, "signup", periods=3, values="count")
    assert counts.to_pylist()[0]["period_1"] == 1
    assert counts.to_pylist()[1]["cohort"] == dt.date(2024, 1, 2)
    for other in (ev.to_pandas(), pl.from_arrow(ev)):
        assert an.retention_matrix(other, "signup", periods=3, values="count").equals(counts)
    weekly = an.retention_matrix(ev, "signup", granularity="week", periods=2, values="count")
    assert weekly.to_pylist()[0]["size"] == 3


def test_active_users_repeat_rate_funnel() -> None:
    ev = _events()
    au = an.active_users(ev, "2024-01-02", "2024-01-03")
    assert au["dau"].to_pylist() == [2, 1]
    assert au["mau"].to_pylist() == [3, 3]
    rr = an.repeat_purchase_rate(ev, "purchase")
    assert (rr.buyers, rr.repeat_buyers, rr.rate) == (2, 1, 0.5)
    f = an.funnel(ev, ["signup", "open", "purchase"], dt.timedelta(days=7))
    assert f["users"].to_pylist() == [3, 2, 1]
    assert f["conversion_from_start"].to_pylist()[2] == pytest.approx(1 / 3)


def test_ab_tests_and_growth() -> None:
    z = an.two_proportion_z_test((100, 1000), (130, 1000))
    assert z.difference == pytest.approx(0.03) and 0 < z.p_value < 0.05
    chi = an.chi_square_test([(100, 1000), (130, 1000), {"conversions": 90, "trials": 1000}])
    assert chi.degrees_of_freedom == 2 and chi.p_value < 0.05
    b = an.beta_binomial_beats_control((100, 1000), (130, 1000))
    assert 0.95 < b.probability_variant_beats_control < 1.0
    n = an.sample_size_per_arm(0.10, 0.02)
    assert isinstance(n, int) and 3000 < n < 5000
    k = an.k_factor(100, 300, 30)
    assert k.k_factor == pytest.approx(0.3)


def test_association_send_time_channels() -> None:
    baskets = pa.table({"basket_id": ["b1", "b1", "b2", "b2", "b3"], "item": ["milk", "bottle", "milk", "bottle", "milk"]})
    pairs = an.frequent_pairs(baskets, 0.5, 0.5)
    rule = [r for r in pairs.to_pylist() if r["antecedent"] == "bottle"][0]
    assert rule["consequent"] == "milk" and rule["confidence"] == 1.0
    seq = an.sequential_rules(_events(), dt.timedelta(days=30), 0.3, 0.3)
    assert "antecedent" in seq.column_names
    report = an.best_send_hours(_events(), "open", weight=0.0)
    assert report.users.num_rows == 2 and len(report.population) == 24
    touches = pa.table(
        {
            "user_id": ["u1", "u2"],
            "channel": ["wechat", "sms"],
            "timestamp": pa.array([_ts(1), _ts(1)], pa.timestamp("us", "UTC")),
        }
    )
    conv = {r["channel"]: r for r in an.channel_conversion(touches, _events(), "purchase").to_pylist()}
    assert conv["wechat"]["converted"] == 1 and conv["sms"]["converted"] == 0


def test_degenerate_inputs_raise_typed_errors() -> None:
    with pytest.raises(siyu.NumericDomainError):
        an.repeat_purchase_rate(_events(), "refund")
    with pytest.raises(siyu.InvalidArgumentError):
        an.chi_square_test([(1, 10)])
    with pytest.raises(siyu.InvalidArgumentError):
        an.two_proportion_z_test((11, 10), (1, 10))
    with pytest.raises(siyu.InvalidArgumentError):
        an.funnel(_events(), [], 60.0)
    # Retention parameters are read by the core's request reader: a bad one is
    # INVALID_JSON naming the field, as in every binding.
    with pytest.raises(siyu.InvalidJsonError) as bad_granularity:
        an.retention_matrix(_events(), "signup", granularity="month")
    assert "granularity" in str(bad_granularity.value)
    with pytest.raises(siyu.InvalidArgumentError):
        an.retention_matrix(_events(), "signup", user_id_col="who")
    with pytest.raises(siyu.InvalidTimeZoneError):
        an.retention_matrix(_events(), "signup", zone="Mars/Base")
