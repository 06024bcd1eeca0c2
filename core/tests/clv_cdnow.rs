//! Golden tests on the CDNOW sample (Fader, Hardie & Lee 2005 and Fader &
//! Hardie's notes). The data are read at test time from the shared folder
//! (`SIYU_CDNOW_DIR`, else `../shared/external/cdnow` next to the checkout);
//! when absent each test prints a note and returns.

use chrono::{NaiveDate, TimeZone, Utc};
use siyu_core::clv::{
    summarize, BgNbd, FitOptions, GammaGamma, MbgNbd, ParetoNbd, PurchaseModel, RfColumns,
    SummaryOptions, TimeUnit, Transaction,
};
use std::path::PathBuf;

fn cdnow_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(d) = std::env::var("SIYU_CDNOW_DIR") {
        candidates.push(PathBuf::from(d));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    for up in ["..", "../..", "../../.."] {
        candidates.push(root.join(up).join("shared/external/cdnow"));
    }
    let found = candidates
        .into_iter()
        .find(|d| d.join("cdnow_customers_summary.csv").is_file());
    if found.is_none() {
        eprintln!("note: CDNOW data not found (set SIYU_CDNOW_DIR); skipping");
    }
    found
}

/// Columns of a CSV with a header, as f64 (the ID column too).
fn read_csv(path: PathBuf) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).expect("readable CSV");
    let mut lines = text.lines();
    let n = lines.next().expect("header").split(',').count();
    let mut cols = vec![Vec::new(); n];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (c, v) in line.split(',').enumerate() {
            cols[c].push(v.trim().parse::<f64>().expect("number"));
        }
    }
    cols
}

fn close(got: f64, want: f64, abs: f64) -> bool {
    (got - want).abs() <= abs
}

#[test]
fn summary_reproduces_published_csv() {
    let Some(dir) = cdnow_dir() else { return };
    let text = std::fs::read_to_string(dir.join("CDNOW_sample.txt")).expect("sample");
    let mut txns = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let d = NaiveDate::parse_from_str(f[2], "%Y%m%d").expect("date");
        txns.push(Transaction {
            customer_id: format!("{:0>4}", f[1]),
            timestamp: Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")),
            value: f[4].parse().expect("dollars"),
        });
    }
    let end = NaiveDate::from_ymd_opt(1997, 9, 30).expect("date");
    let opts = SummaryOptions {
        unit: TimeUnit::Weeks,
        decimals: Some(2),
        ..Default::default()
    };
    let got = summarize(&txns, end, &opts).expect("summary");
    let want = read_csv(dir.join("cdnow_customers_summary_with_transactions.csv"));
    assert_eq!(got.len(), want[0].len());
    let mut mismatches = Vec::new();
    for (i, s) in got.iter().enumerate() {
        let row = [want[0][i], want[1][i], want[2][i], want[3][i], want[4][i]];
        let mine = [
            s.customer_id.parse::<f64>().expect("numeric id"),
            s.frequency as f64,
            s.recency,
            s.t,
            s.monetary_value,
        ];
        if row != mine {
            mismatches.push(format!("{row:?} vs {mine:?}"));
        }
    }
    // The Gamma-Gamma fit on the unrounded repeat-day means (Fader & Hardie's note).
    let exact = summarize(
        &txns,
        end,
        &SummaryOptions {
            decimals: None,
            ..opts
        },
    )
    .expect("summary");
    let x: Vec<f64> = exact.iter().map(|s| s.frequency as f64).collect();
    let m: Vec<f64> = exact.iter().map(|s| s.monetary_value).collect();
    let (gg, _) = GammaGamma::fit(&x, &m, &FitOptions::default()).expect("fit");
    eprintln!("Gamma-Gamma on exact means {gg:?}");
    assert!(close(gg.p, 6.25, 5e-3), "p {}", gg.p);
    assert!(close(gg.q, 3.74, 5e-3), "q {}", gg.q);
    assert!(close(gg.gamma, 15.44, 5e-3), "gamma {}", gg.gamma);
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}

fn rf() -> Option<Vec<Vec<f64>>> {
    cdnow_dir().map(|d| read_csv(d.join("cdnow_customers_summary.csv")))
}

#[test]
fn bgnbd_matches_fader_hardie_lee() {
    let Some(c) = rf() else { return };
    let data = RfColumns::new(&c[1], &c[2], &c[3]);
    let (m, info) = BgNbd::fit(&data, &FitOptions::default()).expect("fit");
    eprintln!("BG/NBD {m:?} {info:?}");
    assert!(close(m.r, 0.243, 5e-4), "r {}", m.r);
    assert!(close(m.alpha, 4.414, 5e-4), "alpha {}", m.alpha);
    assert!(close(m.a, 0.793, 5e-4), "a {}", m.a);
    assert!(close(m.b, 2.426, 5e-4), "b {}", m.b);
    assert!(
        close(info.log_likelihood, -9582.4, 0.05),
        "LL {}",
        info.log_likelihood
    );
    assert_eq!(info.customers, 2357);
    let e = m
        .conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)
        .expect("E[Y]");
    assert!(close(e, 1.226, 5e-4), "E[Y(39)] {e}");
}

#[test]
fn paretonbd_matches_fader_hardie() {
    let Some(c) = rf() else { return };
    let data = RfColumns::new(&c[1], &c[2], &c[3]);
    let (m, info) = ParetoNbd::fit(&data, &FitOptions::default()).expect("fit");
    eprintln!("Pareto/NBD {m:?} {info:?}");
    assert!(close(m.r, 0.553, 5e-4), "r {}", m.r);
    assert!(close(m.alpha, 10.578, 5e-4), "alpha {}", m.alpha);
    assert!(close(m.s, 0.606, 5e-4), "s {}", m.s);
    // The likelihood is flat along beta: the published 11.669 (Excel Solver) has a
    // lower likelihood than our optimum 11.668, so beta is checked to ±0.002 and
    // our optimum must be at least as likely as the published point.
    assert!(close(m.beta, 11.669, 2e-3), "beta {}", m.beta);
    assert!(
        close(info.log_likelihood, -9595.0, 0.05),
        "LL {}",
        info.log_likelihood
    );
    let published = ParetoNbd {
        r: 0.553,
        alpha: 10.578,
        s: 0.606,
        beta: 11.669,
    };
    let ll_pub: f64 = (0..c[1].len())
        .map(|i| {
            published
                .log_likelihood(c[1][i], c[2][i], c[3][i])
                .expect("ll")
        })
        .sum();
    assert!(
        info.log_likelihood >= ll_pub,
        "{} < {ll_pub}",
        info.log_likelihood
    );
}

#[test]
fn mbgnbd_fits_and_scores() {
    let Some(c) = rf() else { return };
    let data = RfColumns::new(&c[1], &c[2], &c[3]);
    let (m, info) = MbgNbd::fit(&data, &FitOptions::default()).expect("fit");
    let (bg, bg_info) = BgNbd::fit(&data, &FitOptions::default()).expect("fit");
    eprintln!("MBG/NBD {m:?} {info:?}");
    // Same data, a closely related model: the likelihoods are within a few units.
    assert!((info.log_likelihood - bg_info.log_likelihood).abs() < 20.0);
    // Unlike BG/NBD, a one-time buyer is not certainly alive.
    assert!(m.p_alive(0.0, 0.0, 38.86).expect("p") < 1.0);
    assert_eq!(bg.p_alive(0.0, 0.0, 38.86).expect("p"), 1.0);
}

#[test]
fn gammagamma_matches_fader_hardie() {
    let Some(dir) = cdnow_dir() else { return };
    let c = read_csv(dir.join("cdnow_customers_summary_with_transactions.csv"));
    let (m, info) = GammaGamma::fit(&c[1], &c[4], &FitOptions::default()).expect("fit");
    eprintln!("Gamma-Gamma {m:?} {info:?}");
    assert_eq!(info.customers, 946);
    assert!(close(m.p, 6.25, 5e-3), "p {}", m.p);
    assert!(close(m.q, 3.74, 5e-3), "q {}", m.q);
    // The CSV's means are rounded to cents, which moves gamma to 15.448
    // (lifetimes reports 15.45 on this file); the exact-mean fit is checked to
    // the published precision in `summary_reproduces_published_csv`.
    assert!(close(m.gamma, 15.44, 1.5e-2), "gamma {}", m.gamma);
}
