//! The one AWS SDK configuration every client shares (Secrets Manager, DynamoDB,
//! EventBridge): loaded on first use, with timeouts short enough that an unreachable or
//! hanging endpoint answers within `OPERATION` (two attempts), far inside any Lambda
//! timeout; and the one description of an SDK failure that logs and errors use.

// One SDK error type serves every service's client (the crates re-export the same one).
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;
use tokio::sync::OnceCell;

const CONNECT: Duration = Duration::from_millis(1000);
const ATTEMPT: Duration = Duration::from_millis(1200);
const OPERATION: Duration = Duration::from_millis(2500);

/// The SDK configuration, loaded once for every client of the instance, and the one
/// DynamoDB client both tables share (the idempotency records and the statuses: one
/// connection pool, one TLS handshake on a cold instance, not one per table).
pub struct Aws {
    endpoint_url: Option<String>,
    config: OnceCell<aws_config::SdkConfig>,
    dynamodb: OnceCell<aws_sdk_dynamodb::Client>,
}

impl Aws {
    /// `endpoint_url` overrides the endpoint (tests running several fake AWS endpoints);
    /// deployed functions leave it unset and the SDK reads `AWS_ENDPOINT_URL` and friends.
    pub fn new(endpoint_url: Option<String>) -> Self {
        Aws {
            endpoint_url,
            config: OnceCell::new(),
            dynamodb: OnceCell::new(),
        }
    }

    /// The DynamoDB client, built on first use.
    pub async fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| async { aws_sdk_dynamodb::Client::new(self.config().await) })
            .await
    }

    /// The SDK's own environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...) with our timeouts;
    /// reading it makes no network call.
    pub async fn config(&self) -> &aws_config::SdkConfig {
        self.config
            .get_or_init(|| load(self.endpoint_url.clone()))
            .await
    }
}

async fn load(endpoint_url: Option<String>) -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT)
        .read_timeout(ATTEMPT)
        .operation_attempt_timeout(ATTEMPT)
        .operation_timeout(OPERATION)
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2));
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// What went wrong with an AWS call, in words safe for a log line and an error message:
/// the service's error code, never its message (which may quote what was sent).
pub fn describe<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> String {
    match error {
        SdkError::TimeoutError(_) => "timed out".to_string(),
        SdkError::DispatchFailure(_) => "could not be reached".to_string(),
        SdkError::ServiceError(_) => format!("answered {}", error.code().unwrap_or("an error")),
        _ => "gave an unreadable answer".to_string(),
    }
}
