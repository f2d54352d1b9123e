//! Where secret text comes from: Secrets Manager (the client built on first use, with
//! timeouts short enough to answer `SECRET_UNAVAILABLE` in seconds) or a local file.

use crate::error::{ApiError, Code};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Bounds on one `GetSecretValue`: a refused or hanging endpoint answers within
/// `OPERATION` (two attempts), far inside any Lambda timeout.
const CONNECT: Duration = Duration::from_millis(1000);
const ATTEMPT: Duration = Duration::from_millis(1200);
const OPERATION: Duration = Duration::from_millis(2500);

pub enum Source {
    SecretsManager {
        endpoint_url: Option<String>,
        client: OnceCell<aws_sdk_secretsmanager::Client>,
    },
    File(PathBuf),
}

impl Source {
    pub fn secrets_manager(endpoint_url: Option<String>) -> Self {
        Source::SecretsManager {
            endpoint_url,
            client: OnceCell::new(),
        }
    }

    pub async fn fetch(&self, id: &str) -> Result<String, ApiError> {
        match self {
            Source::File(path) => tokio::fs::read_to_string(path).await.map_err(|e| {
                ApiError::new(
                    Code::ConfigurationError,
                    format!("PROVIDER_SECRETS_FILE could not be read: {}", e.kind()),
                )
            }),
            Source::SecretsManager {
                endpoint_url,
                client,
            } => {
                let client = client
                    .get_or_init(|| build_client(endpoint_url.clone()))
                    .await;
                let output = client
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(classify)?;
                output.secret_string().map(str::to_string).ok_or_else(|| {
                    ApiError::new(
                        Code::ConfigurationError,
                        "the provider secret has no SecretString",
                    )
                })
            }
        }
    }
}

async fn build_client(endpoint_url: Option<String>) -> aws_sdk_secretsmanager::Client {
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
    aws_sdk_secretsmanager::Client::new(&loader.load().await)
}

/// An operator's mistake (no such secret, no right to read it) is not worth retrying;
/// anything else (unreachable, throttled, timed out, a 5xx) is `SECRET_UNAVAILABLE`.
fn classify<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    error: SdkError<E, R>,
) -> ApiError {
    let code = error.code().unwrap_or("").to_string();
    let operator = matches!(
        code.as_str(),
        "ResourceNotFoundException"
            | "AccessDeniedException"
            | "DecryptionFailure"
            | "InvalidParameterException"
            | "InvalidRequestException"
            | "UnrecognizedClientException"
    );
    let reason = match &error {
        SdkError::TimeoutError(_) => "timed out".to_string(),
        SdkError::DispatchFailure(_) => "could not be reached".to_string(),
        SdkError::ServiceError(_) => format!("answered {code}"),
        _ => "gave an unreadable answer".to_string(),
    };
    tracing::warn!(error = %reason, "GetSecretValue failed");
    if operator {
        ApiError::new(
            Code::ConfigurationError,
            format!("Secrets Manager {reason}: check the secret id and the function's rights"),
        )
    } else {
        ApiError::new(Code::SecretUnavailable, format!("Secrets Manager {reason}"))
    }
}
