//! The fake Stripe server as a process, for the browser tests: the API under `/v1/`, the hosted
//! Checkout and portal pages, and the test-control endpoints under `/_fake/` (see
//! `jarvis_testkit::fake_stripe`). It starts with no prices and no webhook endpoint: the harness
//! adds them with `POST /_fake/prices` and `POST /_fake/webhook`. Prints its base URL
//! (`http://127.0.0.1:PORT/`) on the first line of standard output and runs until killed.
//! `FAKE_STRIPE_ADDR` picks the address (default `127.0.0.1:0`).

use jarvis_testkit::fake_stripe::FakeStripe;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("FAKE_STRIPE_ADDR").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let fake = FakeStripe::start_on(&addr).await?;
    println!("{}", fake.base_url());
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}
