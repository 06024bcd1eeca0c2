//! Value-model benches (docs/benchmarks.md, "Value models").
//!
//! * `clv/bgnbd_fit_cdnow`: BG/NBD maximum-likelihood fit on the CDNOW summary
//!   (2,357 customers).
//! * `clv/gammagamma_fit_cdnow`: Gamma-Gamma fit on the CDNOW repeat buyers (946).
//! * `clv/paretonbd_fit_cdnow`: Pareto/NBD fit on the CDNOW summary (gradient by
//!   central differences).
//! * `clv/score_cdnow`: P(alive) + E[Y(39)] for all 2,357 customers.
//! * `analytics/retention_100k_users_2m_events`: a 30-day daily retention
//!   matrix from synthetic events (deterministic LCG data; runs without CDNOW).
//!
//! The data are read at bench time from `SIYU_CDNOW_DIR` or
//! `../shared/external/cdnow` next to the checkout; without them the benches
//! print a note and do nothing.

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use siyu_core::analytics::{retention_matrix, Granularity, RetentionSpec, UserEvent};
use siyu_core::clv::{BgNbd, FitOptions, GammaGamma, ParetoNbd, PurchaseModel, RfColumns};
use siyu_core::Zone;
use std::hint::black_box;
use std::path::PathBuf;

fn read_csv(name: &str) -> Option<Vec<Vec<f64>>> {
    let mut dirs = Vec::new();
    if let Ok(d) = std::env::var("SIYU_CDNOW_DIR") {
        dirs.push(PathBuf::from(d));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for up in ["..", "../..", "../../.."] {
        dirs.push(root.join(up).join("shared/external/cdnow"));
    }
    let path = dirs
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())?;
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let n = lines.next()?.split(',').count();
    let mut cols = vec![Vec::new(); n];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (c, v) in line.split(',').enumerate() {
            cols[c].push(v.trim().parse::<f64>().ok()?);
        }
    }
    Some(cols)
}

/// 100k users, each with a signup and ~19 later opens within 60 days.
fn retention_events() -> Vec<UserEvent> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("valid");
    let mut out = Vec::with_capacity(2_000_000);
    for u in 0..100_000u64 {
        let user = format!("u{u}");
        let signup = start + TimeDelta::seconds((next() % (30 * 86_400)) as i64);
        out.push(UserEvent {
            user_id: user.clone(),
            name: "signup".into(),
            timestamp: signup,
        });
        for _ in 0..19 {
            out.push(UserEvent {
                user_id: user.clone(),
                name: "open".into(),
                timestamp: signup + TimeDelta::seconds((next() % (60 * 86_400)) as i64),
            });
        }
    }
    out
}

fn analytics_benches(c: &mut Criterion) {
    let events = retention_events();
    let spec = RetentionSpec {
        cohort_event: "signup".into(),
        activity_events: vec!["open".into()],
        granularity: Granularity::Day,
        periods: 31,
        zone: Zone::utc(),
        end: None,
    };
    c.bench_function("analytics/retention_100k_users_2m_events", |b| {
        b.iter(|| retention_matrix(black_box(&events), &spec).expect("matrix"))
    });
}

fn benches(c: &mut Criterion) {
    let (Some(rf), Some(money)) = (
        read_csv("cdnow_customers_summary.csv"),
        read_csv("cdnow_customers_summary_with_transactions.csv"),
    ) else {
        eprintln!("note: CDNOW data not found (set SIYU_CDNOW_DIR); skipping clv benches");
        return;
    };
    let data = RfColumns::new(&rf[1], &rf[2], &rf[3]);
    let opts = FitOptions::default();
    c.bench_function("clv/bgnbd_fit_cdnow", |b| {
        b.iter(|| BgNbd::fit(black_box(&data), &opts).expect("fit"))
    });
    c.bench_function("clv/gammagamma_fit_cdnow", |b| {
        b.iter(|| GammaGamma::fit(black_box(&money[1]), black_box(&money[4]), &opts).expect("fit"))
    });
    c.bench_function("clv/paretonbd_fit_cdnow", |b| {
        b.iter(|| ParetoNbd::fit(black_box(&data), &opts).expect("fit"))
    });
    let (model, _) = BgNbd::fit(&data, &opts).expect("fit");
    c.bench_function("clv/score_cdnow", |b| {
        b.iter(|| {
            let mut s = 0.0;
            for i in 0..data.len() {
                let (x, tx, t) = (data.frequency[i], data.recency[i], data.t[i]);
                s += model.p_alive(x, tx, t).expect("p");
                s += model
                    .conditional_expected_purchases(39.0, x, tx, t)
                    .expect("e");
            }
            s
        })
    });
}

criterion_group! {
    name = clv;
    config = Criterion::default().sample_size(20);
    targets = benches, analytics_benches
}
criterion_main!(clv);
