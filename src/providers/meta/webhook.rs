//! Meta's delivery-status webhook (docs/statuses.md, "meta"): `X-Hub-Signature-256:
//! sha256=<hex>` is the HMAC-SHA256 of the body's raw bytes under the app secret; the `GET`
//! handshake echoes `hub.challenge` when `hub.verify_token` is ours. A POST holds entries,
//! each of changes, each of statuses (up to 1,000 updates, up to 3 MB).

use super::codes::classify;
use crate::domain::phone::mask_number;
use crate::domain::status::{Notifications, Stage, Status, StatusError, TemplateUpdate};
use crate::error::Code;
use crate::infra::secrets::Secret;
use crate::providers::answers::{MAX_CODE_CHARS, MAX_ID_CHARS, MAX_MESSAGE_CHARS};
use crate::providers::provider::{Webhook, WebhookRequest};
use crate::providers::redact::Redact;
use serde_json::{Map, Value};

pub(super) struct MetaWebhook;

/// The longest `hub.challenge` echoed (Meta's are a few digits).
const MAX_CHALLENGE: usize = 256;
/// The longest `biz_opaque_callback_data` kept: our sends put a `client_reference` there.
const MAX_REFERENCE: usize = 256;

impl Webhook for MetaWebhook {
    fn verify(&self, request: &WebhookRequest<'_>, secret: &Secret) -> Result<(), &'static str> {
        let app_secret = secret
            .credential("app_secret")
            .ok_or("no meta.app_secret is configured")?;
        let header = (request.header)("x-hub-signature-256").ok_or("no X-Hub-Signature-256")?;
        let hex_digest = header
            .trim()
            .strip_prefix("sha256=")
            .ok_or("X-Hub-Signature-256 is not sha256=<hex>")?;
        let tag = hex::decode(hex_digest).map_err(|_| "X-Hub-Signature-256 is not hex")?;
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, app_secret.as_bytes());
        // Compared in constant time by the crypto library.
        aws_lc_rs::hmac::verify(&key, request.body, &tag)
            .map_err(|_| "the signature does not match the body")
    }

    fn handshake(
        &self,
        request: &WebhookRequest<'_>,
        secret: &Secret,
    ) -> Option<Result<String, &'static str>> {
        let answer = (|| {
            let token = secret
                .credential("verify_token")
                .ok_or("no meta.verify_token is configured")?;
            if (request.query)("hub.mode") != Some("subscribe") {
                return Err("hub.mode is not subscribe");
            }
            let given = (request.query)("hub.verify_token").ok_or("no hub.verify_token")?;
            aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), token.as_bytes())
                .map_err(|_| "hub.verify_token is not ours")?;
            let challenge = (request.query)("hub.challenge").ok_or("no hub.challenge")?;
            let printable =
                challenge.len() <= MAX_CHALLENGE && challenge.bytes().all(|b| b.is_ascii_graphic());
            printable
                .then(|| challenge.to_string())
                .ok_or("hub.challenge is not a short token")
        })();
        Some(answer)
    }

    fn notifications(&self, body: &[u8], redact: &Redact) -> Notifications {
        let mut found = Notifications::default();
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            found.unreadable.push("the body is not JSON".into());
            return found;
        };
        let Some(entries) = body.get("entry").and_then(Value::as_array) else {
            found.unreadable.push("no entry[]".into());
            return found;
        };
        for entry in entries {
            let time = entry.get("time").and_then(Value::as_u64);
            for change in entry
                .get("changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let value = change.get("value");
                let statuses = value
                    .and_then(|v| v.get("statuses"))
                    .and_then(Value::as_array);
                let field = change.get("field").and_then(Value::as_str);
                match (statuses, field) {
                    (Some(statuses), _) => {
                        for status in statuses {
                            found.read(|| read_status(status, redact));
                        }
                    }
                    (None, Some(field)) if TEMPLATE_FIELDS.contains(&field) => {
                        let value = value.unwrap_or(&Value::Null);
                        found.read_template(|| read_template(field, value, time, redact));
                    }
                    // An incoming message, any other field: no status.
                    (None, Some(_)) => found.others += 1,
                    (None, None) => found.unreadable.push("a change without field".into()),
                }
            }
        }
        found
    }
}

fn read_status(status: &Value, redact: &Redact) -> Result<Status, &'static str> {
    let text = |name: &str| status.get(name).and_then(Value::as_str);
    let id = text("id")
        .filter(|id| !id.is_empty())
        .ok_or("a status without id")?;
    // "played": the first play of a voice message: it was read.
    let (word, stage) = Stage::of_word(text("status"), &[("played", Stage::Read)])?;
    let error = match stage {
        // Without `errors[0]`, a failure of no known code.
        Stage::Failed => Some(error_of(
            status.pointer("/errors/0").unwrap_or(&Value::Null),
            redact,
        )),
        _ => None,
    };
    Ok(Status {
        message_id: redact.id(id, MAX_ID_CHARS),
        stage,
        provider_status: redact.id(&word, MAX_CODE_CHARS),
        occurred_at: text("timestamp").and_then(|t| t.parse().ok()),
        to: text("recipient_id").map(mask_number),
        // Since 2026 a status may name its recipient by a business-scoped user id instead.
        recipient_user_id: text("recipient_user_id").map(|u| redact.id(u, MAX_ID_CHARS)),
        client_reference: text("biz_opaque_callback_data").map(|r| redact.id(r, MAX_REFERENCE)),
        error,
        pricing: status.get("pricing").and_then(|p| pricing(p, redact)),
    })
}

/// Meta's template notifications, each published as a template's event.
const TEMPLATE_FIELDS: [&str; 3] = [
    "message_template_status_update",
    "template_category_update",
    "message_template_quality_update",
];

/// One template notification (docs/statuses.md, "Template notifications"): a status update
/// gives the template's status and category; a category update its category (an impending
/// one, the category it will get, with `reason` `IMPENDING`); a quality update its quality
/// score as `status`.
fn read_template(
    field: &str,
    value: &Value,
    time: Option<u64>,
    redact: &Redact,
) -> Result<TemplateUpdate, &'static str> {
    let text = |name: &str| {
        value.get(name).and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(redact.id(s, MAX_ID_CHARS)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let word = |name: &str| text(name).map(|w| w.to_uppercase());
    if !value.is_object() || text("message_template_id").is_none() {
        return Err("a template notification without message_template_id");
    }
    let mut update = TemplateUpdate {
        field: field.to_string(),
        template: text("message_template_name"),
        template_id: text("message_template_id"),
        language: text("message_template_language"),
        occurred_at: time,
        ..TemplateUpdate::default()
    };
    match field {
        "message_template_status_update" => {
            update.status = word("event");
            update.category = word("message_template_category");
            update.reason = word("reason");
        }
        "template_category_update" => match word("correct_category") {
            // Impending: `new_category` is the current one, `correct_category` the next.
            Some(next) => {
                update.category = Some(next);
                update.previous_category = word("new_category");
                update.reason = Some("IMPENDING".into());
            }
            None => {
                update.category = word("new_category");
                update.previous_category = word("previous_category");
            }
        },
        _ => {
            update.status = word("new_quality_score");
            update.previous_status = word("previous_quality_score");
        }
    }
    Ok(update)
}

/// A status's error through the send's code table.
fn error_of(error: &Value, redact: &Redact) -> StatusError {
    let code = error.get("code").and_then(Value::as_i64);
    let (ours, retryable) = match code {
        Some(code) => classify(code, error),
        None => (Code::ProviderRejected, None),
    };
    let said = error
        .pointer("/error_data/details")
        .or_else(|| error.get("message"))
        .or_else(|| error.get("title"))
        .and_then(Value::as_str)
        .map(|m| redact.text(m, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| "meta reported the message as failed".into());
    StatusError {
        code: ours.as_str().into(),
        message: said,
        provider_code: code.map(|c| c.to_string()),
        retryable: retryable.unwrap_or(ours.retryable()),
    }
}

/// Meta's pricing, its documented fields only, each a short word or a flag.
fn pricing(pricing: &Value, redact: &Redact) -> Option<Value> {
    let given = pricing.as_object()?;
    let kept: Map<String, Value> = ["billable", "pricing_model", "type", "category"]
        .into_iter()
        .filter_map(|name| {
            let value = match given.get(name)? {
                Value::Bool(b) => Value::Bool(*b),
                Value::String(s) => Value::String(redact.id(s, MAX_CODE_CHARS)),
                _ => return None,
            };
            Some((name.to_string(), value))
        })
        .collect();
    Some(Value::Object(kept))
}
