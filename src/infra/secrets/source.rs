//! Where secret text comes from: Secrets Manager (the client built on first use, with
//! timeouts short enough to answer `SECRET_UNAVAILABLE` in seconds) or a local file.

use crate::error::{ApiError, Code};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use std::path::PathBuf;
use tokio::sync::OnceCell;

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

    /// Builds the Secrets Manager client (reading the environment, no network call), so that
    /// the first secret read need not.
    pub async fn prepare(&self) {
        if let Source::SecretsManager {
            endpoint_url,
            client,
        } = self
        {
            client
                .get_or_init(|| build_client(endpoint_url.clone()))
                .await;
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
    aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config(endpoint_url).await)
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
