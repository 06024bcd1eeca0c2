//! Lent per-call evaluation (`CompiledRuleSet::evaluate_lent` / `matches_lent`,
//! ADR 0014) gives exactly the answers and errors of reading
//! `{"id": id, "traits": {...}}` with `Profile::from_json_value` and evaluating
//! it with an empty event log: on random rule sets and random trait maps holding
//! every kind of JSON value (wrong types, nulls, unknown names, big and integral
//! numbers, bad timestamps and dates, arrays and objects), lent by name, by
//! index, and in any order.

use proptest::prelude::*;
use serde_json::{json, Value as J};
use siyu_core::rules::{CompiledRuleSet, EvalInput, LentInput, LentPlan, TraitKey};
use siyu_core::value::{JsonRef, ValueType};
use siyu_core::{EventLog, Profile, Result, Schema, Zone};
use std::collections::BTreeMap;

fn schema() -> Schema {
    Schema::from_json(
        r#"{"traits":{"age":"integer","ltv":"float","city":"string","vip":"boolean",
            "birthday":"date","first_seen":"timestamp","interests":"string_list"},
            "events":{"purchase":{"properties":{"amount":"float"}}},
            "tag_groups":{"rfm":{}}}"#,
    )
    .unwrap()
}

const NOW_S: i64 = 1_773_806_400; // 2026-03-18T04:00:00Z

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &[T]) -> impl Strategy<Value = T> {
    prop::sample::select(items.to_vec())
}

/// Clauses over every trait type, and clauses that read what a lent profile
/// does not have (events, tags, consents, identities, scores).
fn clause() -> impl Strategy<Value = String> {
    (
        pick(&[
            "age > {n}0",
            "age = {n}",
            "age in [1, 2, 3{n}]",
            "age not in [{n}, 10]",
            "age between {n} and 40",
            "age >= {n}.5",
            "ltv <= {n}00",
            "ltv != {n}5.5",
            "ltv > age",
            "city = \"a\"",
            "city in [\"a\", \"b\"]",
            "city not in [\"c\", \"\"]",
            "city < \"b\"",
            "lower(city) starts_with \"a\"",
            "city matches \"^[ab]\"",
            "vip",
            "not vip",
            "vip = false",
            "city exists",
            "age is missing",
            "ltv exists",
            "interests is missing",
            "birthday within last {n}0d",
            "anniversary(birthday) within next {n}0d",
            "birthday + 7d > today",
            "first_seen within last {n}0d",
            "first_seen before now",
            "days_since(first_seen) >= {n}0",
            "hours_since(birthday) > {n}00",
            "length(interests) >= {n}",
            "interests contains \"x\"",
            "abs(age - 30) < {n}",
            "ltv / age > {n}",
            "count(purchase) >= {n}",
            "none(purchase, within 3d)",
            "sum(purchase.amount) > {n}",
            "days_without(purchase) >= {n}",
            "has_tag(\"vip\")",
            "has_tag_in_group(\"rfm\")",
            "has_consent(\"sms\", \"marketing\")",
            "has_identity(\"wechat\")",
            "score(\"rfm_r\") > {n}",
            "true",
        ]),
        0..4u32,
    )
        .prop_map(|(c, n)| c.replace("{n}", &n.to_string()))
}

fn expr() -> impl Strategy<Value = String> {
    clause().prop_recursive(3, 10, 3, |inner| {
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
    prop::collection::vec((expr(), any::<bool>()), 1..5).prop_map(|rules| {
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

/// Any JSON value a caller might put in a trait: right and wrong types alike.
fn value() -> impl Strategy<Value = J> {
    prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::from),
        (-5i64..60).prop_map(J::from),
        any::<i64>().prop_map(J::from),
        pick(&[u64::MAX, 1 << 63, (1 << 53) + 1]).prop_map(J::from),
        pick(&[
            0.0,
            -0.0,
            3.0,
            2.5,
            -7.25,
            1e300,
            9.007_199_254_740_992e15,
            -9.007_199_254_740_99e15
        ])
        .prop_map(|f| json!(f)),
        pick(&[
            "a",
            "b",
            "",
            "Abc",
            "2026-03-01",
            "2025-03-20",
            "2026-02-30",
            "2026-03-10T08:00:00+08:00",
            "2026-03-18T04:00:00.5Z",
            "2026-03-10 08:00",
            "x",
        ])
        .prop_map(J::from),
        prop::collection::vec(pick(&["x", "y", ""]), 0..3).prop_map(J::from),
        Just(json!(["x", 1])),
        Just(json!({"x": 1})),
    ]
}

/// A value of the trait's declared type (or null), as a valid profile holds it.
fn valid(name: &'static str) -> BoxedStrategy<J> {
    let v = match name {
        "age" => prop_oneof![(0i64..60).prop_map(J::from), Just(json!(30.0))].boxed(),
        "ltv" => prop_oneof![
            (0i64..500).prop_map(J::from),
            (0.0f64..500.0).prop_map(J::from)
        ]
        .boxed(),
        "city" => pick(&["a", "b", "c", "", "Abc"]).prop_map(J::from).boxed(),
        "vip" => any::<bool>().prop_map(J::from).boxed(),
        "birthday" => pick(&["2026-03-18", "2025-03-20", "1990-02-28", "2026-04-01"])
            .prop_map(J::from)
            .boxed(),
        "first_seen" => pick(&[
            "2026-03-18T04:00:00Z",
            "2026-03-10T08:00:00+08:00",
            "2026-03-18T04:00:00.5Z",
            "2025-01-01T00:00:00Z",
        ])
        .prop_map(J::from)
        .boxed(),
        _ => prop::collection::vec(pick(&["x", "y", ""]), 0..3)
            .prop_map(J::from)
            .boxed(),
    };
    prop_oneof![9 => v, 1 => Just(J::Null)].boxed()
}

const NAMES: [&str; 7] = [
    "age",
    "ltv",
    "city",
    "vip",
    "birthday",
    "first_seen",
    "interests",
];

/// Trait maps: each declared trait present with a valid value or absent; in a
/// third of the maps, one or two entries with any value or an undeclared name.
fn traits() -> impl Strategy<Value = BTreeMap<String, J>> {
    let present = NAMES.map(|n| prop::option::weighted(0.7, valid(n)));
    let odd_name = prop_oneof![
        3 => pick(&NAMES),
        1 => pick(&["aeg", "zip", "id", "traits", "Age", ""]),
    ];
    let odd = prop::collection::vec((odd_name.prop_map(String::from), value()), 0..3);
    (present, prop::bool::weighted(0.33), odd).prop_map(|(present, corrupt, odd)| {
        let mut m: BTreeMap<String, J> = NAMES
            .iter()
            .zip(present)
            .filter_map(|(n, v)| v.map(|v| (n.to_string(), v)))
            .collect();
        if corrupt {
            m.extend(odd);
        }
        m
    })
}

/// The reference: the JSON document read by `Profile::from_json_value`, evaluated
/// with an empty event log.
fn reference(
    compiled: &CompiledRuleSet,
    schema: &Schema,
    id: &str,
    traits: &BTreeMap<String, J>,
    now: chrono::DateTime<chrono::Utc>,
    zone: Zone,
) -> Result<Vec<bool>> {
    let doc = json!({"id": id, "traits": traits});
    let profile = Profile::from_json_value(&doc, schema)?;
    let log = EventLog::default();
    compiled.evaluate(&EvalInput::new(&profile, &log, now).with_default_zone(zone))
}

/// The traits lent as a caller would: by index where the name is declared (or
/// by name when `by_name`), in the order `perm` gives.
fn lent<'a>(
    plan: &LentPlan,
    traits: &'a BTreeMap<String, J>,
    by_name: bool,
    perm: u64,
) -> Vec<(TraitKey<'a>, JsonRef<'a>)> {
    let mut out: Vec<(TraitKey<'a>, JsonRef<'a>)> = traits
        .iter()
        .map(|(k, v)| {
            let key = match plan.index_of(k) {
                Some(i) if !by_name => TraitKey::Index(i),
                _ => TraitKey::Name(k),
            };
            (key, JsonRef::of(v))
        })
        .collect();
    // A deterministic shuffle: errors must not depend on the order.
    let n = out.len();
    for i in (1..n).rev() {
        let j = (perm.wrapping_mul(i as u64 + 7) >> 3) as usize % (i + 1);
        out.swap(i, j);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn lent_equals_profile_path(
        text in rule_set(),
        traits in traits(),
        empty_id in prop::bool::weighted(0.05),
        by_name in any::<bool>(),
        perm in any::<u64>(),
        now_offset in prop_oneof![Just(0i64), -3i64 * 86_400..3 * 86_400],
        now_nanos in prop_oneof![Just(0u32), Just(500_000_000u32)],
        zone in pick(&["UTC", "Asia/Shanghai", "America/New_York"]),
    ) {
        let schema = schema();
        let compiled = CompiledRuleSet::compile_text(&text, &schema)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let now = chrono::DateTime::from_timestamp(NOW_S + now_offset, now_nanos).unwrap();
        let zone = Zone::parse(zone).unwrap();
        let id = if empty_id { "" } else { "u1" };
        let want = reference(&compiled, &schema, id, &traits, now, zone);

        let plan = compiled.lent_plan(&schema);
        let pairs = lent(&plan, &traits, by_name, perm);
        let input = LentInput { id, traits: &pairs[..], now, default_zone: zone };
        let got = compiled.evaluate_lent(&plan, &input);
        prop_assert_eq!(&got, &want, "rules:\n{}traits: {:?}", text, traits);

        // Straight from a JSON map (names, sorted order).
        let input = LentInput { id, traits: &traits, now, default_zone: zone };
        prop_assert_eq!(&compiled.evaluate_lent(&plan, &input), &want);

        // One rule at a time.
        for (i, name) in compiled.rule_names().iter().enumerate() {
            let one = compiled.lent_plan_for(&schema, name).unwrap();
            let input = LentInput { id, traits: &pairs[..], now, default_zone: zone };
            let got = compiled.matches_lent(&one, &input);
            let want_one = want.as_ref().map(|v| v[i]).map_err(Clone::clone);
            prop_assert_eq!(got, want_one, "rule {}:\n{}traits: {:?}", name, text, traits);
        }
    }
}

/// Every pair of (declared type, JSON value kind) reads the same both ways.
#[test]
fn every_type_and_value_kind() {
    let schema = schema();
    let text = "segment r0: age exists or ltv exists or city exists or vip exists \
                or birthday exists or first_seen exists or interests exists";
    let compiled = CompiledRuleSet::compile_text(text, &schema).unwrap();
    let plan = compiled.lent_plan(&schema);
    let values = [
        J::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(3.0),
        json!(3.5),
        json!(-0.0),
        json!(1e16),
        json!(""),
        json!("2026-03-01"),
        json!("2026-03-01T00:00:00Z"),
        json!(["a"]),
        json!([1]),
        json!({}),
    ];
    let now = chrono::DateTime::from_timestamp(NOW_S, 0).unwrap();
    for name in plan.trait_names() {
        for v in &values {
            let traits: BTreeMap<String, J> = [(name.clone(), v.clone())].into();
            let want = reference(&compiled, &schema, "u", &traits, now, Zone::utc());
            let input = LentInput {
                id: "u",
                traits: &traits,
                now,
                default_zone: Zone::utc(),
            };
            assert_eq!(compiled.evaluate_lent(&plan, &input), want, "{name} = {v}");
        }
    }
    assert_eq!(
        plan.trait_names().len(),
        schema.traits.len(),
        "every declared trait is indexed"
    );
    assert!(schema
        .traits
        .values()
        .any(|d| d.ty == ValueType::StringList));
}

#[test]
fn a_plan_belongs_to_its_set() {
    let schema = schema();
    let a = CompiledRuleSet::compile_text("segment a: age > 1", &schema).unwrap();
    let b = CompiledRuleSet::compile_text("segment a: city = \"x\" and age > 1", &schema).unwrap();
    let plan = a.lent_plan(&schema);
    let traits: BTreeMap<String, J> = BTreeMap::new();
    let input = LentInput {
        id: "u",
        traits: &traits,
        now: chrono::DateTime::from_timestamp(NOW_S, 0).unwrap(),
        default_zone: Zone::utc(),
    };
    assert_eq!(
        b.evaluate_lent(&plan, &input).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    assert_eq!(
        a.matches_lent(&plan, &input).unwrap_err().code(),
        "INVALID_ARGUMENT"
    );
    let e = a.lent_plan_for(&schema, "b").unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
}

/// The generated maps mostly read without error (so evaluation is exercised),
/// and errors of each kind occur.
#[test]
fn generated_maps_exercise_both_outcomes() {
    use proptest::strategy::ValueTree;
    let schema = schema();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut ok, mut unknown, mut wrong) = (0, 0, 0);
    for _ in 0..1000 {
        let traits = traits().new_tree(&mut runner).unwrap().current();
        match Profile::from_json_value(&json!({"id": "u", "traits": traits}), &schema) {
            Ok(_) => ok += 1,
            Err(e) if e.message().starts_with("unknown") => unknown += 1,
            Err(_) => wrong += 1,
        }
    }
    assert!(ok > 600, "{ok} of 1000 maps read");
    assert!(
        unknown > 20 && wrong > 20,
        "{unknown} unknown, {wrong} wrong"
    );
}
