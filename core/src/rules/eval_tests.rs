//! Tests of compilation, evaluation and explanation (ASTs built as JSON so they
//! do not depend on the DSL parser).

use super::explain::Truth;
use super::{CompiledRuleSet, EvalInput, Limits, RuleSet};
use crate::error::ErrorKind;
use crate::profile::{Event, EventLog, Profile};
use crate::schema::Schema;
use crate::value::parse_timestamp;
use crate::zone::Zone;
use serde_json::{json, Value as J};

fn schema() -> Schema {
    Schema::from_json(
        r#"{"traits":{"age":"integer","ltv":"float","city":"string","vip":"boolean",
            "birthday":"date","first_seen":"timestamp","interests":"string_list"},
            "events":{"purchase":{"properties":{"amount":"float","category":"string","qty":"integer"}},
                      "page_viewed":{"properties":{"category":"string"}},
                      "message_opened":{"properties":{"channel":"string"}},
                      "check_in":{}},
            "tag_groups":{"rfm":{"exclusive":true}}}"#,
    )
    .unwrap()
}

// ----- AST builders ------------------------------------------------------------

fn tr(n: &str) -> J {
    json!({"op":"trait","name":n})
}
fn prop(n: &str) -> J {
    json!({"op":"prop","name":n})
}
fn lit(v: J) -> J {
    json!({"op":"literal","value":v})
}
fn ts(s: &str) -> J {
    lit(json!({"type":"timestamp","value":s}))
}
fn date(s: &str) -> J {
    lit(json!({"type":"date","value":s}))
}
fn dur(s: &str) -> J {
    lit(json!({"type":"duration","value":s}))
}
fn cmp(op: &str, l: J, r: J) -> J {
    json!({"op":"compare","cmp":op,"left":l,"right":r})
}
fn and(args: Vec<J>) -> J {
    json!({"op":"and","args":args})
}
fn or(args: Vec<J>) -> J {
    json!({"op":"or","args":args})
}
fn not(a: J) -> J {
    json!({"op":"not","arg":a})
}
fn exists(e: J, negated: bool) -> J {
    json!({"op":"exists","expr":e,"negated":negated})
}
fn arith(op: &str, l: J, r: J) -> J {
    json!({"op":"arith","arith":op,"left":l,"right":r})
}
fn call(f: &str, a: J) -> J {
    json!({"op":"call","function":f,"args":[a]})
}
fn agg(a: &str, event: &str, property: Option<&str>, filter: Option<J>, window: J) -> J {
    let mut m = json!({"op":"aggregate","agg":a,"event":event,"window":window});
    if let Some(p) = property {
        m["property"] = json!(p);
    }
    if let Some(f) = filter {
        m["filter"] = f;
    }
    m
}
fn all() -> J {
    json!({"kind":"all"})
}
fn rolling(d: &str) -> J {
    json!({"kind":"rolling","duration":d})
}
fn calendar(unit: &str, back: u32, count: u32) -> J {
    json!({"kind":"calendar","unit":unit,"back":back,"count":count})
}
fn range(a: &str, b: &str) -> J {
    json!({"kind":"range","start":a,"end":b})
}
fn streak(mode: &str, unit: &str, event: &str) -> J {
    json!({"op":"streak","mode":mode,"unit":unit,"event":event})
}
fn seg(n: &str) -> J {
    json!({"op":"segment","name":n})
}

fn rules(items: &[(&str, J)]) -> RuleSet {
    let rs: Vec<J> = items
        .iter()
        .map(|(n, e)| json!({"name": n, "expr": e}))
        .collect();
    RuleSet::from_json_value(&json!({ "rules": rs })).unwrap()
}

fn compile(items: &[(&str, J)]) -> CompiledRuleSet {
    CompiledRuleSet::compile(&rules(items), &schema()).unwrap()
}

fn compile_err(e: J) -> crate::Error {
    CompiledRuleSet::compile(&rules(&[("r", e)]), &schema()).unwrap_err()
}

// ----- profiles ------------------------------------------------------------------

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    parse_timestamp(s).unwrap()
}

fn profile(v: J) -> Profile {
    let mut v = v;
    if v.get("id").is_none() {
        v["id"] = json!("u1");
    }
    Profile::from_json_value(&v, &schema()).unwrap()
}

fn events(v: J) -> EventLog {
    let items: Vec<J> = v
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            if e.get("id").is_none() {
                e["id"] = json!(format!("e{i}"));
            }
            e
        })
        .collect();
    EventLog::from_json_value(&J::Array(items), &schema()).unwrap()
}

fn ev(name: &str, at: &str) -> J {
    json!({"name":name,"timestamp":at})
}
fn evp(name: &str, at: &str, props: J) -> J {
    json!({"name":name,"timestamp":at,"properties":props})
}

/// The truth of a one-rule expression for a profile, events and `now`.
fn truth_z(e: J, p: &Profile, log: &EventLog, now: &str, zone: Option<&str>) -> Truth {
    let c = compile(&[("r", e)]);
    let mut input = EvalInput::new(p, log, t(now));
    if let Some(z) = zone {
        input = input.with_default_zone(Zone::parse(z).unwrap());
    }
    c.evaluate_truth(&input).unwrap()[0]
}

fn truth(e: J, p: &Profile, log: &EventLog, now: &str) -> Truth {
    truth_z(e, p, log, now, None)
}

fn on_traits(e: J, traits: J) -> Truth {
    truth(
        e,
        &profile(json!({ "traits": traits })),
        &EventLog::default(),
        "2026-03-10T12:00:00Z",
    )
}

use Truth::{False as F, True as T, Unknown as U};

const NOW: &str = "2026-03-10T12:00:00Z";

// ----- comparisons and logic -----------------------------------------------------

#[test]
fn comparisons_on_every_type() {
    let tr_ = json!({"age":30,"ltv":12.5,"city":"Shanghai","vip":true,
        "birthday":"1990-03-15","first_seen":"2026-01-01T00:00:00Z","interests":["milk","toys"]});
    let cases = [
        (cmp("eq", tr("age"), lit(json!(30))), T),
        (cmp("ne", tr("age"), lit(json!(30))), F),
        (cmp("lt", tr("age"), lit(json!(30.5))), T),
        (cmp("le", tr("age"), lit(json!(30))), T),
        (cmp("gt", tr("ltv"), lit(json!(12))), T),
        (cmp("ge", tr("ltv"), lit(json!(12.5))), T),
        (cmp("eq", tr("age"), lit(json!(30.0))), T),
        (cmp("lt", tr("city"), lit(json!("Shenzhen"))), T),
        (cmp("eq", tr("vip"), lit(json!(true))), T),
        (
            cmp(
                "before",
                tr("first_seen"),
                arith("sub", json!({"op":"now"}), dur("30d")),
            ),
            T,
        ),
        (
            cmp("after", tr("first_seen"), ts("2026-01-01T00:00:00Z")),
            F,
        ),
        (cmp("eq", tr("birthday"), date("1990-03-15")), T),
        (cmp("eq", tr("interests"), lit(json!(["milk", "toys"]))), T),
        (cmp("ne", tr("interests"), lit(json!(["milk"]))), T),
    ];
    for (i, (e, want)) in cases.into_iter().enumerate() {
        assert_eq!(on_traits(e, tr_.clone()), want, "case {i}");
    }
}

#[test]
fn missing_values_are_unknown_and_kleene_tables_hold() {
    let age_gt = cmp("gt", tr("age"), lit(json!(30)));
    assert_eq!(on_traits(age_gt.clone(), json!({})), U);
    assert_eq!(on_traits(not(age_gt.clone()), json!({})), U);
    assert_eq!(on_traits(exists(tr("age"), false), json!({})), F);
    assert_eq!(on_traits(exists(tr("age"), true), json!({})), T);
    // Kleene truth tables with a true, a false and an unknown operand.
    let v_t = lit(json!(true));
    let v_f = lit(json!(false));
    let v_u = age_gt;
    let vals = [(v_t, T), (v_f, F), (v_u, U)];
    for (a, ta) in &vals {
        for (b, tb) in &vals {
            let want_and = match (ta, tb) {
                (F, _) | (_, F) => F,
                (T, T) => T,
                _ => U,
            };
            let want_or = match (ta, tb) {
                (T, _) | (_, T) => T,
                (F, F) => F,
                _ => U,
            };
            assert_eq!(
                on_traits(and(vec![a.clone(), b.clone()]), json!({})),
                want_and
            );
            assert_eq!(
                on_traits(or(vec![a.clone(), b.clone()]), json!({})),
                want_or
            );
        }
    }
    assert_eq!(on_traits(and(vec![]), json!({})), T);
    assert_eq!(on_traits(or(vec![]), json!({})), F);
    // A rule whose value is unknown does not match.
    let c = compile(&[("r", cmp("gt", tr("age"), lit(json!(30))))]);
    let p = profile(json!({}));
    let log = EventLog::default();
    assert_eq!(
        c.evaluate(&EvalInput::new(&p, &log, t(NOW))).unwrap(),
        vec![false]
    );
}

#[test]
fn in_text_between() {
    let traits = json!({"city":"Shanghai","interests":["milk","toys"],"age":30});
    let in_ = |vals: J, negated: bool| {
        let values: Vec<J> = vals
            .as_array()
            .unwrap()
            .iter()
            .map(|v| lit(v.clone()))
            .collect();
        json!({"op":"in","expr":tr("city"),"values":values,"negated":negated})
    };
    assert_eq!(
        on_traits(in_(json!(["Beijing", "Shanghai"]), false), traits.clone()),
        T
    );
    assert_eq!(on_traits(in_(json!(["Beijing"]), false), traits.clone()), F);
    assert_eq!(on_traits(in_(json!(["Beijing"]), true), traits.clone()), T);
    assert_eq!(on_traits(in_(json!(["Beijing"]), true), json!({})), U);
    let text = |test: &str, e: J, p: &str| json!({"op":"text_match","test":test,"expr":e,"pattern":lit(json!(p))});
    assert_eq!(
        on_traits(text("contains", tr("city"), "ngh"), traits.clone()),
        T
    );
    assert_eq!(
        on_traits(text("starts_with", tr("city"), "Shang"), traits.clone()),
        T
    );
    assert_eq!(
        on_traits(text("ends_with", tr("city"), "hai"), traits.clone()),
        T
    );
    assert_eq!(
        on_traits(text("ends_with", tr("city"), "Shang"), traits.clone()),
        F
    );
    assert_eq!(
        on_traits(text("matches", tr("city"), "^S.*i$"), traits.clone()),
        T
    );
    assert_eq!(
        on_traits(text("matches", tr("city"), "^s"), traits.clone()),
        F
    );
    assert_eq!(
        on_traits(text("contains", tr("interests"), "milk"), traits.clone()),
        T
    );
    assert_eq!(
        on_traits(text("contains", tr("interests"), "mil"), traits.clone()),
        F
    );
    assert_eq!(on_traits(text("contains", tr("city"), "x"), json!({})), U);
    assert_eq!(
        on_traits(
            cmp("eq", call("lower", tr("city")), lit(json!("shanghai"))),
            traits.clone()
        ),
        T
    );
    let between = |lo: J, hi: J| json!({"op":"between","expr":tr("age"),"low":lo,"high":hi});
    assert_eq!(
        on_traits(between(lit(json!(30)), lit(json!(40))), traits.clone()),
        T
    );
    assert_eq!(
        on_traits(between(lit(json!(20)), lit(json!(30))), traits.clone()),
        T
    );
    assert_eq!(
        on_traits(between(lit(json!(31)), lit(json!(40))), traits.clone()),
        F
    );
    assert_eq!(
        on_traits(between(lit(json!(31)), lit(json!(40))), json!({})),
        U
    );
}

#[test]
fn arithmetic_and_functions() {
    let traits = json!({"age":30,"ltv":10.0,"birthday":"2000-02-29",
        "first_seen":"2026-03-08T13:00:00Z","city":"ÄBC","interests":["a","b","c"]});
    let eqv = |e: J, v: J| on_traits(cmp("eq", e, lit(v)), traits.clone());
    assert_eq!(eqv(arith("add", tr("age"), lit(json!(5))), json!(35)), T);
    assert_eq!(eqv(arith("mul", tr("age"), lit(json!(2))), json!(60)), T);
    assert_eq!(eqv(arith("div", tr("age"), lit(json!(4))), json!(7.5)), T);
    assert_eq!(eqv(arith("sub", tr("ltv"), lit(json!(2.5))), json!(7.5)), T);
    // Division by zero and overflow are missing.
    assert_eq!(eqv(arith("div", tr("age"), lit(json!(0))), json!(1)), U);
    assert_eq!(
        eqv(arith("add", tr("age"), lit(json!(i64::MAX))), json!(1)),
        U
    );
    // now = 2026-03-10T12:00Z; first_seen 1 day 23 h ago.
    assert_eq!(eqv(call("days_since", tr("first_seen")), json!(1)), T);
    assert_eq!(eqv(call("hours_since", tr("first_seen")), json!(47)), T);
    assert_eq!(eqv(call("days_since", tr("birthday")), json!(9506)), T);
    assert_eq!(
        on_traits(
            cmp(
                "eq",
                call("anniversary", tr("birthday")),
                date("2027-02-28")
            ),
            traits.clone()
        ),
        T
    );
    assert_eq!(eqv(call("length", tr("city")), json!(3)), T);
    assert_eq!(eqv(call("length", tr("interests")), json!(3)), T);
    assert_eq!(
        eqv(
            call("abs", arith("sub", lit(json!(3)), tr("age"))),
            json!(27)
        ),
        T
    );
    assert_eq!(eqv(call("lower", tr("city")), json!("äbc")), T);
    assert_eq!(
        on_traits(
            cmp(
                "eq",
                arith("sub", json!({"op":"today"}), dur("10d")),
                date("2026-02-28")
            ),
            traits.clone()
        ),
        T
    );
    // A date one day before a future time: days_since is negative.
    assert_eq!(
        eqv(call("days_since", ts("2026-03-11T12:00:00Z")), json!(-1)),
        T
    );
    assert_eq!(
        eqv(call("days_since", ts("2026-03-11T11:59:59Z")), json!(-1)),
        T
    );
}

#[test]
fn within_last_and_next() {
    let w = |e: J, dir: &str, d: &str| json!({"op":"within","expr":e,"direction":dir,"duration":d});
    let tr_ = |v: J| json!({ "first_seen": v });
    // Inclusive at both ends: now - 30d <= x <= now.
    assert_eq!(
        on_traits(
            w(tr("first_seen"), "last", "30d"),
            tr_(json!("2026-02-08T12:00:00Z"))
        ),
        T
    );
    assert_eq!(
        on_traits(
            w(tr("first_seen"), "last", "30d"),
            tr_(json!("2026-02-08T11:59:59Z"))
        ),
        F
    );
    assert_eq!(
        on_traits(
            w(tr("first_seen"), "last", "30d"),
            tr_(json!("2026-03-10T12:00:01Z"))
        ),
        F
    );
    assert_eq!(
        on_traits(
            w(tr("first_seen"), "next", "7d"),
            tr_(json!("2026-03-17T12:00:00Z"))
        ),
        T
    );
    assert_eq!(
        on_traits(
            w(tr("first_seen"), "next", "7d"),
            tr_(json!("2026-03-10T11:00:00Z"))
        ),
        F
    );
    assert_eq!(on_traits(w(tr("first_seen"), "next", "7d"), json!({})), U);
    // Birthday within next 7d: the anniversary of a date.
    let bd = |d: &str| json!({ "birthday": d });
    let rule = w(call("anniversary", tr("birthday")), "next", "7d");
    assert_eq!(on_traits(rule.clone(), bd("1990-03-17")), T);
    assert_eq!(on_traits(rule.clone(), bd("1990-03-18")), F);
    assert_eq!(on_traits(rule.clone(), bd("1990-03-10")), T);
    assert_eq!(on_traits(rule, bd("1990-03-09")), F);
}

// ----- tags, consent, identities -------------------------------------------------

#[test]
fn tags_respect_expiry_and_groups() {
    let p = profile(json!({"tags":[
        {"name":"vip","source":"manual","added_at":"2026-01-01T00:00:00Z"},
        {"name":"promo","source":"rule","added_at":"2026-01-01T00:00:00Z","expires_at":"2026-03-10T12:00:00Z"},
        {"name":"champion","group":"rfm","source":"rule","added_at":"2026-01-01T00:00:00Z","expires_at":"2026-03-10T12:00:01Z"}]}));
    let log = EventLog::default();
    let has = |tags: &[&str], mode: &str| json!({"op":"has_tag","tags":tags,"mode":mode});
    assert_eq!(truth(has(&["vip"], "any"), &p, &log, NOW), T);
    // Expiry is exclusive: at expires_at the tag is gone.
    assert_eq!(truth(has(&["promo"], "any"), &p, &log, NOW), F);
    assert_eq!(
        truth(has(&["promo"], "any"), &p, &log, "2026-03-10T11:59:59Z"),
        T
    );
    assert_eq!(truth(has(&["vip", "promo"], "any"), &p, &log, NOW), T);
    assert_eq!(truth(has(&["vip", "promo"], "all"), &p, &log, NOW), F);
    let grp = json!({"op":"has_tag_in_group","group":"rfm"});
    assert_eq!(truth(grp.clone(), &p, &log, NOW), T);
    assert_eq!(truth(grp, &p, &log, "2026-03-10T12:00:01Z"), F);
}

#[test]
fn consent_and_identity() {
    let p = profile(json!({"identities":{"wechat_unionid":"o1"},"consents":[
        {"channel":"wechat","purpose":"marketing","status":"granted","at":"2026-01-01T00:00:00Z","expires_at":"2026-03-10T12:00:00Z"},
        {"channel":"sms","purpose":"marketing","status":"granted","at":"2026-01-01T00:00:00Z"},
        {"channel":"sms","purpose":"service","status":"revoked","at":"2026-02-01T00:00:00Z"}]}));
    let log = EventLog::default();
    let c = |ch: &str, pu: &str| json!({"op":"has_consent","channel":ch,"purpose":pu});
    assert_eq!(
        truth(c("wechat", "marketing"), &p, &log, "2026-03-10T11:59:59Z"),
        T
    );
    assert_eq!(truth(c("wechat", "marketing"), &p, &log, NOW), F);
    assert_eq!(truth(c("sms", "marketing"), &p, &log, NOW), T);
    assert_eq!(truth(c("sms", "service"), &p, &log, NOW), F);
    assert_eq!(truth(c("app_push", "marketing"), &p, &log, NOW), F);
    let id = |ns: &str| json!({"op":"has_identity","namespace":ns});
    assert_eq!(truth(id("wechat_unionid"), &p, &log, NOW), T);
    assert_eq!(truth(id("phone_sha256"), &p, &log, NOW), F);
}

// ----- aggregates and windows ----------------------------------------------------

fn purchases() -> EventLog {
    events(json!([
        evp(
            "purchase",
            "2026-01-15T10:00:00Z",
            json!({"amount": 100.0, "category": "milk", "qty": 2})
        ),
        evp(
            "purchase",
            "2026-02-20T10:00:00Z",
            json!({"amount": 50.5, "category": "toys", "qty": 1})
        ),
        evp(
            "purchase",
            "2026-03-01T10:00:00Z",
            json!({"amount": 20.0, "category": "milk"})
        ),
        evp(
            "purchase",
            "2026-03-09T10:00:00Z",
            json!({"category": "milk", "qty": 3})
        ),
        ev("page_viewed", "2026-03-09T11:00:00Z"),
        evp(
            "purchase",
            "2026-03-11T10:00:00Z",
            json!({"amount": 999.0, "category": "milk", "qty": 9})
        ),
    ]))
}

fn value_of(e: J, log: &EventLog, now: &str) -> Option<J> {
    // Probe a value by comparing it for equality with candidates: we expose
    // values through explanations instead.
    let c = compile(&[("r", exists(e.clone(), false))]);
    let p = profile(json!({}));
    let input = EvalInput::new(&p, log, t(now));
    let ex = c.explain(&input, "r").unwrap();
    let obs = ex.root.observed.unwrap();
    obs.split_once(" = ")
        .map(|(_, v)| serde_json::from_str(v).unwrap_or_else(|_| json!(v)))
}

#[test]
fn aggregates_over_all_time_skip_the_future_and_missing_properties() {
    let log = purchases();
    let p =
        |a: &str, prop_: Option<&str>| value_of(agg(a, "purchase", prop_, None, all()), &log, NOW);
    assert_eq!(p("count", None), Some(json!(4)));
    assert_eq!(p("sum", Some("amount")), Some(json!(170.5)));
    assert_eq!(p("sum", Some("qty")), Some(json!(6)));
    assert_eq!(p("avg", Some("qty")), Some(json!(2.0)));
    assert_eq!(p("avg", Some("amount")), Some(json!(170.5 / 3.0)));
    assert_eq!(p("min", Some("amount")), Some(json!(20.0)));
    assert_eq!(p("max", Some("amount")), Some(json!(100.0)));
    assert_eq!(p("min", Some("category")), Some(json!("milk")));
    assert_eq!(p("distinct_count", Some("category")), Some(json!(2)));
    assert_eq!(p("first_time", None), Some(json!("2026-01-15T10:00:00Z")));
    assert_eq!(p("last_time", None), Some(json!("2026-03-09T10:00:00Z")));
    let f = cmp("eq", prop("category"), lit(json!("milk")));
    assert_eq!(
        value_of(
            agg("count", "purchase", None, Some(f.clone()), all()),
            &log,
            NOW
        ),
        Some(json!(3))
    );
    assert_eq!(
        value_of(
            agg("sum", "purchase", Some("amount"), Some(f), all()),
            &log,
            NOW
        ),
        Some(json!(120.0))
    );
}

#[test]
fn empty_windows() {
    let log = EventLog::default();
    let p = profile(json!({}));
    let v =
        |a: &str, prop_: Option<&str>| value_of(agg(a, "purchase", prop_, None, all()), &log, NOW);
    assert_eq!(v("count", None), Some(json!(0)));
    assert_eq!(v("sum", Some("amount")), Some(json!(0.0)));
    assert_eq!(v("sum", Some("qty")), Some(json!(0)));
    assert_eq!(v("distinct_count", Some("category")), Some(json!(0)));
    for a in ["avg", "min", "max"] {
        assert_eq!(v(a, Some("amount")), None, "{a}");
    }
    assert_eq!(v("first_time", None), None);
    assert_eq!(v("last_time", None), None);
    assert_eq!(
        truth(agg("any", "purchase", None, None, all()), &p, &log, NOW),
        F
    );
    assert_eq!(
        truth(agg("none", "purchase", None, None, all()), &p, &log, NOW),
        T
    );
    // avg of nothing compared is unknown.
    let r = cmp(
        "gt",
        agg("avg", "purchase", Some("amount"), None, all()),
        lit(json!(1)),
    );
    assert_eq!(truth(r, &p, &log, NOW), U);
}

#[test]
fn rolling_windows_are_half_open() {
    let log = events(json!([
        ev("message_opened", "2026-03-07T12:00:00Z"),
        ev("message_opened", "2026-03-07T12:00:01Z"),
        ev("message_opened", "2026-03-10T12:00:00Z"),
        ev("message_opened", "2026-03-10T12:00:01Z"),
    ]));
    let c = |w: J| value_of(agg("count", "message_opened", None, None, w), &log, NOW);
    // (now - 72h, now]: the event exactly 72 h ago is out, the one at now is in.
    assert_eq!(c(rolling("72h")), Some(json!(2)));
    assert_eq!(c(rolling("3d")), Some(json!(2)));
    assert_eq!(c(rolling("1w")), Some(json!(3)));
    assert_eq!(c(rolling("0s")), Some(json!(0)));
    assert_eq!(c(all()), Some(json!(3)));
}

#[test]
fn ranges_are_half_open_and_clipped_at_now() {
    let log = purchases();
    let c = |w: J, now: &str| value_of(agg("count", "purchase", None, None, w), &log, now);
    assert_eq!(
        c(range("2026-01-15T10:00:00Z", "2026-03-01T10:00:00Z"), NOW),
        Some(json!(2))
    );
    assert_eq!(
        c(range("2026-01-15T10:00:01Z", "2026-03-01T10:00:01Z"), NOW),
        Some(json!(2))
    );
    assert_eq!(
        c(range("2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z"), NOW),
        Some(json!(2))
    );
    assert_eq!(
        c(
            range("2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z"),
            "2026-03-12T00:00:00Z"
        ),
        Some(json!(3))
    );
    assert_eq!(
        c(range("2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z"), NOW),
        Some(json!(0))
    );
}

#[test]
fn calendar_windows_in_utc() {
    // now: Tuesday 2026-03-10 12:00Z.
    let log = events(json!([
        ev("check_in", "2026-02-28T23:59:59Z"), // last month (Feb)
        ev("check_in", "2026-03-01T00:00:00Z"), // this month; Sunday of the week of Feb 23
        ev("check_in", "2026-03-09T00:00:00Z"), // this week (Mon), yesterday
        ev("check_in", "2026-03-10T00:00:00Z"), // today
        ev("check_in", "2026-03-10T12:00:00Z"), // today, exactly now
        ev("check_in", "2026-03-10T13:00:00Z"), // after now: never visible
        ev("check_in", "2025-12-31T23:59:59Z"), // last year, last quarter
    ]));
    let c = |w: J| value_of(agg("count", "check_in", None, None, w), &log, NOW);
    assert_eq!(c(calendar("day", 0, 1)), Some(json!(2)));
    assert_eq!(c(calendar("day", 1, 1)), Some(json!(1)));
    assert_eq!(c(calendar("week", 0, 1)), Some(json!(3)));
    // Last ISO week is Mar 2..8 (empty); the one before, Feb 23..Mar 1, holds two.
    assert_eq!(c(calendar("week", 1, 1)), Some(json!(0)));
    assert_eq!(c(calendar("week", 2, 1)), Some(json!(2)));
    assert_eq!(c(calendar("month", 0, 1)), Some(json!(4)));
    assert_eq!(c(calendar("month", 1, 1)), Some(json!(1)));
    assert_eq!(c(calendar("month", 3, 3)), Some(json!(2)));
    assert_eq!(c(calendar("quarter", 0, 1)), Some(json!(5)));
    assert_eq!(c(calendar("quarter", 1, 1)), Some(json!(1)));
    assert_eq!(c(calendar("year", 1, 1)), Some(json!(1)));
    assert_eq!(c(calendar("year", 0, 1)), Some(json!(5)));
    assert_eq!(c(calendar("month", 1, 2)), Some(json!(5)));
    assert_eq!(c(calendar("year", 4_000_000_000, 1)), Some(json!(0)));
    // Reaching before representable time: unbounded start, ends at today.
    assert_eq!(
        c(calendar("day", 4_000_000_000, 4_000_000_000)),
        Some(json!(4))
    );
}

#[test]
fn calendar_windows_follow_the_profile_zone() {
    // 2026-03-08 16:30Z is Monday 00:30 in Shanghai (+08) but Sunday in UTC.
    let log = events(json!([ev("check_in", "2026-03-08T16:30:00Z")]));
    let now = "2026-03-10T12:00:00Z";
    let w = agg("count", "check_in", None, None, calendar("week", 0, 1));
    let count_in = |zone: &str| {
        let r = cmp("eq", w.clone(), lit(json!(1)));
        truth_z(r, &profile(json!({})), &log, now, Some(zone))
    };
    assert_eq!(count_in("Asia/Shanghai"), T);
    assert_eq!(count_in("UTC"), F);
    // The profile's own zone wins over the default.
    let p = profile(json!({"time_zone":"Asia/Shanghai"}));
    assert_eq!(
        truth_z(cmp("eq", w, lit(json!(1))), &p, &log, now, Some("UTC")),
        T
    );
}

#[test]
fn calendar_days_across_dst_in_new_york_and_london() {
    // New York springs forward on 2026-03-08 (a 23-hour day): 05:00Z..04:00Z next day.
    let log = events(json!([
        ev("check_in", "2026-03-08T04:59:59Z"), // Mar 7, 23:59:59 EST
        ev("check_in", "2026-03-08T05:00:00Z"), // Mar 8, 00:00 EST
        ev("check_in", "2026-03-09T03:59:59Z"), // Mar 8, 23:59:59 EDT
        ev("check_in", "2026-03-09T04:00:00Z"), // Mar 9, 00:00 EDT
    ]));
    let yesterday = agg("count", "check_in", None, None, calendar("day", 1, 1));
    let r = cmp("eq", yesterday, lit(json!(2)));
    assert_eq!(
        truth_z(
            r,
            &profile(json!({})),
            &log,
            "2026-03-09T12:00:00Z",
            Some("America/New_York")
        ),
        T
    );
    // London falls back on 2026-10-25 (a 25-hour day): 2026-10-24T23:00Z .. 2026-10-26T00:00Z.
    let log = events(json!([
        ev("check_in", "2026-10-24T22:59:59Z"), // Oct 24 23:59:59 BST
        ev("check_in", "2026-10-24T23:00:00Z"), // Oct 25 00:00 BST
        ev("check_in", "2026-10-25T23:59:59Z"), // Oct 25 23:59:59 GMT
        ev("check_in", "2026-10-26T00:00:00Z"), // Oct 26 00:00 GMT
    ]));
    let day = |back: u32| agg("count", "check_in", None, None, calendar("day", back, 1));
    let z = Some("Europe/London");
    let p = profile(json!({}));
    let now = "2026-10-26T09:00:00Z";
    assert_eq!(
        truth_z(cmp("eq", day(1), lit(json!(2))), &p, &log, now, z),
        T
    );
    assert_eq!(
        truth_z(cmp("eq", day(0), lit(json!(1))), &p, &log, now, z),
        T
    );
    assert_eq!(
        truth_z(cmp("eq", day(2), lit(json!(1))), &p, &log, now, z),
        T
    );
    // Rolling 24h ignores DST: (now - 24h, now].
    let roll = agg("count", "check_in", None, None, rolling("24h"));
    assert_eq!(truth_z(cmp("eq", roll, lit(json!(2))), &p, &log, now, z), T);
}

#[test]
fn months_and_leap_days() {
    let log = events(json!([
        ev("check_in", "2024-02-29T12:00:00Z"),
        ev("check_in", "2024-03-01T00:00:00Z"),
        ev("check_in", "2024-01-31T23:59:59Z"),
    ]));
    let p = profile(json!({}));
    let last_month = agg("count", "check_in", None, None, calendar("month", 1, 1));
    // now 2024-03-31: last month is February (29 days) and holds one event.
    assert_eq!(
        truth(
            cmp("eq", last_month.clone(), lit(json!(1))),
            &p,
            &log,
            "2024-03-31T23:00:00Z"
        ),
        T
    );
    let this_month = agg("count", "check_in", None, None, calendar("month", 0, 1));
    assert_eq!(
        truth(
            cmp("eq", this_month, lit(json!(1))),
            &p,
            &log,
            "2024-03-31T23:00:00Z"
        ),
        T
    );
    // In January of the next year, "last month" is December.
    assert_eq!(
        truth(
            cmp("eq", last_month, lit(json!(0))),
            &p,
            &log,
            "2025-01-15T00:00:00Z"
        ),
        T
    );
}

// ----- streaks ---------------------------------------------------------------------

#[test]
fn weeks_without_and_with() {
    // now: Tuesday 2026-03-10. Weeks (Mon): Mar 9 (current), Mar 2, Feb 23, Feb 16, Feb 9.
    let log = events(json!([
        ev("check_in", "2026-02-01T00:00:00Z"), // earliest event of any name (week of Jan 26)
        ev("page_viewed", "2026-02-10T10:00:00Z"), // week of Feb 9
        ev("page_viewed", "2026-03-09T10:00:00Z"), // current week: ignored
    ]));
    let p = profile(json!({}));
    let v = |e: J| value_of(e, &log, NOW);
    // Complete weeks after Feb 9's week: Feb 16, Feb 23, Mar 2 = 3.
    assert_eq!(v(streak("without", "week", "page_viewed")), Some(json!(3)));
    // No purchase ever: weeks since (and including) the earliest event's week, Jan 26..Mar 2 = 6.
    assert_eq!(v(streak("without", "week", "purchase")), Some(json!(6)));
    assert_eq!(v(streak("with", "week", "page_viewed")), Some(json!(0)));
    // No events at all: 0.
    assert_eq!(
        value_of(
            streak("without", "week", "purchase"),
            &EventLog::default(),
            NOW
        ),
        Some(json!(0))
    );
    let r = cmp(
        "ge",
        streak("without", "week", "page_viewed"),
        lit(json!(3)),
    );
    assert_eq!(truth(r, &p, &log, NOW), T);
}

#[test]
fn days_with_streak_counts_consecutive_complete_days() {
    let log = events(json!([
        ev("check_in", "2026-03-05T08:00:00Z"),
        ev("check_in", "2026-03-07T08:00:00Z"),
        ev("check_in", "2026-03-08T08:00:00Z"),
        ev("check_in", "2026-03-08T09:00:00Z"),
        ev("check_in", "2026-03-09T23:00:00Z"),
        ev("check_in", "2026-03-10T08:00:00Z"), // today: not complete
    ]));
    assert_eq!(
        value_of(streak("with", "day", "check_in"), &log, NOW),
        Some(json!(3))
    );
    assert_eq!(
        value_of(streak("without", "day", "check_in"), &log, NOW),
        Some(json!(0))
    );
    assert_eq!(
        value_of(streak("with", "month", "check_in"), &log, NOW),
        Some(json!(0))
    );
    // In Shanghai, 2026-03-09T23:00Z is already the 10th (today): the streak breaks.
    let c = compile(&[(
        "r",
        cmp("eq", streak("with", "day", "check_in"), lit(json!(0))),
    )]);
    let p = profile(json!({"time_zone":"Asia/Shanghai"}));
    assert_eq!(
        c.evaluate(&EvalInput::new(&p, &log, t(NOW))).unwrap(),
        vec![true]
    );
}

#[test]
fn streak_filters() {
    let log = events(json!([
        evp(
            "page_viewed",
            "2026-03-03T10:00:00Z",
            json!({"category":"furniture"})
        ),
        evp(
            "page_viewed",
            "2026-02-24T10:00:00Z",
            json!({"category":"toys"})
        ),
        evp(
            "page_viewed",
            "2026-02-17T10:00:00Z",
            json!({"category":"furniture"})
        ),
    ]));
    let mut s = streak("with", "week", "page_viewed");
    s["filter"] = cmp("eq", prop("category"), lit(json!("furniture")));
    assert_eq!(value_of(s.clone(), &log, NOW), Some(json!(1)));
    s["mode"] = json!("without");
    assert_eq!(value_of(s, &log, NOW), Some(json!(0)));
}

// ----- segments -----------------------------------------------------------------------

#[test]
fn segment_references_evaluate_in_dependency_order() {
    let c = compile(&[
        ("top", and(vec![seg("adult"), seg("buyer")])),
        ("adult", cmp("ge", tr("age"), lit(json!(18)))),
        ("buyer", agg("any", "purchase", None, None, all())),
        ("not_adult", not(seg("adult"))),
    ]);
    let log = purchases();
    let p = profile(json!({"traits":{"age":20}}));
    let input = EvalInput::new(&p, &log, t(NOW));
    assert_eq!(c.evaluate(&input).unwrap(), vec![true, true, true, false]);
    assert!(c.evaluate_rule(&input, "top").unwrap());
    let named = c.evaluate_named(&input).unwrap();
    assert_eq!(named[3], ("not_adult".to_string(), false));
    // Unknown propagates through references.
    let p = profile(json!({}));
    let input = EvalInput::new(&p, &log, t(NOW));
    assert_eq!(c.evaluate_truth(&input).unwrap(), vec![U, U, T, U]);
}

#[test]
fn cycles_duplicates_and_unknown_segments() {
    let rs = rules(&[("a", seg("b")), ("b", and(vec![seg("c")])), ("c", seg("a"))]);
    let e = CompiledRuleSet::compile(&rs, &schema()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SegmentCycle);
    assert!(e.message().contains("a -> b -> c -> a"), "{}", e.message());
    let rs = rules(&[("a", seg("a"))]);
    let e = CompiledRuleSet::compile(&rs, &schema()).unwrap_err();
    assert!(e.message().contains("a -> a"));
    let rs = rules(&[("a", lit(json!(true))), ("a", lit(json!(false)))]);
    let e = CompiledRuleSet::compile(&rs, &schema()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DuplicateName);
    let rs = rules(&[("buyers", lit(json!(true))), ("x", seg("buyer"))]);
    let e = CompiledRuleSet::compile(&rs, &schema()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownSegment);
    assert_eq!(e.suggestion(), Some("buyers"));
    assert_eq!(e.path(), Some("rules.x"));
}

// ----- compile errors --------------------------------------------------------------------

#[test]
fn unknown_names_suggest() {
    let e = compile_err(cmp("eq", tr("ctiy"), lit(json!("x"))));
    assert_eq!(
        (e.kind(), e.suggestion()),
        (ErrorKind::UnknownTrait, Some("city"))
    );
    assert_eq!(e.path(), Some("rules.r"));
    let e = compile_err(agg("count", "purchse", None, None, all()));
    assert_eq!(
        (e.kind(), e.suggestion()),
        (ErrorKind::UnknownEvent, Some("purchase"))
    );
    let e = compile_err(agg("sum", "purchase", Some("amout"), None, all()));
    assert_eq!(
        (e.kind(), e.suggestion()),
        (ErrorKind::UnknownProperty, Some("amount"))
    );
    let f = cmp("eq", prop("categry"), lit(json!("milk")));
    let e = compile_err(agg("any", "purchase", None, Some(f), all()));
    assert_eq!(
        (e.kind(), e.suggestion()),
        (ErrorKind::UnknownProperty, Some("category"))
    );
    let e = compile_err(json!({"op":"has_tag_in_group","group":"rmf"}));
    assert_eq!(
        (e.kind(), e.suggestion()),
        (ErrorKind::UnknownTagGroup, Some("rfm"))
    );
}

#[test]
fn type_errors() {
    let cases = [
        cmp("eq", tr("city"), lit(json!(3))),
        cmp("gt", tr("age"), lit(json!("3"))),
        cmp("lt", tr("first_seen"), date("2026-01-01")),
        agg("sum", "purchase", Some("category"), None, all()),
        agg("count", "purchase", Some("amount"), None, all()),
        agg("sum", "purchase", None, None, all()),
        json!({"op":"within","expr":tr("age"),"direction":"last","duration":"30d"}),
        json!({"op":"within","expr":tr("birthday"),"direction":"last","duration":"36h"}),
        cmp("eq", prop("amount"), lit(json!(3))),
        arith("add", tr("city"), lit(json!(1))),
        arith("sub", json!({"op":"now"}), tr("first_seen")),
        json!({"op":"text_match","test":"matches","expr":tr("age"),"pattern":lit(json!("1"))}),
        json!({"op":"text_match","test":"starts_with","expr":tr("interests"),"pattern":lit(json!("a"))}),
        tr("age"),
        and(vec![tr("age")]),
        call("days_since", tr("age")),
        json!({"op":"call","function":"abs","args":[]}),
        cmp("lt", tr("interests"), lit(json!(["a"]))),
        json!({"op":"in","expr":tr("age"),"values":[lit(json!("x"))]}),
        arith("sub", json!({"op":"today"}), dur("12h")),
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let e = compile_err(c);
        assert_eq!(e.kind(), ErrorKind::TypeMismatch, "case {i}: {e}");
    }
    let e = compile_err(
        json!({"op":"text_match","test":"matches","expr":tr("city"),"pattern":lit(json!("(unclosed"))}),
    );
    assert_eq!(e.kind(), ErrorKind::InvalidRegex);
    let limits = Limits {
        max_regex_size: 100,
        ..Limits::default()
    };
    let big = json!({"op":"text_match","test":"matches","expr":tr("city"),"pattern":lit(json!("\\w{50}\\d{50}"))});
    let e =
        CompiledRuleSet::compile_with_limits(&rules(&[("r", big)]), &schema(), limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRegex);
    let e = compile_err(agg(
        "count",
        "purchase",
        None,
        None,
        calendar("month", 1, 0),
    ));
    assert_eq!(e.kind(), ErrorKind::InvalidTime);
}

#[test]
fn limits_give_typed_errors_not_stack_overflows() {
    let mut e = lit(json!(true));
    for _ in 0..200 {
        e = not(e);
    }
    let err = compile_err(e.clone());
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    // Even a generous max_depth is capped.
    let mut deep = crate::rules::Expr::new(crate::rules::ExprKind::Literal {
        value: crate::rules::ast::Literal::Boolean(true),
    });
    for _ in 0..100_000 {
        deep = crate::rules::Expr::new(crate::rules::ExprKind::Not {
            arg: Box::new(deep),
        });
    }
    let rs = RuleSet {
        rules: vec![crate::rules::Rule {
            name: "deep".into(),
            description: None,
            expr: deep,
            span: Default::default(),
        }],
    };
    let limits = Limits {
        max_depth: usize::MAX,
        ..Limits::default()
    };
    let err = CompiledRuleSet::compile_with_limits(&rs, &schema(), limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    // Dropping a 100k-deep tree recursively could itself overflow: unwind it by hand.
    let mut cur = rs.rules.into_iter().next().unwrap().expr;
    while let crate::rules::ExprKind::Not { arg } = cur.kind {
        cur = *arg;
    }
    let wide = and((0..50).map(|_| lit(json!(true))).collect());
    let limits = Limits {
        max_nodes: 20,
        ..Limits::default()
    };
    let err = CompiledRuleSet::compile_with_limits(&rules(&[("w", wide)]), &schema(), limits)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    let limits = Limits {
        max_rules: 1,
        ..Limits::default()
    };
    let two = rules(&[("a", lit(json!(true))), ("b", lit(json!(true)))]);
    let err = CompiledRuleSet::compile_with_limits(&two, &schema(), limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
}

#[test]
fn runtime_type_errors_name_the_trait() {
    let c = compile(&[("r", cmp("gt", tr("age"), lit(json!(3))))]);
    let mut p = Profile::new("u");
    p.traits
        .insert("age".into(), crate::Value::String("x".into()));
    let log = EventLog::default();
    let e = c.evaluate(&EvalInput::new(&p, &log, t(NOW))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidProfile);
    assert_eq!(e.path(), Some("traits.age"));
    // An integer stored for a float trait is accepted.
    let c = compile(&[("r", cmp("gt", tr("ltv"), lit(json!(3))))]);
    let mut p = Profile::new("u");
    p.traits.insert("ltv".into(), crate::Value::Integer(4));
    assert_eq!(
        c.evaluate(&EvalInput::new(&p, &log, t(NOW))).unwrap(),
        vec![true]
    );
    // A mistyped event property.
    let c = compile(&[(
        "r",
        cmp(
            "gt",
            agg("sum", "purchase", Some("amount"), None, all()),
            lit(json!(3)),
        ),
    )]);
    let mut e = Event {
        id: "x".into(),
        name: "purchase".into(),
        timestamp: t("2026-01-01T00:00:00Z"),
        properties: Default::default(),
    };
    e.properties
        .insert("amount".into(), crate::Value::String("3".into()));
    let log = EventLog::new(vec![e]);
    let err = c.evaluate(&EvalInput::new(&p, &log, t(NOW))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidEvent);
}

// ----- explain ------------------------------------------------------------------------------

#[test]
fn explanations_show_observed_numbers() {
    let c = compile(&[
        (
            "buyer",
            cmp(
                "ge",
                agg("count", "purchase", None, None, rolling("14d")),
                lit(json!(3)),
            ),
        ),
        (
            "r",
            and(vec![
                seg("buyer"),
                cmp("gt", tr("age"), lit(json!(30))),
                not(json!({"op":"has_tag","tags":["churn"],"mode":"any"})),
                cmp(
                    "ge",
                    streak("without", "week", "page_viewed"),
                    lit(json!(3)),
                ),
                cmp(
                    "lt",
                    agg("last_time", "purchase", None, None, all()),
                    ts("2026-03-09T00:00:00Z"),
                ),
            ]),
        ),
    ]);
    let log = purchases();
    let p = profile(json!({}));
    let input = EvalInput::new(&p, &log, t(NOW));
    let ex = c.explain(&input, "r").unwrap();
    assert!(!ex.matched);
    assert_eq!(ex.rule, "r");
    assert_eq!(ex.root.truth, F);
    let kids = &ex.root.children;
    assert_eq!(kids.len(), 5);
    assert_eq!(kids[0].truth, F);
    assert_eq!(
        kids[0].observed.as_deref(),
        Some("segment buyer: not a member")
    );
    assert_eq!(
        kids[0].children[0].observed.as_deref(),
        Some("count = 2, needed >= 3")
    );
    assert_eq!(kids[1].truth, U);
    assert_eq!(kids[1].observed.as_deref(), Some("age is missing"));
    assert_eq!(kids[2].truth, T);
    assert_eq!(
        kids[2].children[0].observed.as_deref(),
        Some("no live tag churn")
    );
    // No page view before this week: weeks since the earliest event's week (Jan 12).
    assert_eq!(kids[3].truth, T);
    assert_eq!(
        kids[3].observed.as_deref(),
        Some("weeks_without = 8, needed >= 3")
    );
    assert_eq!(
        kids[4].observed.as_deref(),
        Some("last_time = 2026-03-09T10:00:00Z, needed < 2026-03-09T00:00:00Z")
    );
    let e = c.explain(&input, "buyr").unwrap_err();
    assert_eq!(
        (e.kind(), e.suggestion()),
        (ErrorKind::InvalidArgument, Some("buyer"))
    );
    assert_eq!(c.explain_all(&input).unwrap().len(), 2);
}

#[test]
fn compile_text_reports_positions() {
    let text = "segment a: age > 1\nsegment b:\n  ciyt = \"x\"";
    let e = CompiledRuleSet::compile_text(text, &schema()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownTrait);
    assert_eq!(e.path(), Some("rules.b"));
    let pos = e.position().expect("position");
    assert_eq!((pos.line, pos.column), (3, 3));
    // The same rules compiled from the AST carry a path but no position.
    let rs = RuleSet::parse(text).unwrap();
    let rs = RuleSet::from_json(&rs.to_json()).unwrap();
    let e = CompiledRuleSet::compile(&rs, &schema()).unwrap_err();
    assert_eq!((e.path(), e.position()), (Some("rules.b"), None));
}

#[test]
fn dsl_text_and_json_ast_evaluate_alike() {
    let text = "segment churn: days_since(first_seen) >= 30 and none(message_opened, within 72h) and weeks_without(page_viewed) >= 3";
    let from_text = CompiledRuleSet::compile_text(text, &schema()).unwrap();
    let rs = RuleSet::from_json(&RuleSet::parse(text).unwrap().to_json()).unwrap();
    let from_json = CompiledRuleSet::compile(&rs, &schema()).unwrap();
    let p = profile(json!({"traits":{"first_seen":"2026-02-01T00:00:00Z"}}));
    let log = events(json!([ev("page_viewed", "2026-02-10T00:00:00Z")]));
    let input = EvalInput::new(&p, &log, t(NOW));
    assert_eq!(from_text.evaluate(&input).unwrap(), vec![true]);
    assert_eq!(from_json.evaluate(&input).unwrap(), vec![true]);
    let ex = from_text.explain(&input, "churn").unwrap();
    assert_eq!(ex.root.children[0].clause, "days_since(first_seen) >= 30");
}

// ----- properties -------------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    /// A random boolean expression over traits that may be missing.
    fn arb_expr() -> impl Strategy<Value = J> {
        let leaf = prop_oneof![
            (0i64..60).prop_map(|n| cmp("gt", tr("age"), lit(json!(n)))),
            (0i64..60).prop_map(|n| cmp("le", tr("ltv"), lit(json!(n)))),
            any::<bool>().prop_map(|b| lit(json!(b))),
            Just(tr("vip")),
            Just(exists(tr("city"), false)),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(and),
                prop::collection::vec(inner.clone(), 0..3).prop_map(or),
                inner.prop_map(not),
            ]
        })
    }

    fn arb_traits() -> impl Strategy<Value = J> {
        (
            prop::option::of(0i64..60),
            prop::option::of(0i64..60),
            prop::option::of(any::<bool>()),
            prop::option::of(Just("x")),
        )
            .prop_map(|(a, l, v, c)| {
                let mut m = serde_json::Map::new();
                if let Some(a) = a {
                    m.insert("age".into(), json!(a));
                }
                if let Some(l) = l {
                    m.insert("ltv".into(), json!(l));
                }
                if let Some(v) = v {
                    m.insert("vip".into(), json!(v));
                }
                if let Some(c) = c {
                    m.insert("city".into(), json!(c));
                }
                J::Object(m)
            })
    }

    proptest! {
        #[test]
        fn deterministic_and_double_negation(e in arb_expr(), traits in arb_traits()) {
            let a = on_traits(e.clone(), traits.clone());
            prop_assert_eq!(a, on_traits(e.clone(), traits.clone()));
            let nn = on_traits(not(not(e)), traits);
            prop_assert_eq!(nn, a);
        }

        #[test]
        fn de_morgan_under_kleene(a in arb_expr(), b in arb_expr(), traits in arb_traits()) {
            let lhs = on_traits(and(vec![a.clone(), b.clone()]), traits.clone());
            let rhs = on_traits(not(or(vec![not(a), not(b)])), traits);
            prop_assert_eq!(lhs, rhs);
        }
    }
}

#[test]
fn large_sets_agree_with_three_valued_results() {
    // More than 16 rules: the memo lives on the heap; references cross it.
    let mut text = String::from("segment r0: age > 0\n");
    for i in 1..40 {
        let prev = i - 1;
        text.push_str(&format!(
            "segment r{i}: in_segment(r{prev}) and age > {i}\n"
        ));
    }
    let c = CompiledRuleSet::compile_text(&text, &schema()).unwrap();
    let p = profile(json!({"traits":{"age":20}}));
    let log = EventLog::default();
    let input = EvalInput::new(&p, &log, t(NOW));
    let members = c.evaluate(&input).unwrap();
    let truths = c.evaluate_truth(&input).unwrap();
    assert_eq!(members.len(), 40);
    for (i, (m, t)) in members.iter().zip(&truths).enumerate() {
        assert_eq!(*m, i < 20, "r{i}");
        assert_eq!(*m, t.is_true());
    }
    assert!(c.evaluate_rule(&input, "r19").unwrap());
    assert!(!c.evaluate_rule(&input, "r20").unwrap());
    let missing = profile(json!({}));
    let input = EvalInput::new(&missing, &log, t(NOW));
    assert!(c.evaluate_truth(&input).unwrap().iter().all(|t| *t == U));
}

#[test]
fn extreme_instants_do_not_panic() {
    let c = CompiledRuleSet::compile_text(
        "segment a: count(check_in, during calendar(week, 100000000, 3)) >= 0 and weeks_without(check_in) >= 0\n\
         segment b: any(check_in, during last year) or days_since(first_seen) > 0 or hours_since(birthday) > 0",
        &schema(),
    )
    .unwrap();
    let log = events(json!([ev("check_in", "2026-01-01T00:00:00Z")]));
    for zone in ["UTC", "Asia/Shanghai", "-05:00"] {
        let p = profile(json!({"time_zone": zone,
            "traits":{"first_seen":"2026-01-01T00:00:00Z","birthday":"2000-01-01"}}));
        for now in [
            chrono::DateTime::<chrono::Utc>::MIN_UTC,
            chrono::DateTime::<chrono::Utc>::MAX_UTC,
        ] {
            let input = EvalInput::new(&p, &log, now);
            assert_eq!(c.evaluate(&input).unwrap().len(), 2);
            assert!(c.explain_all(&input).is_ok());
        }
    }
}

/// Repeated aggregates share one result and repeated windows one resolution per
/// evaluation: a set full of repeats must agree with each rule compiled alone.
#[test]
fn shared_aggregates_and_windows_match_rules_evaluated_alone() {
    let milk = || Some(cmp("eq", prop("category"), lit(json!("milk"))));
    let last_buy = || agg("last_time", "purchase", None, None, all());
    let items: Vec<(&str, J)> = vec![
        ("recent", cmp("gt", last_buy(), ts("2026-03-01T00:00:00Z"))),
        ("older", cmp("lt", last_buy(), ts("2026-03-20T00:00:00Z"))),
        (
            "milk_month",
            cmp(
                "ge",
                agg("count", "purchase", None, milk(), calendar("month", 0, 1)),
                lit(json!(2)),
            ),
        ),
        (
            "milk_month_again",
            cmp(
                "eq",
                agg("count", "purchase", None, milk(), calendar("month", 0, 1)),
                lit(json!(3)),
            ),
        ),
        (
            "any_month",
            cmp(
                "ge",
                agg("count", "purchase", None, None, calendar("month", 0, 1)),
                lit(json!(1)),
            ),
        ),
        // String results borrow from events and are recomputed, not cached.
        (
            "max_cat",
            cmp(
                "eq",
                agg("max", "purchase", Some("category"), None, all()),
                lit(json!("toys")),
            ),
        ),
        (
            "max_cat_again",
            cmp(
                "eq",
                agg("max", "purchase", Some("category"), None, all()),
                lit(json!("milk")),
            ),
        ),
        (
            "sum_30d",
            cmp(
                "gt",
                agg("sum", "purchase", Some("amount"), None, rolling("30d")),
                lit(json!(10.0)),
            ),
        ),
        (
            "sum_30d_again",
            cmp(
                "lt",
                agg("sum", "purchase", Some("amount"), None, rolling("30d")),
                lit(json!(10.0)),
            ),
        ),
    ];
    let set = compile(&items);
    let p = profile(json!({"time_zone": "Asia/Shanghai"}));
    let log = purchases();
    for now in [
        "2026-03-10T00:00:00Z",
        "2026-03-12T00:00:00Z",
        "2026-04-02T00:00:00Z",
    ] {
        let input = EvalInput::new(&p, &log, t(now));
        let together = set.evaluate_truth(&input).unwrap();
        let alone: Vec<Truth> = items
            .iter()
            .map(|(n, e)| compile(&[(n, e.clone())]).evaluate_truth(&input).unwrap()[0])
            .collect();
        assert_eq!(together, alone, "at {now}");
        // Evaluating again with the same compiled set gives the same answer.
        assert_eq!(set.evaluate_truth(&input).unwrap(), together);
    }
    // Not trivially all-equal: the repeats disagree where their comparisons do.
    let input = EvalInput::new(&p, &log, t("2026-03-10T00:00:00Z"));
    let r = set.evaluate_truth(&input).unwrap();
    assert_eq!(r[0], Truth::True);
    assert_eq!(r[5], Truth::True);
    assert_eq!(r[6], Truth::False);
    assert_ne!(r[7], r[8]);
}
