//! Which part of the fake answers a request: the API, a hosted page, or a control endpoint.

use super::FakeStripe;
use super::responses::{html, page};
use crate::http::{Request, Response};

impl FakeStripe {
    /// Answers one request.
    pub(super) async fn respond(&self, request: &Request) -> Response {
        let (path, _) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            (_, ["v1", ..]) => self.api(request),
            ("GET", ["checkout", id]) => self.checkout_page(id),
            ("POST", ["checkout", id, "pay"]) => self.pay(id).await,
            ("GET", ["portal", id]) => self.portal_page(id),
            ("POST", ["portal", id, "cancel"]) => self.portal_cancel(id, request).await,
            (_, ["_fake", ..]) => self.control(request, &segments[1..]).await,
            _ => html(404, page("Not found", "<h1>Not found</h1>")),
        }
    }
}
