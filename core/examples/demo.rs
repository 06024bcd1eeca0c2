//! `make demo`: the main job on the sample population.
//!
//! Generates the sample (default 100 000 users, a year of events), compiles the
//! segments of `demo_segments.siyu` (the four layers of DOMAIN.md §4 and a few
//! behaviour segments), evaluates every user at the sample's end, prints the
//! member count of each segment and explains one churn-warning membership.
//!
//! Run: `cargo run --release -p siyu-core --example demo -- [--users N] [--seed S]`

use siyu_core::rules::{CompiledRuleSet, EvalInput, ExplainNode, RuleSet, Truth};
use siyu_core::sample::{self, Generator, SampleConfig};
use siyu_core::value::format_timestamp;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The demo's rule set (also a readable example of the DSL).
const SEGMENTS: &str = include_str!("demo_segments.siyu");

struct Args {
    users: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        users: 100_000,
        seed: 42,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--users" => {
                args.users = value("--users")?
                    .parse()
                    .map_err(|e| format!("--users: {e}"))?
            }
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "-h" | "--help" => {
                return Err("usage: demo [--users N] [--seed S]".into());
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(args)
}

/// Per-thread tallies.
#[derive(Default)]
struct Tally {
    members: Vec<usize>,
    events: usize,
    generate: Duration,
    evaluate: Duration,
    first_churn: Option<usize>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let config = SampleConfig::new(args.users, args.seed);
    let now = config.end;
    let zone = config.default_zone;
    let generator = Generator::new(config)?;
    let schema = sample::schema();

    let t = Instant::now();
    let rules = RuleSet::parse(SEGMENTS)?;
    let compiled = CompiledRuleSet::compile(&rules, &schema)?;
    let compile_time = t.elapsed();
    let names = compiled.rule_names().to_vec();
    let churn = names
        .iter()
        .position(|n| n == "churn_warning")
        .ok_or("demo_segments.siyu has no churn_warning segment")?;

    println!(
        "siyu {} demo: {} users, seed {}, now = {} (default zone {})",
        siyu_core::VERSION,
        args.users,
        args.seed,
        format_timestamp(&now),
        zone
    );
    println!(
        "compiled {} segments in {:.1} µs",
        names.len(),
        compile_time.as_secs_f64() * 1e6
    );

    // Generate and evaluate user by user (streaming: the population is never held
    // in memory), on every core; each user depends only on (seed, index).
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(args.users.max(1));
    let wall = Instant::now();
    let tallies = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (generator, compiled) = (&generator, &compiled);
                let n_rules = names.len();
                s.spawn(move || -> siyu_core::Result<Tally> {
                    let mut tally = Tally {
                        members: vec![0; n_rules],
                        ..Tally::default()
                    };
                    for i in (k..args.users).step_by(threads) {
                        let t0 = Instant::now();
                        let (profile, events) = generator.user(i);
                        let t1 = Instant::now();
                        let input = EvalInput::new(&profile, &events, now).with_default_zone(zone);
                        let result = compiled.evaluate(&input)?;
                        tally.evaluate += t1.elapsed();
                        tally.generate += t1 - t0;
                        tally.events += events.len();
                        for (m, hit) in tally.members.iter_mut().zip(&result) {
                            *m += usize::from(*hit);
                        }
                        if result[churn] && tally.first_churn.is_none_or(|f| i < f) {
                            tally.first_churn = Some(i);
                        }
                    }
                    Ok(tally)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("demo worker panicked"))
            .collect::<siyu_core::Result<Vec<_>>>()
    })?;
    let wall = wall.elapsed();

    let mut total = Tally {
        members: vec![0; names.len()],
        ..Tally::default()
    };
    for t in tallies {
        for (a, b) in total.members.iter_mut().zip(&t.members) {
            *a += b;
        }
        total.events += t.events;
        total.generate += t.generate;
        total.evaluate += t.evaluate;
        total.first_churn = match (total.first_churn, t.first_churn) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let users = args.users.max(1) as f64;
    println!(
        "sample: {} events ({:.1} per user)\n\
         time: generation {:.2} s, evaluation {:.2} s ({:.2} µs per profile for all {} segments), \
         summed over threads; wall {:.2} s on {} threads\n",
        total.events,
        total.events as f64 / users,
        total.generate.as_secs_f64(),
        total.evaluate.as_secs_f64(),
        total.evaluate.as_secs_f64() * 1e6 / users,
        names.len(),
        wall.as_secs_f64(),
        threads
    );

    let width = names.iter().map(String::len).max().unwrap_or(7).max(7);
    println!("{:<width$}  {:>9}  {:>7}", "segment", "members", "share");
    println!("{}", "-".repeat(width + 20));
    for (name, m) in names.iter().zip(&total.members) {
        println!(
            "{name:<width$}  {m:>9}  {:>6.2}%",
            *m as f64 * 100.0 / users
        );
    }

    match total.first_churn {
        None => println!("\nno user is in churn_warning"),
        Some(i) => {
            let (profile, events) = generator.user(i);
            let input = EvalInput::new(&profile, &events, now).with_default_zone(zone);
            let explanation = compiled.explain(&input, "churn_warning")?;
            println!(
                "\nwhy is {} in churn_warning? ({} events, zone {})",
                profile.id,
                events.len(),
                input.zone()
            );
            print_node(&explanation.root, 1);
        }
    }
    Ok(())
}

fn print_node(node: &ExplainNode, depth: usize) {
    let mark = match node.truth {
        Truth::True => "✓",
        Truth::False => "✗",
        Truth::Unknown => "?",
    };
    let observed = node
        .observed
        .as_deref()
        .map(|o| format!("   [{o}]"))
        .unwrap_or_default();
    println!("{}{mark} {}{observed}", "  ".repeat(depth), node.clause);
    for child in &node.children {
        print_node(child, depth + 1);
    }
}
