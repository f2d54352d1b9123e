//! HTTP requests, from API Gateway REST (payload v1) and HTTP APIs (v2), function URLs and
//! ALB, as `lambda_http` hands them over and answers them in each origin's envelope: the
//! route table (`routes`), the path rule (`path`), who asked (`caller`), 404, 405 with
//! `Allow`, 413, 415, and `x-request-id` on every answer.

mod batch;
mod caller;
mod health;
mod path;
mod reply;
mod routes;
mod send;

pub use batch::MAX_BATCH_ENTRIES;
pub use routes::{MAX_BATCH_BODY, MAX_BODY};

use crate::app::App;
use crate::entry::shared::UNDECODABLE_BODY;
use crate::error::{ApiError, Code};
use crate::infra::telemetry::{clean, request_span};
use crate::send::request::is_printable_token;
use crate::send::Invocation;
use caller::Caller;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use reply::{header, rejected, Call, Reply};
use routes::{Route, KIB, MIB, ROUTES};
use std::time::Instant;
use tracing::Instrument;

pub async fn handle(request: &Request, invocation: &Invocation, app: &App) -> Response<Body> {
    let started = Instant::now();
    let request_id = header(request, "x-request-id")
        .filter(|id| is_printable_token(id))
        .unwrap_or(&invocation.request_id)
        .to_string();
    let span = request_span(&invocation.request_id, &request_id);
    let invocation = invocation.with_id(&request_id);
    respond(request, &invocation, app, started)
        .instrument(span)
        .await
        .into_response(&request_id)
}

async fn respond(request: &Request, invocation: &Invocation, app: &App, started: Instant) -> Reply {
    let request_id = &invocation.request_id;
    let method = request.method().as_str();
    let raw_path = request.raw_http_path();
    let context = request.request_context_ref();
    let stage = match context {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.as_deref(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.as_deref(),
        _ => None,
    };
    let caller = Caller::of(context);
    let name = caller.name.as_deref();
    let found = path::route_path(raw_path, stage, app.config.base_path.as_deref())
        .and_then(|path| routes::find(ROUTES, path));
    let Some((route, _params)) = found else {
        let error = ApiError::new(
            Code::NotFound,
            format!(
                "no route for {} {}",
                clean(method, 16),
                clean(raw_path, 200)
            ),
        );
        return rejected(app, request_id, name, error, started);
    };
    let Some(handler) = route.handler(method) else {
        let error = ApiError::new(
            Code::MethodNotAllowed,
            format!(
                "method {} is not allowed on {}; allowed: {}",
                clean(method, 16),
                route.path,
                route.allow()
            ),
        );
        let mut reply = rejected(app, request_id, name, error, started);
        reply.headers.push(("allow", route.allow()));
        return reply;
    };
    let body = match checked_body(request, route) {
        Ok(body) => body,
        Err(error) => return rejected(app, request_id, name, error, started),
    };
    let call = Call {
        app,
        request,
        invocation,
        body,
        caller: &caller,
        started,
    };
    handler(&call).await
}

/// Checks media type and size before anything of the body is read.
fn checked_body<'a>(request: &'a Request, route: &Route) -> Result<&'a [u8], ApiError> {
    if route.body_limit == 0 {
        return Ok(&[]);
    }
    if let Some(content_type) = header(request, "content-type") {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !(essence == "application/json" || (essence.contains('/') && essence.ends_with("+json")))
        {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                format!(
                    "Content-Type `{}` is not JSON; send application/json",
                    clean(content_type, 100)
                ),
            ));
        }
    }
    if header(request, UNDECODABLE_BODY).is_some() {
        return Err(ApiError::invalid(
            "body",
            "the body is marked base64 but is not",
        ));
    }
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > route.body_limit {
        let limit = match route.body_limit % MIB {
            0 => format!("{} MiB", route.body_limit / MIB),
            _ => format!("{} KiB", route.body_limit / KIB),
        };
        return Err(ApiError::new(
            Code::PayloadTooLarge,
            format!("the body is larger than {limit}"),
        ));
    }
    Ok(bytes)
}

/// The body as JSON text: not empty, and UTF-8.
fn json_text<'a>(call: &Call<'a>) -> Result<&'a str, ApiError> {
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
