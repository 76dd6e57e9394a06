//! `/_fake/…`: the test-control endpoints (JSON, no authentication) for tests that only have the
//! fake's URL, such as the browser tests' harness.

use serde_json::{Value, json};

use super::FakeStripe;
use super::params::Params;
use super::responses::json_response;
use crate::http::{Request, Response};

impl FakeStripe {
    /// `/_fake/…`: what a browser test's harness uses to drive the fake.
    pub(super) async fn control(&self, request: &Request, segments: &[&str]) -> Response {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let json_body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let failed = |status: u16, message: String| json_response(status, &json!({ "error": message }));
        let outcome = |result: Result<(), String>| match result {
            Ok(()) => json_response(200, &json!({ "ok": true })),
            Err(message) => failed(if message.starts_with("No such") { 404 } else { 400 }, message),
        };
        match (request.method.as_str(), segments) {
            ("POST", ["prices"]) => {
                let (Some(id), Some(name), Some(amount)) = (
                    json_body["id"].as_str(),
                    json_body["product_name"].as_str(),
                    json_body["unit_amount"].as_i64(),
                ) else {
                    return failed(400, "expected {\"id\", \"product_name\", \"unit_amount\"}".into());
                };
                self.add_price(id, name, amount);
                json_response(200, &json!({ "id": id }))
            }
            ("POST", ["webhook"]) => {
                let Some(url) = json_body["url"].as_str() else {
                    return failed(400, "expected {\"url\", \"secrets\": [..]}".into());
                };
                let secrets: Vec<String> = json_body["secrets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|secret| secret.as_str().map(str::to_owned))
                    .collect();
                self.set_webhook(url, secrets);
                json_response(200, &json!({ "url": url }))
            }
            ("POST", ["subscriptions", id, "fail_payment"]) => outcome(self.fail_payment(id).await),
            ("POST", ["subscriptions", id, "status"]) => {
                // The body is the status: plain text, a JSON string, or {"status": ..}.
                let status = match &json_body {
                    Value::String(status) => status.clone(),
                    Value::Object(object) => {
                        object.get("status").and_then(Value::as_str).unwrap_or_default().to_owned()
                    }
                    _ => body.trim().to_owned(),
                };
                outcome(self.set_subscription_status(id, &status).await)
            }
            ("GET", ["subscriptions"]) => {
                let query = request.path.split_once('?').map_or("", |(_, query)| query);
                let email = Params::parse(query).get("email").unwrap_or_default().to_owned();
                match self.subscription_for_email(&email) {
                    Some(id) => json_response(200, &json!({ "id": id })),
                    None => failed(404, format!("No subscription for {email}")),
                }
            }
            ("GET", ["events"]) => {
                let events: Vec<Value> = self
                    .events()
                    .iter()
                    .map(|event| json!({ "id": event.id, "type": event.event_type }))
                    .collect();
                json_response(200, &Value::Array(events))
            }
            _ => failed(404, format!("No such control endpoint: {} {}", request.method, request.path)),
        }
    }
}
