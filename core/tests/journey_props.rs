//! Property tests of the journey engine: determinism, fire-late equivalence,
//! caps, consent, and state round-trips.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use siyu_core::journey::{
    Action, Effect, Input, JourneyDefinition, JourneyEngine, Policies, UserState,
};
use siyu_core::value::parse_timestamp;
use siyu_core::{Event, EventLog, Profile, Schema};

fn schema() -> Schema {
    Schema::from_json(
        r#"{"events":{"friend_added":{},"message_replied":{},"purchase":{"properties":{"order_id":"string"}}}}"#,
    )
    .unwrap()
}

fn t0() -> DateTime<Utc> {
    parse_timestamp("2026-03-02T09:30:00Z").unwrap()
}

/// A node spec: (kind 0..6, parameter).
type Spec = Vec<(u8, u32)>;

fn journey(id: &str, spec: &Spec, trigger: &str, priority: i32) -> JourneyDefinition {
    let n = spec.len();
    // Node i continues to i + 1; node n is the closing `end`.
    let next = |i: usize| -> Value { json!(format!("n{}", i + 1)) };
    let nodes: Vec<Value> = spec
        .iter()
        .enumerate()
        .map(|(i, (kind, p))| {
            let id = format!("n{i}");
            let mut v = match kind % 7 {
                0 | 1 => json!({"type": "message", "channel": if p % 2 == 0 {"wechat"} else {"sms"},
                                "template": format!("t{i}"), "purpose": if p % 3 == 0 {"service"} else {"marketing"}}),
                2 => json!({"type": "wait", "duration": format!("{}m", 30 + p % 4000)}),
                3 => json!({"type": "wait_until_time", "time": format!("{:02}:{:02}", p % 24, (p / 24) % 60),
                            "weekdays": if p % 2 == 0 { json!(["mon","tue","wed","thu","fri"]) } else { json!([]) }}),
                4 => json!({"type": "wait_event", "event": "message_replied", "timeout": format!("{}h", 1 + p % 72),
                            "on_event": next(i), "on_timeout": next(i)}),
                5 => json!({"type": "split_random", "branches": [
                    {"name": "a", "weight": 1 + p % 5, "next": next(i)},
                    {"name": "b", "weight": 1 + (p / 5) % 5, "next": next(i)}]}),
                _ => json!({"type": "tags", "add": [format!("tag{i}")]}),
            };
            let o = v.as_object_mut().unwrap();
            o.insert("id".into(), json!(id));
            if !matches!(kind % 7, 4 | 5) {
                if let Some(nx) = next(i).as_str() {
                    o.insert("next".into(), json!(nx));
                }
            }
            v
        })
        .collect();
    // Every split branch must name a target: end chains with an `end` node.
    let mut nodes = nodes;
    let last = json!({"id": format!("n{n}"), "type": "end"});
    for v in &mut nodes {
        for key in ["on_event", "on_timeout"] {
            if v.get(key) == Some(&Value::Null) {
                v[key] = json!(format!("n{n}"));
            }
        }
        if let Some(b) = v.get_mut("branches").and_then(Value::as_array_mut) {
            for br in b {
                if br["next"].is_null() {
                    br["next"] = json!(format!("n{n}"));
                }
            }
        }
    }
    nodes.push(last);
    let doc = json!({"id": id, "priority": priority, "trigger": {"type": "event", "event": trigger},
                     "reentry": {"mode": "cooldown", "cooldown": "1h"}, "nodes": nodes});
    JourneyDefinition::from_json_value(&doc).unwrap()
}

fn policies(cap: u32) -> Policies {
    Policies::from_json_value(&json!({
        "default_zone": "Asia/Shanghai",
        "caps": [{"channel": "*", "per_day": cap}, {"channel": "wechat", "window": "6h", "max": 1}],
        "quiet_hours": {"start": "22:00", "end": "08:00"}
    }))
    .unwrap()
}

fn profile(consent_flags: u8) -> Profile {
    let mut consents = Vec::new();
    for (i, (ch, pu)) in [
        ("wechat", "marketing"),
        ("wechat", "service"),
        ("sms", "marketing"),
        ("sms", "service"),
    ]
    .iter()
    .enumerate()
    {
        if consent_flags & (1 << i) != 0 {
            consents.push(json!({"channel": ch, "purpose": pu, "status": "granted", "at": "2026-01-01T00:00:00Z"}));
        }
        if consent_flags & (1 << (i + 4)) != 0 {
            consents.push(json!({"channel": ch, "purpose": pu, "status": "revoked", "at": "2026-03-04T00:00:00Z"}));
        }
    }
    Profile::from_json_value(&json!({"id": "u42", "consents": consents}), &schema()).unwrap()
}

fn event(id: usize, name: &str, at: DateTime<Utc>) -> Event {
    Event::from_json_value(&json!({"id": format!("e{id}"), "name": name, "timestamp": siyu_core::value::format_timestamp(&at)}), &schema()).unwrap()
}

fn engine(a: &Spec, b: &Spec, cap: u32) -> JourneyEngine {
    JourneyEngine::new(
        schema(),
        vec![
            journey("alpha", a, "friend_added", 1),
            journey("beta", b, "purchase", 5),
        ],
        policies(cap),
    )
    .unwrap()
}

/// Inputs: events at offsets (minutes from t0).
fn inputs(offsets: &[(u8, u32)]) -> Vec<Event> {
    let mut v: Vec<Event> = offsets
        .iter()
        .enumerate()
        .map(|(i, (k, m))| {
            let name = ["friend_added", "purchase", "message_replied"][usize::from(*k % 3)];
            event(i, name, t0() + Duration::minutes(i64::from(*m)))
        })
        .collect();
    v.sort_by_key(|e| e.timestamp);
    v
}

/// Runs the events, ticking at every wake-up in between when `eager`, and a
/// final tick at `end`. Returns all effects and the last state.
fn run(
    e: &JourneyEngine,
    p: &Profile,
    evs: &[Event],
    eager: bool,
    end: DateTime<Utc>,
) -> (Vec<Effect>, UserState, Vec<UserState>) {
    let mut state = UserState::new();
    let mut effects = Vec::new();
    let mut states = Vec::new();
    let mut wake: Option<DateTime<Utc>> = None;
    let mut history = Vec::new();
    let mut step =
        |state: &mut UserState, input: &Input, now: DateTime<Utc>, history: &Vec<Event>| {
            let log = EventLog::new(history.clone());
            let r = e.step(state, p, &log, input, now).unwrap();
            effects.extend(r.effects);
            *state = r.state;
            states.push(state.clone());
            r.next_wake
        };
    for ev in evs {
        if eager {
            while let Some(w) = wake.filter(|w| *w < ev.timestamp) {
                wake = step(&mut state, &Input::Tick, w, &history);
            }
        }
        history.push(ev.clone());
        wake = step(
            &mut state,
            &Input::Event(ev.clone()),
            ev.timestamp,
            &history,
        );
    }
    if eager {
        while let Some(w) = wake.filter(|w| *w <= end) {
            wake = step(&mut state, &Input::Tick, w, &history);
        }
    }
    step(&mut state, &Input::Tick, end, &history);
    (effects, state, states)
}

fn spec() -> impl Strategy<Value = Spec> {
    prop::collection::vec((0u8..7, 0u32..10_000), 1..7)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn deterministic(a in spec(), b in spec(), evs in prop::collection::vec((0u8..3, 0u32..20_000), 1..6), flags in any::<u8>()) {
        let e = engine(&a, &b, 3);
        let p = profile(flags);
        let evs = inputs(&evs);
        let end = t0() + Duration::days(40);
        let (x, sx, _) = run(&e, &p, &evs, true, end);
        let (y, sy, _) = run(&e, &p, &evs, true, end);
        prop_assert_eq!(x, y);
        prop_assert_eq!(sx, sy);
    }

    #[test]
    fn fire_late_equals_every_wakeup(a in spec(), b in spec(), evs in prop::collection::vec((0u8..3, 0u32..20_000), 1..6), flags in any::<u8>()) {
        let e = engine(&a, &b, 3);
        let p = profile(flags);
        let evs = inputs(&evs);
        let end = t0() + Duration::days(40);
        let (eager, se, _) = run(&e, &p, &evs, true, end);
        let (late, sl, _) = run(&e, &p, &evs, false, end);
        prop_assert_eq!(eager, late);
        prop_assert_eq!(se.instances, sl.instances);
    }

    #[test]
    fn caps_never_exceeded_and_consent_always_held(a in spec(), b in spec(), evs in prop::collection::vec((0u8..3, 0u32..20_000), 1..8), flags in any::<u8>(), cap in 1u32..3) {
        let e = engine(&a, &b, cap);
        let p = profile(flags);
        let evs = inputs(&evs);
        let (effects, _, _) = run(&e, &p, &evs, true, t0() + Duration::days(40));
        let zone = e.policies().default_zone;
        let sends: Vec<&Effect> = effects.iter().filter(|x| x.action.is_message()).collect();
        for s in &sends {
            if let Action::SendMessage { channel, purpose, .. } = &s.action {
                prop_assert!(p.has_consent(channel, purpose, s.at.to_chrono()), "sent without consent: {:?}", s);
                // Quiet hours 22:00–08:00 local: nothing is sent inside them.
                let h = zone.local(s.at.to_chrono()).time().format("%H").to_string().parse::<u32>().unwrap();
                prop_assert!((8..22).contains(&h), "sent in quiet hours: {:?}", s);
                let same_day = sends.iter().filter(|o| o.at <= s.at && zone.date_at(o.at.to_chrono()) == zone.date_at(s.at.to_chrono())).count();
                prop_assert!(same_day as u32 <= cap, "per-day cap exceeded at {:?}", s);
                if channel == "wechat" {
                    let window = sends.iter().filter(|o| matches!(&o.action, Action::SendMessage{channel, ..} if channel == "wechat")
                        && o.at <= s.at && o.at.to_chrono() > s.at.to_chrono() - Duration::hours(6)).count();
                    prop_assert!(window <= 1, "rolling cap exceeded at {:?}", s);
                }
            }
        }
    }

    #[test]
    fn state_round_trips_in_both_encodings(a in spec(), b in spec(), evs in prop::collection::vec((0u8..3, 0u32..20_000), 1..6), flags in any::<u8>()) {
        let e = engine(&a, &b, 2);
        let p = profile(flags);
        let evs = inputs(&evs);
        let (_, _, states) = run(&e, &p, &evs, false, t0() + Duration::days(3));
        for s in states {
            prop_assert_eq!(&UserState::from_bytes(&s.to_bytes()).unwrap(), &s);
            prop_assert_eq!(&UserState::from_json_value(&s.to_json()).unwrap(), &s);
            for i in &s.instances {
                let b = i.to_bytes();
                prop_assert!(b.len() <= 96);
                prop_assert_eq!(&siyu_core::journey::Instance::from_bytes(&b).unwrap(), i);
            }
        }
    }

    #[test]
    fn random_binary_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = UserState::from_bytes(&bytes);
        let _ = siyu_core::journey::Instance::from_bytes(&bytes);
    }
}
