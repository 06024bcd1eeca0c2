"""The demo segment set written by hand in pandas (idiomatic: vectorised flags + groupby)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gen_data import NOW_US, ZONE_OFFSET_US, DAY_US
from semantics import CUR_WEEK, CUR_WEEK_START_US, TODAY, since


def to_native(profiles, events):
    return profiles.to_pandas(date_as_object=False), events.to_pandas()


def evaluate(p: pd.DataFrame, e: pd.DataFrame) -> dict[str, np.ndarray]:
    ts = e["timestamp"].dt.as_unit("us").astype("int64")  # microseconds since the epoch
    name = e["name"]
    vis = ts <= NOW_US
    purchase = vis & (name == "purchase")
    view = vis & (name == "page_viewed")
    f = pd.DataFrame({
        "user_id": e["user_id"],
        "p90": purchase & (ts > since(90)),
        "amt365": e["amount"].where(purchase & (ts > since(365)), 0.0).fillna(0.0),
        "p180": purchase & (ts > since(180)),
        "p_all": purchase,
        "v14": view & (ts > since(14)),
        "rep30": vis & (name == "message_replied") & (ts > since(30)),
        "open72h": vis & (name == "message_opened") & (ts > NOW_US - 72 * 3600 * 1_000_000),
        "milk90": purchase & (e["category"] == "milk_powder") & (ts > since(90)),
        "kids30": view & e["category"].isin(["kids_furniture", "toys"]) & (ts > since(30)),
        "last_view": ts.where(view & (ts < CUR_WEEK_START_US)),
        "first_ts": ts,
    })
    g = f.groupby("user_id", sort=False).agg(
        p90=("p90", "sum"), amt365=("amt365", "sum"), p180=("p180", "sum"),
        p_all=("p_all", "sum"), v14=("v14", "sum"), rep30=("rep30", "sum"),
        open72h=("open72h", "sum"), milk90=("milk90", "sum"), kids30=("kids30", "sum"),
        last_view=("last_view", "max"), first_ts=("first_ts", "min"))
    g = g.reindex(p["id"])  # profile order; users without events get NaN
    z = lambda c: g[c].fillna(0).to_numpy()  # noqa: E731
    hvl = (z("p90") >= 3) & (z("amt365") >= 2000)
    prb = (z("p180") >= 1) & (z("v14") >= 1) & ~hvl
    week = lambda us: (np.floor_divide(us + ZONE_OFFSET_US, DAY_US) + 3) // 7  # noqa: E731
    last_view = g["last_view"].to_numpy()
    first_ts = g["first_ts"].to_numpy()
    with np.errstate(invalid="ignore"):
        ww = np.where(~np.isnan(last_view),
                      np.maximum(CUR_WEEK - week(np.nan_to_num(last_view)) - 1, 0),
                      np.where(~np.isnan(first_ts) & (first_ts <= NOW_US),
                               np.maximum(CUR_WEEK - week(np.nan_to_num(first_ts)), 0), 0))
    churn = (z("p_all") >= 1) & (z("rep30") == 0) & (z("open72h") == 0) & (ww >= 3)
    stamp = lambda us: pd.Timestamp(us, unit="us", tz="UTC")  # noqa: E731
    day = lambda d: pd.Timestamp(d * DAY_US, unit="us")  # noqa: E731
    fs = p["first_seen"]  # NaT (missing) compares false: unknown does not match
    new = (fs >= stamp(NOW_US - 30 * DAY_US)) & (fs <= stamp(NOW_US))
    bd = p["baby_birth_date"]
    exp = (((bd >= day(TODAY - 180)) & (bd <= day(TODAY)))
           | ((bd >= day(TODAY)) & (bd <= day(TODAY + 90))))
    return {
        "high_value_loyal": hvl,
        "potential_repeat_buyer": prb,
        "churn_warning": churn,
        "new_user": new.fillna(False).to_numpy(dtype=bool),
        "milk_powder_repeat_buyer": z("milk90") >= 2,
        "has_kids_browser": z("kids30") >= 1,
        "expecting_or_newborn": exp.fillna(False).to_numpy(dtype=bool),
        "win_back_audience": churn & False,  # has_consent: no consent data in bulk input
    }
