//! GrowthBook's deterministic hashing, used for random (A/B) journey splits.
//!
//! This is exactly the function of GrowthBook's SDK specification (`hash` in
//! `packages/sdk-js/src/util.ts`), so assignments can be checked against their
//! published vectors (`cases.json`, section `hash`):
//!
//! * FNV-1a 32-bit over the string's **UTF-16 code units** (JavaScript's
//!   `charCodeAt`; identical to bytes for ASCII), offset basis `0x811c9dc5`,
//!   prime `0x01000193`.
//! * Version 1: `fnv1a32(value + seed) % 1000 / 1000`.
//! * Version 2: `fnv1a32(decimal(fnv1a32(seed + value))) % 10000 / 10000`.
//! * Any other version: `None`.

/// FNV-1a 32-bit over UTF-16 code units, as GrowthBook computes it.
pub fn fnv1a32(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for unit in text.encode_utf16() {
        h ^= u32::from(unit);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// GrowthBook's `hash(seed, value, version)`: a number in `[0, 1)`, or `None`
/// for an unsupported version.
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        1 => {
            let mut s = String::with_capacity(value.len() + seed.len());
            s.push_str(value);
            s.push_str(seed);
            Some(f64::from(fnv1a32(&s) % 1000) / 1000.0)
        }
        2 => {
            let mut s = String::with_capacity(value.len() + seed.len());
            s.push_str(seed);
            s.push_str(value);
            let inner = fnv1a32(&s).to_string();
            Some(f64::from(fnv1a32(&inner) % 10_000) / 10_000.0)
        }
        _ => None,
    }
}

/// Picks a branch index for `n` in `[0, 1)` given non-negative `weights`: the
/// weights are normalised to sum 1 and laid out as consecutive half-open ranges
/// `[start, end)` in order (GrowthBook's `getBucketRanges` with full coverage and
/// `chooseVariation`). Returns `None` when all weights are zero.
pub fn choose_weighted(n: f64, weights: &[f64]) -> Option<usize> {
    let total: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    if total <= 0.0 {
        return None;
    }
    let mut start = 0.0;
    let mut last = None;
    for (i, w) in weights.iter().enumerate() {
        let w = if w.is_finite() && *w > 0.0 { *w } else { 0.0 };
        let end = start + w / total;
        if w > 0.0 {
            last = Some(i);
            if n >= start && n < end {
                return Some(i);
            }
        }
        start = end;
    }
    // Rounding can leave n just above the last end; it belongs to the last branch.
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(hash("", "a", 1), Some(0.22));
        assert_eq!(hash("seed", "a", 2), Some(0.0505));
        assert_eq!(hash("seed", "a", 3), None);
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
    }

    #[test]
    fn growthbook_cases_when_present() {
        let candidates = [
            std::env::var("SIYU_GROWTHBOOK_CASES").unwrap_or_default(),
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/external/growthbook/cases.json"
            )
            .to_string(),
            "/work/shared/external/growthbook/cases.json".to_string(),
        ];
        let text = candidates
            .iter()
            .filter(|p| !p.is_empty())
            .find_map(|p| std::fs::read_to_string(p).ok());
        let Some(text) = text else {
            eprintln!("growthbook cases.json not present; skipping");
            return;
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cases = v["hash"].as_array().unwrap();
        assert!(!cases.is_empty());
        for c in cases {
            let seed = c[0].as_str().unwrap();
            let value = c[1].as_str().unwrap();
            let version = c[2].as_u64().unwrap() as u32;
            let got = hash(seed, value, version);
            match c[3].as_f64() {
                None => assert_eq!(got, None, "{c}"),
                Some(exp) => assert!((got.unwrap() - exp).abs() < 1e-9, "{c}: got {got:?}"),
            }
        }
    }

    #[test]
    fn weighted_choice_uses_ranges() {
        assert_eq!(choose_weighted(0.0, &[1.0, 1.0]), Some(0));
        assert_eq!(choose_weighted(0.49, &[1.0, 1.0]), Some(0));
        assert_eq!(choose_weighted(0.5, &[1.0, 1.0]), Some(1));
        assert_eq!(choose_weighted(0.3, &[0.0, 2.0, 2.0]), Some(1));
        assert_eq!(choose_weighted(0.3, &[0.0, 0.0]), None);
        assert_eq!(choose_weighted(0.9999, &[0.1, 0.2, 0.7]), Some(2));
    }
}
