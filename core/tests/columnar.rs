//! The columnar path (`CompiledRuleSet::evaluate_columns`) gives exactly the row
//! path's answers (`CompiledRuleSet::evaluate` per profile): on random rules,
//! profiles and events (proptest), and on every `segment` conformance vector whose
//! profile has only traits and a zone.

use proptest::prelude::*;
use serde_json::{json, Value as J};
use siyu_core::columnar::{Bitmap, Column, ColumnData, EventColumns, Owners, ProfileColumns};
use siyu_core::rules::{ColumnarInput, CompiledRuleSet, EvalInput, RuleSet, UngroupedInput};
use siyu_core::value::{parse_timestamp, Value, ValueType};
use siyu_core::{Event, EventLog, Profile, Schema, Zone};
use std::collections::BTreeMap;

// ----- rows → owned column buffers ---------------------------------------------

/// Owned buffers of one column; `column()` borrows them as the core expects.
struct Owned {
    ty: ValueType,
    /// Validity bits, shifted by `shift` bits (exercises bitmap offsets).
    valid: Vec<u8>,
    shift: usize,
    n: usize,
    ints: Vec<i64>,
    floats: Vec<f64>,
    bools: Vec<u8>,
    offsets: Vec<i32>,
    data: Vec<u8>,
    /// Dictionary encoding for strings.
    dict: Option<(Vec<i32>, Vec<String>)>,
    dates: Vec<i32>,
    lists: Vec<Vec<String>>,
}

fn set_bit(bits: &mut Vec<u8>, i: usize) {
    if bits.len() <= i / 8 {
        bits.resize(i / 8 + 1, 0);
    }
    bits[i / 8] |= 1 << (i % 8);
}

impl Owned {
    fn build(ty: ValueType, values: &[Option<&Value>], shift: usize, dictionary: bool) -> Owned {
        let n = values.len();
        let mut o = Owned {
            ty,
            valid: vec![0; (n + shift).div_ceil(8) + 1],
            shift,
            n,
            ints: Vec::new(),
            floats: Vec::new(),
            bools: vec![0; (n + shift).div_ceil(8) + 1],
            offsets: vec![0],
            data: Vec::new(),
            dict: None,
            dates: Vec::new(),
            lists: Vec::new(),
        };
        let mut dict_values: Vec<String> = Vec::new();
        let mut keys = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if v.is_some() {
                set_bit(&mut o.valid, i + shift);
            }
            match (ty, v) {
                (ValueType::Integer, Some(Value::Integer(x))) => o.ints.push(*x),
                (ValueType::Integer, _) => o.ints.push(0),
                (ValueType::Float, Some(Value::Float(x))) => o.floats.push(*x),
                (ValueType::Float, Some(Value::Integer(x))) => o.floats.push(*x as f64),
                (ValueType::Float, _) => o.floats.push(0.0),
                (ValueType::Boolean, Some(Value::Boolean(b))) => {
                    if *b {
                        set_bit(&mut o.bools, i + shift);
                    }
                }
                (ValueType::Boolean, _) => {}
                (ValueType::String, v) => {
                    let s = match v {
                        Some(Value::String(s)) => s.as_str(),
                        _ => "",
                    };
                    o.data.extend_from_slice(s.as_bytes());
                    o.offsets.push(o.data.len() as i32);
                    let k = match dict_values.iter().position(|d| d == s) {
                        Some(k) => k,
                        None => {
                            dict_values.push(s.to_string());
                            dict_values.len() - 1
                        }
                    };
                    keys.push(k as i32);
                }
                (ValueType::Timestamp, Some(Value::Timestamp(t))) => {
                    o.ints.push(t.timestamp_micros())
                }
                (ValueType::Timestamp, _) => o.ints.push(0),
                (ValueType::Date, Some(Value::Date(d))) => o.dates.push(
                    (*d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32,
                ),
                (ValueType::Date, _) => o.dates.push(0),
                (ValueType::StringList, Some(Value::StringList(l))) => o.lists.push(l.clone()),
                (ValueType::StringList, _) => o.lists.push(Vec::new()),
            }
        }
        if dictionary && ty == ValueType::String {
            o.dict = Some((keys, dict_values));
        }
        o
    }

    fn column(&self) -> Column<'_> {
        let s = self.shift;
        let data = match self.ty {
            ValueType::Integer => ColumnData::Integer(&self.ints),
            ValueType::Timestamp => ColumnData::TimestampMicros(&self.ints),
            ValueType::Float => ColumnData::Float(&self.floats),
            ValueType::Boolean => ColumnData::Boolean(Bitmap::new(&self.bools, s, self.n).unwrap()),
            ValueType::String => match &self.dict {
                Some((keys, values)) => ColumnData::Dictionary {
                    keys,
                    values: values.iter().map(|v| Some(v.as_str())).collect(),
                },
                None => ColumnData::Utf8 {
                    offsets: &self.offsets,
                    data: &self.data,
                },
            },
            ValueType::Date => ColumnData::Date32(&self.dates),
            ValueType::StringList => ColumnData::StringList(&self.lists),
        };
        Column::new(data, Some(Bitmap::new(&self.valid, s, self.n).unwrap())).unwrap()
    }
}

/// Everything the columnar path needs, owned, built from core rows.
struct Batch {
    traits: Vec<(String, Owned)>,
    zones: Vec<Option<Zone>>,
    ts: Vec<i64>,
    names: Vec<i32>,
    name_table: Vec<String>,
    ids: Owned,
    props: Vec<(String, Owned)>,
    owners: Vec<u32>,
}

/// Events are laid out in a shuffled order (by `perm_seed`), so grouping and
/// sorting are exercised; the events of `rows` are given in their input order.
fn to_batch(
    schema: &Schema,
    profiles: &[Profile],
    events: &[Vec<Event>],
    perm_seed: u64,
    dictionary: bool,
) -> Batch {
    to_batch_ordered(schema, profiles, events, perm_seed, dictionary, false)
}

/// As [`to_batch`]; with `time_order` the rows are then stably sorted by
/// timestamp (an event-log export), each user's ties keeping their input order.
fn to_batch_ordered(
    schema: &Schema,
    profiles: &[Profile],
    events: &[Vec<Event>],
    perm_seed: u64,
    dictionary: bool,
    time_order: bool,
) -> Batch {
    let shift = (perm_seed % 8) as usize;
    let traits = schema
        .traits
        .iter()
        .map(|(name, def)| {
            let vals: Vec<Option<&Value>> = profiles.iter().map(|p| p.traits.get(name)).collect();
            (name.clone(), Owned::build(def.ty, &vals, shift, dictionary))
        })
        .collect();
    // Flatten, then interleave users deterministically (a fixed stride permutation
    // keeps each user's own events in input order, as a time-ordered export does).
    let mut flat: Vec<(u32, &Event)> = Vec::new();
    for (u, evs) in events.iter().enumerate() {
        for e in evs {
            flat.push((u as u32, e));
        }
    }
    let mut order: Vec<usize> = (0..flat.len()).collect();
    order.sort_by_key(|&i| {
        let (u, _) = flat[i];
        (u64::from(u).wrapping_mul(perm_seed | 1) % 7, i)
    });
    let mut flat: Vec<(u32, &Event)> = order.into_iter().map(|i| flat[i]).collect();
    if time_order {
        flat.sort_by_key(|(_, e)| e.timestamp);
    }
    let mut name_table: Vec<String> = Vec::new();
    let names = flat
        .iter()
        .map(
            |(_, e)| match name_table.iter().position(|n| *n == e.name) {
                Some(k) => k as i32,
                None => {
                    name_table.push(e.name.clone());
                    name_table.len() as i32 - 1
                }
            },
        )
        .collect();
    let mut prop_types: BTreeMap<&str, ValueType> = BTreeMap::new();
    for def in schema.events.values() {
        for (p, f) in &def.properties {
            prop_types.insert(p, f.ty);
        }
    }
    let props = prop_types
        .iter()
        .map(|(p, ty)| {
            let vals: Vec<Option<&Value>> =
                flat.iter().map(|(_, e)| e.properties.get(*p)).collect();
            (p.to_string(), Owned::build(*ty, &vals, shift, dictionary))
        })
        .collect();
    let id_values: Vec<Value> = flat
        .iter()
        .map(|(_, e)| Value::String(e.id.clone()))
        .collect();
    let id_refs: Vec<Option<&Value>> = id_values.iter().map(Some).collect();
    Batch {
        traits,
        zones: profiles.iter().map(|p| p.time_zone).collect(),
        ts: flat
            .iter()
            .map(|(_, e)| e.timestamp.timestamp_micros())
            .collect(),
        names,
        name_table,
        ids: Owned::build(ValueType::String, &id_refs, shift, dictionary),
        props,
        owners: flat.iter().map(|(u, _)| *u).collect(),
    }
}

/// The columnar answers, `[user][rule]`.
fn columnar(
    compiled: &CompiledRuleSet,
    schema: &Schema,
    b: &Batch,
    now: chrono::DateTime<chrono::Utc>,
    default_zone: Zone,
    threads: usize,
) -> siyu_core::Result<Vec<Vec<bool>>> {
    columnar_with(compiled, schema, b, now, default_zone, threads, true)
}

/// As [`columnar`]; without `ids` every row is its own event, and grouping and
/// validation run on `threads` threads too.
fn columnar_with(
    compiled: &CompiledRuleSet,
    schema: &Schema,
    b: &Batch,
    now: chrono::DateTime<chrono::Utc>,
    default_zone: Zone,
    threads: usize,
    ids: bool,
) -> siyu_core::Result<Vec<Vec<bool>>> {
    let users = b.zones.len();
    let mut profiles = ProfileColumns::new(users).with_zones(b.zones.clone())?;
    for (name, col) in &b.traits {
        profiles = profiles.with_trait(name.clone(), col.column())?;
    }
    let mut events = EventColumns::new(&b.ts, &b.names, b.name_table.clone())?;
    if ids {
        events = events.with_ids(b.ids.column())?;
    }
    for (name, col) in &b.props {
        events = events.with_property(name.clone(), col.column())?;
    }
    profiles.validate(schema)?;
    events.validate(schema)?;
    events.validate_rows_threaded(schema, |_| true, threads)?;
    let grouped = events.group_threaded(&b.owners, users, threads)?;
    let one = events.group(&b.owners, users)?;
    assert_eq!(grouped.users(), one.users());
    assert_eq!(grouped.len(), one.len());
    for u in 0..users {
        assert_eq!(grouped.range(u), one.range(u), "user {u}");
    }
    for i in 0..one.len() {
        let at = |g: &siyu_core::columnar::UserEvents| (g.row(i), g.timestamp(i), g.name_code(i));
        assert_eq!(at(&grouped), at(&one), "group position {i}");
    }
    let input = ColumnarInput {
        profiles: &profiles,
        events: &events,
        grouped: &grouped,
        now,
        default_zone,
    };
    let by_rule = compiled.evaluate_columns(&input, threads)?;
    Ok((0..users)
        .map(|u| by_rule.iter().map(|r| r[u]).collect())
        .collect())
}

fn rows(
    compiled: &CompiledRuleSet,
    profiles: &[Profile],
    events: &[Vec<Event>],
    now: chrono::DateTime<chrono::Utc>,
    default_zone: Zone,
) -> siyu_core::Result<Vec<Vec<bool>>> {
    profiles
        .iter()
        .zip(events)
        .map(|(p, e)| {
            let log = EventLog::new(e.clone());
            compiled.evaluate(&EvalInput::new(p, &log, now).with_default_zone(default_zone))
        })
        .collect()
}

// ----- random rules, profiles and events -------------------------------------------

fn schema() -> Schema {
    Schema::from_json(
        r#"{"traits":{"age":"integer","ltv":"float","city":"string","vip":"boolean",
            "birthday":"date","first_seen":"timestamp","interests":"string_list"},
            "events":{"purchase":{"properties":{"amount":"float","category":"string","qty":"integer"}},
                      "page_viewed":{"properties":{"category":"string"}},
                      "message_opened":{"properties":{"channel":"string"}},
                      "check_in":{}}}"#,
    )
    .unwrap()
}

const NOW_S: i64 = 1_773_806_400; // 2026-03-18T04:00:00Z

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &[T]) -> impl Strategy<Value = T> {
    prop::sample::select(items.to_vec())
}

fn window() -> impl Strategy<Value = String> {
    pick(&[
        "",
        ", within 3d",
        ", within 72h",
        ", within 30d",
        ", within 0s",
        ", during today",
        ", during yesterday",
        ", during this week",
        ", during last week",
        ", during last month",
        ", during last 3 months",
        ", during this quarter",
        ", during calendar(year, 0, 1)",
        ", during calendar(month, 1, 2)",
        ", between timestamp(\"2026-03-01T00:00:00+08:00\") and timestamp(\"2026-03-16T00:00:00Z\")",
    ])
    .prop_map(String::from)
}

fn filter(event: &'static str) -> BoxedStrategy<String> {
    let opts: Vec<&'static str> = match event {
        "purchase" => vec![
            "",
            " where amount > 20",
            " where category = \"a\"",
            " where category in [\"a\", \"b\"]",
            " where qty is missing",
            " where amount > 10 or qty >= 2",
            " where not (category = \"b\")",
            " where lower(category) starts_with \"a\"",
        ],
        "page_viewed" => vec!["", " where category = \"a\"", " where category exists"],
        "message_opened" => vec!["", " where channel != \"sms\""],
        _ => vec![""],
    };
    pick(&opts).prop_map(String::from).boxed()
}

fn aggregate() -> impl Strategy<Value = String> {
    let event = pick(&["purchase", "page_viewed", "message_opened", "check_in"]);
    event.prop_flat_map(|ev| {
        let aggs: Vec<&'static str> = match ev {
            "purchase" => vec![
                "count(E{f}{w}) >= {n}",
                "any(E{f}{w})",
                "none(E{f}{w})",
                "sum(E.amount{f}{w}) > {n}0",
                "sum(E.qty{f}{w}) >= {n}",
                "avg(E.amount{f}{w}) < {n}5.5",
                "avg(E.qty{f}{w}) >= {n}",
                "min(E.qty{f}{w}) <= {n}",
                "max(E.amount{f}{w}) > {n}0",
                "max(E.category{f}{w}) = \"b\"",
                "min(E.category{f}{w}) < \"b\"",
                "distinct_count(E.category{f}{w}) >= {n}",
                "first_time(E{f}{w}) within last 30d",
                "last_time(E{f}{w}) after now - 3d",
                "days_since(last_time(E{f}{w})) > {n}",
                "weeks_without(E{f}) >= {n}",
                "days_with(E{f}) >= {n}",
                "months_without(E{f}) > {n}",
            ],
            "page_viewed" => vec![
                "count(E{f}{w}) >= {n}",
                "distinct_count(E.category{f}{w}) >= {n}",
                "weeks_without(E{f}) >= {n}",
                "weeks_with(E{f}) >= {n}",
                "any(E{f}{w})",
            ],
            _ => vec![
                "count(E{f}{w}) > {n}",
                "none(E{f}{w})",
                "days_without(E{f}) >= {n}",
                "days_with(E{f}) >= {n}",
                "months_with(E{f}) >= {n}",
            ],
        };
        (pick(&aggs), filter(ev), window(), 0..4u32).prop_map(move |(a, f, w, n)| {
            a.replace('E', ev)
                .replace("{f}", &f)
                .replace("{w}", &w)
                .replace("{n}", &n.to_string())
        })
    })
}

fn trait_clause() -> impl Strategy<Value = String> {
    (
        pick(&[
            "age > {n}0",
            "ltv <= {n}00",
            "city = \"a\"",
            "city in [\"a\", \"b\"]",
            "vip",
            "not vip",
            "city exists",
            "age is missing",
            "birthday within last {n}0d",
            "anniversary(birthday) within next {n}0d",
            "first_seen within last {n}0d",
            "first_seen within next {n}d",
            "days_since(first_seen) >= {n}0",
            "days_since(birthday) > {n}00",
            "hours_since(first_seen) > {n}00",
            "hours_since(birthday) > {n}00",
            "lower(city) starts_with \"a\"",
            "length(interests) >= {n}",
            "interests contains \"x\"",
            "city matches \"^[ab]\"",
            "age + 1 between 2 and {n}0",
            "ltv / age > {n}",
            "abs(age - 30) < {n}",
            "birthday + 7d > today",
            "first_seen - 2d before now - {n}d",
        ]),
        0..4u32,
    )
        .prop_map(|(c, n)| c.replace("{n}", &n.to_string()))
}

fn clause() -> impl Strategy<Value = String> {
    prop_oneof![3 => aggregate(), 2 => trait_clause()]
}

fn expr() -> impl Strategy<Value = String> {
    nest(clause().boxed())
}

fn nest(clause: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    clause.prop_recursive(3, 10, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" and "))),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" or "))),
            inner.prop_map(|e| format!("not ({e})")),
        ]
    })
}

fn rule_set() -> impl Strategy<Value = String> {
    rule_set_of(expr().boxed())
}

fn rule_set_of(expr: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    prop::collection::vec((expr, any::<bool>()), 1..5).prop_map(|rules| {
        let mut text = String::new();
        for (i, (e, refer)) in rules.iter().enumerate() {
            let e = if *refer && i > 0 {
                format!("in_segment(r{}) or {e}", i - 1)
            } else {
                e.clone()
            };
            text.push_str(&format!("segment r{i}: {e}\n"));
        }
        text
    })
}

fn zone() -> impl Strategy<Value = Option<&'static str>> {
    pick(&[
        None,
        Some("Asia/Shanghai"),
        Some("America/New_York"),
        Some("Europe/London"),
        Some("+05:30"),
    ])
}

fn maybe<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(0.7, s)
}

fn profile() -> impl Strategy<Value = J> {
    (
        (
            maybe(0i64..60),
            maybe(prop_oneof![
                (0i64..500).prop_map(|i| json!(i)),
                (0.0f64..500.0).prop_map(|f| json!(f))
            ]),
            maybe(pick(&["a", "b", "Abc", "c", ""])),
            maybe(any::<bool>()),
        ),
        (
            maybe(-800i64..400),
            maybe(-400i64 * 86_400..30 * 86_400),
            maybe(prop::collection::vec(pick(&["x", "y"]), 0..3)),
            zone(),
        ),
    )
        .prop_map(|((age, ltv, city, vip), (bday, first, interests, zone))| {
            let mut traits = serde_json::Map::new();
            if let Some(a) = age {
                traits.insert("age".into(), json!(a));
            }
            if let Some(l) = ltv {
                traits.insert("ltv".into(), l);
            }
            if let Some(c) = city {
                traits.insert("city".into(), json!(c));
            }
            if let Some(v) = vip {
                traits.insert("vip".into(), json!(v));
            }
            if let Some(d) = bday {
                let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 18).unwrap()
                    + chrono::Duration::days(d);
                traits.insert(
                    "birthday".into(),
                    json!(date.format("%Y-%m-%d").to_string()),
                );
            }
            if let Some(s) = first {
                let t = chrono::DateTime::from_timestamp(NOW_S + s, 0).unwrap();
                traits.insert("first_seen".into(), json!(t.to_rfc3339()));
            }
            if let Some(i) = interests {
                traits.insert("interests".into(), json!(i));
            }
            let mut p = json!({"id": "u", "traits": traits});
            if let Some(z) = zone {
                p["time_zone"] = json!(z);
            }
            p
        })
}

fn event() -> impl Strategy<Value = J> {
    (
        pick(&["purchase", "page_viewed", "message_opened", "check_in"]),
        // µs offsets from now: most in the past 200 days, some after now.
        prop_oneof![
            3 => -200i64 * 86_400_000_000..3 * 86_400_000_000,
            // Exactly on rolling-window edges (whole hours before now).
            1 => (-4800i64..72).prop_map(|h| h * 3_600_000_000),
            // On (or 1 µs beside) window edges: `now`, rolling windows, local
            // midnights, week and month starts of the default zones.
            1 => (pick(&[0i64, -4, -12, -16, -24, -28, -36, -48, -52, -60, -72, -148, -172, -407, -412, -420, -720]), -1i64..=1)
                .prop_map(|(h, d)| h * 3_600_000_000 + d),
        ],
        0u8..6,
        maybe(0.0f64..100.0),
        maybe(pick(&["a", "b", "c"])),
        maybe(0i64..5),
    )
        .prop_map(|(name, at, id, amount, cat, qty)| {
            let t = chrono::DateTime::from_timestamp_micros(NOW_S * 1_000_000 + at).unwrap();
            let mut props = serde_json::Map::new();
            match name {
                "purchase" => {
                    if let Some(a) = amount {
                        props.insert("amount".into(), json!(a));
                    }
                    if let Some(c) = cat {
                        props.insert("category".into(), json!(c));
                    }
                    if let Some(q) = qty {
                        props.insert("qty".into(), json!(q));
                    }
                }
                "page_viewed" => {
                    if let Some(c) = cat {
                        props.insert("category".into(), json!(c));
                    }
                }
                "message_opened" => {
                    if let Some(c) = cat {
                        props.insert(
                            "channel".into(),
                            json!(if c == "a" { "sms" } else { "wechat" }),
                        );
                    }
                }
                _ => {}
            }
            // Small id space: duplicates happen and must be dropped the same way.
            json!({"id": format!("e{id}"), "name": name,
                   "timestamp": t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                   "properties": props})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn columnar_equals_rows(
        text in rule_set(),
        users in prop::collection::vec((profile(), prop::collection::vec(event(), 0..12)), 0..6),
        now_offset in prop_oneof![Just(0i64), -3i64 * 86_400..3 * 86_400],
        now_nanos in prop_oneof![Just(0u32), Just(500u32), 0u32..1_000_000_000],
        default_zone in pick(&["UTC", "Asia/Shanghai", "America/New_York"]),
        seed in any::<u64>(),
        threads in 1usize..4,
    ) {
        let schema = schema();
        let compiled = CompiledRuleSet::compile_text(&text, &schema)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let profiles: Vec<Profile> = users
            .iter()
            .map(|(p, _)| Profile::from_json_value(p, &schema).unwrap())
            .collect();
        let events: Vec<Vec<Event>> = users
            .iter()
            .map(|(_, es)| es.iter().map(|e| Event::from_json_value(e, &schema).unwrap()).collect())
            .collect();
        let now = chrono::DateTime::from_timestamp(NOW_S + now_offset, now_nanos).unwrap();
        let zone = Zone::parse(default_zone).unwrap();
        let want = rows(&compiled, &profiles, &events, now, zone).unwrap();
        let batch = to_batch(&schema, &profiles, &events, seed, seed % 2 == 0);
        let got = columnar(&compiled, &schema, &batch, now, zone, threads).unwrap();
        prop_assert_eq!(got, want, "rules:\n{}", text);
    }
}

// ----- many users: threads, no ids --------------------------------------------------

/// The sample population (hundreds of users, interleaved events): grouping is
/// identical for every thread count (checked in `columnar_with`), and so are the
/// answers, equal to the row path's, with and without event ids (the generated
/// logs have unique ids, so dropping them changes nothing).
#[test]
fn sample_population_any_thread_count() {
    use siyu_core::sample::{schema as sample_schema, Generator, SampleConfig};
    let schema = sample_schema();
    let text = include_str!("../examples/demo_segments.siyu");
    let compiled = CompiledRuleSet::compile_text(text, &schema).unwrap();
    let config = SampleConfig::new(600, 11);
    let (now, zone) = (config.end, config.default_zone);
    let users: Vec<(Profile, EventLog)> = Generator::new(config).unwrap().iter().collect();
    let profiles: Vec<Profile> = users
        .iter()
        .map(|(p, _)| {
            let mut p = p.clone();
            p.tags.clear();
            p.consents.clear();
            p.identities.clear();
            p.scores.clear();
            p
        })
        .collect();
    let events: Vec<Vec<Event>> = users.iter().map(|(_, l)| l.events().to_vec()).collect();
    let want = rows(&compiled, &profiles, &events, now, zone).unwrap();
    assert!(
        want.iter().any(|r| r.iter().any(|&b| b)),
        "some memberships"
    );
    let runs = [
        (3u64, true, 1, false),
        (3, true, 3, true),
        (4, false, 2, false),
    ];
    for (seed, dictionary, threads, ids) in runs {
        let batch = to_batch(&schema, &profiles, &events, seed, dictionary);
        let got = columnar_with(&compiled, &schema, &batch, now, zone, threads, ids).unwrap();
        assert_eq!(got, want, "threads {threads}, ids {ids}, seed {seed}");
    }
}

// ----- the column-at-a-time kernel (trait-only rules) ------------------------------

/// Clauses of the kernel's subset (traits against literals and `now`), plus a few
/// outside it so mixed sets and segment references across the two are covered.
fn vector_clause() -> impl Strategy<Value = String> {
    (
        pick(&[
            "age > {n}0",
            "age = {n}",
            "{n}0 <= age",
            "age != 3{n}",
            "age between {n} and 40",
            "age in [1, 2, 3{n}]",
            "age not in [{n}, 10]",
            "age in [1.5, {n}0]",
            "age >= {n}.5",
            "ltv <= {n}00",
            "ltv != {n}5.5",
            "ltv > {n}",
            "ltv between 1.5 and {n}00",
            "ltv in [0, {n}0, 1.5]",
            "city = \"a\"",
            "city < \"b\"",
            "city >= \"Abc\"",
            "\"b\" > city",
            "city in [\"a\", \"b\"]",
            "city not in [\"c\", \"\"]",
            "city between \"a\" and \"b\"",
            "city starts_with \"A\"",
            "city ends_with \"c\"",
            "city contains \"b\"",
            "city matches \"^[ab]$\"",
            "vip",
            "not vip",
            "vip = false",
            "vip != true",
            "vip in [true]",
            "city exists",
            "age is missing",
            "ltv exists",
            "vip is missing",
            "birthday exists",
            "birthday > date(\"2026-0{m}-01\")",
            "birthday between date(\"2025-06-01\") and date(\"2026-0{m}-01\")",
            "birthday in [date(\"2026-03-18\"), date(\"2025-0{m}-01\")]",
            "first_seen before now",
            "first_seen >= now",
            "first_seen after timestamp(\"2026-03-1{n}T00:00:00.0000015Z\")",
            "first_seen <= timestamp(\"2026-03-1{n}T04:00:00Z\")",
            "first_seen = timestamp(\"2026-03-18T04:00:00.000000500Z\")",
            "first_seen between timestamp(\"2026-01-01T00:00:00Z\") and now",
            "first_seen within last {n}0d",
            "first_seen within next {n}d",
            "birthday within last {n}0d",
            "birthday within next {n}0d",
            "birthday >= today",
            "today > birthday",
            "true",
            "1 < {n}",
            "\"a\" = \"b\"",
            "now exists",
            // Outside the subset: the row evaluator.
            "abs(age) > {n}",
            "ltv > age",
            "interests contains \"x\"",
            "birthday + 7d > today",
            "count(purchase) >= {n}",
        ]),
        0..4u32,
        1..4u32,
    )
        .prop_map(|(c, n, m)| {
            c.replace("{n}", &n.to_string())
                .replace("{m}", &m.to_string())
        })
}

/// A batch whose users repeat `repeat` times (so blocks of 1024 rows and their
/// ends are crossed), with events for the rules outside the subset.
#[allow(clippy::type_complexity)]
fn repeat_users(
    users: &[(J, Vec<J>)],
    repeat: usize,
    schema: &Schema,
) -> (Vec<Profile>, Vec<Vec<Event>>) {
    let mut profiles = Vec::new();
    let mut events = Vec::new();
    for _ in 0..repeat {
        for (p, es) in users {
            profiles.push(Profile::from_json_value(p, schema).unwrap());
            events.push(
                es.iter()
                    .map(|e| Event::from_json_value(e, schema).unwrap())
                    .collect(),
            );
        }
    }
    (profiles, events)
}

fn columnar_input(
    b: &Batch,
    schema: &Schema,
    now: chrono::DateTime<chrono::Utc>,
    default_zone: Zone,
    run: impl FnOnce(&ColumnarInput<'_>) -> siyu_core::Result<Vec<Vec<bool>>>,
) -> siyu_core::Result<Vec<Vec<bool>>> {
    let users = b.zones.len();
    let mut profiles = ProfileColumns::new(users).with_zones(b.zones.clone())?;
    for (name, col) in &b.traits {
        profiles = profiles.with_trait(name.clone(), col.column())?;
    }
    let mut events =
        EventColumns::new(&b.ts, &b.names, b.name_table.clone())?.with_ids(b.ids.column())?;
    for (name, col) in &b.props {
        events = events.with_property(name.clone(), col.column())?;
    }
    profiles.validate(schema)?;
    let grouped = events.group(&b.owners, users)?;
    run(&ColumnarInput {
        profiles: &profiles,
        events: &events,
        grouped: &grouped,
        now,
        default_zone,
    })
}

/// Makes some present cells malformed, as foreign Arrow data can be: a
/// non-finite float, a dictionary key out of range, invalid UTF-8, an instant
/// or date out of range.
fn corrupt(b: &mut Batch, rows: &[usize]) {
    for (name, col) in &mut b.traits {
        for &r in rows {
            if r >= col.n {
                continue;
            }
            match name.as_str() {
                "ltv" => col.floats[r] = if r % 2 == 0 { f64::NAN } else { f64::INFINITY },
                "first_seen" => col.ints[r] = i64::MAX,
                "birthday" => col.dates[r] = i32::MAX,
                "city" => match &mut col.dict {
                    Some((keys, _)) => keys[r] = 99,
                    None => {
                        let at = col.offsets[r] as usize;
                        if at < col.offsets[r + 1] as usize {
                            col.data[at] = 0xFF;
                        }
                    }
                },
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn vector_kernel_equals_rows(
        text in rule_set_of(nest(vector_clause().boxed()).boxed()),
        users in prop::collection::vec((profile(), prop::collection::vec(event(), 0..3)), 0..8),
        repeat in prop_oneof![4 => Just(1usize), 1 => Just(300usize)],
        own_zones in any::<bool>(),
        now_offset in prop_oneof![Just(0i64), -3i64 * 86_400..3 * 86_400],
        now_nanos in prop_oneof![Just(0u32), Just(500u32), 0u32..1_000_000_000],
        seed in any::<u64>(),
        threads in 1usize..4,
    ) {
        let schema = schema();
        let compiled = CompiledRuleSet::compile_text(&text, &schema)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        // Without zones of their own, `today` is one date for the batch.
        let mut users = users;
        if !own_zones {
            for (p, _) in &mut users {
                p.as_object_mut().unwrap().remove("time_zone");
            }
        }
        let (profiles, events) = repeat_users(&users, repeat, &schema);
        let now = chrono::DateTime::from_timestamp(NOW_S + now_offset, now_nanos).unwrap();
        let zone = Zone::parse("Asia/Shanghai").unwrap();
        let want = rows(&compiled, &profiles, &events, now, zone).unwrap();
        let batch = to_batch(&schema, &profiles, &events, seed, seed % 2 == 0);
        let got = columnar(&compiled, &schema, &batch, now, zone, threads).unwrap();
        prop_assert_eq!(got, want, "rules:\n{}", text);
    }

    #[test]
    fn vector_kernel_reports_malformed_cells_as_the_row_evaluator(
        text in rule_set_of(nest(vector_clause().boxed()).boxed()),
        users in prop::collection::vec((profile(), Just(Vec::new())), 1..8),
        repeat in prop_oneof![3 => Just(1usize), 1 => Just(200usize)],
        bad in prop::collection::vec(0usize..1600, 0..3),
        seed in any::<u64>(),
        threads in 1usize..4,
    ) {
        let schema = schema();
        let compiled = CompiledRuleSet::compile_text(&text, &schema)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let (profiles, events) = repeat_users(&users, repeat, &schema);
        let now = chrono::DateTime::from_timestamp(NOW_S, 0).unwrap();
        let mut batch = to_batch(&schema, &profiles, &events, seed, seed % 2 == 0);
        corrupt(&mut batch, &bad);
        let zone = Zone::utc();
        let kernel = columnar_input(&batch, &schema, now, zone, |i| compiled.evaluate_columns(i, threads));
        let rowwise = columnar_input(&batch, &schema, now, zone, |i| compiled.evaluate_columns_rowwise(i, threads));
        match (kernel, rowwise) {
            (Ok(k), Ok(r)) => prop_assert_eq!(k, r, "rules:\n{}", text),
            (Err(k), Err(r)) => {
                prop_assert_eq!(k.kind(), r.kind());
                prop_assert_eq!(k.path(), r.path());
                prop_assert_eq!(k.message(), r.message());
            }
            (k, r) => prop_assert!(false, "kernel {:?}, row evaluator {:?}\nrules:\n{}", k, r, text),
        }
    }
}

// ----- the reduction kernel (ungrouped events, ADR 0013) ---------------------------

/// Aggregates the reduction kernel folds (no distinct counts, `*_with` streaks
/// or string `min`/`max`).
fn reducible_aggregate() -> impl Strategy<Value = String> {
    aggregate().prop_filter("a reduction", |a| {
        !a.contains("distinct_count") && !a.contains("_with(") && !a.contains(".category")
    })
}

/// Profiles and ungrouped events (no ids) as the core's columns.
fn ungrouped<T>(
    b: &Batch,
    schema: &Schema,
    run: impl FnOnce(&ProfileColumns<'_>, &EventColumns<'_>) -> siyu_core::Result<T>,
) -> siyu_core::Result<T> {
    let users = b.zones.len();
    let mut profiles = ProfileColumns::new(users).with_zones(b.zones.clone())?;
    for (name, col) in &b.traits {
        profiles = profiles.with_trait(name.clone(), col.column())?;
    }
    let mut events = EventColumns::new(&b.ts, &b.names, b.name_table.clone())?;
    for (name, col) in &b.props {
        events = events.with_property(name.clone(), col.column())?;
    }
    profiles.validate(schema)?;
    events.validate(schema)?;
    run(&profiles, &events)
}

/// `[rule][user]` flags as `[user][rule]`.
fn by_user(by_rule: Vec<Vec<bool>>, users: usize) -> Vec<Vec<bool>> {
    (0..users)
        .map(|u| by_rule.iter().map(|r| r[u]).collect())
        .collect()
}

/// Events of user `u` with ids in input order, so the row path's tie order
/// (time, then id) is the input order, as in ungrouped rows without ids.
fn unique_ids(events: &mut [Vec<Event>]) {
    for (u, es) in events.iter_mut().enumerate() {
        for (i, e) in es.iter_mut().enumerate() {
            e.id = format!("e{u:04}_{i:04}");
        }
    }
}

/// Makes some present event property cells malformed (a non-finite amount, a
/// dictionary key out of range or invalid UTF-8 in a category).
fn corrupt_events(b: &mut Batch, rows: &[usize]) {
    for (name, col) in &mut b.props {
        for &r in rows {
            if r >= col.n {
                continue;
            }
            match name.as_str() {
                "amount" => col.floats[r] = f64::NAN,
                "category" => match &mut col.dict {
                    Some((keys, _)) => keys[r] = 99,
                    None => {
                        let at = col.offsets[r] as usize;
                        if at < col.offsets[r + 1] as usize {
                            col.data[at] = 0xFF;
                        }
                    }
                },
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// `evaluate_ungrouped` equals the row evaluator on random rule sets (mostly
    /// reductions, some not) and events in time order, grouped by user, or in
    /// neither order; when the set is reducible and each user's rows are in
    /// time order, the kernel itself answers (no fallback).
    #[test]
    fn reduction_equals_rows(
        (text, restricted) in prop_oneof![
            3 => rule_set_of(nest(prop_oneof![3 => reducible_aggregate().boxed(), 2 => trait_clause().boxed()].boxed()).boxed()).prop_map(|t| (t, true)),
            1 => rule_set().prop_map(|t| (t, false)),
        ],
        users in prop::collection::vec((profile(), prop::collection::vec(event(), 0..12)), 0..7),
        own_zones in prop_oneof![3 => Just(false), 1 => Just(true)],
        order in 0u8..3,
        now_offset in prop_oneof![3 => Just(0i64), 1 => -3i64 * 86_400..3 * 86_400],
        now_nanos in prop_oneof![2 => Just(0u32), 1 => Just(500u32), 1 => 0u32..1_000_000_000],
        default_zone in pick(&["UTC", "Asia/Shanghai", "America/New_York"]),
        seed in any::<u64>(),
        threads in 1usize..4,
        bucket_shift in prop_oneof![Just(None), (0u32..3).prop_map(Some)],
    ) {
        let schema = schema();
        let compiled = CompiledRuleSet::compile_text(&text, &schema)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let mut users = users;
        if !own_zones {
            for (p, _) in &mut users {
                p.as_object_mut().unwrap().remove("time_zone");
            }
        }
        let profiles: Vec<Profile> = users
            .iter()
            .map(|(p, _)| Profile::from_json_value(p, &schema).unwrap())
            .collect();
        let mut events: Vec<Vec<Event>> = users
            .iter()
            .map(|(_, es)| es.iter().map(|e| Event::from_json_value(e, &schema).unwrap()).collect())
            .collect();
        unique_ids(&mut events);
        // order 0: one time-ordered log; 1: each user's events in time order,
        // users interleaved; 2: each user's events in input order.
        if order == 1 {
            for es in &mut events {
                es.sort_by_key(|e| e.timestamp);
            }
            unique_ids(&mut events);
        }
        let now = chrono::DateTime::from_timestamp(NOW_S + now_offset, now_nanos).unwrap();
        let zone = Zone::parse(default_zone).unwrap();
        let want = rows(&compiled, &profiles, &events, now, zone).unwrap();
        let batch = to_batch_ordered(&schema, &profiles, &events, seed, seed % 2 == 0, order == 0);
        let n = profiles.len();
        // The same owners as integer ids from a base (a dropped row's id is
        // past the last profile's).
        let base = (seed as i64) >> 2;
        let ids: Vec<i64> = batch.owners.iter().map(|&o| base.wrapping_add(i64::from(o))).collect();
        let (got, kernel, reducible) = ungrouped(&batch, &schema, |p, e| {
            let input = UngroupedInput { profiles: p, events: e, owners: Owners::Rows(&batch.owners), now, default_zone: zone };
            let offset = UngroupedInput { owners: Owners::Offset { ids: &ids, base }, ..input };
            let got = compiled.evaluate_ungrouped(&input, threads)?;
            let kernel = compiled.evaluate_reduced(&input, threads, bucket_shift)?;
            assert_eq!(compiled.evaluate_ungrouped(&offset, threads)?, got, "offset owners");
            assert_eq!(compiled.evaluate_reduced(&offset, threads, bucket_shift)?, kernel, "offset owners");
            Ok((got, kernel, compiled.reducible(p, e)))
        }).unwrap();
        prop_assert_eq!(by_user(got, n), want.clone(), "rules:\n{}", text);
        if restricted && !own_zones {
            prop_assert!(reducible, "not reducible:\n{}", text);
        }
        if reducible && order < 2 {
            let kernel = kernel.ok_or_else(|| TestCaseError::fail(format!("fell back:\n{text}")))?;
            prop_assert_eq!(by_user(kernel, n), want, "kernel, rules:\n{}", text);
        }
    }

    /// With malformed event or trait cells, `evaluate_ungrouped` returns what
    /// grouping and `evaluate_columns` return: the same flags or the same error.
    #[test]
    fn reduction_reports_malformed_cells_as_grouping(
        text in rule_set_of(nest(prop_oneof![3 => reducible_aggregate().boxed(), 2 => trait_clause().boxed()].boxed()).boxed()),
        users in prop::collection::vec((profile(), prop::collection::vec(event(), 0..10)), 1..6),
        bad_events in prop::collection::vec(0usize..40, 0..3),
        bad_traits in prop::collection::vec(0usize..6, 0..2),
        seed in any::<u64>(),
        threads in 1usize..4,
    ) {
        let schema = schema();
        let compiled = CompiledRuleSet::compile_text(&text, &schema)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let mut users = users;
        for (p, _) in &mut users {
            p.as_object_mut().unwrap().remove("time_zone");
        }
        let (profiles, events) = repeat_users(&users, 1, &schema);
        let now = chrono::DateTime::from_timestamp(NOW_S, 0).unwrap();
        let mut batch = to_batch_ordered(&schema, &profiles, &events, seed, seed % 2 == 0, true);
        corrupt_events(&mut batch, &bad_events);
        corrupt(&mut batch, &bad_traits);
        let zone = Zone::parse("Asia/Shanghai").unwrap();
        let users = profiles.len();
        let (fast, grouped) = ungrouped(&batch, &schema, |p, e| {
            let input = UngroupedInput { profiles: p, events: e, owners: Owners::Rows(&batch.owners), now, default_zone: zone };
            let fast = compiled.evaluate_ungrouped(&input, threads);
            let grouped = e.group_threaded(&batch.owners, users, threads).and_then(|g| {
                compiled.evaluate_columns(&ColumnarInput { profiles: p, events: e, grouped: &g, now, default_zone: zone }, threads)
            });
            Ok((fast, grouped))
        }).unwrap();
        match (fast, grouped) {
            (Ok(f), Ok(g)) => prop_assert_eq!(f, g, "rules:\n{}", text),
            (Err(f), Err(g)) => {
                prop_assert_eq!(f.kind(), g.kind());
                prop_assert_eq!(f.path(), g.path());
                prop_assert_eq!(f.message(), g.message());
            }
            (f, g) => prop_assert!(false, "reduction {:?}, grouped {:?}\nrules:\n{}", f, g, text),
        }
    }
}

/// The demo segments over the sample population, rows in time order: the
/// kernel answers and equals the row path, for any thread count.
#[test]
fn sample_population_reduction() {
    use siyu_core::sample::{schema as sample_schema, Generator, SampleConfig};
    let schema = sample_schema();
    let text = include_str!("../examples/demo_segments.siyu");
    let compiled = CompiledRuleSet::compile_text(text, &schema).unwrap();
    let config = SampleConfig::new(600, 11);
    let (now, zone) = (config.end, config.default_zone);
    let users: Vec<(Profile, EventLog)> = Generator::new(config).unwrap().iter().collect();
    let profiles: Vec<Profile> = users
        .iter()
        .map(|(p, _)| {
            let mut p = p.clone();
            p.tags.clear();
            p.consents.clear();
            p.identities.clear();
            p.scores.clear();
            p.time_zone = None;
            p
        })
        .collect();
    let mut events: Vec<Vec<Event>> = users.iter().map(|(_, l)| l.events().to_vec()).collect();
    unique_ids(&mut events);
    let want = rows(&compiled, &profiles, &events, now, zone).unwrap();
    assert!(
        want.iter().any(|r| r.iter().any(|&b| b)),
        "some memberships"
    );
    let batch = to_batch_ordered(&schema, &profiles, &events, 3, true, true);
    for (threads, shift) in [
        (1, None),
        (2, None),
        (3, Some(4)),
        (2, Some(0)),
        (1, Some(7)),
    ] {
        let got = ungrouped(&batch, &schema, |p, e| {
            let input = UngroupedInput {
                profiles: p,
                events: e,
                owners: Owners::Rows(&batch.owners),
                now,
                default_zone: zone,
            };
            assert!(compiled.reducible(p, e));
            compiled.evaluate_reduced(&input, threads, shift)
        })
        .unwrap()
        .expect("the kernel answers");
        assert_eq!(
            by_user(got, profiles.len()),
            want,
            "threads {threads}, buckets {shift:?}"
        );
    }
}

// ----- conformance vectors through the columnar path -----------------------------

#[test]
fn segment_vectors_through_columns() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/segment");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut ran, mut skipped) = (0, 0);
    for path in files {
        let file: J = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for case in file["cases"].as_array().into_iter().flatten() {
            let field = |k: &str| case.get(k).or_else(|| file.get(k));
            if case.get("expect").is_none() {
                continue;
            }
            let Ok(schema) =
                Schema::from_json(&field("schema").cloned().unwrap_or(json!({})).to_string())
            else {
                continue;
            };
            let rules = field("rules").cloned().unwrap_or(J::Null);
            let compiled = match &rules {
                J::String(t) => CompiledRuleSet::compile_text(t, &schema),
                doc => RuleSet::from_json_value(doc)
                    .and_then(|r| CompiledRuleSet::compile(&r, &schema)),
            };
            let Ok(compiled) = compiled else { continue };
            let profile =
                Profile::from_json_value(field("profile").unwrap_or(&json!({"id": "p"})), &schema)
                    .unwrap();
            let log =
                EventLog::from_json_value(field("events").unwrap_or(&json!([])), &schema).unwrap();
            let now = parse_timestamp(field("now").and_then(J::as_str).unwrap()).unwrap();
            let zone = field("default_zone")
                .and_then(J::as_str)
                .map_or(Zone::utc(), |z| Zone::parse(z).unwrap());
            // Columns carry traits, zones and µs timestamps only.
            let sub_micro = log
                .events()
                .iter()
                .any(|e| e.timestamp.timestamp_subsec_nanos() % 1000 != 0);
            if !profile.tags.is_empty()
                || !profile.consents.is_empty()
                || !profile.identities.is_empty()
                || !profile.scores.is_empty()
                || sub_micro
            {
                skipped += 1;
                continue;
            }
            let events = vec![log.events().to_vec()];
            let name = format!("{} / {}", path.display(), case["name"]);
            let want = rows(
                &compiled,
                std::slice::from_ref(&profile),
                &events,
                now,
                zone,
            );
            let batch = to_batch(&schema, std::slice::from_ref(&profile), &events, 3, false);
            let got = columnar(&compiled, &schema, &batch, now, zone, 1);
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(g, w, "{name}"),
                (Err(w), Err(g)) => assert_eq!(g.kind(), w.kind(), "{name}"),
                (w, g) => panic!("{name}: rows {w:?}, columns {g:?}"),
            }
            ran += 1;
        }
    }
    println!("segment vectors through columns: {ran} ran, {skipped} skipped (tags/consents/identities/scores)");
    assert!(
        ran >= 80,
        "only {ran} segment cases ran through the columnar path"
    );
}

// ----- retention: columns == rows ---------------------------------------------------

mod retention {
    use super::*;
    use siyu_core::analytics::{
        retention_matrix, retention_matrix_columns, Granularity, RetentionColumns, RetentionSpec,
        UserEvent,
    };

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn retention_columns_equal_rows(
            rows in prop::collection::vec((0u32..6, 0i32..3, 0i64..40 * 86_400_000_000), 0..60),
            week in any::<bool>(),
            periods in prop_oneof![Just(3u32), Just(8u32), Just(70u32)],
            zone in pick(&["UTC", "Asia/Shanghai", "America/New_York"]),
            activity in prop_oneof![Just(vec![]), Just(vec!["open".to_string()]), Just(vec!["open".to_string(), "buy".to_string()])],
            end in prop::option::of(0i64..40 * 86_400),
        ) {
            let table = vec!["signup".to_string(), "open".to_string(), "buy".to_string()];
            let base = 1_704_067_200_000_000i64; // 2024-01-01T00:00:00Z
            let events: Vec<UserEvent> = rows
                .iter()
                .map(|&(u, n, t)| UserEvent {
                    user_id: format!("u{u}"),
                    name: table[n as usize].clone(),
                    timestamp: chrono::DateTime::from_timestamp_micros(base + t).unwrap(),
                })
                .collect();
            let spec = RetentionSpec {
                cohort_event: "signup".into(),
                activity_events: activity,
                granularity: if week { Granularity::Week } else { Granularity::Day },
                periods,
                zone: Zone::parse(zone).unwrap(),
                end: end.map(|s| chrono::DateTime::from_timestamp(base / 1_000_000 + s, 0).unwrap()),
            };
            let users: Vec<u32> = rows.iter().map(|r| r.0 * 7 + 1).collect();
            let ts: Vec<i64> = rows.iter().map(|r| base + r.2).collect();
            let names: Vec<i32> = rows.iter().map(|r| r.1).collect();
            let cols = RetentionColumns { users: &users, timestamps: &ts, names: &names, name_table: &table };
            prop_assert_eq!(
                retention_matrix_columns(&cols, &spec).unwrap(),
                retention_matrix(&events, &spec).unwrap()
            );
        }
    }
}

/// Owners read from integer ids by offset: ids outside the profiles' range
/// (below the base, past the last, far away) have no user, and both kinds
/// count their unmatched rows alike on any thread count.
#[test]
fn owners_by_offset_and_their_unmatched_rows() {
    let none = u32::MAX;
    let ids = [10i64, 12, 9, 14, i64::MIN, 11, i64::MAX];
    let offset = Owners::Offset {
        ids: &ids,
        base: 10,
    };
    assert_eq!(
        offset.to_rows(4).as_ref(),
        &[0, 2, none, none, none, 1, none]
    );
    assert_eq!(offset.get(3, 5), 4);
    let rows = [0u32, 5, 3, none];
    for threads in 1..4 {
        assert_eq!(offset.unmatched(4, threads), 4);
        assert_eq!(Owners::Rows(&rows).unmatched(4, threads), 2);
    }
    assert_eq!(Owners::Rows(&rows).get(1, 4), none);
    assert_eq!(Owners::Rows(&rows).get(2, 4), 3);
    assert_eq!(Owners::Rows(&[]).unmatched(4, 2), 0);
}
