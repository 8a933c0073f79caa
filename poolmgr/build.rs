//! Rebuilds when a migration is added or changed: `sqlx::migrate!` embeds
//! `migrations/` at compile time, and stable Rust cannot track it alone.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
