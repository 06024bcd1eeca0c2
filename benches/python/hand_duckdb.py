"""The demo segment set as DuckDB SQL (FILTER aggregates over the Arrow tables, zero-copy)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from gen_data import DAY_US, NOW_US, ZONE_OFFSET_US
from semantics import CUR_WEEK, CUR_WEEK_START_US, TODAY, since

SQL = f"""
WITH e AS (
  SELECT user_id, name::VARCHAR AS name, epoch_us(timestamp) AS ts,
         category::VARCHAR AS category, amount
  FROM events WHERE epoch_us(timestamp) <= {NOW_US}
), a AS (
  SELECT user_id,
    count(*) FILTER (name = 'purchase' AND ts > {since(90)}) AS p90,
    coalesce(sum(amount) FILTER (name = 'purchase' AND ts > {since(365)}), 0) AS amt365,
    count(*) FILTER (name = 'purchase' AND ts > {since(180)}) AS p180,
    count(*) FILTER (name = 'purchase') AS p_all,
    count(*) FILTER (name = 'page_viewed' AND ts > {since(14)}) AS v14,
    count(*) FILTER (name = 'message_replied' AND ts > {since(30)}) AS rep30,
    count(*) FILTER (name = 'message_opened' AND ts > {NOW_US - 72 * 3600 * 1_000_000}) AS open72h,
    count(*) FILTER (name = 'purchase' AND category = 'milk_powder' AND ts > {since(90)}) AS milk90,
    count(*) FILTER (name = 'page_viewed' AND category IN ('kids_furniture', 'toys')
                     AND ts > {since(30)}) AS kids30,
    max(ts) FILTER (name = 'page_viewed' AND ts < {CUR_WEEK_START_US}) AS last_view
  FROM e GROUP BY user_id
), f AS (  -- earliest event of any name (the streak's fallback), visible or not
  SELECT user_id, min(epoch_us(timestamp)) AS first_ts FROM events GROUP BY user_id
), j AS (
  SELECT p.pos AS rn, epoch_us(p.first_seen) AS fs, (p.baby_birth_date - DATE '1970-01-01') AS bd,
    coalesce(a.p90, 0) AS p90, coalesce(a.amt365, 0) AS amt365, coalesce(a.p180, 0) AS p180,
    coalesce(a.p_all, 0) AS p_all, coalesce(a.v14, 0) AS v14, coalesce(a.rep30, 0) AS rep30,
    coalesce(a.open72h, 0) AS open72h, coalesce(a.milk90, 0) AS milk90,
    coalesce(a.kids30, 0) AS kids30,
    CASE WHEN a.last_view IS NOT NULL
           THEN greatest({CUR_WEEK} - ((a.last_view + {ZONE_OFFSET_US}) // {DAY_US} + 3) // 7 - 1, 0)
         WHEN f.first_ts <= {NOW_US}
           THEN greatest({CUR_WEEK} - ((f.first_ts + {ZONE_OFFSET_US}) // {DAY_US} + 3) // 7, 0)
         ELSE 0 END AS ww
  FROM profiles p LEFT JOIN a ON a.user_id = p.id LEFT JOIN f ON f.user_id = p.id
)
SELECT
  p90 >= 3 AND amt365 >= 2000 AS high_value_loyal,
  p180 >= 1 AND v14 >= 1 AND NOT (p90 >= 3 AND amt365 >= 2000) AS potential_repeat_buyer,
  p_all >= 1 AND rep30 = 0 AND open72h = 0 AND ww >= 3 AS churn_warning,
  coalesce(fs >= {NOW_US - 30 * DAY_US} AND fs <= {NOW_US}, false) AS new_user,
  milk90 >= 2 AS milk_powder_repeat_buyer,
  kids30 >= 1 AS has_kids_browser,
  coalesce((bd >= {TODAY - 180} AND bd <= {TODAY}) OR (bd >= {TODAY} AND bd <= {TODAY + 90}),
           false) AS expecting_or_newborn,
  false AS win_back_audience  -- has_consent: no consent input on the bulk path
FROM j ORDER BY rn
"""


def to_native(profiles, events):
    con = duckdb.connect()
    # DuckDB does not promise row order through joins: carry each profile's position.
    con.register("profiles", profiles.append_column("pos", pa.array(np.arange(profiles.num_rows))))
    con.register("events", events)
    return con, None


def evaluate(con, _unused=None) -> dict[str, np.ndarray]:
    out = con.sql(SQL).to_arrow_table()
    return {c: out.column(c).to_numpy(zero_copy_only=False).astype(bool)
            for c in out.column_names}
