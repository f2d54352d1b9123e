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
mod status;
mod webhook;

pub use batch::MAX_BATCH_ENTRIES;
pub use routes::{MAX_BATCH_BODY, MAX_BODY};

use crate::app::App;
use crate::domain::request::is_printable_token;
use crate::entry::shared::UNDECODABLE_BODY;
use crate::error::{ApiError, Code};
use crate::infra::telemetry::{clean, request_span};
use crate::send::Invocation;
use caller::Caller;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use reply::{header, not_allowed, rejected, Call, Reply};
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
    respond(ROUTES, request, &invocation, app, started)
        .instrument(span)
        .await
        .into_response(&request_id)
}

async fn respond(
    routes: &'static [Route],
    request: &Request,
    invocation: &Invocation,
    app: &App,
    started: Instant,
) -> Reply {
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
        .and_then(|path| routes::find(routes, path));
    let Some((route, params)) = found else {
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
        let error = not_allowed(method, route.path, &route.allow());
        return rejected(app, request_id, name, error, started).allowing(route.allow());
    };
    let body = match checked_body(request, route) {
        Ok(body) => body,
        Err(error) => return rejected(app, request_id, name, error, started),
    };
    let call = Call {
        app,
        request,
        invocation,
        params,
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

#[cfg(test)]
mod tests {
    use super::reply::ReplyBody;
    use super::*;
    use crate::infra::metrics::MetricsSink;
    use crate::infra::secrets::Fixed;
    use futures_util::future::BoxFuture;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use serde_json::json;
    use std::sync::Arc;
    use std::time::Duration;

    fn echo_name<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Reply> {
        Box::pin(async move { Reply::json(200, json!({"name": call.param("name")})) })
    }

    /// The routes with one more: a route is one line and its handler.
    #[rustfmt::skip]
    static WITH_TEST_ROUTE: &[Route] = &[
        Route { path: "/v1/messages", methods: ROUTES[0].methods, body_limit: MAX_BODY },
        Route { path: "/v1/test/{name}", methods: &[("GET", echo_name)], body_limit: 0 },
    ];

    async fn call(method: &str, path: &str, stage: Option<&str>) -> Reply {
        let config =
            crate::Config::from_lookup(|k| (k == "PROVIDER_SECRET_ID").then(|| "s".into()))
                .unwrap();
        let seams = crate::Seams::bare(&config, Arc::new(Fixed::default()));
        let app = App::with_parts(config, MetricsSink::Buffer(Arc::default()), seams);
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.stage = stage.map(str::to_string);
        let request = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://example.com{path}"))
            .body(Body::Empty)
            .unwrap()
            .with_request_context(RequestContext::ApiGatewayV2(context))
            .with_raw_http_path(path);
        let invocation = Invocation::new("r-1", Duration::from_secs(5));
        respond(WITH_TEST_ROUTE, &request, &invocation, &app, Instant::now()).await
    }

    fn document(reply: &Reply) -> &serde_json::Value {
        match &reply.body {
            ReplyBody::Json(document) => document,
            ReplyBody::Text(_) => panic!("a JSON answer"),
        }
    }

    #[tokio::test]
    async fn a_route_added_in_one_line_answers_and_keeps_the_method_stage_and_path_rules() {
        let found = call("GET", "/v1/test/abc", None).await;
        assert_eq!(
            (found.status, document(&found)),
            (200, &json!({"name": "abc"}))
        );
        let staged = call("GET", "/prod/v1/test/abc", Some("prod")).await;
        assert_eq!(staged.status, 200);
        let other = call("POST", "/v1/test/abc", None).await;
        assert_eq!(other.status, 405);
        assert_eq!(document(&other)["error"]["code"], "METHOD_NOT_ALLOWED");
        assert!(other.headers.contains(&("allow", "GET".to_string())));
        let lower = call("get", "/v1/test/abc", None).await;
        assert_eq!(lower.status, 405);
        for path in [
            "/v1/test/abc/",
            "/x/v1/test/abc",
            "/v1/test",
            "/v1//test/abc",
        ] {
            assert_eq!(call("GET", path, Some("prod")).await.status, 404, "{path}");
        }
    }
}
