//! Value-model benches (docs/benchmarks.md, "Value models").
//!
//! * `clv/bgnbd_fit_cdnow`: BG/NBD maximum-likelihood fit on the CDNOW summary
//!   (2,357 customers).
//! * `clv/gammagamma_fit_cdnow`: Gamma-Gamma fit on the CDNOW repeat buyers (946).
//! * `clv/score_cdnow`: P(alive) + E[Y(39)] for all 2,357 customers.
//!
//! The data are read at bench time from `SIYU_CDNOW_DIR` or
//! `../shared/external/cdnow` next to the checkout; without them the benches
//! print a note and do nothing.

use criterion::{criterion_group, criterion_main, Criterion};
use siyu_core::clv::{BgNbd, FitOptions, GammaGamma, PurchaseModel, RfColumns};
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
    targets = benches
}
criterion_main!(clv);
