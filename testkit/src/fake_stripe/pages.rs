//! The hosted Checkout page ("Pay and subscribe", "Cancel", a plain form with accessible names)
//! and what paying does.

use super::FakeStripe;
use super::objects::dollars;
use super::responses::{escape, html, page, redirect};
use super::store::State;
use crate::http::Response;

impl FakeStripe {
    /// `(product name, "$20.00 per month")` per item of a session.
    pub(super) fn describe(&self, state: &State, items: &[(String, u64)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(price_id, quantity)| match state.prices.get(price_id) {
                Some(price) if *quantity == 1 => {
                    (price.product_name.clone(), format!("{} per month", dollars(price.unit_amount)))
                }
                Some(price) => (
                    price.product_name.clone(),
                    format!("{quantity} × {} per month", dollars(price.unit_amount)),
                ),
                None => (price_id.clone(), String::new()),
            })
            .collect()
    }

    pub(super) fn checkout_page(&self, id: &str) -> Response {
        let state = self.lock();
        let Some(session) = state.sessions.get(id) else {
            return html(
                404,
                page("Checkout", "<h1>Something went wrong</h1><p>This Checkout Session does not exist.</p>"),
            );
        };
        let object = &session.object;
        let lines: String = self
            .describe(&state, &session.items)
            .iter()
            .map(|(product, price)| format!("<h2>{}</h2>\n<p>{}</p>\n", escape(product), escape(price)))
            .collect();
        let email =
            object["customer_details"]["email"].as_str().or_else(|| object["customer_email"].as_str());
        let email = email.map(|e| format!("<p>Email: {}</p>\n", escape(e))).unwrap_or_default();
        let cancel = object["cancel_url"]
            .as_str()
            .map(|url| format!("<p><a href=\"{}\">Cancel</a></p>\n", escape(url)))
            .unwrap_or_default();
        let body = if object["status"] == "open" {
            format!(
                "<h1>Subscribe</h1>\n{lines}<p>Total due today: {}</p>\n{email}\
                 <form method=\"post\" action=\"/checkout/{}/pay\"><button type=\"submit\">Pay and subscribe</button></form>\n{cancel}",
                dollars(object["amount_total"].as_i64().unwrap_or(0)),
                escape(id)
            )
        } else {
            let next = object["success_url"].as_str().map(|url| success_url(url, id));
            let next = next
                .map(|url| format!("<p><a href=\"{}\">Continue</a></p>", escape(&url)))
                .unwrap_or_default();
            format!(
                "<h1>This Checkout Session is no longer active</h1>\n<p>It is {}.</p>\n{next}",
                escape(object["status"].as_str().unwrap_or(""))
            )
        };
        html(200, page("Checkout", &body))
    }

    pub(super) async fn pay(&self, id: &str) -> Response {
        match self.complete_checkout(id).await {
            Ok(_) => {
                let success = self
                    .lock()
                    .sessions
                    .get(id)
                    .and_then(|s| s.object["success_url"].as_str().map(str::to_owned));
                match success {
                    Some(url) => redirect(&success_url(&url, id)),
                    None => html(200, page("Thanks", "<h1>Thanks for your payment</h1>")),
                }
            }
            Err(message) => {
                html(400, page("Checkout", &format!("<h1>Payment failed</h1>\n<p>{}</p>", escape(&message))))
            }
        }
    }
}

/// The success URL with Stripe's `{CHECKOUT_SESSION_ID}` template variable filled in.
pub(super) fn success_url(url: &str, session_id: &str) -> String {
    url.replace("{CHECKOUT_SESSION_ID}", session_id)
}
