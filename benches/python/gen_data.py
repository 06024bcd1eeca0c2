"""Deterministic synthetic population for the segment bench (numpy, fixed seed).

Profiles follow the sample schema's traits (core/src/sample/schema.rs); events use its
event names and properties. Shapes: heavy-tailed activity (gamma-Poisson, mean 20 events
per user), 40 % of users stop being active at some point (so churn segments are not empty),
purchases with log-normal amounts, categories shared by purchases/page views/consultations.
Everything is a pyarrow Table; the events are ordered by time, as an event-log export is.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

US = 1_000_000
DAY_US = 86_400 * US
#: Evaluation instant: Wednesday 2026-03-18 12:00 in Asia/Shanghai (04:00 UTC).
NOW = "2026-03-18T04:00:00Z"
NOW_US = int(np.datetime64("2026-03-18T04:00:00", "us").astype(np.int64))
ZONE = "Asia/Shanghai"  # fixed +08:00 since 1991 (no DST)
ZONE_OFFSET_US = 8 * 3600 * US

CITIES = ["Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Hangzhou", "Chengdu",
          "Wuhan", "Nanjing", "Suzhou", "Xi'an"]
AGE_BANDS = ["18-24", "25-29", "30-34", "35-39", "40+"]
TIERS = ["silver", "gold", "platinum"]
CHANNELS = ["qr_store", "ad_moments", "referral", "mini_program", "import"]
EVENT_NAMES = ["page_viewed", "message_sent", "message_opened", "message_replied", "purchase",
               "consulted", "coupon_claimed", "check_in", "group_joined", "friend_added",
               "referral"]
EVENT_P = [0.38, 0.20, 0.12, 0.04, 0.09, 0.04, 0.04, 0.06, 0.01, 0.01, 0.01]
CATEGORIES = ["milk_powder", "diapers", "toys", "kids_furniture", "apparel", "skincare",
              "snacks", "books"]
CATEGORY_P = [0.22, 0.20, 0.12, 0.06, 0.14, 0.12, 0.09, 0.05]
MSG_CHANNELS = ["wechat", "sms", "app"]


def _dict_col(codes: np.ndarray, values: list[str], valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    idx = pa.array(codes.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(values))


def generate(n_users: int, events_per_user: float = 20.0, seed: int = 20260318
             ) -> tuple[pa.Table, pa.Table]:
    """Returns (profiles, events) for `n_users` users, about 20 events each."""
    rng = np.random.default_rng(seed)
    n = n_users
    ids = np.arange(1, n + 1, dtype=np.int64)
    tenure_days = np.minimum(rng.exponential(300.0, n), 1000.0) + 0.5
    start = NOW_US - (tenure_days * DAY_US).astype(np.int64)
    churned = rng.random(n) < 0.4
    end = np.where(churned, NOW_US - (rng.random(n) * tenure_days * DAY_US).astype(np.int64),
                   NOW_US)
    shape = 0.8
    counts = rng.poisson(rng.gamma(shape, events_per_user / shape, n)).astype(np.int64)

    today_days = (NOW_US + ZONE_OFFSET_US) // DAY_US
    has_baby = rng.random(n) < 0.3
    baby = (today_days + rng.integers(-900, 271, n)).astype(np.int32)
    first_seen_valid = rng.random(n) >= 0.03
    gender_valid = rng.random(n) >= 0.1
    tier_valid = rng.random(n) >= 0.5
    profiles = pa.table({
        "id": ids,
        "city": _dict_col(rng.integers(0, len(CITIES), n), CITIES),
        "age_band": _dict_col(rng.integers(0, len(AGE_BANDS), n), AGE_BANDS),
        "gender": _dict_col(rng.integers(0, 2, n), ["female", "male"], gender_valid),
        "first_seen": pa.array(start, type=pa.timestamp("us", tz="UTC"), mask=~first_seen_valid),
        "baby_birth_date": pa.array(baby, type=pa.date32(), mask=~has_baby),
        "member_tier": _dict_col(rng.integers(0, 3, n), TIERS, tier_valid),
        "channel": _dict_col(rng.integers(0, len(CHANNELS), n), CHANNELS),
        "points": rng.integers(0, 20_000, n),
    })

    m = int(counts.sum())
    user = np.repeat(np.arange(n), counts)
    span = (end - start)[user]
    ts = start[user] + (rng.random(m) * span).astype(np.int64)
    ts = np.minimum(ts, NOW_US)
    name = rng.choice(len(EVENT_NAMES), m, p=EVENT_P).astype(np.int32)
    order = np.argsort(ts, kind="stable")
    user, ts, name = user[order], ts[order], name[order]

    is_purchase = name == EVENT_NAMES.index("purchase")
    is_view = name == EVENT_NAMES.index("page_viewed")
    has_cat = is_purchase | is_view | (name == EVENT_NAMES.index("consulted"))
    cat_valid = has_cat & ~(is_view & (rng.random(m) < 0.03))
    category = rng.choice(len(CATEGORIES), m, p=CATEGORY_P)
    amount = np.round(rng.lognormal(5.3, 0.8, m), 2)
    msg = np.isin(name, [EVENT_NAMES.index(x) for x in
                         ("message_sent", "message_opened", "message_replied")])
    events = pa.table({
        "user_id": ids[user],
        "name": _dict_col(name, EVENT_NAMES),
        "timestamp": pa.array(ts, type=pa.timestamp("us", tz="UTC")),
        "category": _dict_col(category, CATEGORIES, cat_valid),
        "amount": pa.array(amount, mask=~is_purchase),
        "channel": _dict_col(rng.integers(0, 3, m), MSG_CHANNELS, msg),
    })
    return profiles, events
