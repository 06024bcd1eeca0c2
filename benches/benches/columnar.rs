//! The columnar bulk path (`CompiledRuleSet::evaluate_columns`, issue 5) against
//! the row path on the same users: the demo's segment set over the sample
//! population. Run: `cargo bench -p siyu-benches --bench columnar`.

use criterion::{criterion_group, criterion_main, Criterion};
use siyu_core::columnar::{Bitmap, Column, ColumnData, EventColumns, Owners, ProfileColumns};
use siyu_core::rules::{ColumnarInput, CompiledRuleSet, EvalInput, UngroupedInput};
use siyu_core::sample::{schema, Generator, SampleConfig};
use siyu_core::{EventLog, Profile, Value};
use std::hint::black_box;

const USERS: usize = 20_000;

/// Owned column buffers built from the generated rows.
struct Buffers {
    first_seen: Vec<i64>,
    first_seen_valid: Vec<u8>,
    baby: Vec<i32>,
    baby_valid: Vec<u8>,
    ts: Vec<i64>,
    names: Vec<i32>,
    name_table: Vec<String>,
    amount: Vec<f64>,
    amount_valid: Vec<u8>,
    cat_offsets: Vec<i32>,
    cat_data: Vec<u8>,
    cat_valid: Vec<u8>,
    owners: Vec<u32>,
}

fn bit(bits: &mut Vec<u8>, i: usize, on: bool) {
    if bits.len() <= i / 8 {
        bits.resize(i / 8 + 1, 0);
    }
    if on {
        bits[i / 8] |= 1 << (i % 8);
    }
}

/// Column buffers of the users' traits and events; the event rows are grouped
/// by user, or with `time_order` one log sorted by time (an export).
fn buffers(users: &[(Profile, EventLog)], time_order: bool) -> Buffers {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let mut b = Buffers {
        first_seen: Vec::new(),
        first_seen_valid: Vec::new(),
        baby: Vec::new(),
        baby_valid: Vec::new(),
        ts: Vec::new(),
        names: Vec::new(),
        name_table: Vec::new(),
        amount: Vec::new(),
        amount_valid: Vec::new(),
        cat_offsets: vec![0],
        cat_data: Vec::new(),
        cat_valid: Vec::new(),
        owners: Vec::new(),
    };
    for (u, (p, _)) in users.iter().enumerate() {
        let fs = match p.traits.get("first_seen") {
            Some(Value::Timestamp(t)) => Some(t.timestamp_micros()),
            _ => None,
        };
        bit(&mut b.first_seen_valid, u, fs.is_some());
        b.first_seen.push(fs.unwrap_or(0));
        let baby = match p.traits.get("baby_birth_date") {
            Some(Value::Date(d)) => Some((*d - epoch).num_days() as i32),
            _ => None,
        };
        bit(&mut b.baby_valid, u, baby.is_some());
        b.baby.push(baby.unwrap_or(0));
    }
    let mut rows: Vec<(u32, &siyu_core::Event)> = users
        .iter()
        .enumerate()
        .flat_map(|(u, (_, log))| log.events().iter().map(move |e| (u as u32, e)))
        .collect();
    if time_order {
        rows.sort_by_key(|(_, e)| e.timestamp);
    }
    for (u, e) in rows {
        let row = b.ts.len();
        b.owners.push(u);
        b.ts.push(e.timestamp.timestamp_micros());
        let code = match b.name_table.iter().position(|n| *n == e.name) {
            Some(c) => c,
            None => {
                b.name_table.push(e.name.clone());
                b.name_table.len() - 1
            }
        };
        b.names.push(code as i32);
        let amount = match e.properties.get("amount") {
            Some(Value::Float(f)) => Some(*f),
            Some(Value::Integer(i)) => Some(*i as f64),
            _ => None,
        };
        bit(&mut b.amount_valid, row, amount.is_some());
        b.amount.push(amount.unwrap_or(0.0));
        let cat = match e.properties.get("category") {
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        bit(&mut b.cat_valid, row, cat.is_some());
        b.cat_data.extend_from_slice(cat.unwrap_or("").as_bytes());
        b.cat_offsets.push(b.cat_data.len() as i32);
    }
    b
}

fn bitmap(bits: &[u8], n: usize) -> Option<Bitmap<'_>> {
    Some(Bitmap::new(bits, 0, n).expect("bitmap"))
}

fn bench_columnar(c: &mut Criterion) {
    let schema = schema();
    let text = include_str!("../../core/examples/demo_segments.siyu");
    let compiled = CompiledRuleSet::compile_text(text, &schema).expect("demo rules compile");
    let config = SampleConfig::new(USERS, 7);
    let (now, zone) = (config.end, config.default_zone);
    let generator = Generator::new(config).expect("sample");
    let users: Vec<(Profile, EventLog)> = generator.iter().collect();
    let b = buffers(&users, false);
    let (n, m) = (users.len(), b.ts.len());
    let profiles = ProfileColumns::new(n)
        .with_trait(
            "first_seen",
            Column::new(
                ColumnData::TimestampMicros(&b.first_seen),
                bitmap(&b.first_seen_valid, n),
            )
            .expect("column"),
        )
        .and_then(|p| {
            p.with_trait(
                "baby_birth_date",
                Column::new(ColumnData::Date32(&b.baby), bitmap(&b.baby_valid, n)).expect("column"),
            )
        })
        .and_then(|p| p.with_zones(users.iter().map(|(p, _)| p.time_zone).collect()))
        .expect("profiles");
    let events = EventColumns::new(&b.ts, &b.names, b.name_table.clone())
        .and_then(|e| {
            e.with_property(
                "amount",
                Column::new(ColumnData::Float(&b.amount), bitmap(&b.amount_valid, m))
                    .expect("column"),
            )
        })
        .and_then(|e| {
            e.with_property(
                "category",
                Column::new(
                    ColumnData::Utf8 {
                        offsets: &b.cat_offsets,
                        data: &b.cat_data,
                    },
                    bitmap(&b.cat_valid, m),
                )
                .expect("column"),
            )
        })
        .expect("events");
    let grouped = events.group(&b.owners, n).expect("group");
    let input = ColumnarInput {
        profiles: &profiles,
        events: &events,
        grouped: &grouped,
        now,
        default_zone: zone,
    };
    // Same answers before timing anything.
    let by_rule = compiled.evaluate_columns(&input, 1).expect("columnar");
    for (u, (p, log)) in users.iter().enumerate() {
        let mut p = p.clone();
        p.tags.clear();
        p.consents.clear();
        p.identities.clear();
        p.scores.clear();
        p.traits
            .retain(|k, _| k == "first_seen" || k == "baby_birth_date");
        let row = compiled
            .evaluate(&EvalInput::new(&p, log, now).with_default_zone(zone))
            .expect("row");
        let col: Vec<bool> = by_rule.iter().map(|r| r[u]).collect();
        assert_eq!(row, col, "user {u}");
    }

    let mut g = c.benchmark_group(format!("columnar/demo_segments_{n}_users_{m}_events"));
    g.sample_size(10);
    g.bench_function("row_path_evaluate_per_profile", |bch| {
        bch.iter(|| {
            for (p, log) in &users {
                let input = EvalInput::new(p, log, now).with_default_zone(zone);
                black_box(compiled.evaluate(&input).expect("row"));
            }
        })
    });
    g.bench_function("evaluate_columns_1_thread", |bch| {
        bch.iter(|| black_box(compiled.evaluate_columns(&input, 1).expect("columnar")))
    });
    g.bench_function("group_then_evaluate_columns_1_thread", |bch| {
        bch.iter(|| {
            let grouped = events.group(&b.owners, n).expect("group");
            let input = ColumnarInput {
                grouped: &grouped,
                ..input
            };
            black_box(compiled.evaluate_columns(&input, 1).expect("columnar"))
        })
    });
    g.bench_function("group_then_evaluate_columns_all_threads", |bch| {
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        bch.iter(|| {
            let grouped = events.group_threaded(&b.owners, n, threads).expect("group");
            let input = ColumnarInput {
                grouped: &grouped,
                ..input
            };
            black_box(
                compiled
                    .evaluate_columns(&input, threads)
                    .expect("columnar"),
            )
        })
    });
    g.bench_function("evaluate_columns_all_threads", |bch| {
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        bch.iter(|| {
            black_box(
                compiled
                    .evaluate_columns(&input, threads)
                    .expect("columnar"),
            )
        })
    });
    g.finish();
}

/// Profile (no zones of their own) and event columns over `b`.
fn no_zone_columns(b: &Buffers, n: usize) -> (ProfileColumns<'_>, EventColumns<'_>) {
    let m = b.ts.len();
    let profiles = ProfileColumns::new(n)
        .with_trait(
            "first_seen",
            Column::new(
                ColumnData::TimestampMicros(&b.first_seen),
                bitmap(&b.first_seen_valid, n),
            )
            .expect("column"),
        )
        .and_then(|p| {
            p.with_trait(
                "baby_birth_date",
                Column::new(ColumnData::Date32(&b.baby), bitmap(&b.baby_valid, n)).expect("column"),
            )
        })
        .expect("profiles");
    let events = EventColumns::new(&b.ts, &b.names, b.name_table.clone())
        .and_then(|e| {
            e.with_property(
                "amount",
                Column::new(ColumnData::Float(&b.amount), bitmap(&b.amount_valid, m))
                    .expect("column"),
            )
        })
        .and_then(|e| {
            e.with_property(
                "category",
                Column::new(
                    ColumnData::Utf8 {
                        offsets: &b.cat_offsets,
                        data: &b.cat_data,
                    },
                    bitmap(&b.cat_valid, m),
                )
                .expect("column"),
            )
        })
        .expect("events");
    (profiles, events)
}

/// The reduction kernel (ADR 0013) against grouping + `evaluate_columns`, on
/// the demo segments over one time-ordered event log (users without zones of
/// their own, so `weeks_without` is a reduction); answers asserted equal first.
fn bench_reduction(c: &mut Criterion) {
    let schema = schema();
    let text = include_str!("../../core/examples/demo_segments.siyu");
    let compiled = CompiledRuleSet::compile_text(text, &schema).expect("demo rules compile");
    let config = SampleConfig::new(USERS, 7);
    let (now, zone) = (config.end, config.default_zone);
    let users: Vec<(Profile, EventLog)> = Generator::new(config).expect("sample").iter().collect();
    let b = buffers(&users, true);
    let (n, m) = (users.len(), b.ts.len());
    let (profiles, events) = no_zone_columns(&b, n);
    let input = UngroupedInput {
        profiles: &profiles,
        events: &events,
        owners: Owners::Rows(&b.owners),
        now,
        default_zone: zone,
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let grouped = input.group(1).expect("group");
    let want = compiled
        .evaluate_columns(&input.with_grouped(&grouped), 1)
        .expect("columnar");
    for t in [1, threads] {
        let got = compiled.evaluate_reduced(&input, t, None).expect("reduce");
        assert_eq!(got.as_ref(), Some(&want), "the kernel answers, {t} threads");
    }

    let mut g = c.benchmark_group(format!(
        "columnar/reduce_demo_segments_{n}_users_{m}_events"
    ));
    g.sample_size(10);
    for t in [1, threads] {
        g.bench_function(format!("group_then_evaluate_columns_{t}_threads"), |bch| {
            bch.iter(|| {
                let grouped = input.group(t).expect("group");
                black_box(
                    compiled
                        .evaluate_columns(&input.with_grouped(&grouped), t)
                        .expect("columnar"),
                )
            })
        });
        g.bench_function(format!("evaluate_ungrouped_{t}_threads"), |bch| {
            bch.iter(|| black_box(compiled.evaluate_ungrouped(&input, t).expect("reduce")))
        });
    }
    g.finish();
}

/// The column-at-a-time kernel (ADR 0011) against the row evaluator over the
/// same columns, on the Node bench's single rule (issue 6): a dictionary string
/// column, a float column and an integer column with a few missing values.
fn bench_trait_kernel(c: &mut Criterion) {
    let schema = siyu_core::Schema::from_json(
        r#"{"traits":{"city":"string","total_spent":"float","age":"integer"}}"#,
    )
    .expect("schema");
    let compiled = CompiledRuleSet::compile_text(
        r#"segment target: city = "Shanghai" and total_spent >= 500 and age >= 25"#,
        &schema,
    )
    .expect("rule compiles");
    let now = siyu_core::value::parse_timestamp("2026-03-01T00:00:00Z").expect("now");
    for n in [10_000usize, 1_000_000] {
        let keys: Vec<i32> = (0..n).map(|i| (i % 4) as i32).collect();
        let spent: Vec<f64> = (0..n).map(|i| ((i * 37) % 1200) as f64).collect();
        let age: Vec<i64> = (0..n).map(|i| 18 + (i % 50) as i64).collect();
        let mut age_valid = Vec::new();
        for i in 0..n {
            bit(&mut age_valid, i, i % 97 != 0);
        }
        let profiles = ProfileColumns::new(n)
            .with_trait(
                "city",
                Column::new(
                    ColumnData::Dictionary {
                        keys: &keys,
                        values: vec![Some("Shanghai"), Some("Beijing"), Some("Shenzhen"), None],
                    },
                    None,
                )
                .expect("column"),
            )
            .and_then(|p| {
                p.with_trait(
                    "total_spent",
                    Column::new(ColumnData::Float(&spent), None).expect("column"),
                )
            })
            .and_then(|p| {
                p.with_trait(
                    "age",
                    Column::new(ColumnData::Integer(&age), bitmap(&age_valid, n)).expect("column"),
                )
            })
            .expect("profiles");
        let events = EventColumns::empty();
        let grouped = siyu_core::columnar::UserEvents::empty(n);
        let input = ColumnarInput {
            profiles: &profiles,
            events: &events,
            grouped: &grouped,
            now,
            default_zone: siyu_core::Zone::utc(),
        };
        assert_eq!(
            compiled.evaluate_columns(&input, 1).expect("kernel"),
            compiled.evaluate_columns_rowwise(&input, 1).expect("rows")
        );
        let mut g = c.benchmark_group(format!("columnar/trait_rule_{n}_users"));
        g.sample_size(10);
        g.throughput(criterion::Throughput::Elements(n as u64));
        g.bench_function("kernel_evaluate_columns_by_user", |bch| {
            bch.iter(|| {
                black_box(
                    compiled
                        .evaluate_columns_by_user(&input, 1)
                        .expect("kernel"),
                )
            })
        });
        g.bench_function("row_evaluator_evaluate_columns_rowwise", |bch| {
            bch.iter(|| black_box(compiled.evaluate_columns_rowwise(&input, 1).expect("rows")))
        });
        g.finish();
    }
}

criterion_group!(benches, bench_columnar, bench_reduction, bench_trait_kernel);
criterion_main!(benches);
