//! Configuration from the environment (docs/configuration.md), read and checked once at
//! start. A value that cannot be used stops the function with a message naming it.

use crate::infra::secrets::SecretRef;
pub use crate::infra::telemetry::LogFormat;
use crate::providers::{Settings, REGISTRY};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

mod read;

pub use read::ConfigError;
use read::{leak, number, rate, url};

/// Where sent messages and their statuses are kept (`STATUS_TABLE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusTable {
    /// A DynamoDB table (it may be the idempotency table).
    Dynamo(String),
    /// `memory`: in the function's memory, gone when it ends; for local runs.
    Memory,
}

/// What a failed direct invocation is to Lambda (docs/configuration.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectFailures {
    /// The error document with its `http_status`: a success to Lambda.
    Answer,
    /// A function error whose `errorType` is the code, so that asynchronous invocations are
    /// retried and reach their on-failure destination.
    Error,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub secrets_file: Option<PathBuf>,
    /// Where each provider's secret lives, by provider name.
    pub secret_refs: HashMap<&'static str, SecretRef>,
    pub secrets_cache_ttl: Duration,
    pub secrets_stale_grace: Duration,
    /// `DEFAULT_PROVIDER`: the name of a provider of the registry.
    pub default_provider: Option<&'static str>,
    /// Each provider's settings, by name: `<NAME>_BASE_URL` and `<NAME>_MAX_RPS` over the
    /// provider's defaults.
    pub providers: HashMap<&'static str, Settings>,
    pub provider_timeout: Duration,
    pub max_concurrency: usize,
    pub idempotency_table: Option<String>,
    /// `RATE_LIMIT_TABLE`: where every instance shares each provider's limit.
    pub rate_limit_table: Option<String>,
    pub idempotency_ttl: Duration,
    /// How long a record that may have been sent is kept (`IDEMPOTENCY_UNKNOWN_TTL_SECONDS`).
    pub idempotency_unknown_ttl: Duration,
    /// Where the idempotency fingerprint's key lives: `FINGERPRINT_SECRET_ID`, else the
    /// combined provider secret (its `"wa-dispatch"` entry).
    pub fingerprint_secret: Option<SecretRef>,
    /// `WEBHOOK_SECRET_ID`: a secret of the webhook fields only, which webhooks read instead
    /// of the provider secret (the webhook function's, which may read nothing else).
    pub webhook_secret: Option<SecretRef>,
    /// `IDEMPOTENCY_LEGACY_LOOKUP`: whether a claim also looks for a live record an earlier
    /// version wrote under the bare key (before keys were scoped per caller).
    pub idempotency_legacy_lookup: bool,
    /// The least time a provider attempt starts with (`MIN_ATTEMPT_MS`, at most
    /// `PROVIDER_TIMEOUT_MS`).
    pub min_attempt: Duration,
    pub status_table: Option<StatusTable>,
    pub status_ttl: Duration,
    /// `WEBHOOK_MAX_AGE_SECONDS`: a status older than this is neither stored nor published.
    pub webhook_max_age: Duration,
    /// `STATUS_EVENT_BUS`: the bus (name or ARN) status events are put on.
    pub status_event_bus: Option<String>,
    /// `DIRECT_FAILURES`: whether a failed direct invocation is an answer or a function error.
    pub direct_failures: DirectFailures,
    pub log_format: LogFormat,
    /// `BASE_PATH`: the one path segment a custom domain's API mapping leaves before `/v1`.
    pub base_path: Option<String>,
    /// An endpoint for every AWS client, for tests that run several fake AWS endpoints in
    /// one process. Deployed functions leave it unset: the SDK reads `AWS_ENDPOINT_URL`.
    pub aws_endpoint_url: Option<String>,
    /// Pooled provider connections idle longer than this are closed: shorter than a typical
    /// Lambda freeze, so a thawed instance does not reuse a connection the provider dropped.
    pub pool_idle_timeout: Duration,
    /// Load the phone metadata during init: only where init runs ahead of traffic
    /// (provisioned concurrency, Lambda Managed Instances), so that no request pays for it.
    /// On demand, a cold start's first event waits for init, so it stays lazy there.
    pub preload_phone_metadata: bool,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `get`; an empty value counts as unset, so that
    /// templates may pass empty parameters.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |name: &str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.trim().to_string())
        };
        let secrets_file = var("PROVIDER_SECRETS_FILE").map(PathBuf::from);
        // Set by Lambda Managed Instances: how many invocations this instance runs at once.
        let instance_concurrency =
            var("AWS_LAMBDA_MAX_CONCURRENCY").and_then(|n| n.parse::<u64>().ok());
        let mut secret_refs = HashMap::new();
        let mut providers = HashMap::new();
        for provider in REGISTRY {
            let name = provider.name();
            let variable = |suffix: &str| leak(format!("{}_{suffix}", name.to_ascii_uppercase()));
            let defaults = provider.defaults();
            let max_rps = variable("MAX_RPS");
            let settings = Settings {
                base_url: url(&var, variable("BASE_URL"), defaults.base_url)?,
                max_rps: match defaults.max_rps {
                    Some(default) => Some(rate(&var, max_rps, default)?),
                    None => var(max_rps).map(|_| rate(&var, max_rps, 1.0)).transpose()?,
                },
            };
            providers.insert(name, settings);
            let secret = secret_ref(
                &secrets_file,
                var(variable("SECRET_ID")),
                var("PROVIDER_SECRET_ID"),
            );
            if let Some(secret) = secret {
                secret_refs.insert(name, secret);
            }
        }
        let fingerprint_secret = secret_ref(
            &secrets_file,
            var("FINGERPRINT_SECRET_ID"),
            var("PROVIDER_SECRET_ID"),
        );
        let webhook_secret = match (&secrets_file, var("WEBHOOK_SECRET_ID")) {
            (None, Some(id)) => Some(SecretRef { id, combined: true }),
            _ => None,
        };
        if secret_refs.is_empty() && webhook_secret.is_none() {
            return Err(ConfigError {
                variable: "PROVIDER_SECRET_ID",
                problem: "is not set, nor any <PROVIDER>_SECRET_ID, WEBHOOK_SECRET_ID or PROVIDER_SECRETS_FILE: no secret can be read".into(),
            });
        }
        let default_provider = match var("DEFAULT_PROVIDER") {
            None => None,
            Some(name) => Some(crate::providers::find(&name).map(|p| p.name()).ok_or_else(
                || ConfigError {
                    variable: "DEFAULT_PROVIDER",
                    problem: format!("must be one of {}", crate::providers::names()),
                },
            )?),
        };
        let provider_timeout =
            Duration::from_millis(number(&var, "PROVIDER_TIMEOUT_MS", 10_000, 100, 900_000)?);
        Ok(Config {
            secrets_file,
            secret_refs,
            secrets_cache_ttl: Duration::from_secs(number(
                &var,
                "SECRETS_CACHE_TTL_SECONDS",
                300,
                0,
                86_400,
            )?),
            secrets_stale_grace: Duration::from_secs(number(
                &var,
                "SECRETS_STALE_GRACE_SECONDS",
                900,
                0,
                86_400,
            )?),
            default_provider,
            providers,
            provider_timeout,
            min_attempt: Duration::from_millis(number(
                &var,
                "MIN_ATTEMPT_MS",
                2_000,
                200,
                900_000,
            )?)
            .min(provider_timeout),
            // By default each invocation in flight may have a send in flight.
            max_concurrency: number(
                &var,
                "MAX_CONCURRENCY",
                instance_concurrency.map_or(10, |n| n.clamp(10, 1000)),
                1,
                1000,
            )? as usize,
            idempotency_table: var("IDEMPOTENCY_TABLE"),
            rate_limit_table: var("RATE_LIMIT_TABLE"),
            idempotency_ttl: Duration::from_secs(number(
                &var,
                "IDEMPOTENCY_TTL_SECONDS",
                86_400,
                60,
                31_536_000,
            )?),
            idempotency_unknown_ttl: Duration::from_secs(number(
                &var,
                "IDEMPOTENCY_UNKNOWN_TTL_SECONDS",
                1_814_400,
                60,
                31_536_000,
            )?),
            fingerprint_secret,
            webhook_secret,
            status_table: var("STATUS_TABLE").map(|table| match table.as_str() {
                "memory" => StatusTable::Memory,
                _ => StatusTable::Dynamo(table),
            }),
            status_ttl: Duration::from_secs(number(
                &var,
                "STATUS_TTL_SECONDS",
                2_592_000,
                60,
                31_536_000,
            )?),
            status_event_bus: var("STATUS_EVENT_BUS"),
            // 8 days: Meta retries a webhook for 7.
            webhook_max_age: Duration::from_secs(number(
                &var,
                "WEBHOOK_MAX_AGE_SECONDS",
                691_200,
                60,
                315_360_000,
            )?),
            idempotency_legacy_lookup: match var("IDEMPOTENCY_LEGACY_LOOKUP").as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    return Err(ConfigError {
                        variable: "IDEMPOTENCY_LEGACY_LOOKUP",
                        problem: "must be true or false".into(),
                    })
                }
            },
            direct_failures: match var("DIRECT_FAILURES").as_deref() {
                None | Some("answer") => DirectFailures::Answer,
                Some("error") => DirectFailures::Error,
                Some(_) => {
                    return Err(ConfigError {
                        variable: "DIRECT_FAILURES",
                        problem: "must be answer or error".into(),
                    })
                }
            },
            // Lambda's logging configuration (`AWS_LAMBDA_LOG_FORMAT`, `JSON` or `Text`) wins
            // over ours, as the runtime's own setup lets it.
            log_format: match var("AWS_LAMBDA_LOG_FORMAT").map(|f| f.to_ascii_lowercase()) {
                Some(format) if format == "json" => LogFormat::Json,
                Some(format) if format == "text" => LogFormat::Text,
                _ => match var("LOG_FORMAT").as_deref() {
                    None | Some("json") => LogFormat::Json,
                    Some("text") => LogFormat::Text,
                    Some(_) => {
                        return Err(ConfigError {
                            variable: "LOG_FORMAT",
                            problem: "must be json or text".into(),
                        })
                    }
                },
            },
            base_path: match var("BASE_PATH") {
                Some(path) => {
                    let segment = path.trim_matches('/').to_string();
                    let valid = !segment.is_empty()
                        && segment
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c));
                    if !valid {
                        return Err(ConfigError {
                            variable: "BASE_PATH",
                            problem: "must be one path segment (letters, digits, - _ . ~)".into(),
                        });
                    }
                    Some(segment)
                }
                None => None,
            },
            aws_endpoint_url: None,
            pool_idle_timeout: Duration::from_secs(20),
            preload_phone_metadata: var("AWS_LAMBDA_INITIALIZATION_TYPE")
                .is_some_and(|kind| kind != "on-demand")
                || instance_concurrency.is_some_and(|n| n > 1),
        })
    }
}

impl Config {
    /// Each paced provider's limit (`<NAME>_MAX_RPS`), in sends per second.
    pub fn limits(&self) -> crate::infra::pacing::Limits {
        self.providers
            .iter()
            .filter_map(|(name, settings)| Some((*name, settings.max_rps?)))
            .collect()
    }
}

/// Where a secret is read: the local secrets file when there is one (entries by name), else
/// its own secret (`own`: `<PROVIDER>_SECRET_ID`, `FINGERPRINT_SECRET_ID`), else the
/// combined `PROVIDER_SECRET_ID`.
fn secret_ref(
    file: &Option<PathBuf>,
    own: Option<String>,
    combined: Option<String>,
) -> Option<SecretRef> {
    match (file, own, combined) {
        (Some(file), _, _) => Some(SecretRef {
            id: file.display().to_string(),
            combined: true,
        }),
        (None, Some(id), _) => Some(SecretRef {
            id,
            combined: false,
        }),
        (None, None, Some(id)) => Some(SecretRef { id, combined: true }),
        (None, None, None) => None,
    }
}

#[cfg(test)]
mod tests;
