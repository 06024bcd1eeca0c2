//! Conformance runner: executes every vector under `conformance/` and under the
//! folders in `SIYU_EXTRA_VECTORS` (colon-separated), then prints
//! `conformance[rust]: N passed, M failed`. The format is in conformance/README.md.

#[path = "conformance/support.rs"]
mod support;

#[path = "conformance/kinds.rs"]
mod kinds;

fn main() {
    let files = support::vector_files();
    let mut passed = 0usize;
    let mut failed = 0usize;
    for path in &files {
        match support::load(path) {
            Err(msg) => {
                failed += 1;
                eprintln!("FAIL {}: {msg}", path.display());
            }
            Ok(file) => {
                let kind = file.get("kind").and_then(|k| k.as_str()).unwrap_or("");
                let cases = file
                    .get("cases")
                    .and_then(|c| c.as_array())
                    .cloned()
                    .unwrap_or_default();
                if cases.is_empty() {
                    failed += 1;
                    eprintln!("FAIL {}: no \"cases\"", path.display());
                }
                for (i, case) in cases.iter().enumerate() {
                    let name = case.get("name").and_then(|n| n.as_str()).unwrap_or("");
                    let outcome = std::panic::catch_unwind(|| kinds::run(kind, &file, case))
                        .unwrap_or_else(|_| Err("panicked".to_string()));
                    match outcome {
                        Ok(()) => passed += 1,
                        Err(msg) => {
                            failed += 1;
                            eprintln!("FAIL {} case {i} ({name}): {msg}", path.display());
                        }
                    }
                }
            }
        }
    }
    println!("conformance[rust]: {passed} passed, {failed} failed");
    if failed > 0 || passed == 0 {
        std::process::exit(1);
    }
}
