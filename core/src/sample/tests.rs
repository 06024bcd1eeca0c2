use super::*;
use crate::value::Value;
use std::collections::BTreeMap;

fn small(users: usize, seed: u64) -> Vec<(Profile, EventLog)> {
    generate(&SampleConfig::new(users, seed)).unwrap()
}

#[test]
fn same_seed_same_population_different_seed_differs() {
    let a = small(300, 1);
    assert_eq!(a, small(300, 1));
    let b = small(300, 2);
    assert_ne!(a, b);
    // Streaming, random access and parallel generation agree.
    let gen = Generator::new(SampleConfig::new(300, 1)).unwrap();
    assert_eq!(gen.user(123), a[123]);
    assert_eq!(gen.iter().take(5).collect::<Vec<_>>(), a[..5].to_vec());
}

#[test]
fn everything_validates_against_the_schema() {
    let schema = schema();
    let cfg = SampleConfig::new(500, 9);
    for (p, events) in generate(&cfg).unwrap() {
        p.validate(&schema).unwrap();
        // Round trip through JSON exercises every property type check.
        Profile::from_json_value(&p.to_json(), &schema).unwrap();
        let back = EventLog::from_json_value(&events.to_json(), &schema).unwrap();
        assert_eq!(back, events);
        for e in events.events() {
            assert!(e.timestamp >= cfg.start && e.timestamp < cfg.end, "{e:?}");
            assert!(e.id.starts_with(&p.id));
        }
    }
}

#[test]
fn distributions_are_plausible() {
    let cfg = SampleConfig::new(3000, 42);
    let gen = Generator::new(cfg.clone()).unwrap();
    let pop = generate(&cfg).unwrap();
    let n = pop.len() as f64;
    let events: usize = pop.iter().map(|(_, e)| e.len()).sum();
    let per_user = events as f64 / n;
    assert!(
        (20.0..=60.0).contains(&per_user),
        "events per user {per_user}"
    );

    let mut archetypes = BTreeMap::new();
    for i in 0..pop.len() {
        *archetypes.entry(gen.archetype(i)).or_insert(0usize) += 1;
    }
    for (a, share) in Archetype::WEIGHTS {
        let got = archetypes.get(a).copied().unwrap_or(0) as f64 / n;
        assert!((got - share).abs() < 0.03, "{a:?}: {got} vs {share}");
    }

    let shanghai = pop
        .iter()
        .filter(|(p, _)| p.time_zone.map(|z| z.name()) == Some("Asia/Shanghai".into()))
        .count() as f64
        / n;
    assert!((0.8..0.95).contains(&shanghai), "{shanghai}");

    // Heavy-tailed amounts: mean well above median, some large orders.
    let mut amounts: Vec<f64> = pop
        .iter()
        .flat_map(|(_, e)| e.events().iter())
        .filter(|e| e.name == "purchase")
        .filter_map(|e| e.properties.get("amount").and_then(Value::as_f64))
        .collect();
    amounts.sort_by(f64::total_cmp);
    let median = amounts[amounts.len() / 2];
    let mean = amounts.iter().sum::<f64>() / amounts.len() as f64;
    assert!(mean > median * 1.15 && amounts[amounts.len() - 1] > median * 8.0);
    assert!(amounts.iter().all(|a| *a > 0.0));

    // Browsers never buy; one-off buyers buy exactly once; loyal buyers repeatedly.
    for (i, (_, e)) in pop.iter().enumerate() {
        let buys = e.events().iter().filter(|e| e.name == "purchase").count();
        match gen.archetype(i) {
            Archetype::BrowserOnly => assert_eq!(buys, 0),
            Archetype::OneOff => assert!(buys <= 1),
            _ => {}
        }
    }

    // Double 11 outsells an ordinary November day several times.
    let day_sales = |m: u32, d: u32| {
        pop.iter()
            .flat_map(|(_, e)| e.events().iter())
            .filter(|e| e.name == "purchase")
            .filter(|e| {
                let local = cfg.default_zone.date_at(e.timestamp);
                chrono::Datelike::month(&local) == m && chrono::Datelike::day(&local) == d
            })
            .count()
    };
    let normal: usize = (20..=26).map(|d| day_sales(10, d)).sum();
    assert!(
        day_sales(11, 11) * 7 > normal * 3,
        "{} vs {normal}/7",
        day_sales(11, 11)
    );
}

#[test]
fn bad_config_is_an_error() {
    let mut cfg = SampleConfig::new(1, 1);
    cfg.end = cfg.start;
    assert_eq!(
        Generator::new(cfg).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn demo_segments_compile_and_have_meaningful_sizes() {
    use crate::rules::{CompiledRuleSet, EvalInput, RuleSet};
    let rules = RuleSet::parse(include_str!("../../examples/demo_segments.siyu")).unwrap();
    let compiled = CompiledRuleSet::compile(&rules, &schema()).unwrap();
    let cfg = SampleConfig::new(2000, 42);
    let gen = Generator::new(cfg.clone()).unwrap();
    let mut members = vec![0usize; compiled.rule_names().len()];
    for (p, e) in gen.iter() {
        let input = EvalInput::new(&p, &e, cfg.end).with_default_zone(cfg.default_zone);
        for (m, hit) in members.iter_mut().zip(compiled.evaluate(&input).unwrap()) {
            *m += usize::from(hit);
        }
    }
    // Every segment is neither empty nor everyone: between 2% and 60% of users.
    for (name, m) in compiled.rule_names().iter().zip(&members) {
        let share = *m as f64 / cfg.users as f64;
        assert!((0.02..0.6).contains(&share), "{name}: {share}");
    }
}
