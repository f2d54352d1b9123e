//! `GET` and `POST /v1/webhooks/{provider}` (docs/statuses.md, "Receiving"): reached without
//! IAM or JWT, the provider's own proof checked instead. 404 for a provider whose webhook we
//! cannot verify, or without `STATUS_EVENT_BUS`.

use super::reply::{not_allowed, Call, Reply};
use crate::error::{ApiError, Code};
use crate::infra::telemetry::{clean, log_webhook, WebhookReport};
use crate::providers::{self, Provider, WebhookRequest};
use crate::send::deadline::cutoff;
use futures_util::future::BoxFuture;
use lambda_http::RequestExt;
use serde_json::json;

/// The provider the path names, when its webhook is received here.
fn provider(call: &Call<'_>) -> Result<&'static dyn Provider, Reply> {
    let name = call.param("provider").unwrap_or_default();
    providers::find(name)
        .filter(|p| call.app.statuses.receives(*p))
        .ok_or_else(|| {
            call.rejected(ApiError::new(
                Code::NotFound,
                format!("no delivery-status webhook for {}", clean(name, 32)),
            ))
        })
}

/// Meta's verification handshake: the challenge as plain text, or 403.
pub fn verify<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Reply> {
    serve(call, Kind::Handshake)
}

/// A webhook POST: verified on its raw bytes, then its statuses published.
pub fn receive<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Reply> {
    serve(call, Kind::Post)
}

enum Kind {
    Handshake,
    Post,
}

/// Either method: the provider the path names, and what its webhook reads of the request.
fn serve<'a>(call: &'a Call<'a>, kind: Kind) -> BoxFuture<'a, Reply> {
    Box::pin(async move {
        let provider = match provider(call) {
            Ok(provider) => provider,
            Err(reply) => return reply,
        };
        let query = call.request.query_string_parameters();
        let header = |name: &str| call.header(name);
        let query_of = |name: &str| query.first(name);
        let request = WebhookRequest {
            header: &header,
            query: &query_of,
            body: call.body,
        };
        match kind {
            Kind::Handshake => handshake(call, provider, &request).await,
            Kind::Post => post(call, provider, &request).await,
        }
    })
}

async fn handshake(
    call: &Call<'_>,
    provider: &'static dyn Provider,
    request: &WebhookRequest<'_>,
) -> Reply {
    let until = cutoff(call.invocation.deadline);
    let answer = call.app.statuses.handshake(provider, request, until).await;
    let mut report = WebhookReport {
        provider: provider.name(),
        ..WebhookReport::default()
    };
    let reply = match answer {
        Err(error) => {
            report.outcome = error.code.as_str();
            Reply::json(
                error.http_status(),
                error.to_document(&call.invocation.request_id),
            )
        }
        Ok(Some(Ok(challenge))) => {
            report.outcome = "verified";
            Reply::text(200, challenge)
        }
        Ok(Some(Err(reason))) => {
            tracing::warn!(
                provider = provider.name(),
                reason,
                "webhook verification refused"
            );
            report.outcome = "refused";
            Reply::text(403, "verification refused".into())
        }
        Ok(None) => {
            let path = format!("/v1/webhooks/{}", provider.name());
            let error = not_allowed("GET", &path, "POST");
            return call.rejected(error).allowing("POST".into());
        }
    };
    log_webhook(&call.invocation.request_id, &report, call.started.elapsed());
    reply
}

async fn post(
    call: &Call<'_>,
    provider: &'static dyn Provider,
    request: &WebhookRequest<'_>,
) -> Reply {
    let until = cutoff(call.invocation.deadline);
    let (app, request_id, name) = (
        call.app,
        call.invocation.request_id.as_str(),
        provider.name(),
    );
    let mut report = WebhookReport {
        provider: name,
        ..WebhookReport::default()
    };
    let reply = match app.statuses.receive(provider, request, until).await {
        Ok(received) => {
            // One line per status word, its count the value: a POST of 100 `delivered`
            // statuses is one line of 100.
            let mut stages: Vec<&str> = received.stages.clone();
            stages.sort_unstable();
            for group in stages.chunk_by(|a, b| a == b) {
                app.metrics.count(
                    request_id,
                    "StatusReceived",
                    &[("provider", name), ("status", group[0])],
                    group.len() as u64,
                );
            }
            for why in &received.unreadable {
                tracing::warn!(provider = name, reason = %clean(why, 200), "a status that cannot be read");
            }
            if received.stale > 0 {
                app.metrics.count(
                    request_id,
                    "StatusStale",
                    &[("provider", name)],
                    received.stale as u64,
                );
            }
            if !received.unreadable.is_empty() {
                app.metrics.count(
                    request_id,
                    "StatusUnreadable",
                    &[("provider", name)],
                    received.unreadable.len() as u64,
                );
            }
            report = WebhookReport {
                provider: name,
                outcome: "ok",
                statuses: received.statuses,
                published: received.published,
                duplicates: received.duplicates,
                others: received.others,
                unreadable: received.unreadable.len(),
                stale: received.stale,
            };
            Reply::json(
                200,
                json!({"statuses": received.statuses, "published": received.published,
                       "duplicates": received.duplicates, "unreadable": received.unreadable.len(),
                       "stale": received.stale}),
            )
        }
        Err(error) => {
            if error.code == Code::WebhookUnauthorized {
                app.metrics
                    .count(request_id, "WebhookRejected", &[("provider", name)], 1);
            }
            report.outcome = error.code.as_str();
            let document = error.to_document(request_id);
            Reply::json(error.http_status(), document)
        }
    };
    log_webhook(request_id, &report, call.started.elapsed());
    reply
}
