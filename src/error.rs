//! The one error type every entry point answers with, and the code table of docs/api.md
//! ("Errors") in one `match`: no handler decides a status code on its own.

use serde_json::{json, Map, Value};
use std::fmt;
use std::time::Duration;

/// The error codes, in the order of docs/api.md's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    InvalidRequest,
    InvalidPhone,
    UnknownProvider,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    TemplateNotFound,
    SenderNotFound,
    TemplateNotApproved,
    TemplateMismatch,
    SenderOffline,
    ProviderRejected,
    InsufficientBalance,
    RateLimited,
    ProviderAuthFailed,
    ProviderUnavailable,
    ProviderTimeout,
    DeliveryUnknown,
    SecretUnavailable,
    ConfigurationError,
    IdempotencyConflict,
    IdempotencyUnavailable,
    WebhookUnauthorized,
    StatusUnavailable,
    Internal,
}

impl Code {
    /// Every code, in docs/api.md's order (`docs/openapi.yaml` is checked against it).
    pub const ALL: [Code; 26] = [
        Code::InvalidRequest,
        Code::InvalidPhone,
        Code::UnknownProvider,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::PayloadTooLarge,
        Code::UnsupportedMediaType,
        Code::TemplateNotFound,
        Code::SenderNotFound,
        Code::TemplateNotApproved,
        Code::TemplateMismatch,
        Code::SenderOffline,
        Code::ProviderRejected,
        Code::InsufficientBalance,
        Code::RateLimited,
        Code::ProviderAuthFailed,
        Code::ProviderUnavailable,
        Code::ProviderTimeout,
        Code::DeliveryUnknown,
        Code::SecretUnavailable,
        Code::ConfigurationError,
        Code::IdempotencyConflict,
        Code::IdempotencyUnavailable,
        Code::WebhookUnauthorized,
        Code::StatusUnavailable,
        Code::Internal,
    ];

    /// HTTP status, `retryable` and the wire name: docs/api.md's table, row by row.
    fn row(self) -> (u16, bool, &'static str) {
        use Code::*;
        match self {
            InvalidRequest => (400, false, "INVALID_REQUEST"),
            InvalidPhone => (400, false, "INVALID_PHONE"),
            UnknownProvider => (400, false, "UNKNOWN_PROVIDER"),
            NotFound => (404, false, "NOT_FOUND"),
            MethodNotAllowed => (405, false, "METHOD_NOT_ALLOWED"),
            PayloadTooLarge => (413, false, "PAYLOAD_TOO_LARGE"),
            UnsupportedMediaType => (415, false, "UNSUPPORTED_MEDIA_TYPE"),
            TemplateNotFound => (422, false, "TEMPLATE_NOT_FOUND"),
            SenderNotFound => (422, false, "SENDER_NOT_FOUND"),
            TemplateNotApproved => (422, false, "TEMPLATE_NOT_APPROVED"),
            TemplateMismatch => (422, false, "TEMPLATE_MISMATCH"),
            SenderOffline => (422, true, "SENDER_OFFLINE"),
            ProviderRejected => (422, false, "PROVIDER_REJECTED"),
            InsufficientBalance => (402, false, "INSUFFICIENT_BALANCE"),
            RateLimited => (429, true, "RATE_LIMITED"),
            ProviderAuthFailed => (502, false, "PROVIDER_AUTH_FAILED"),
            ProviderUnavailable => (502, true, "PROVIDER_UNAVAILABLE"),
            ProviderTimeout => (504, true, "PROVIDER_TIMEOUT"),
            DeliveryUnknown => (502, false, "DELIVERY_UNKNOWN"),
            SecretUnavailable => (503, true, "SECRET_UNAVAILABLE"),
            ConfigurationError => (500, false, "CONFIGURATION_ERROR"),
            IdempotencyConflict => (409, true, "IDEMPOTENCY_CONFLICT"),
            // DynamoDB could not guard the send, so it was
            // refused rather than sent unguarded (docs/api.md, "Errors").
            IdempotencyUnavailable => (503, true, "IDEMPOTENCY_UNAVAILABLE"),
            WebhookUnauthorized => (401, false, "WEBHOOK_UNAUTHORIZED"),
            StatusUnavailable => (503, true, "STATUS_UNAVAILABLE"),
            Internal => (500, false, "INTERNAL"),
        }
    }

    pub fn http_status(self) -> u16 {
        self.row().0
    }

    pub fn retryable(self) -> bool {
        self.row().1
    }

    pub fn as_str(self) -> &'static str {
        self.row().2
    }

    /// The code of a wire name (`"RATE_LIMITED"`).
    pub fn from_wire(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most of a field's name an error repeats: a caller's unknown field may be megabytes.
pub const MAX_FIELD_NAME_CHARS: usize = 64;

/// A field's name as an error may repeat it: cut to `MAX_FIELD_NAME_CHARS`, one line.
pub fn field_name(name: &str) -> String {
    name.chars()
        .take(MAX_FIELD_NAME_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A failure as the caller sees it. The message is safe to show: it never holds a key,
/// a variable value or a full phone number.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub field: Option<String>,
    pub provider: Option<String>,
    pub provider_status: Option<u16>,
    pub provider_code: Option<String>,
    /// Sent as `Retry-After` (whole seconds, rounded up) when the provider, or our own
    /// pacing, told us how long to wait; set with `with_retry_after`.
    pub retry_after: Option<u32>,
    /// Whether a retry may succeed, when the provider's documentation says so for this one
    /// answer (a refusal it advises retrying later); else the code's own (`Code::retryable`).
    pub retryable: Option<bool>,
    /// The provider's own identifiers of this failure, for its support (a trace id); in the
    /// document only when there are some.
    pub provider_details: Option<Box<Map<String, Value>>>,
    /// The request may have reached the provider (a timeout or reset after it was written,
    /// an undocumented 5xx, an answer we cannot read): under an idempotency key this
    /// becomes `DELIVERY_UNKNOWN`, final for the key (docs/guarantees.md).
    pub maybe_sent: bool,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
            provider: None,
            provider_status: None,
            provider_code: None,
            retry_after: None,
            retryable: None,
            provider_details: None,
            maybe_sent: false,
        }
    }

    /// `Retry-After` for a wait: whole seconds, rounded up, so that a caller that waits this
    /// long finds the slot free.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait.map(|wait| {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            u32::try_from(seconds).unwrap_or(u32::MAX)
        });
        self
    }

    /// Whether the same request may succeed if sent again later.
    pub fn is_retryable(&self) -> bool {
        self.retryable.unwrap_or(self.code.retryable())
    }

    /// A validation error naming the field (`to`, `variables[2]`, `bitbybit.sources`).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(Code::InvalidRequest, message).with_field(field)
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_provider(mut self, provider: &str) -> Self {
        self.provider = Some(provider.to_string());
        self
    }

    /// Marks a failure that came after the request may have reached the provider.
    pub fn maybe_sent(mut self) -> Self {
        self.maybe_sent = true;
        self
    }

    /// The answer to a maybe-sent failure under an idempotency key: not retryable, stored
    /// and replayed, so that no retry of the key can send the message a second time.
    pub fn into_delivery_unknown(self) -> Self {
        let provider = self
            .provider
            .clone()
            .unwrap_or_else(|| "the provider".into());
        ApiError {
            code: Code::DeliveryUnknown,
            message: format!(
                "{provider} may have received the request but gave no usable answer ({}); \
                 the message may have been sent, so this idempotency key will not send it again",
                self.message
            ),
            maybe_sent: true,
            retry_after: None,
            retryable: None,
            ..self
        }
    }

    pub fn internal() -> Self {
        ApiError::new(Code::Internal, "internal error")
    }

    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// An error document read back (an idempotent replay of a stored answer), with the
    /// request id it was answered under.
    pub fn from_document(document: &Value) -> Option<(ApiError, String)> {
        let error = document.get("error")?;
        let text = |name: &str| error.get(name).and_then(Value::as_str).map(str::to_string);
        let code = Code::from_wire(error.get("code")?.as_str()?)?;
        let api_error = ApiError {
            code,
            message: text("message")?,
            field: text("field"),
            provider: text("provider"),
            provider_status: error
                .get("provider_status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
            provider_code: text("provider_code"),
            retry_after: None,
            retryable: error.get("retryable").and_then(Value::as_bool),
            provider_details: error
                .get("provider_details")
                .and_then(Value::as_object)
                .map(|details| Box::new(details.clone())),
            maybe_sent: code == Code::DeliveryUnknown,
        };
        Some((api_error, text("request_id")?))
    }

    /// The error document (docs/api.md, "Errors").
    pub fn to_document(&self, request_id: &str) -> Value {
        let mut document = json!({ "error": {
            "code": self.code.as_str(),
            "message": self.message,
            "retryable": self.is_retryable(),
            "provider": self.provider,
            "provider_status": self.provider_status,
            "provider_code": self.provider_code,
            "field": self.field,
            "request_id": request_id,
        }});
        if let Some(details) = &self.provider_details {
            document["error"]["provider_details"] = Value::Object((**details).clone());
        }
        document
    }
}

#[cfg(test)]
mod tests;
