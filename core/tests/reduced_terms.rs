//! Event terms whose values the reduction kernel hands to the vector kernel
//! through the evaluator (`avg`, `min`/`max` of dates, timestamps and numbers,
//! `*_without`) give the row path's answers, missing values included.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use siyu_core::columnar::{Bitmap, Column, ColumnData, EventColumns, Owners, ProfileColumns};
use siyu_core::rules::{CompiledRuleSet, EvalInput, UngroupedInput};
use siyu_core::{Event, EventLog, Profile, Schema, Zone};

const RULES: &str = r#"
segment early_visit: min(visit.day) < date("2026-03-01")
segment recent_last: max(visit.at) within last 5d
segment avg_big: avg(visit.n) >= 2.5
segment max_small: max(visit.x) <= 1.5
segment no_visit_weeks: weeks_without(visit) >= 2
segment has_min: min(visit.day) exists
segment avg_missing: avg(visit.n) is missing
"#;

/// The reduction kernel's flags (rule-major) for `users` users without traits,
/// in UTC; the set must be reducible and the kernel must answer.
fn kernel(
    compiled: &CompiledRuleSet,
    events: &EventColumns<'_>,
    owners: &[u32],
    users: usize,
    now: chrono::DateTime<Utc>,
) -> Vec<Vec<bool>> {
    let profiles = ProfileColumns::new(users);
    assert!(compiled.reducible(&profiles, events));
    let input = UngroupedInput {
        profiles: &profiles,
        events,
        owners: Owners::Rows(owners),
        now,
        default_zone: Zone::utc(),
    };
    compiled
        .evaluate_reduced(&input, 2, None)
        .unwrap()
        .expect("the kernel answers")
}

#[test]
fn value_terms_through_the_vector_kernel_equal_the_row_path() {
    let schema = Schema::from_json(
        r#"{"traits":{},"events":{"visit":{"properties":{
            "day":"date","at":"timestamp","n":"integer","x":"float"}}}}"#,
    )
    .unwrap();
    let compiled = CompiledRuleSet::compile_text(RULES, &schema).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 18, 4, 0, 0).unwrap();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    // Users 0..6; each row: (user, days before now, day, at-offset days, n, x),
    // `None` for a missing value. User 5 has no events.
    type Row = (
        u32,
        i64,
        Option<(i32, u32, u32)>,
        Option<i64>,
        Option<i64>,
        Option<f64>,
    );
    let rows: Vec<Row> = vec![
        (0, 30, Some((2026, 2, 10)), Some(1), Some(3), Some(1.0)),
        (1, 20, Some((2026, 3, 5)), Some(10), Some(2), Some(2.0)),
        (0, 10, None, Some(2), Some(4), None),
        (2, 9, None, None, None, None),
        (3, 3, Some((2026, 2, 28)), Some(8), Some(2), Some(1.5)),
        (1, 2, Some((2026, 1, 1)), None, Some(3), Some(0.5)),
        (4, 1, Some((2026, 3, 17)), Some(0), None, Some(9.0)),
    ];
    let users = 6;
    let ts: Vec<i64> = rows
        .iter()
        .map(|r| (now - Duration::days(r.1)).timestamp_micros())
        .collect();
    let names = vec![0i32; rows.len()];
    let day: Vec<i32> = rows
        .iter()
        .map(|r| {
            r.2.map_or(0, |(y, m, d)| {
                (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap() - epoch).num_days() as i32
            })
        })
        .collect();
    let at: Vec<i64> = rows
        .iter()
        .map(|r| {
            r.3.map_or(0, |d| (now - Duration::days(d)).timestamp_micros())
        })
        .collect();
    let n: Vec<i64> = rows.iter().map(|r| r.4.unwrap_or(0)).collect();
    let x: Vec<f64> = rows.iter().map(|r| r.5.unwrap_or(f64::NAN)).collect();
    let valid = |f: &dyn Fn(&Row) -> bool| {
        let mut b = vec![0u8; rows.len().div_ceil(8)];
        for (i, r) in rows.iter().enumerate() {
            b[i / 8] |= u8::from(f(r)) << (i % 8);
        }
        b
    };
    let (vd, va, vn, vx) = (
        valid(&|r| r.2.is_some()),
        valid(&|r| r.3.is_some()),
        valid(&|r| r.4.is_some()),
        valid(&|r| r.5.is_some()),
    );
    let bm = |b: &'static [u8]| Some(Bitmap::new(b, 0, rows.len()).unwrap());
    let leak = |b: Vec<u8>| -> &'static [u8] { Box::leak(b.into_boxed_slice()) };
    let events = EventColumns::new(&ts, &names, vec!["visit".into()])
        .unwrap()
        .with_property(
            "day",
            Column::new(ColumnData::Date32(&day), bm(leak(vd))).unwrap(),
        )
        .unwrap()
        .with_property(
            "at",
            Column::new(ColumnData::TimestampMicros(&at), bm(leak(va))).unwrap(),
        )
        .unwrap()
        .with_property(
            "n",
            Column::new(ColumnData::Integer(&n), bm(leak(vn))).unwrap(),
        )
        .unwrap()
        .with_property(
            "x",
            Column::new(ColumnData::Float(&x), bm(leak(vx))).unwrap(),
        )
        .unwrap();
    let owners: Vec<u32> = rows.iter().map(|r| r.0).collect();
    let reduced = kernel(&compiled, &events, &owners, users, now);
    // The row path, one user at a time.
    for u in 0..users {
        let evs: Vec<Event> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.0 as usize == u)
            .map(|(i, r)| {
                let mut props = serde_json::Map::new();
                if let Some((y, m, d)) = r.2 {
                    props.insert("day".into(), json!(format!("{y:04}-{m:02}-{d:02}")));
                }
                if let Some(d) = r.3 {
                    props.insert("at".into(), json!((now - Duration::days(d)).to_rfc3339()));
                }
                if let Some(v) = r.4 {
                    props.insert("n".into(), json!(v));
                }
                if let Some(v) = r.5 {
                    props.insert("x".into(), json!(v));
                }
                let t = now - Duration::days(r.1);
                Event::from_json_value(
                    &json!({"id": format!("e{i}"), "name": "visit",
                            "timestamp": t.to_rfc3339(), "properties": props}),
                    &schema,
                )
                .unwrap()
            })
            .collect();
        let profile = Profile::new(format!("u{u}"));
        let log = EventLog::new(evs);
        let expected = compiled
            .evaluate(&EvalInput::new(&profile, &log, now))
            .unwrap();
        let got: Vec<bool> = reduced.iter().map(|rule| rule[u]).collect();
        assert_eq!(got, expected, "user {u}");
    }
    // The cases are not all alike: each rule is true for someone and false for someone.
    for (r, flags) in reduced.iter().enumerate() {
        assert!(
            flags.contains(&true) && flags.contains(&false),
            "rule {r}: {flags:?}"
        );
    }
}

/// Events on either side of each window's bounds (to the microsecond, `now`
/// itself and just after it included), one user per event, with and without
/// a filter: the kernel's per-stretch window verdicts equal the row path's.
#[test]
fn window_bounds_to_the_microsecond_equal_the_row_path() {
    let schema =
        Schema::from_json(r#"{"traits":{},"events":{"visit":{"properties":{"tag":"string"}}}}"#)
            .unwrap();
    let rules = r#"
segment week: count(visit, within 7d) >= 1
segment week_a: count(visit where tag = "a", within 7d) >= 1
segment day_a: any(visit where tag = "a", within 24h)
segment ever: count(visit) >= 1
segment last_week_seen: last_time(visit) within last 7d
"#;
    let compiled = CompiledRuleSet::compile_text(rules, &schema).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 3, 18, 4, 0, 0).unwrap();
    let us = |d: Duration| (now - d).timestamp_micros();
    let micro = Duration::microseconds(1);
    let mut ts: Vec<i64> = Vec::new();
    for edge in [Duration::zero(), Duration::hours(24), Duration::days(7)] {
        for delta in [-micro, Duration::zero(), micro] {
            ts.push(us(edge + delta));
        }
    }
    ts.sort_unstable();
    let users = ts.len();
    let names = vec![0i32; users];
    let keys = vec![0i32; users];
    let events = EventColumns::new(&ts, &names, vec!["visit".into()])
        .unwrap()
        .with_property(
            "tag",
            Column::new(
                ColumnData::Dictionary {
                    keys: &keys,
                    values: vec![Some("a")],
                },
                None,
            )
            .unwrap(),
        )
        .unwrap();
    let owners: Vec<u32> = (0..users as u32).collect();
    let reduced = kernel(&compiled, &events, &owners, users, now);
    for (u, &t) in ts.iter().enumerate() {
        let at = chrono::DateTime::from_timestamp_micros(t).unwrap();
        let event = Event::from_json_value(
            &json!({"id": format!("e{u}"), "name": "visit", "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    "properties": {"tag": "a"}}),
            &schema,
        )
        .unwrap();
        let profile = Profile::new(format!("u{u}"));
        let log = EventLog::new(vec![event]);
        let expected = compiled
            .evaluate(&EvalInput::new(&profile, &log, now))
            .unwrap();
        let got: Vec<bool> = reduced.iter().map(|rule| rule[u]).collect();
        assert_eq!(
            got,
            expected,
            "event at now - {}µs",
            now.timestamp_micros() - t
        );
    }
    // Each window's edge splits the users: its rule is true for some, false for others.
    for (r, flags) in reduced.iter().enumerate().take(3) {
        assert!(
            flags.contains(&true) && flags.contains(&false),
            "rule {r}: {flags:?}"
        );
    }
}
