//! autocalls' "Read Receipts Webhook" (docs/statuses.md, "autocalls"): a JSON POST for each
//! status change of a message sent through a sender. autocalls signs it with
//! `X-Signature-256` but does not document how, so the proof we check is the token our
//! webhook URL carries (`?token=<autocalls.webhook_token>`), compared in constant time.

use crate::domain::phone::mask_number;
use crate::domain::status::{Notifications, Stage, Status, StatusError};
use crate::error::Code;
use crate::infra::secrets::Secret;
use crate::providers::answers::{MAX_CODE_CHARS, MAX_ID_CHARS, MAX_MESSAGE_CHARS};
use crate::providers::provider::{Webhook, WebhookRequest};
use crate::providers::redact::Redact;
use serde_json::Value;

pub(super) struct AutocallsWebhook;

impl Webhook for AutocallsWebhook {
    fn verify(&self, request: &WebhookRequest<'_>, secret: &Secret) -> Result<(), &'static str> {
        let token = secret
            .credential("webhook_token")
            .ok_or("no autocalls.webhook_token is configured")?;
        let given = (request.query)("token").ok_or("no token in the URL")?;
        aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), token.as_bytes())
            .map_err(|_| "the URL's token is not ours")
    }

    fn notifications(&self, body: &[u8], redact: &Redact) -> Notifications {
        let mut found = Notifications::default();
        match serde_json::from_slice::<Value>(body) {
            Ok(event) if event.get("event").and_then(Value::as_str) == Some("message_status") => {
                found.read(|| read_status(&event, redact));
            }
            Ok(event) if event.get("event").is_some() => found.others += 1,
            _ => found.unreadable.push("not an autocalls event".into()),
        }
        found
    }
}

fn read_status(event: &Value, redact: &Redact) -> Result<Status, &'static str> {
    let text = |name: &str| {
        event
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    // The send's `message_id` is its `message_sid` (Twilio's); over Meta's route autocalls
    // gives the wamid instead, and its own id always.
    let message_id = text("message_sid")
        .or_else(|| text("meta_message_id"))
        .map(str::to_string)
        .or_else(|| {
            event
                .get("whatsapp_message_id")
                .and_then(Value::as_u64)
                .map(|n| n.to_string())
        })
        .ok_or("a status without a message id")?;
    let (word, stage) = Stage::of_word(text("status"), &[("undelivered", Stage::Failed)])?;
    let error = (stage == Stage::Failed).then(|| {
        let code = match event.get("error_code") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(redact.id(s, MAX_CODE_CHARS)),
            _ => None,
        };
        StatusError {
            code: Code::ProviderRejected.as_str().into(),
            message: text("error_message")
                .map(|m| redact.text(m, MAX_MESSAGE_CHARS))
                .unwrap_or_else(|| format!("autocalls reported the message as {word}")),
            provider_code: code,
            retryable: false,
        }
    });
    Ok(Status {
        message_id: redact.id(&message_id, MAX_ID_CHARS),
        stage,
        provider_status: redact.id(&word, MAX_CODE_CHARS),
        // autocalls names no time field we could read: the time it arrived stands for it.
        occurred_at: None,
        to: text("to").map(mask_number),
        recipient_user_id: None,
        client_reference: None,
        error,
        pricing: None,
    })
}
