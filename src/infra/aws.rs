//! The AWS SDK configuration shared by the Secrets Manager and DynamoDB clients: loaded on
//! first use, with timeouts short enough that an unreachable or hanging endpoint answers
//! within `OPERATION` (two attempts), far inside any Lambda timeout.

use std::time::Duration;

const CONNECT: Duration = Duration::from_millis(1000);
const ATTEMPT: Duration = Duration::from_millis(1200);
const OPERATION: Duration = Duration::from_millis(2500);

/// The SDK's own environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...) with our timeouts;
/// `endpoint_url` overrides the endpoint (tests running several fake AWS endpoints).
pub async fn sdk_config(endpoint_url: Option<String>) -> aws_config::SdkConfig {
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
