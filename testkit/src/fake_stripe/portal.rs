//! The billing portal: creating a portal session for a customer, its hosted page (the
//! customer's subscriptions, "Cancel subscription", "Return") and the cancellation it posts.

use serde_json::{Value, json};

use super::FakeStripe;
use super::api::valid_url;
use super::calendar::now;
use super::errors::ApiError;
use super::objects::dollars;
use super::params::Params;
use super::responses::{escape, html, page, redirect};
use super::store::State;
use crate::http::{Request, Response};

#[rustfmt::skip]
const PORTAL_PARAMS: &[&str] = &[
    "configuration", "customer", "customer_account", "expand", "flow_data", "locale", "on_behalf_of",
    "return_url",
];

impl FakeStripe {
    pub(super) fn create_portal_session(
        &self,
        state: &mut State,
        params: &Params,
    ) -> Result<Value, ApiError> {
        params.check_known(PORTAL_PARAMS, &[])?;
        let customer = params.value("customer")?.ok_or_else(|| {
            ApiError::invalid("parameter_missing", "Missing required param: customer.".into(), "customer")
        })?;
        if !state.customers.contains_key(customer) {
            return Err(ApiError::no_such(400, "customer", customer, "customer"));
        }
        let return_url = params.value("return_url")?;
        if let Some(url) = return_url
            && !valid_url(url)
        {
            return Err(ApiError::invalid("url_invalid", "Not a valid URL".into(), "return_url"));
        }
        let id = state.id("bps");
        let configuration = state.id("bpc");
        let object = json!({
            "id": id,
            "object": "billing_portal.session",
            "configuration": configuration,
            "created": now(),
            "customer": customer,
            "customer_account": null,
            "flow": null,
            "livemode": false,
            "locale": params.get("locale"),
            "on_behalf_of": null,
            "return_url": return_url,
            "url": format!("{}portal/{id}", self.base_url()),
        });
        state.portal_sessions.insert(id, object.clone());
        Ok(object)
    }

    pub(super) fn portal_page(&self, id: &str) -> Response {
        let state = self.lock();
        let Some(session) = state.portal_sessions.get(id) else {
            return html(
                404,
                page("Billing", "<h1>Something went wrong</h1><p>This portal session does not exist.</p>"),
            );
        };
        let customer = session["customer"].as_str().unwrap_or_default();
        let subscriptions: Vec<&Value> = state
            .subscription_order
            .iter()
            .rev()
            .filter_map(|sub| state.subscriptions.get(sub))
            .filter(|sub| sub["customer"] == customer)
            .collect();
        let describe = |sub: &Value| -> String {
            let plans: Vec<String> = sub["items"]["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| {
                    let price = state.prices.get(item["price"]["id"].as_str().unwrap_or_default());
                    let name = price.map_or("?", |p| p.product_name.as_str());
                    format!(
                        "{} — {} per month",
                        name,
                        dollars(item["price"]["unit_amount"].as_i64().unwrap_or(0))
                    )
                })
                .collect();
            let status = sub["status"].as_str().unwrap_or_default();
            format!(
                "<dl><dt>Plan</dt><dd>{}</dd><dt>Status</dt><dd data-status=\"{}\">{}</dd></dl>\n",
                escape(&plans.join(", ")),
                escape(status),
                status_label(status)
            )
        };
        let mut body = String::from("<h1>Manage your subscription</h1>\n");
        let (current, past): (Vec<&Value>, Vec<&Value>) =
            subscriptions.into_iter().partition(|sub| sub["status"] != "canceled");
        if current.is_empty() {
            body.push_str("<p>You have no active subscription.</p>\n");
        }
        for sub in current {
            body.push_str("<section aria-label=\"Current subscription\">\n");
            body.push_str(&describe(sub));
            body.push_str(&format!(
                "<form method=\"post\" action=\"/portal/{}/cancel\"><input type=\"hidden\" name=\"subscription\" value=\"{}\">\
                 <button type=\"submit\">Cancel subscription</button></form>\n</section>\n",
                escape(id),
                escape(sub["id"].as_str().unwrap_or_default())
            ));
        }
        if !past.is_empty() {
            body.push_str("<section aria-label=\"Past subscriptions\"><h2>Past subscriptions</h2>\n");
            for sub in past {
                body.push_str(&describe(sub));
            }
            body.push_str("</section>\n");
        }
        if let Some(back) = session["return_url"].as_str() {
            body.push_str(&format!("<p><a href=\"{}\">Return</a></p>\n", escape(back)));
        }
        html(200, page("Billing", &body))
    }

    pub(super) async fn portal_cancel(&self, id: &str, request: &Request) -> Response {
        let form = Params::parse(&String::from_utf8_lossy(&request.body));
        let target = {
            let state = self.lock();
            let Some(session) = state.portal_sessions.get(id) else {
                return html(404, page("Billing", "<h1>This portal session does not exist</h1>"));
            };
            let customer = session["customer"].as_str().unwrap_or_default().to_owned();
            let owned =
                |sub: &str| state.subscriptions.get(sub).is_some_and(|s| s["customer"] == customer.as_str());
            let chosen = form.get("subscription").filter(|sub| owned(sub)).map(str::to_owned);
            let newest = || {
                state
                    .subscription_order
                    .iter()
                    .rev()
                    .find(|sub| owned(sub) && state.subscriptions[*sub]["status"] != "canceled")
                    .cloned()
            };
            chosen.or_else(newest).map(|sub| (sub, session["return_url"].as_str().map(str::to_owned)))
        };
        let Some((subscription, return_url)) = target else {
            return html(400, page("Billing", "<h1>There is no subscription to cancel</h1>"));
        };
        if let Err(message) = self.set_subscription_status(&subscription, "canceled").await {
            return html(
                400,
                page("Billing", &format!("<h1>Could not cancel</h1>\n<p>{}</p>", escape(&message))),
            );
        }
        redirect(&return_url.unwrap_or_else(|| format!("/portal/{id}")))
    }
}

/// A subscription status as the portal shows it.
fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "Active",
        "past_due" => "Past due",
        "unpaid" => "Unpaid",
        "canceled" => "Canceled",
        "paused" => "Paused",
        "trialing" => "Trialing",
        "incomplete" => "Incomplete",
        "incomplete_expired" => "Incomplete, expired",
        _ => "Unknown",
    }
}
