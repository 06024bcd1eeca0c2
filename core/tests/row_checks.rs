//! `EventColumns::rows_clean` (the one-pass check that lets callers skip the
//! exact row checks) against a direct oracle, and its promise: when it holds,
//! the exact checks pass for every choice of kept rows. Also `Bitmap::word`
//! against `Bitmap::get`.

use proptest::prelude::*;
use siyu_core::columnar::{days_range, micros_range, Bitmap, Column, ColumnData, EventColumns};
use siyu_core::Schema;

fn schema() -> Schema {
    Schema::from_json(
        r#"{"traits":{},
            "events":{"purchase":{"properties":{"amount":"float","category":"string"}},
                      "page_viewed":{"properties":{"category":"string"}},
                      "message_opened":{"properties":{"channel":"string"}},
                      "check_in":{}}}"#,
    )
    .unwrap()
}

/// Names in the batch's table; `refund` is not in the schema.
const TABLE: [&str; 4] = ["purchase", "page_viewed", "check_in", "refund"];

fn bits(flags: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; flags.len().div_ceil(8) + 1];
    for (i, &f) in flags.iter().enumerate() {
        out[i / 8] |= u8::from(f) << (i % 8);
    }
    out
}

#[derive(Debug, Clone)]
struct Row {
    code: i32,
    ts: i64,
    amount: Option<f64>,
    category: Option<i32>,
    channel: bool,
    kept: bool,
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop_oneof![12 => 0i32..3, 1 => Just(3), 1 => prop_oneof![Just(-1), Just(4)]],
        prop_oneof![
            12 => 1_700_000_000_000_000i64..1_800_000_000_000_000,
            // Outside the quick range test but representable, and just past it.
            1 => prop_oneof![
                Just(*micros_range().start()),
                Just(*micros_range().end()),
                Just(*micros_range().end() + 1),
                Just(i64::MAX),
            ],
        ],
        prop_oneof![
            6 => Just(None),
            6 => (0.0f64..1e4).prop_map(Some),
            1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY)].prop_map(Some),
        ],
        prop_oneof![3 => Just(None), 3 => (0i32..2).prop_map(Some)],
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(code, ts, amount, category, channel, kept)| Row {
            code,
            ts,
            amount,
            category,
            channel,
            kept,
        })
}

/// What `rows_clean(Some(schema))` must say, computed row by row.
fn oracle(rows: &[Row]) -> bool {
    let range = micros_range();
    rows.iter().all(|r| {
        let declared = matches!(r.code, 0..=2);
        let amount_ok = match r.amount {
            None => true,
            Some(a) => r.code == 0 && a.is_finite(),
        };
        let category_ok = r.category.is_none() || matches!(r.code, 0 | 1);
        declared && range.contains(&r.ts) && amount_ok && category_ok && !r.channel
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn rows_clean_is_the_row_checks_on_every_row(
        rows in prop::collection::vec(row(), 0..300),
        shift in 0usize..8,
        threads in 1usize..4,
    ) {
        let schema = schema();
        let n = rows.len();
        let names: Vec<i32> = rows.iter().map(|r| r.code).collect();
        let ts: Vec<i64> = rows.iter().map(|r| r.ts).collect();
        // Null slots hold values a check must not look at (NaN, key 7).
        let amounts: Vec<f64> = rows.iter().map(|r| r.amount.unwrap_or(f64::NAN)).collect();
        let keys: Vec<i32> = rows.iter().map(|r| r.category.unwrap_or(7)).collect();
        let chan_keys = vec![0i32; n];
        let shifted = |valid: Vec<bool>| {
            let mut padded = vec![false; shift];
            padded.extend(valid);
            bits(&padded)
        };
        let amount_valid = shifted(rows.iter().map(|r| r.amount.is_some()).collect());
        let category_valid = shifted(rows.iter().map(|r| r.category.is_some()).collect());
        let channel_valid = shifted(rows.iter().map(|r| r.channel).collect());
        let table: Vec<String> = TABLE.iter().map(|s| s.to_string()).collect();
        let events = EventColumns::new(&ts, &names, table)
            .unwrap()
            .with_property(
                "amount",
                Column::new(
                    ColumnData::Float(&amounts),
                    Some(Bitmap::new(&amount_valid, shift, n).unwrap()),
                )
                .unwrap(),
            )
            .unwrap()
            .with_property(
                "category",
                Column::new(
                    ColumnData::Dictionary { keys: &keys, values: vec![Some("toys"), Some("books")] },
                    Some(Bitmap::new(&category_valid, shift, n).unwrap()),
                )
                .unwrap(),
            )
            .unwrap()
            .with_property(
                "channel",
                Column::new(
                    ColumnData::Dictionary { keys: &chan_keys, values: vec![Some("wechat")] },
                    Some(Bitmap::new(&channel_valid, shift, n).unwrap()),
                )
                .unwrap(),
            )
            .unwrap();
        let clean = events.rows_clean(Some(&schema), threads);
        prop_assert_eq!(clean, oracle(&rows));
        let kept = |i: usize| rows[i].kept;
        // The exact checks (kept rows only) agree with the threaded ones, and
        // pass whenever every row is clean.
        let one = events.validate_rows(&schema, kept);
        let many = events.validate_rows_threaded(&schema, kept, threads);
        prop_assert_eq!(one.as_ref().err().map(|e| e.to_string()), many.as_ref().err().map(|e| e.to_string()));
        if clean {
            prop_assert!(one.is_ok());
            prop_assert!(events.validate_rows(&schema, |_| true).is_ok());
        }
        // Without a schema only codes, timestamps and values are looked at.
        let structural = rows.iter().all(|r| {
            (0..4).contains(&r.code)
                && micros_range().contains(&r.ts)
                && r.amount.is_none_or(f64::is_finite)
        });
        prop_assert_eq!(events.rows_clean(None, threads), structural);
    }

    #[test]
    fn bitmap_word_is_64_gets(
        bytes in prop::collection::vec(any::<u8>(), 0..40),
        offset in 0usize..16,
        len in 0usize..300,
        at in 0usize..320,
    ) {
        let offset = offset.min(bytes.len() * 8);
        let len = len.min(bytes.len() * 8 - offset);
        let b = Bitmap::new(&bytes, offset, len).unwrap();
        let w = b.word(at);
        for k in 0..64 {
            prop_assert_eq!((w >> k) & 1 == 1, b.get(at + k), "bit {}", k);
        }
    }
}

#[test]
fn a_type_mismatch_is_never_clean() {
    let schema = schema();
    let (ts, names) = (vec![1_700_000_000_000_000i64], vec![0i32]);
    let amounts = vec![3i64];
    let events = EventColumns::new(&ts, &names, vec!["purchase".into()])
        .unwrap()
        .with_property(
            "category",
            Column::new(ColumnData::Integer(&amounts), None).unwrap(),
        )
        .unwrap();
    assert!(!events.rows_clean(Some(&schema), 1));
    assert!(events.validate_rows(&schema, |_| true).is_err());
}

#[test]
fn dates_and_timestamps_out_of_range_are_not_clean_unless_null() {
    let schema = Schema::from_json(
        r#"{"traits":{},"events":{"check_in":{"properties":{"day":"date","at":"timestamp"}}}}"#,
    )
    .unwrap();
    let (ts, names) = (vec![1_700_000_000_000_000i64; 3], vec![0i32; 3]);
    let check = |days: &[i32], day_valid: u8, at: &[i64], at_valid: u8| {
        let (dv, av) = ([day_valid], [at_valid]);
        EventColumns::new(&ts, &names, vec!["check_in".into()])
            .unwrap()
            .with_property(
                "day",
                Column::new(
                    ColumnData::Date32(days),
                    Some(Bitmap::new(&dv, 0, 3).unwrap()),
                )
                .unwrap(),
            )
            .unwrap()
            .with_property(
                "at",
                Column::new(
                    ColumnData::TimestampMicros(at),
                    Some(Bitmap::new(&av, 0, 3).unwrap()),
                )
                .unwrap(),
            )
            .unwrap()
            .rows_clean(Some(&schema), 2)
    };
    let far = i32::MAX;
    let fine = [0, 20_000, -1];
    let at = [0i64, 1, 2];
    assert!(check(&fine, 0b111, &at, 0b111));
    assert!(!check(&[0, far, 1], 0b111, &at, 0b111));
    assert!(check(&[0, far, 1], 0b101, &at, 0b111));
    assert!(!check(&fine, 0b111, &[0, i64::MIN, 2], 0b111));
    assert!(check(&fine, 0b111, &[0, i64::MIN, 2], 0b101));
    // The range's own ends are clean, one past them is not.
    let (d0, d1) = (*days_range().start() as i32, *days_range().end() as i32);
    let (t0, t1) = (*micros_range().start(), *micros_range().end());
    assert!(check(&[d0, 0, d1], 0b111, &[t0, 0, t1], 0b111));
    assert!(!check(&[d0 - 1, 0, d1], 0b111, &at, 0b111));
    assert!(!check(&fine, 0b111, &[t0, 0, t1 + 1], 0b111));
}

/// Each row position of a batch, alone holding a property its event does not
/// declare, makes the batch unclean; the same value under an event that
/// declares it does not (the 64-row planes must keep every row in its place).
#[test]
fn an_undeclared_value_is_found_at_every_row_position() {
    let schema = schema();
    let n = 200;
    let ts = vec![1_700_000_000_000_000i64; n];
    let chan_keys = vec![0i32; n];
    let table: Vec<String> = ["purchase", "page_viewed", "check_in", "message_opened"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for k in 0..n {
        let mut flags = vec![false; n];
        flags[k] = true;
        let valid = bits(&flags);
        for (code, declared) in [(0, false), (1, false), (2, false), (3, true)] {
            let mut names: Vec<i32> = (0..n as i32).map(|i| i % 3).collect();
            names[k] = code;
            let events = EventColumns::new(&ts, &names, table.clone())
                .unwrap()
                .with_property(
                    "channel",
                    Column::new(
                        ColumnData::Dictionary {
                            keys: &chan_keys,
                            values: vec![Some("wechat")],
                        },
                        Some(Bitmap::new(&valid, 0, n).unwrap()),
                    )
                    .unwrap(),
                )
                .unwrap();
            assert_eq!(
                events.rows_clean(Some(&schema), 1),
                declared,
                "row {k}, code {code}"
            );
        }
    }
}
