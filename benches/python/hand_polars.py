"""The demo segment set written by hand in polars (lazy group_by with filtered aggregates)."""

from __future__ import annotations

import numpy as np
import polars as pl

from gen_data import DAY_US, NOW_US, ZONE_OFFSET_US
from semantics import CUR_WEEK, CUR_WEEK_START_US, TODAY, since


def to_native(profiles, events):
    return pl.from_arrow(profiles), pl.from_arrow(events)


def _week(col: pl.Expr) -> pl.Expr:
    return ((col + ZONE_OFFSET_US) // DAY_US + 3) // 7


def evaluate(p: pl.DataFrame, e: pl.DataFrame) -> dict[str, np.ndarray]:
    ts = pl.col("timestamp").dt.epoch("us")
    name = pl.col("name").cast(pl.String)
    purchase = (name == "purchase") & (ts <= NOW_US)
    view = (name == "page_viewed") & (ts <= NOW_US)
    cat = pl.col("category").cast(pl.String)
    agg = (e.lazy().group_by("user_id").agg(
        p90=(purchase & (ts > since(90))).sum(),
        amt365=pl.col("amount").filter(purchase & (ts > since(365))).sum(),
        p180=(purchase & (ts > since(180))).sum(),
        p_all=purchase.sum(),
        v14=(view & (ts > since(14))).sum(),
        rep30=((name == "message_replied") & (ts <= NOW_US) & (ts > since(30))).sum(),
        open72h=((name == "message_opened") & (ts <= NOW_US)
                 & (ts > NOW_US - 72 * 3600 * 1_000_000)).sum(),
        milk90=(purchase & (cat == "milk_powder") & (ts > since(90))).fill_null(False).sum(),
        kids30=(view & cat.is_in(["kids_furniture", "toys"]) & (ts > since(30)))
        .fill_null(False).sum(),
        last_view=ts.filter(view & (ts < CUR_WEEK_START_US)).max(),
        first_ts=ts.min(),
    ))
    ww = (pl.when(pl.col("last_view").is_not_null())
          .then(pl.max_horizontal(CUR_WEEK - _week(pl.col("last_view")) - 1, 0))
          .when(pl.col("first_ts") <= NOW_US)
          .then(pl.max_horizontal(CUR_WEEK - _week(pl.col("first_ts")), 0))
          .otherwise(0))
    z = lambda c: pl.col(c).fill_null(0)  # noqa: E731
    hvl = (z("p90") >= 3) & (z("amt365") >= 2000)
    churn = (z("p_all") >= 1) & (z("rep30") == 0) & (z("open72h") == 0) & (ww >= 3)
    fs = pl.col("first_seen").dt.epoch("us")
    bd = pl.col("baby_birth_date").cast(pl.Int32)
    out = (p.lazy().select("id", "first_seen", "baby_birth_date")
           .join(agg, left_on="id", right_on="user_id", how="left", maintain_order="left")
           .select(
               high_value_loyal=hvl,
               potential_repeat_buyer=(z("p180") >= 1) & (z("v14") >= 1) & ~hvl,
               churn_warning=churn,
               new_user=((fs >= NOW_US - 30 * DAY_US) & (fs <= NOW_US)).fill_null(False),
               milk_powder_repeat_buyer=z("milk90") >= 2,
               has_kids_browser=z("kids30") >= 1,
               expecting_or_newborn=(((bd >= TODAY - 180) & (bd <= TODAY))
                                     | ((bd >= TODAY) & (bd <= TODAY + 90))).fill_null(False),
               win_back_audience=churn & pl.lit(False),  # has_consent: no consent input
           ).collect())
    return {c: out[c].to_numpy() for c in out.columns}
