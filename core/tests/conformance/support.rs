//! Vector discovery and the JSON matcher shared by every kind.

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every `*.json` under `conformance/` (except `schema/`) and the extra folders, sorted.
pub fn vector_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance");
    let mut dirs = vec![root];
    if let Ok(extra) = std::env::var("SIYU_EXTRA_VECTORS") {
        dirs.extend(
            extra
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        );
    }
    let mut files = Vec::new();
    for d in dirs {
        collect(&d, &mut files);
    }
    files.sort();
    files
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        eprintln!("warning: cannot read vector folder {}", dir.display());
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "schema") {
                continue;
            }
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Reads one vector file.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

/// Checks that `actual` matches `expected`: objects match when every expected key
/// matches (extra actual keys are ignored); arrays need equal length and
/// element-wise matches; numbers compare with a relative tolerance of 1e-9
/// unless the case gives `"tolerance"`; everything else compares exactly.
pub fn matches(expected: &Value, actual: &Value, tolerance: f64, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).unwrap_or(&Value::Null);
                matches(ev, av, tolerance, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: expected {} items, got {}: {}",
                    e.len(),
                    a.len(),
                    actual
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, tolerance, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (
                e.as_f64().unwrap_or(f64::NAN),
                a.as_f64().unwrap_or(f64::NAN),
            );
            let tol = tolerance * e.abs().max(1.0);
            if (e - a).abs() <= tol {
                Ok(())
            } else {
                Err(format!("{path}: expected {e}, got {a}"))
            }
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

/// The case's numeric tolerance (`"tolerance"` on the case, else the file, else 1e-9).
pub fn tolerance(file: &Value, case: &Value) -> f64 {
    case.get("tolerance")
        .or_else(|| file.get("tolerance"))
        .and_then(Value::as_f64)
        .unwrap_or(1e-9)
}

/// A field of the case, falling back to the file (shared schema, rules …).
pub fn field<'a>(file: &'a Value, case: &'a Value, key: &str) -> Option<&'a Value> {
    case.get(key).or_else(|| file.get(key))
}

/// Checks an error against `expect_error` (`code`, and optionally `position`,
/// `path`, `suggestion`).
pub fn check_error(expected: &Value, err: &siyu_core::Error) -> Result<(), String> {
    matches(expected, &err.to_json(), 0.0, "error").map_err(|m| format!("{m} (error was: {err})"))
}
