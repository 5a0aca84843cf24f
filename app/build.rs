//! Rebuild when the locale files change: rust-i18n reads them at compile time.
fn main() {
    println!("cargo:rerun-if-changed=locales");
    println!("cargo:rerun-if-changed=../static");
    println!("cargo:rerun-if-changed=../migrations");
}
