//! One generated user: archetype, profile and a year of events.

use super::rng::SplitMix64;
use super::Generator;
use super::ZoneChoice;
use crate::profile::{Consent, ConsentStatus, Event, EventLog, Profile, Tag, TagSource};
use crate::value::Value;
use chrono::{DateTime, Duration, NaiveTime, Utc};

/// The behaviour pattern a generated user follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Archetype {
    /// Buys every few weeks, reads and answers messages, browses weekly.
    Loyal,
    /// Buys every few months.
    Occasional,
    /// Bought exactly once.
    OneOff,
    /// Active for 1–9 months, then silent.
    Churned,
    /// Browses and reads, never buys.
    BrowserOnly,
    /// First contact in the last 30 days.
    New,
}

impl Archetype {
    /// Every archetype with its share of the population.
    pub const WEIGHTS: &'static [(Archetype, f64)] = &[
        (Archetype::Loyal, 0.12),
        (Archetype::Occasional, 0.25),
        (Archetype::OneOff, 0.15),
        (Archetype::Churned, 0.18),
        (Archetype::BrowserOnly, 0.20),
        (Archetype::New, 0.10),
    ];

    /// Per-day base rates while active.
    fn rates(self) -> Rates {
        let r = |browse, purchase, check_in, consult, coupon, open, reply| Rates {
            browse,
            purchase,
            check_in,
            consult,
            coupon,
            open,
            reply,
        };
        match self {
            Archetype::Loyal => r(0.09, 1.0 / 26.0, 0.04, 0.010, 0.020, 0.55, 0.12),
            Archetype::Occasional => r(0.04, 1.0 / 80.0, 0.01, 0.006, 0.012, 0.35, 0.05),
            Archetype::OneOff => r(0.02, 0.0, 0.005, 0.004, 0.006, 0.15, 0.02),
            Archetype::Churned => r(0.07, 1.0 / 45.0, 0.015, 0.008, 0.012, 0.35, 0.05),
            Archetype::BrowserOnly => r(0.08, 0.0, 0.01, 0.010, 0.010, 0.30, 0.03),
            Archetype::New => r(0.25, 1.0 / 25.0, 0.05, 0.030, 0.030, 0.50, 0.08),
        }
    }
}

struct Rates {
    browse: f64,
    purchase: f64,
    check_in: f64,
    consult: f64,
    coupon: f64,
    open: f64,
    reply: f64,
}

const CITIES: &[(&str, f64)] = &[
    ("Shanghai", 12.0),
    ("Beijing", 10.0),
    ("Guangzhou", 8.0),
    ("Shenzhen", 8.0),
    ("Hangzhou", 7.0),
    ("Chengdu", 7.0),
    ("Wuhan", 6.0),
    ("Nanjing", 5.0),
    ("Chongqing", 5.0),
    ("Xi'an", 4.0),
    ("Suzhou", 4.0),
    ("Tianjin", 4.0),
    ("Changsha", 4.0),
    ("Zhengzhou", 3.0),
    ("Qingdao", 3.0),
    ("Xiamen", 2.0),
    ("Kunming", 2.0),
    ("Shenyang", 2.0),
    ("Hefei", 2.0),
    ("Foshan", 2.0),
];

const AGE_BANDS: &[(&str, f64)] = &[
    ("18-24", 8.0),
    ("25-29", 30.0),
    ("30-34", 35.0),
    ("35-39", 18.0),
    ("40+", 9.0),
];

const CHANNELS: &[(&str, f64)] = &[
    ("wecom_qr", 30.0),
    ("official_account", 20.0),
    ("mini_program", 20.0),
    ("store", 15.0),
    ("live_stream", 10.0),
    ("referral", 5.0),
];

/// Category, weight, median order amount (CNY).
const CATEGORIES: &[(&str, f64, f64)] = &[
    ("milk_powder", 30.0, 320.0),
    ("diapers", 22.0, 160.0),
    ("toys", 12.0, 120.0),
    ("clothing", 10.0, 150.0),
    ("bottles", 8.0, 80.0),
    ("probiotics", 8.0, 200.0),
    ("kids_furniture", 5.0, 1200.0),
    ("books", 5.0, 60.0),
];

const NICKNAMES: &[&str] = &[
    "小鱼",
    "Lily",
    "晴天",
    "豆豆妈",
    "Coco",
    "安安",
    "木木",
    "Momo",
    "糖糖妈妈",
    "Grace",
];

/// Local hour-of-day weights: lunch and evening peaks.
const HOURS: [f64; 24] = [
    0.3, 0.15, 0.1, 0.05, 0.05, 0.1, 0.4, 1.0, 1.5, 1.6, 1.6, 1.8, 3.0, 2.8, 1.6, 1.5, 1.5, 1.6,
    1.8, 2.4, 3.2, 3.4, 2.6, 1.0,
];

fn pick<'a>(rng: &mut SplitMix64, table: &[(&'a str, f64)]) -> &'a str {
    let total: f64 = table.iter().map(|e| e.1).sum();
    let mut x = rng.f64() * total;
    for (name, w) in table {
        if x < *w {
            return name;
        }
        x -= w;
    }
    table[table.len() - 1].0
}

fn pick_category(rng: &mut SplitMix64) -> usize {
    let total: f64 = CATEGORIES.iter().map(|c| c.1).sum();
    let mut x = rng.f64() * total;
    for (i, c) in CATEGORIES.iter().enumerate() {
        if x < c.1 {
            return i;
        }
        x -= c.1;
    }
    CATEGORIES.len() - 1
}

/// The archetype of user `index` (the first draw of its stream).
pub(super) fn archetype(seed: u64, index: usize) -> Archetype {
    let mut rng = SplitMix64::for_item(seed, index as u64);
    draw_archetype(&mut rng)
}

fn draw_archetype(rng: &mut SplitMix64) -> Archetype {
    let mut x = rng.f64();
    for (a, w) in Archetype::WEIGHTS {
        if x < *w {
            return *a;
        }
        x -= w;
    }
    Archetype::New
}

/// Builds one user's events; keeps the user's zone and the sample bounds.
struct Timeline<'a> {
    gen: &'a Generator,
    zone: &'a ZoneChoice,
    events: Vec<Event>,
}

impl Timeline<'_> {
    /// An instant on day `d` at a local time drawn from the hour profile;
    /// `None` outside `[start, end)`.
    fn at(&self, rng: &mut SplitMix64, d: i64) -> Option<DateTime<Utc>> {
        let hour = rng.weighted(&HOURS) as u32;
        let (m, s) = (rng.below(60) as u32, rng.below(60) as u32);
        self.at_time(d, hour, m, s)
    }

    fn at_time(&self, d: i64, h: u32, m: u32, s: u32) -> Option<DateTime<Utc>> {
        let time = NaiveTime::from_hms_opt(h, m, s)?;
        let offset = *self.zone.offsets.get(usize::try_from(d).ok()?)?;
        let local = self.gen.calendar.date(d).and_time(time);
        let t = (local - Duration::seconds(i64::from(offset))).and_utc();
        let cfg = &self.gen.config;
        (t >= cfg.start && t < cfg.end).then_some(t)
    }

    fn push<'k>(
        &mut self,
        t: DateTime<Utc>,
        name: &str,
        props: impl IntoIterator<Item = (&'k str, Value)>,
    ) {
        self.events.push(Event {
            id: String::new(),
            name: name.to_string(),
            timestamp: t,
            properties: props.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        });
    }

    /// Days in `[from, to)` drawn as a Poisson process of `rate` per day,
    /// modulated by the shopping calendar when `seasonal` (thinning).
    fn days(
        &self,
        rng: &mut SplitMix64,
        from: f64,
        to: f64,
        rate: f64,
        seasonal: bool,
    ) -> Vec<i64> {
        let mut out = Vec::new();
        if rate <= 0.0 || to <= from {
            return out;
        }
        let cal = &self.gen.calendar;
        let max = if seasonal { cal.max_shopping } else { 1.0 };
        let mut t = from;
        loop {
            t += rng.exponential(rate * max);
            if t >= to {
                return out;
            }
            let d = t.floor() as i64;
            if !seasonal || rng.chance(cal.shopping(d) / max) {
                out.push(d);
            }
        }
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

/// Generates user `index`.
pub(super) fn generate(gen: &Generator, index: usize) -> (Profile, EventLog) {
    let cfg = &gen.config;
    let mut rng = SplitMix64::for_item(cfg.seed, index as u64);
    let kind = draw_archetype(&mut rng);
    let id = format!("u{:06}", index + 1);
    let zone_w: [f64; 8] = std::array::from_fn(|i| gen.zones.get(i).map_or(0.0, |z| z.weight));
    let zone = &gen.zones[rng.weighted(&zone_w[..gen.zones.len()])];
    let own_zone = zone.zone;
    let total = gen.calendar.days as f64;

    // Activity window in days since the sample's first local day.
    let first_seen_day = match kind {
        Archetype::New => total - 1.0 - rng.f64() * 29.0,
        _ => -180.0 + rng.f64() * (total - 60.0 + 180.0),
    };
    let active_from = first_seen_day.max(0.0);
    let active_to = match kind {
        Archetype::Churned => (active_from + rng.range(21, 270) as f64)
            .min(total - 35.0)
            .max(active_from + 7.0),
        _ => total,
    };
    let first_seen = cfg.start + Duration::seconds((first_seen_day * 86_400.0) as i64);

    let mut p = Profile::new(id.clone());
    p.time_zone = own_zone;
    let city = pick(&mut rng, CITIES);
    let channel = pick(&mut rng, CHANNELS);
    let favourite = pick_category(&mut rng);
    p.traits.insert("city".into(), s(city));
    p.traits
        .insert("age_band".into(), s(pick(&mut rng, AGE_BANDS)));
    let g = rng.f64();
    if g < 0.78 {
        p.traits.insert("gender".into(), s("female"));
    } else if g < 0.98 {
        p.traits.insert("gender".into(), s("male"));
    }
    p.traits
        .insert("first_seen".into(), Value::Timestamp(first_seen));
    p.traits.insert("channel".into(), s(channel));
    if rng.chance(0.65) {
        let end_date = gen.calendar.date(gen.calendar.days - 1);
        let birth = end_date - Duration::days(rng.range(-180, 3 * 365));
        p.traits
            .insert("baby_birth_date".into(), Value::Date(birth));
    }
    let tier = match kind {
        Archetype::Loyal => Some(if rng.chance(0.4) { "platinum" } else { "gold" }),
        Archetype::Occasional => {
            [Some("silver"), Some("gold"), None][rng.weighted(&[5.0, 3.0, 2.0])]
        }
        Archetype::Churned => rng.chance(0.4).then_some("silver"),
        _ => rng.chance(0.2).then_some("silver"),
    };
    if let Some(t) = tier {
        p.traits.insert("member_tier".into(), s(t));
        p.traits.insert(
            "points".into(),
            Value::Integer(rng.log_normal(800.0, 1.0) as i64),
        );
        p.identities.insert(
            "member_card".into(),
            vec![format!("MC{:08}", rng.below(100_000_000))],
        );
    }
    if rng.chance(0.95) {
        p.identities
            .insert("wechat_unionid".into(), vec![format!("o{}", rng.hex(27))]);
    }
    if rng.chance(0.7) {
        p.identities
            .insert("phone_sha256".into(), vec![rng.hex(64)]);
        p.traits.insert(
            "phone_masked".into(),
            s(&format!(
                "1{}{}****{:04}",
                3 + rng.below(7),
                rng.below(10),
                rng.below(10_000)
            )),
        );
    }
    if rng.chance(0.9) {
        let nick = NICKNAMES[rng.below(NICKNAMES.len() as u64) as usize];
        p.traits
            .insert("nickname".into(), s(&format!("{nick}{}", rng.below(1000))));
    }
    if rng.chance(0.3) {
        p.tags.push(Tag {
            name: format!("interest:{}", CATEGORIES[favourite].0),
            group: Some("interest".into()),
            source: TagSource::Import,
            added_at: first_seen,
            expires_at: None,
        });
    }
    if tier == Some("platinum") {
        p.tags.push(Tag {
            name: "vip".into(),
            group: None,
            source: TagSource::Manual,
            added_at: first_seen + Duration::days(30),
            expires_at: None,
        });
    }

    // Consents, recorded at first contact; some marketing grants are revoked later.
    let day_instant = |d: f64| cfg.start + Duration::seconds((d * 86_400.0) as i64);
    let mut consent =
        |channel: &str, purpose: &str, grant: f64, revoke: f64, rng: &mut SplitMix64| {
            let x = rng.f64();
            let (status, at) = if x < grant {
                (ConsentStatus::Granted, first_seen)
            } else if x < grant + revoke {
                let d = active_from + rng.f64() * (active_to - active_from);
                (ConsentStatus::Revoked, day_instant(d).max(first_seen))
            } else {
                (ConsentStatus::Denied, first_seen)
            };
            p.consents.push(Consent {
                channel: channel.into(),
                purpose: purpose.into(),
                status,
                at,
                expires_at: None,
            });
            (status, at)
        };
    let wechat_marketing = consent("wechat", "marketing", 0.85, 0.07, &mut rng);
    consent("wechat", "service", 0.97, 0.0, &mut rng);
    consent("sms", "marketing", 0.45, 0.10, &mut rng);
    consent("sms", "service", 0.90, 0.0, &mut rng);
    if rng.chance(0.4) {
        consent("app_push", "marketing", 0.60, 0.05, &mut rng);
        consent("app_push", "service", 0.95, 0.0, &mut rng);
    }

    let mut tl = Timeline {
        gen,
        zone,
        events: Vec::new(),
    };
    let rates = kind.rates();
    let staff = format!("s{:03}", rng.below(40));

    if first_seen_day >= 0.0 && first_seen < cfg.end {
        tl.push(
            first_seen,
            "friend_added",
            [("channel", s(channel)), ("staff_id", s(&staff))],
        );
    }
    if rng.chance(0.45) {
        let d = (active_from + rng.f64() * 14.0) as i64;
        if let Some(t) = tl.at(&mut rng, d) {
            if t >= first_seen {
                let group = format!(
                    "g{}-{}",
                    city.to_lowercase().replace('\'', ""),
                    rng.below(20)
                );
                tl.push(t, "group_joined", [("group_id", s(&group))]);
            }
        }
    }

    let category_for = |rng: &mut SplitMix64, p_fav: f64| {
        if rng.chance(p_fav) {
            favourite
        } else {
            pick_category(rng)
        }
    };

    // Browsing (seasonal), with a few pages per category.
    for d in tl.days(&mut rng, active_from, active_to, rates.browse, true) {
        let c = category_for(&mut rng, 0.5);
        if let Some(t) = tl.at(&mut rng, d) {
            let page = format!("/c/{}/{}", CATEGORIES[c].0, rng.below(30));
            tl.push(
                t,
                "page_viewed",
                [("category", s(CATEGORIES[c].0)), ("page", s(&page))],
            );
        }
    }
    for d in tl.days(&mut rng, active_from, active_to, rates.consult, false) {
        let c = category_for(&mut rng, 0.6);
        if let Some(t) = tl.at(&mut rng, d) {
            tl.push(
                t,
                "consulted",
                [("category", s(CATEGORIES[c].0)), ("staff_id", s(&staff))],
            );
        }
    }
    for d in tl.days(&mut rng, active_from, active_to, rates.coupon, true) {
        if let Some(t) = tl.at(&mut rng, d) {
            let value = [5.0, 10.0, 20.0, 50.0, 100.0][rng.weighted(&[3.0, 4.0, 3.0, 1.5, 0.5])];
            let coupon = format!("cp{}", rng.below(50));
            tl.push(
                t,
                "coupon_claimed",
                [("coupon_id", s(&coupon)), ("value", Value::Float(value))],
            );
        }
    }
    let mut streak = (-2i64, 0i64);
    for d in tl.days(&mut rng, active_from, active_to, rates.check_in, false) {
        if d == streak.0 {
            continue;
        }
        streak = (d, if d == streak.0 + 1 { streak.1 + 1 } else { 1 });
        if let Some(t) = tl.at(&mut rng, d) {
            tl.push(t, "check_in", [("streak", Value::Integer(streak.1))]);
        }
    }

    // Purchases: a Poisson stream, or exactly one for one-off buyers.
    let mut purchase_days = tl.days(&mut rng, active_from, active_to, rates.purchase, true);
    if kind == Archetype::OneOff {
        purchase_days = vec![(active_from + rng.f64() * (active_to - active_from)) as i64];
    }
    for (n, d) in purchase_days.into_iter().enumerate() {
        let c = category_for(&mut rng, 0.6);
        let Some(t) = tl.at(&mut rng, d) else {
            continue;
        };
        let items = 1 + (rng.exponential(1.2) as i64).min(9);
        let amount = rng.log_normal(CATEGORIES[c].2, 0.7) * (1.0 + 0.5 * (items - 1) as f64);
        let amount = (amount * 100.0).round() / 100.0;
        tl.push(
            t,
            "purchase",
            [
                ("amount", Value::Float(amount)),
                ("category", s(CATEGORIES[c].0)),
                ("items", Value::Integer(items)),
                ("order_id", s(&format!("o{}-{}", &id[1..], n + 1))),
                ("delivery_city", s(city)),
            ],
        );
    }
    if kind == Archetype::Loyal && rng.chance(0.25) {
        for _ in 0..rng.range(1, 3) {
            let d = (active_from + rng.f64() * (active_to - active_from)) as i64;
            if let Some(t) = tl.at(&mut rng, d) {
                let referred = format!("u{:06}", rng.below(cfg.users.max(1) as u64) + 1);
                tl.push(t, "referral", [("referred_id", s(&referred))]);
            }
        }
    }

    // Campaign messages go to users reachable on WeChat for marketing; churned
    // users keep receiving them but stop reading.
    let (wm_status, wm_at) = wechat_marketing;
    for c in &gen.calendar.campaigns {
        let day = c.day as f64;
        if day < active_from {
            continue;
        }
        let Some(sent) = tl.at_time(c.day, c.hour, c.minute, 0) else {
            continue;
        };
        let reachable = match wm_status {
            ConsentStatus::Granted => true,
            ConsentStatus::Revoked => sent < wm_at,
            ConsentStatus::Denied => false,
        };
        if !reachable {
            continue;
        }
        let msg = [("message_id", s(&c.id)), ("channel", s("wechat"))];
        let [m0, m1] = msg.clone();
        tl.push(sent, "message_sent", [m0, m1, ("purpose", s("marketing"))]);
        if day >= active_to || !rng.chance(rates.open) {
            continue;
        }
        let opened = sent
            + Duration::seconds((rng.log_normal(2.0 * 3600.0, 1.3).min(4.0 * 86_400.0)) as i64);
        if opened >= cfg.end {
            continue;
        }
        tl.push(opened, "message_opened", msg.clone());
        if rng.chance(rates.reply / rates.open.max(0.01)) {
            let replied = opened + Duration::seconds(rng.log_normal(600.0, 1.0) as i64);
            if replied < cfg.end {
                tl.push(replied, "message_replied", msg);
            }
        }
    }

    let mut events = tl.events;
    events.sort_by_key(|e| e.timestamp);
    for (k, e) in events.iter_mut().enumerate() {
        e.id = format!("{id}-e{:04}", k + 1);
    }
    (p, EventLog::new(events))
}
