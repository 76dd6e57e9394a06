//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations at compile time, and Cargo does not otherwise know that it reads that folder
//! (sqlx's documented build script).

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
