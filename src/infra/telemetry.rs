//! Logs and metrics (docs/guarantees.md, "Privacy"): one JSON line per request, strings cleaned
//! against log injection, phones masked, and CloudWatch Embedded Metric Format lines.

use std::time::Duration;
use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// What the log line and metrics say of one send; never a key, value or full number.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub provider: Option<String>,
    pub outcome: String,
    pub provider_status: Option<u16>,
    /// The provider's own time: its HTTP exchanges, not our pacing or waits.
    pub provider_latency: Option<Duration>,
    pub client_reference: Option<String>,
    pub to_masked: Option<String>,
    /// The provider's own identifiers of a failure, for its support (a trace id).
    pub provider_details: Option<String>,
    /// `true` when the provider accepted the message in this call.
    pub sent: bool,
    /// Dry runs, replays and held-back records send nothing: they count in neither `Sent`
    /// nor `Failed`.
    pub unmetered: bool,
    /// Who asked (an IAM principal, a JWT subject, a queue, an event's account and source).
    pub caller: Option<String>,
    /// The send became `DELIVERY_UNKNOWN` in this call: counted as `DeliveryUnknown` too.
    pub delivery_unknown: bool,
    /// How long the send waited for its slot under its provider's limit (`RateLimitWait`).
    pub rate_limit_wait: Option<Duration>,
    /// The shared limit could not be asked, and the instance paced the send alone
    /// (`RateLimitFallback`).
    pub rate_limit_fallback: bool,
}

impl Report {
    /// The report of a send request given as text, before it is parsed: its
    /// `client_reference` when it has one (cleaned), and who asked.
    pub fn for_text(text: &str, caller: Option<&str>) -> Report {
        #[derive(serde::Deserialize)]
        struct Reference<'a> {
            #[serde(borrow)]
            client_reference: Option<std::borrow::Cow<'a, str>>,
        }
        let reference = serde_json::from_str::<Reference>(text)
            .ok()
            .and_then(|r| r.client_reference);
        Report::of(reference.as_deref(), caller)
    }

    /// The report of a request whose `client_reference` is known, and who asked.
    pub fn of(client_reference: Option<&str>, caller: Option<&str>) -> Report {
        Report {
            client_reference: client_reference.map(|r| clean(r, 256)),
            caller: caller.map(|c| clean(c, 256)),
            ..Report::default()
        }
    }
}

/// An error and its causes, one after the other, bounded: for the log line only (the
/// caller gets the safe message).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    clean(&text, 500)
}

/// Installs the global subscriber: `AWS_LAMBDA_LOG_LEVEL` (Lambda's logging configuration)
/// or else `RUST_LOG` (default `info`), as the runtime's own setup reads them; the format
/// is the configuration's. Whatever they ask, other crates log at `info` at most: at `debug` and `trace` the
/// runtime, the AWS SDK and the HTTP stack print events, headers and bodies (an
/// `Authorization` JWT, a `SecretString`, a DynamoDB item, a provider request).
pub fn init(format: LogFormat) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{filter::FilterExt, Layer};
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .filter(|l| !l.trim().is_empty())
        .map(|level| match level.trim().to_ascii_lowercase().as_str() {
            // Lambda's levels: TRACE, DEBUG, INFO, WARN, ERROR, FATAL.
            "fatal" => "error".to_string(),
            other => other.to_string(),
        });
    let (variable, spec) = match lambda_level {
        Some(level) => ("AWS_LAMBDA_LOG_LEVEL", level),
        None => ("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_default()),
    };
    let filter = match spec.trim() {
        "" => EnvFilter::new("info"),
        spec => EnvFilter::try_new(spec)
            .map_err(|e| format!("configuration: {variable} is not a log filter: {e}"))?,
    };
    let filter = filter.and(tracing_subscriber::filter::filter_fn(
        never_verbose_elsewhere,
    ));
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stdout);
    let layer = match format {
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            // The current span is the runtime's "Lambda runtime invoke" span: every line of an
            // invocation carries its `span.requestId`, even with several invocations in flight.
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => layer.without_time().with_filter(filter).boxed(),
    };
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| e.to_string())
}

/// Our own lines at any level; every other crate's at `info` and above only.
pub fn never_verbose_elsewhere(event: &tracing::Metadata<'_>) -> bool {
    event.target().starts_with("wa_dispatch") || *event.level() <= tracing::Level::INFO
}

/// The span every line of one request is written in, warnings included: Lambda's id as
/// `requestId` (as the runtime's own span names it) and the request's own id as
/// `request_id` (the caller's `X-Request-Id`, else Lambda's; docs/api.md).
pub fn request_span(lambda_request_id: &str, request_id: &str) -> tracing::Span {
    tracing::info_span!(
        "request",
        requestId = %clean(lambda_request_id, 128),
        request_id = %clean(request_id, 128)
    )
}

/// A caller's string made safe for a log line: printable, one line, bounded.
pub fn clean(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The one log line at the end of a request.
pub fn log_request(
    source: &str,
    request_id: &str,
    message_id: Option<&str>,
    report: &Report,
    latency: Duration,
) {
    tracing::info!(
        request_id = %clean(request_id, 128),
        source,
        message_id = message_id.map(|id| clean(id, 128)),
        provider = report.provider.as_deref().unwrap_or(""),
        outcome = %report.outcome,
        provider_status = report.provider_status,
        latency_ms = latency.as_millis() as u64,
        provider_latency_ms = report.provider_latency.map(|d| d.as_millis() as u64),
        client_reference = report.client_reference.as_deref(),
        provider_details = report.provider_details.as_deref(),
        to = report.to_masked.as_deref(),
        caller = report.caller.as_deref(),
        "request finished"
    );
}

/// What one webhook POST came to, for its log line.
#[derive(Debug, Default)]
pub struct WebhookReport<'a> {
    pub provider: &'a str,
    pub outcome: &'a str,
    pub statuses: usize,
    pub published: usize,
    pub duplicates: usize,
    pub others: usize,
    pub unreadable: usize,
    /// Statuses older than `WEBHOOK_MAX_AGE_SECONDS`, neither stored nor published.
    pub stale: usize,
}

/// The one log line of a webhook POST: never its body or its proof.
pub fn log_webhook(request_id: &str, report: &WebhookReport<'_>, latency: Duration) {
    tracing::info!(
        request_id = %clean(request_id, 128),
        source = "http:webhook",
        provider = report.provider,
        outcome = report.outcome,
        statuses = report.statuses,
        published = report.published,
        duplicates = report.duplicates,
        others = report.others,
        unreadable = report.unreadable,
        stale = report.stale,
        latency_ms = latency.as_millis() as u64,
        "webhook finished"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_line_breaks_and_bounds_length() {
        assert_eq!(clean("a\nb\r\u{1b}[31m", 100), "a?b??[31m");
        assert_eq!(clean(&"x".repeat(500), 10).len(), 10);
    }
}
