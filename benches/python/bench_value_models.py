"""Python peer comparison for issue 8, in one run (results go to docs/benchmarks.md):

1. BG/NBD and Gamma-Gamma fits on CDNOW: siyu vs lifetimes 0.11.3 (same data,
   parameters printed side by side, ratio of best-of-N wall times).
2. pymc-marketing MAP fits (BG/NBD and Gamma-Gamma with its default priors),
   in a third venv `target/venv-pymc` (pymc needs numpy>=2, lifetimes numpy<2);
   when it cannot be installed the pip error is printed (`--no-pymc` skips it).
3. Daily retention matrix for 1M users / 20M events (deterministic synthetic
   data from NumPy): siyu vs pandas vs polars, with the matrices checked equal.

lifetimes needs numpy<2 / pandas<2, which clash with the project's pinned .venv,
so it runs in a separate virtual environment `.venv-peers` (created on first
use by this script; `--no-peers` skips it). Sizes: `--users`, `--events`.

    .venv/bin/python benches/python/bench_value_models.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

import siyu
from siyu import analytics, clv

ROOT = Path(__file__).resolve().parents[2]
PEERS = ROOT / ".venv-peers"
PEER_PACKAGES = ["lifetimes==0.11.3", "numpy<2", "pandas<2.2", "scipy<1.12"]
PYMC = ROOT / "target" / "venv-pymc"
PYMC_PACKAGES = ["pymc-marketing"]


def best_of(f: Callable[[], Any], repeat: int) -> Tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def cdnow_dir() -> Optional[Path]:
    env = os.environ.get("SIYU_CDNOW_DIR")
    candidates = [Path(env)] if env else []
    candidates += [p / "shared" / "external" / "cdnow" for p in ROOT.parents]
    return next((d for d in candidates if (d / "cdnow_customers_summary.csv").is_file()), None)


# Runs inside .venv-peers; prints one JSON line.
PEER_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
out = {}
rf = pd.read_csv(sys.argv[1]); summ = pd.read_json(sys.argv[2])
repeat = int(sys.argv[3])
def best(f):
    b = float("inf"); r = None
    for _ in range(repeat):
        t0 = time.perf_counter(); r = f(); b = min(b, time.perf_counter() - t0)
    return b, r
try:
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    t, m = best(lambda: BetaGeoFitter().fit(rf["frequency"], rf["recency"], rf["T"]))
    out["lifetimes_bgnbd"] = {"seconds": t, "params": {k: float(v) for k, v in m.params_.items()},
                              "ll": float(m._negative_log_likelihood_ * -1 * len(rf)) if hasattr(m, "_negative_log_likelihood_") else None}
    rep = summ[summ["frequency"] > 0]
    t, g = best(lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]))
    out["lifetimes_gg"] = {"seconds": t, "params": {k: float(v) for k, v in g.params_.items()}}
except Exception as e:
    out["lifetimes_error"] = repr(e)
print(json.dumps(out))
"""


# Runs inside target/venv-pymc; prints one JSON line. The first fit compiles
# the model (PyTensor), so the cold time is reported apart from the best warm one.
PYMC_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
out = {}
rf = pd.read_csv(sys.argv[1]).rename(columns={"ID": "customer_id"})
summ = pd.read_json(sys.argv[2])
repeat = int(sys.argv[3])
def timed(f):
    times = []; r = None
    for _ in range(repeat):
        t0 = time.perf_counter(); r = f(); times.append(time.perf_counter() - t0)
    return {"cold": times[0], "seconds": min(times[1:] or times)}, r
try:
    import pymc_marketing
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
    out["version"] = pymc_marketing.__version__
    def bg():
        m = BetaGeoModel(data=rf); m.fit(method="map"); return m
    t, m = timed(bg)
    s = m.fit_summary()
    out["pymc_bgnbd"] = dict(t, params={k: float(s[k]) for k in ("r", "alpha", "a", "b")})
    rep = summ[summ["frequency"] > 0].reset_index(drop=True)
    rep = rep.assign(customer_id=range(len(rep)))[["customer_id", "frequency", "monetary_value"]]
    def gg():
        g = GammaGammaModel(data=rep); g.fit(method="map"); return g
    t, g = timed(gg)
    s = g.fit_summary()
    out["pymc_gg"] = dict(t, params={k: float(s[k]) for k in ("p", "q", "v")})
except Exception as e:
    out["pymc_error"] = repr(e)
print(json.dumps(out))
"""


def ensure_pymc() -> Tuple[Optional[Path], str]:
    py = PYMC / "bin" / "python"
    if not py.exists():
        print(f"creating {PYMC} for pymc-marketing ...", flush=True)
        base = os.environ.get("BASE_PYTHON", "python3.11")
        subprocess.run([base, "-m", "venv", "--clear", str(PYMC)], check=True)
        r = subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", *PYMC_PACKAGES], capture_output=True, text=True
        )
        if r.returncode != 0:
            return None, (r.stderr or r.stdout).strip()[-600:]
    return py, ""


def ensure_peers() -> Optional[Path]:
    py = PEERS / "bin" / "python"
    if not py.exists():
        print(f"creating {PEERS} for lifetimes 0.11.3 (needs numpy<2, pandas<2) ...", flush=True)
        base = os.environ.get("BASE_PYTHON", "python3.11")
        subprocess.run([base, "-m", "venv", "--clear", str(PEERS)], check=True)
        r = subprocess.run([str(py), "-m", "pip", "install", "--quiet", *PEER_PACKAGES])
        if r.returncode != 0:
            print("could not install lifetimes into .venv-peers")
            return None
    return py


def bench_models(repeat: int, peers: bool, pymc: bool) -> None:
    d = cdnow_dir()
    if d is None:
        print("CDNOW data not found (SIYU_CDNOW_DIR); skipping the model fits")
        return
    rf = pacsv.read_csv(d / "cdnow_customers_summary.csv")
    rows = [ln.split() for ln in (d / "CDNOW_sample.txt").read_text().splitlines() if ln.strip()]
    tx = pa.table({"id": [r[1] for r in rows], "date": [r[2] for r in rows], "v": [float(r[4]) for r in rows]})
    summ = clv.summary_from_transactions(
        tx, "id", "date", "v", observation_period_end="1997-09-30", freq="W", datetime_format="%Y%m%d"
    )
    t_bg, bg = best_of(lambda: clv.BGNBD().fit(rf["frequency"], rf["recency"], rf["T"]), repeat)
    t_gg, gg = best_of(lambda: clv.GammaGamma().fit(summ["frequency"], summ["monetary_value"]), repeat)
    print(f"siyu    BG/NBD fit {t_bg * 1e3:8.2f} ms  {fmt(bg.params)}  LL {bg.log_likelihood_:.2f}")
    print(f"siyu    Gamma-Gamma {t_gg * 1e3:7.2f} ms  {fmt(gg.params)}")
    summ_json = ROOT / "target" / "bench_cdnow_summary.json"
    summ_json.parent.mkdir(exist_ok=True)
    summ.to_pandas().to_json(summ_json)
    if peers:
        bench_lifetimes(d, summ_json, repeat, t_bg, t_gg)
    if pymc:
        bench_pymc(d, summ_json, repeat, t_bg, t_gg)


def bench_pymc(d: Path, summ_json: Path, repeat: int, t_bg: float, t_gg: float) -> None:
    py, why = ensure_pymc()
    if py is None:
        print("pymc-marketing: could not be installed:", why)
        return
    r = subprocess.run(
        [str(py), "-c", PYMC_SCRIPT, str(d / "cdnow_customers_summary.csv"), str(summ_json), str(min(repeat, 3))],
        capture_output=True, text=True,
    )
    try:
        out: Dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print("pymc-marketing run failed:", r.stderr[-2000:])
        return
    if "pymc_error" in out:
        print("pymc-marketing:", out["pymc_error"])
    for key, name, t in (("pymc_bgnbd", "BG/NBD", t_bg), ("pymc_gg", "Gamma-Gamma", t_gg)):
        if key in out:
            p = out[key]
            print(
                f"pymc-marketing {out['version']} {name} MAP {p['seconds'] * 1e3:9.1f} ms warm "
                f"({p['cold']:.1f} s cold)  {fmt(p['params'])}  -> siyu {p['seconds'] / t:.0f}x faster"
            )


def bench_lifetimes(d: Path, summ_json: Path, repeat: int, t_bg: float, t_gg: float) -> None:
    py = ensure_peers()
    if py is None:
        return
    r = subprocess.run(
        [str(py), "-c", PEER_SCRIPT, str(d / "cdnow_customers_summary.csv"), str(summ_json), str(repeat)],
        capture_output=True, text=True,
    )
    try:
        peer: Dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        print("peer run failed:", r.stderr[-2000:])
        return
    if "lifetimes_bgnbd" in peer:
        lb, lg = peer["lifetimes_bgnbd"], peer["lifetimes_gg"]
        print(f"lifetimes BG/NBD fit {lb['seconds'] * 1e3:8.2f} ms  {fmt(lb['params'])}  -> siyu {lb['seconds'] / t_bg:.1f}x faster")
        print(f"lifetimes Gamma-Gamma {lg['seconds'] * 1e3:7.2f} ms  {fmt(lg['params'])}  -> siyu {lg['seconds'] / t_gg:.1f}x faster")
    else:
        print("lifetimes:", peer.get("lifetimes_error"))


def fmt(p: Dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in p.items())


def synthetic_events(users: int, events: int, seed: int = 8) -> pa.Table:
    """Each user signs up on one of 30 days, then has activity ('open' or
    'purchase') on days after signup with geometric gaps."""
    rng = np.random.default_rng(seed)
    per_user = events // users
    signup_day = rng.integers(0, 30, users)
    gaps = rng.geometric(0.35, size=(users, per_user - 1)) - 1
    days = signup_day[:, None] + np.cumsum(gaps, axis=1)
    secs = rng.integers(0, 86_400, size=(users, per_user))
    all_days = np.concatenate([signup_day[:, None], days], axis=1)
    base = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    ts = base + (all_days * 86_400 + secs).astype(np.int64) * 1_000_000
    # Activity on the signup day happens after the signup.
    ts[:, 1:] = np.maximum(ts[:, 1:], ts[:, :1] + 1)
    uid = np.repeat(np.arange(users), per_user)
    names = np.full((users, per_user), 1, dtype=np.int8)
    names[:, 0] = 0
    names[:, 1:][rng.random((users, per_user - 1)) < 0.2] = 2
    dictionary = pa.array(["signup", "open", "purchase"])
    return pa.table(
        {
            "user_id": pa.array(uid).cast(pa.string()),
            "name": pa.DictionaryArray.from_arrays(pa.array(names.ravel()), dictionary),
            "timestamp": pa.array(ts.ravel(), pa.timestamp("us", "UTC")),
        }
    )


PERIODS = 8


def retention_pandas(df: Any) -> np.ndarray:
    import pandas as pd

    day = df["timestamp"].dt.floor("D")
    df = df.assign(day=day)
    signup = df[df["name"] == "signup"].groupby("user_id")["day"].min().rename("cohort")
    act = df[df["name"].isin(["open", "purchase"])][["user_id", "day"]].merge(signup, left_on="user_id", right_index=True)
    act["k"] = (act["day"] - act["cohort"]).dt.days
    act = act[(act["k"] >= 0) & (act["k"] < PERIODS)].drop_duplicates(["user_id", "k"])
    m = act.groupby(["cohort", "k"]).size().unstack(fill_value=0).reindex(columns=range(PERIODS), fill_value=0)
    return pd.DataFrame(m).sort_index().to_numpy()


def retention_polars(df: Any) -> np.ndarray:
    import polars as pl

    df = df.with_columns(pl.col("timestamp").dt.truncate("1d").alias("day"))
    signup = df.filter(pl.col("name") == "signup").group_by("user_id").agg(pl.col("day").min().alias("cohort"))
    act = (
        df.filter(pl.col("name").is_in(["open", "purchase"]))
        .join(signup, on="user_id")
        .with_columns(((pl.col("day") - pl.col("cohort")).dt.total_days()).alias("k"))
        .filter((pl.col("k") >= 0) & (pl.col("k") < PERIODS))
        .unique(["user_id", "k"])
        .group_by(["cohort", "k"]).len()
        .pivot(on="k", index="cohort", values="len")
        .sort("cohort")
        .fill_null(0)
    )
    return act.select([str(k) for k in range(PERIODS)]).to_numpy()


def bench_retention(users: int, events: int) -> None:
    t0 = time.perf_counter()
    table = synthetic_events(users, events)
    print(f"retention data: {users:,} users, {table.num_rows:,} events (generated in {time.perf_counter() - t0:.1f}s)")
    t_s, mat = best_of(
        lambda: analytics.retention_matrix(
            table, "signup", activity_events=["open", "purchase"], periods=PERIODS, values="count"
        ),
        1,
    )
    siyu_counts = np.array([[r[f"period_{k}"] for k in range(PERIODS)] for r in mat.to_pylist()])
    print(f"siyu    retention {t_s:7.2f} s")
    try:
        import pandas as pd  # noqa: F401

        pdf = table.to_pandas()
        pdf["name"] = pdf["name"].astype(str)
        t_p, pm = best_of(lambda: retention_pandas(pdf), 1)
        same = np.array_equal(pm, siyu_counts)
        print(f"pandas  retention {t_p:7.2f} s  -> siyu {t_p / t_s:.1f}x faster (same matrix: {same})")
    except MemoryError:
        print("pandas: out of memory")
    import polars as pl

    plf = pl.from_arrow(table).with_columns(pl.col("name").cast(pl.String))
    t_l, lm = best_of(lambda: retention_polars(plf), 1)
    same = np.array_equal(lm, siyu_counts)
    print(f"polars  retention {t_l:7.2f} s  -> siyu {t_l / t_s:.2f}x (same matrix: {same})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-pymc", action="store_true")
    ap.add_argument("--no-retention", action="store_true")
    a = ap.parse_args()
    print(f"siyu {siyu.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    bench_models(a.repeat, not a.no_peers, not a.no_pymc)
    if not a.no_retention:
        bench_retention(a.users, a.events)


if __name__ == "__main__":
    main()
