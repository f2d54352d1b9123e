//! Metrics as CloudWatch Embedded Metric Format lines (docs/guarantees.md, "Logs and
//! metrics"): namespace `WaDispatch`; a send's `Sent`, `Failed`, `DeliveryUnknown` and
//! `ProviderLatency`, and a webhook's counts.

use super::telemetry::{clean, Report};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where EMF lines go: standard output in Lambda, a buffer in tests.
#[derive(Clone, Default)]
pub enum MetricsSink {
    #[default]
    Stdout,
    Buffer(Arc<Mutex<Vec<String>>>),
}

impl MetricsSink {
    fn write(&self, line: &str) {
        match self {
            MetricsSink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
            }
            MetricsSink::Buffer(lines) => lines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(line.to_string()),
        }
    }

    /// One count of `metric` by `dimensions` (a webhook's `StatusReceived`, `WebhookRejected`,
    /// `StatusUnreadable`), with the request's id as a property.
    pub fn count(&self, request_id: &str, metric: &str, dimensions: &[(&str, &str)], value: u64) {
        let timestamp = super::epoch_ms();
        let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
        let mut line = json!({ "request_id": clean(request_id, 128) });
        for (name, value) in dimensions {
            line[*name] = json!(clean(value, 64));
        }
        line[metric] = json!(value);
        line["_aws"] = json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{ "Namespace": "WaDispatch", "Dimensions": [names],
                                    "Metrics": [{"Name": metric, "Unit": "Count"}] }],
        });
        self.write(&line.to_string());
    }

    /// Writes `Sent` or `Failed` (by `provider`, and `code` for failures) and `ProviderLatency`,
    /// with the request's id as a property (not a dimension) so a line names its request.
    pub fn record(&self, request_id: &str, report: &Report) {
        let Some(provider) = report.provider.as_deref().filter(|_| !report.unmetered) else {
            return;
        };
        let timestamp = super::epoch_ms();
        let mut metrics = vec![];
        // Every metric by `provider` (so that its series holds failed sends too), and a
        // failure also by `provider` and `code`.
        let mut dimensions = vec![json!(["provider"])];
        let mut line = json!({ "provider": provider, "request_id": clean(request_id, 128) });
        if report.sent {
            metrics.push(json!({"Name": "Sent", "Unit": "Count"}));
            line["Sent"] = json!(1);
        } else {
            metrics.push(json!({"Name": "Failed", "Unit": "Count"}));
            dimensions.push(json!(["provider", "code"]));
            line["Failed"] = json!(1);
            line["code"] = json!(report.outcome);
        }
        if report.delivery_unknown {
            metrics.push(json!({"Name": "DeliveryUnknown", "Unit": "Count"}));
            line["DeliveryUnknown"] = json!(1);
        }
        if let Some(wait) = report.rate_limit_wait {
            metrics.push(json!({"Name": "RateLimitWait", "Unit": "Milliseconds"}));
            line["RateLimitWait"] = json!(wait.as_millis() as u64);
        }
        if report.rate_limit_fallback {
            metrics.push(json!({"Name": "RateLimitFallback", "Unit": "Count"}));
            line["RateLimitFallback"] = json!(1);
        }
        if let Some(latency) = report.provider_latency {
            metrics.push(json!({"Name": "ProviderLatency", "Unit": "Milliseconds"}));
            line["ProviderLatency"] = json!(latency.as_millis() as u64);
        }
        line["_aws"] = json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{ "Namespace": "WaDispatch", "Dimensions": dimensions, "Metrics": metrics }],
        });
        self.write(&line.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn emf_lines_name_the_namespace_and_dimensions() {
        let sink = MetricsSink::Buffer(Arc::default());
        let report = Report {
            provider: Some("autocalls".into()),
            outcome: "RATE_LIMITED".into(),
            provider_latency: Some(Duration::from_millis(12)),
            ..Report::default()
        };
        sink.record("r-7", &report);
        let MetricsSink::Buffer(lines) = &sink else {
            unreachable!()
        };
        let line: serde_json::Value = serde_json::from_str(&lines.lock().unwrap()[0]).unwrap();
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "WaDispatch"
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["provider"], ["provider", "code"]])
        );
        assert_eq!(
            (
                line["Failed"].clone(),
                line["code"].clone(),
                line["ProviderLatency"].clone()
            ),
            (json!(1), json!("RATE_LIMITED"), json!(12))
        );
        assert_eq!(line["request_id"], "r-7");
    }
}
