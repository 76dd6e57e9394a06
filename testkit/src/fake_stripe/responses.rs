//! The shapes of the fake's answers: pretty JSON as Stripe sends it, a small HTML page, a 303
//! redirect.

use serde_json::Value;

use crate::http::Response;

/// A JSON answer, pretty-printed as Stripe sends it.
pub(super) fn json_response(status: u16, body: &Value) -> Response {
    Response::whole(
        status,
        vec![("content-type".into(), "application/json".into())],
        serde_json::to_string_pretty(body).expect("JSON serializes"),
    )
}

pub(super) fn html(status: u16, body: String) -> Response {
    Response::whole(status, vec![("content-type".into(), "text/html; charset=utf-8".into())], body)
}

pub(super) fn redirect(location: &str) -> Response {
    Response::whole(303, vec![("location".into(), location.to_owned())], Vec::new())
}

/// `text` safe inside HTML text and attribute values.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A whole HTML page titled `title` around `body`.
pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}\
         button{{font-size:1rem;padding:.5rem 1rem}}</style></head>\n<body><main>\n{body}\n</main></body>\n</html>\n",
        escape(title)
    )
}
