//! What a route handler is given (`Call`) and gives back (`Reply`), and the answers every
//! route shares: a refusal before any send, and a send's outcome with its headers.

use super::caller::Caller;
use crate::app::App;
use crate::entry::shared::finish;
use crate::error::{ApiError, Code};
use crate::infra::telemetry::{clean, Report};
use crate::send::outcome::Outcome;
use crate::send::Invocation;
use lambda_http::http::{HeaderName, HeaderValue};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::time::Instant;

/// One request routed to its handler.
pub struct Call<'a> {
    pub app: &'a App,
    pub request: &'a Request,
    pub invocation: &'a Invocation,
    /// The route's path parameters, by name (`provider` of `/v1/webhooks/{provider}`).
    pub params: Vec<(&'static str, &'a str)>,
    /// The body as it arrived (base64 already decoded), within the route's limit.
    pub body: &'a [u8],
    pub caller: &'a Caller,
    pub started: Instant,
}

impl Call<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header(self.request, name)
    }

    /// The `Idempotency-Key` header, which must be 1 to 128 printable characters (a batch's
    /// keys made from it carry their entry's index past them).
    pub fn idempotency_key(&self) -> Result<Option<&str>, ApiError> {
        match self.header("idempotency-key") {
            Some(key) if !crate::domain::request::is_printable_token(key) => {
                Err(ApiError::invalid(
                    "Idempotency-Key",
                    "`Idempotency-Key` must be 1 to 128 printable characters",
                ))
            }
            header => Ok(header),
        }
    }

    /// A request refused before any send: answered and logged like any other.
    pub fn rejected(&self, error: ApiError) -> Reply {
        let caller = self.caller.name.as_deref();
        rejected(
            self.app,
            &self.invocation.request_id,
            caller,
            error,
            self.started,
        )
    }
}

pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// An answer before `lambda_http` puts it in its envelope.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: ReplyBody,
}

impl Reply {
    /// With the `Allow` header of a 405.
    pub fn allowing(mut self, allow: String) -> Reply {
        self.headers.push(("allow", allow));
        self
    }
}

pub enum ReplyBody {
    Json(Value),
    /// Plain text (Meta's verification handshake answers its challenge as it is).
    Text(String),
}

impl Reply {
    pub fn json(status: u16, document: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(document),
        }
    }

    pub fn text(status: u16, text: String) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: ReplyBody::Text(text),
        }
    }

    /// A send's outcome: its document, `Retry-After` when known, the replay mark.
    pub fn of(outcome: &Outcome) -> Reply {
        let mut reply = Reply::json(outcome.http_status(), outcome.document());
        if let Some(seconds) = outcome.retry_after() {
            reply.headers.push(("retry-after", seconds.to_string()));
        }
        if outcome.replay {
            reply.headers.push(("idempotent-replay", "true".into()));
        }
        reply
    }

    /// Every answer carries the request's id; a header value that could not be one is left
    /// out rather than failing the answer.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let (content_type, body) = match self.body {
            ReplyBody::Json(document) => ("application/json", document.to_string()),
            ReplyBody::Text(text) => ("text/plain; charset=utf-8", text),
        };
        let mut response = Response::new(Body::Text(body));
        *response.status_mut() = lambda_http::http::StatusCode::from_u16(self.status)
            .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        let all = [
            ("content-type", content_type.to_string()),
            ("x-request-id", request_id.to_string()),
        ];
        for (name, value) in all.into_iter().chain(self.headers) {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}

/// 405: `method` is not one of `allow` on `path` (the route table's, or a webhook's GET for a
/// provider without a handshake); its reply carries `Allow` (`Reply::allowing`).
pub fn not_allowed(method: &str, path: &str, allow: &str) -> ApiError {
    ApiError::new(
        Code::MethodNotAllowed,
        format!(
            "method {} is not allowed on {path}; allowed: {allow}",
            clean(method, 16)
        ),
    )
}

/// A request refused before any send: answered and logged like any other.
pub fn rejected(
    app: &App,
    request_id: &str,
    caller: Option<&str>,
    error: ApiError,
    started: Instant,
) -> Reply {
    let report = Report {
        caller: caller.map(str::to_string),
        ..Report::default()
    };
    let outcome = Outcome::error(error, request_id, report);
    finish(app, "http", request_id, None, &outcome, started);
    Reply::of(&outcome)
}

/// The body as JSON text: not empty, and UTF-8.
pub fn json_text<'a>(call: &Call<'a>) -> Result<&'a str, ApiError> {
    if call.body.is_empty() {
        return Err(ApiError::new(
            Code::InvalidRequest,
            "the body is empty; a JSON send request is expected",
        ));
    }
    std::str::from_utf8(call.body).map_err(|_| {
        ApiError::new(
            Code::InvalidRequest,
            "the body is not valid JSON: it is not UTF-8 text",
        )
    })
}
