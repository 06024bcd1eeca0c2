//! Conformance runner (see conformance/README.md).
fn main() {
    println!("conformance[rust]: 0 passed, 0 failed");
}
