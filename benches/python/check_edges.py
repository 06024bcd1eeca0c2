"""Boundary cases the random population rarely hits, run through all four engines:
window edges (`(now-d, now]`), events after `now`, the current-week rule of
`weeks_without`, `within last/next` edges, missing traits and properties.

    .venv/bin/python benches/python/check_edges.py     # exits non-zero on any difference
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_segments import Module, Siyu, check_same  # noqa: E402
from gen_data import CATEGORIES, DAY_US, EVENT_NAMES, NOW_US, _dict_col  # noqa: E402
from semantics import CUR_WEEK_START_US, SEGMENTS, TODAY  # noqa: E402

WEEK = 7 * DAY_US


def tables() -> tuple[pa.Table, pa.Table]:
    users = list(range(1, 13))
    fs = [NOW_US - 30 * DAY_US, NOW_US - 30 * DAY_US - 1, NOW_US, NOW_US + 1, None] + [NOW_US - 400 * DAY_US] * 7
    bd = [TODAY - 180, TODAY - 181, TODAY + 90, TODAY + 91, None, TODAY] + [None] * 6
    ev: list[tuple[int, str, int, str | None, float | None]] = []
    p = "purchase"
    # 1: purchases exactly at the 90d edge (excluded) and just inside; big amounts.
    ev += [(1, p, NOW_US - 90 * DAY_US, "milk_powder", 900.0)] + [
        (1, p, NOW_US - 90 * DAY_US + 1, "milk_powder", 900.0)] * 1 + [
        (1, p, NOW_US - DAY_US, "milk_powder", 300.0), (1, p, NOW_US, "toys", 1.0)]
    # 2: same but three inside the window -> high value; one purchase after now (invisible).
    ev += [(2, p, NOW_US - 89 * DAY_US, "diapers", 1000.0)] * 3 + [(2, p, NOW_US + 1, "x", 5000.0)]
    # 3: last page view 1 µs before the current week; 4: in the current week only, earliest
    #    event 5 weeks back; 5: only events after now; 6: no events.
    ev += [(3, p, NOW_US - 300 * DAY_US, "books", 10.0),
           (3, "page_viewed", CUR_WEEK_START_US - 1, None, None)]
    ev += [(4, p, CUR_WEEK_START_US - 5 * WEEK, "books", 10.0),
           (4, "page_viewed", CUR_WEEK_START_US, "toys", None)]
    ev += [(5, p, NOW_US + DAY_US, "books", 10.0)]
    # 7: page view 3 full weeks + 1 µs before the current week; reply exactly 30d ago.
    ev += [(7, p, NOW_US - 200 * DAY_US, "books", 10.0),
           (7, "page_viewed", CUR_WEEK_START_US - 3 * WEEK - 1, "kids_furniture", None),
           (7, "message_replied", NOW_US - 30 * DAY_US, None, None)]
    # 8: like 7 but the reply is inside 30d; 9: opened exactly 72h ago (outside).
    ev += [(8, p, NOW_US - 200 * DAY_US, "books", 10.0),
           (8, "page_viewed", CUR_WEEK_START_US - 3 * WEEK - 1, None, None),
           (8, "message_replied", NOW_US - 30 * DAY_US + 1, None, None)]
    ev += [(9, p, NOW_US - 200 * DAY_US, "books", 10.0),
           (9, "message_opened", NOW_US - 72 * 3600 * 1_000_000, None, None)]
    # 10: kids page view exactly 30d ago (outside) and a null-category view inside.
    ev += [(10, "page_viewed", NOW_US - 30 * DAY_US, "toys", None),
           (10, "page_viewed", NOW_US - DAY_US, None, None)]
    # 11: page view in 14d + a purchase 180d - 1µs ago (inside); 12: 180d exactly.
    ev += [(11, "page_viewed", NOW_US - DAY_US, "apparel", None),
           (11, p, NOW_US - 180 * DAY_US + 1, "apparel", 50.0)]
    ev += [(12, "page_viewed", NOW_US - DAY_US, "apparel", None),
           (12, p, NOW_US - 180 * DAY_US, "apparel", 50.0)]
    cats = CATEGORIES + ["x"]
    profiles = pa.table({
        "id": pa.array(users, pa.int64()),
        "first_seen": pa.array(fs, pa.timestamp("us", tz="UTC")),
        "baby_birth_date": pa.array(bd, pa.date32()),
    })
    events = pa.table({
        "user_id": pa.array([e[0] for e in ev], pa.int64()),
        "name": _dict_col(np.array([EVENT_NAMES.index(e[1]) for e in ev]), EVENT_NAMES),
        "timestamp": pa.array([e[2] for e in ev], pa.timestamp("us", tz="UTC")),
        "category": _dict_col(np.array([cats.index(e[3]) if e[3] else 0 for e in ev]), cats,
                              np.array([e[3] is not None and e[1] != "purchase" or
                                        (e[1] == "purchase" and e[3] is not None) for e in ev])),
        "amount": pa.array([e[4] for e in ev], pa.float64()),
    })
    return profiles, events


def main() -> None:
    profiles, events = tables()
    engines = [Siyu(None), Module("pandas"), Module("polars"), Module("duckdb")]
    ref = engines[0].evaluate(*engines[0].to_native(profiles, events))
    for impl in engines[1:]:
        check_same("siyu", ref, impl.name, impl.evaluate(*impl.to_native(profiles, events)))
    for s in SEGMENTS:
        members = [u for u, m in zip(profiles.column("id").to_pylist(), ref[s]) if m]
        print(f"  {s:26s} {members}")
    print("edges: all four engines agree")


if __name__ == "__main__":
    main()
