//! The API under `/v1/`: authentication by secret key, `Stripe-Version`, idempotency keys
//! (answers replayed, mismatches refused), then the endpoint, every answer with a `Request-Id`;
//! and the endpoints that only create or read a customer or read an object back.

use serde_json::Value;

use super::errors::ApiError;
use super::objects::new_customer;
use super::params::Params;
use super::responses::json_response;
use super::store::{State, StoredResponse};
use super::{API_VERSION, FAKE_SECRET_KEY, FakeStripe, RecordedRequest};
use crate::http::{Request, Response};

#[rustfmt::skip]
const CUSTOMER_PARAMS: &[&str] = &[
    "address", "balance", "business_name", "cash_balance", "description", "email", "expand",
    "individual_name", "invoice_prefix", "invoice_settings", "metadata", "name", "next_invoice_sequence",
    "payment_method", "phone", "preferred_locales", "shipping", "source", "tax", "tax_exempt",
    "tax_id_data", "test_clock", "validate",
];

/// Stripe's masking of a key in its error message: the prefix, asterisks, the last four.
pub(super) fn masked(key: &str) -> String {
    let prefix_length = ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"]
        .iter()
        .find(|prefix| key.starts_with(**prefix))
        .map_or(0, |prefix| prefix.len());
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= prefix_length + 4 {
        return key.to_owned();
    }
    let hidden = chars.len() - prefix_length - 4;
    format!(
        "{}{}{}",
        &key[..prefix_length],
        "*".repeat(hidden),
        chars[chars.len() - 4..].iter().collect::<String>()
    )
}

pub(super) fn valid_version(version: &str) -> bool {
    let date = version.split_once('.').map_or(version, |(date, _)| date);
    let bytes = date.as_bytes();
    bytes.len() == 10
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
}

pub(super) fn valid_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "http://".len()
        && !url.contains(' ')
}

impl FakeStripe {
    /// One `/v1/…` request: authentication, idempotency, then the endpoint.
    pub(super) fn api(&self, request: &Request) -> Response {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let mut state = self.lock();
        state.requests.push(RecordedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.clone(),
            body: body.clone(),
        });
        let request_id = state.id("req");
        let version = request.header("stripe-version").unwrap_or(API_VERSION).to_owned();
        let mut headers = vec![("request-id".to_owned(), request_id.clone())];
        let error = |headers: Vec<(String, String)>, error: &ApiError| {
            let mut response = json_response(error.status, &error.body(&request_id));
            response.headers.extend(headers);
            response
        };

        let key =
            request.header("authorization").and_then(|value| value.strip_prefix("Bearer ")).map(str::trim);
        if key != Some(FAKE_SECRET_KEY) {
            let message = match key {
                None | Some("") => "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".to_owned(),
                Some(key) => format!("Invalid API Key provided: {}", masked(key)),
            };
            headers.push(("www-authenticate".into(), "Basic realm=\"Stripe\"".into()));
            let unauthorized = ApiError {
                status: 401,
                kind: "invalid_request_error",
                code: None,
                message,
                param: None,
                stored: false,
            };
            return error(headers, &unauthorized);
        }
        if !valid_version(&version) {
            let invalid = ApiError {
                status: 400,
                kind: "invalid_request_error",
                code: None,
                message: format!("Invalid Stripe API version: {version}"),
                param: None,
                stored: false,
            };
            return error(headers, &invalid);
        }
        headers.push(("stripe-version".into(), version));

        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let params = Params::parse(if request.method == "GET" { query } else { &body });
        let idempotency_key = (request.method == "POST")
            .then(|| request.header("idempotency-key").map(str::to_owned))
            .flatten();
        if let Some(key) = &idempotency_key {
            headers.push(("idempotency-key".into(), key.clone()));
            if let Some(stored) = state.idempotent.get(key) {
                if stored.method != request.method
                    || stored.path != path
                    || stored.params != params.canonical()
                {
                    let mismatch = ApiError {
                        status: 400,
                        kind: "idempotency_error",
                        code: None,
                        message: format!(
                            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                        ),
                        param: None,
                        stored: false,
                    };
                    return error(headers, &mismatch);
                }
                headers.push(("idempotent-replayed".into(), "true".into()));
                headers.push(("original-request".into(), stored.request_id.clone()));
                headers.insert(0, ("content-type".into(), "application/json".into()));
                return Response::whole(stored.status, headers, stored.body.clone());
            }
        }

        let segments: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
        let result = match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["customers"]) => self.create_customer(&mut state, &params),
            ("GET", ["customers", id]) => {
                retrieve(&state, &params, "customer", id, |s| s.customers.get(*id).cloned())
            }
            ("POST", ["checkout", "sessions"]) => self.create_checkout_session(&mut state, &params),
            ("GET", ["checkout", "sessions", id]) => retrieve(&state, &params, "checkout.session", id, |s| {
                s.sessions.get(*id).map(|r| r.object.clone())
            }),
            ("POST", ["billing_portal", "sessions"]) => self.create_portal_session(&mut state, &params),
            ("GET", ["subscriptions", id]) => {
                retrieve(&state, &params, "subscription", id, |s| s.subscriptions.get(*id).cloned())
            }
            _ => Err(ApiError {
                status: 404,
                kind: "invalid_request_error",
                code: None,
                message: format!(
                    "Unrecognized request URL ({}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    request.method
                ),
                param: None,
                stored: false,
            }),
        };
        let (status, value, stored) = match result {
            Ok(object) => (200, object, true),
            Err(failure) => (failure.status, failure.body(&request_id), failure.stored),
        };
        let mut response = json_response(status, &value);
        if let Some(key) = idempotency_key
            && stored
        {
            state.idempotent.insert(
                key,
                StoredResponse {
                    method: request.method.clone(),
                    path: path.to_owned(),
                    params: params.canonical(),
                    status,
                    body: String::from_utf8_lossy(response.body().unwrap_or_default()).into_owned(),
                    request_id: request_id.clone(),
                },
            );
        }
        response.headers.extend(headers);
        response
    }

    fn create_customer(&self, state: &mut State, params: &Params) -> Result<Value, ApiError> {
        params.check_known(CUSTOMER_PARAMS, &[])?;
        let email = params.value("email")?;
        if let Some(email) = email
            && !email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        {
            return Err(ApiError::invalid(
                "email_invalid",
                format!("Invalid email address: {email}"),
                "email",
            ));
        }
        let customer = new_customer(
            state,
            email,
            params.value("name")?,
            &params.hash("metadata"),
            params.value("description")?,
            params.value("phone")?,
        );
        let id = customer["id"].as_str().unwrap_or_default().to_owned();
        state.customers.insert(id, customer.clone());
        Ok(state.expand(customer, &params.list("expand")))
    }
}

/// `GET /v1/<objects>/{id}`: the object as it is now, or 404.
pub(super) fn retrieve(
    state: &State,
    params: &Params,
    what: &str,
    id: &str,
    find: impl Fn(&State) -> Option<Value>,
) -> Result<Value, ApiError> {
    params.check_known(&["expand"], &[])?;
    let object = find(state).ok_or_else(|| ApiError::no_such(404, what, id, "id"))?;
    Ok(state.expand(object, &params.list("expand")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_like_stripe_does() {
        assert_eq!(masked("sk_test_abcdefgh1234"), "sk_test_********1234");
        // As Stripe answered a client that sent "undefined": `*****ined`.
        assert_eq!(masked("undefined"), "*****ined");
        assert_eq!(masked("abc"), "abc");
    }
}
