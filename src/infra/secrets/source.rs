//! Where secret text comes from: Secrets Manager (the client built on first use from the
//! shared SDK configuration, whose short timeouts answer `SECRET_UNAVAILABLE` in seconds) or
//! a local file.

use crate::error::{ApiError, Code};
use crate::infra::aws::{describe, Aws};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub enum Source {
    SecretsManager {
        aws: Arc<Aws>,
        client: OnceCell<aws_sdk_secretsmanager::Client>,
    },
    File(PathBuf),
}

impl Source {
    pub fn secrets_manager(aws: Arc<Aws>) -> Self {
        Source::SecretsManager {
            aws,
            client: OnceCell::new(),
        }
    }

    /// Builds the Secrets Manager client (reading the environment, no network call), so that
    /// the first secret read need not.
    pub async fn prepare(&self) {
        if let Source::SecretsManager { .. } = self {
            self.client().await;
        }
    }

    async fn client(&self) -> Option<&aws_sdk_secretsmanager::Client> {
        match self {
            Source::SecretsManager { aws, client } => Some(
                client
                    .get_or_init(|| async {
                        aws_sdk_secretsmanager::Client::new(aws.config().await)
                    })
                    .await,
            ),
            Source::File(_) => None,
        }
    }

    pub async fn fetch(&self, id: &str) -> Result<String, ApiError> {
        let Some(client) = self.client().await else {
            let Source::File(path) = self else {
                return Err(ApiError::internal());
            };
            return tokio::fs::read_to_string(path).await.map_err(|e| {
                ApiError::new(
                    Code::ConfigurationError,
                    format!("PROVIDER_SECRETS_FILE could not be read: {}", e.kind()),
                )
            });
        };
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

/// An operator's mistake (no such secret, no right to read it) is not worth retrying;
/// anything else (unreachable, throttled, timed out, a 5xx) is `SECRET_UNAVAILABLE`.
fn classify<
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
>(
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
    let reason = describe(&error);
    tracing::warn!(error = %reason, cause = %crate::infra::telemetry::chain(&error), "GetSecretValue failed");
    if operator {
        ApiError::new(
            Code::ConfigurationError,
            format!("Secrets Manager {reason}: check the secret id and the function's rights"),
        )
    } else {
        ApiError::new(Code::SecretUnavailable, format!("Secrets Manager {reason}"))
    }
}
