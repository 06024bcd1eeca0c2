//! Property tests for the points ledger: the journal always balances, balances
//! never go negative, failed operations change nothing, and state round-trips.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use siyu_core::lifecycle::default_schema;
use siyu_core::points::{EntryKind, Ledger, PointsModel};
use siyu_core::value::parse_timestamp;
use siyu_core::{Event, Value, Zone};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Op {
    Event(u8, u32),
    Redeem(i64),
    Expire,
}

fn op() -> impl Strategy<Value = (u32, Op)> {
    (
        0u32..72,
        prop_oneof![
            3 => (0u8..3, 0u32..3000).prop_map(|(k, a)| Op::Event(k, a)),
            1 => (1i64..200).prop_map(Op::Redeem),
            1 => Just(Op::Expire),
        ],
    )
}

fn start() -> DateTime<Utc> {
    parse_timestamp("2026-01-01T00:00:00Z").expect("valid")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ledger_invariants(ops in prop::collection::vec(op(), 0..60)) {
        let model = PointsModel::from_json(
            r#"{"rules": [
                {"id": "purchase", "event": "purchase", "award": {"property": "amount", "per": 10, "points": 1}},
                {"id": "check_in", "event": "check_in", "award": 5, "cap": {"period": "day", "max_times": 1}},
                {"id": "referral", "event": "referral", "award": 50, "cap": {"period": "week", "max_points": 120}}],
               "expire_after": "30d"}"#,
            &default_schema(),
        ).expect("model");
        let zone = Zone::parse("Asia/Shanghai").expect("zone");
        let mut ledger = Ledger::new();
        let mut t = start();
        for (i, (gap_h, op)) in ops.into_iter().enumerate() {
            t += Duration::hours(i64::from(gap_h));
            let before = ledger.clone();
            let result = match op {
                Op::Event(kind, amount) => {
                    let name = ["purchase", "check_in", "referral"][kind as usize];
                    let mut properties = BTreeMap::new();
                    if kind == 0 {
                        properties.insert("amount".to_string(), Value::Float(f64::from(amount)));
                    }
                    let e = Event { id: format!("e{i}"), name: name.into(), timestamp: t, properties };
                    ledger.apply_event(&model, &e, zone).map(|_| ())
                }
                Op::Redeem(p) => ledger.redeem(p, t, "r").map(|_| ()),
                Op::Expire => {
                    ledger.expire(t);
                    Ok(())
                }
            };
            if result.is_err() {
                prop_assert_eq!(&ledger, &before, "a failed operation changed the ledger");
            }
            let balance = ledger.balance(t);
            prop_assert!(balance >= 0);
            prop_assert!(ledger.lots.iter().all(|l| 0 <= l.remaining && l.remaining <= l.points));
            // Journal balances: earned − redeemed − expired = points still held.
            let journal: i64 = ledger.entries.iter().map(|e| e.points).sum();
            let held: i64 = ledger.lots.iter().map(|l| l.remaining).sum();
            prop_assert_eq!(journal, held);
            let earned: i64 = ledger.entries.iter().filter(|e| e.kind == EntryKind::Earn).map(|e| e.points).sum();
            prop_assert_eq!(earned, ledger.lifetime);
            // FIFO: a lot is only touched once every older lot is used up or expired.
            let mut seen_partial = false;
            for l in ledger.lots.iter().rev() {
                if seen_partial {
                    prop_assert_eq!(l.remaining, 0, "an older lot kept points: {:?}", ledger.lots);
                }
                if l.remaining < l.points {
                    seen_partial = true;
                }
            }
        }
        prop_assert_eq!(Ledger::from_json(&ledger.to_json()).expect("round trip"), ledger);
    }
}
