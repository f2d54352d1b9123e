//! The provider simulator: every provider's documented send endpoint on loopback, for local
//! runs and tests. It checks each request against the provider's documentation and answers
//! success, or the documented error a reserved template asks for (README "The simulator").
//!
//! `cargo run --example simulator [ADDR]` (default `127.0.0.1:9100`); bitbybit is served
//! under `/bitbybit`, autocalls under `/autocalls`, Meta's Cloud API under `/meta/{version}`.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpListener;

/// bitbybit template names that ask for a documented error: (name, status, code).
pub const BITBYBIT_ERRORS: &[(&str, u16, &str)] = &[
    ("sim_validation_error", 400, "VALIDATION_ERROR"),
    ("sim_invalid_api_key", 401, "INVALID_API_KEY"),
    ("sim_insufficient_scope", 403, "INSUFFICIENT_SCOPE"),
    ("sim_rate_limit_exceeded", 429, "RATE_LIMIT_EXCEEDED"),
];

/// autocalls template ids that ask for a documented error: (id, status, code).
pub const AUTOCALLS_ERRORS: &[(u64, u16, &str)] = &[
    (900402, 402, "INSUFFICIENT_BALANCE"),
    (900404, 404, "SENDER_NOT_FOUND"),
    (900405, 404, "TEMPLATE_NOT_FOUND"),
    (900421, 422, "SENDER_OFFLINE"),
    (900422, 422, "TEMPLATE_NOT_APPROVED"),
    (900423, 422, "TEMPLATE_NOT_SYNCED"),
    (900424, 422, "TEMPLATE_MISMATCH"),
    (900425, 422, "NO_ASSISTANT_CONFIGURED"),
    (900426, 422, "INVALID_PHONE"),
    (900427, 422, "MESSAGING_LIMIT_UNAVAILABLE"),
    (900428, 422, "VOICE_CALL_LIMIT_NOT_MET"),
    (900429, 422, "TWILIO_ERROR_63016"),
    (900430, 422, "UNKNOWN_ERROR"),
];

/// Meta template names that ask for an error: `sim_error_<code>`, with the HTTP status of
/// Meta's older error table (Meta maps on the code; the status is advisory).
pub const META_ERRORS: &[(i64, u16, &str)] = &[
    (0, 401, "AuthException"),
    (4, 400, "API Too Many Calls"),
    (10, 403, "Permission Denied"),
    (100, 400, "Invalid parameter"),
    (190, 401, "Access token has expired"),
    (200, 403, "API Permission"),
    (299, 403, "API Permission"),
    (80007, 400, "Rate limit issues"),
    (130429, 400, "Rate limit hit"),
    (131000, 500, "Something went wrong"),
    (131005, 403, "Access denied"),
    (131016, 503, "Service unavailable"),
    (131026, 400, "Message Undeliverable"),
    (131042, 400, "Business eligibility payment issue"),
    (
        131049,
        400,
        "This message was not delivered to maintain healthy ecosystem engagement",
    ),
    (131050, 400, "User has stopped receiving marketing messages"),
    (
        131056,
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
    ),
    (131057, 500, "Account in maintenance mode"),
    (132000, 400, "Template Param Count Mismatch"),
    (132001, 404, "Template does not exist"),
    (132012, 400, "Template Parameter Format Mismatch"),
    (132015, 400, "Template is Paused"),
    (132016, 400, "Template is Disabled"),
    (133004, 503, "Server temporarily unavailable"),
];

/// The Meta template name whose sends are held under pacing.
pub const META_PACED: &str = "sim_paced";

/// The Meta template name whose sends are then reported by status webhooks, `sent`,
/// `delivered` and `read`, to `SIM_META_WEBHOOK_URL`, signed with `SIM_META_APP_SECRET`;
/// `sim_failed_<code>` reports `sent`, then `failed` with that error code.
pub const META_DELIVERED: &str = "sim_delivery";

static SENT: AtomicU64 = AtomicU64::new(0);

#[allow(dead_code)]
#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into());
    let listener = TcpListener::bind(&addr)
        .await
        .expect("bind the simulator's address");
    eprintln!("provider simulator on http://{addr} (/bitbybit, /autocalls, /meta/v25.0)");
    serve(listener).await;
}

/// Serves every provider on `listener` until the process ends.
pub async fn serve(listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let service = hyper::service::service_fn(answer);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let path = req.uri().path().to_string();
    let post = req.method() == hyper::Method::POST;
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (api_key, bearer, content_type) = (
        header("x-api-key"),
        header("authorization"),
        header("content-type"),
    );
    let body: Option<Value> =
        serde_json::from_slice(&req.into_body().collect().await?.to_bytes()).ok();
    let json_type = content_type.is_some_and(|c| c.starts_with("application/json"));
    let (status, document) = match (post, path.as_str()) {
        (true, "/bitbybit/messages/send-template") => bitbybit(api_key, json_type, body),
        (true, "/autocalls/api/user/whatsapp/send") => autocalls(bearer, json_type, body),
        (true, path) if meta_path(path) => meta(bearer, json_type, body),
        (true, path) if path.starts_with("/eventbridge") => local_bus(body),
        _ => (404, json!({"message": "Not Found"})),
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(document.to_string())))
        .expect("a valid response"))
}

fn bitbybit(api_key: Option<String>, json_type: bool, body: Option<Value>) -> (u16, Value) {
    let error = |status, code: &str, message: &str| {
        (status, json!({"error": {"code": code, "message": message}}))
    };
    if api_key.is_none_or(|k| k.trim().is_empty()) {
        return error(401, "INVALID_API_KEY", "Invalid or expired API key");
    }
    let body = match (json_type, body) {
        (true, Some(Value::Object(body))) => body,
        _ => return error(400, "VALIDATION_ERROR", "Invalid request body"),
    };
    if let Err(why) = check_bitbybit(&body) {
        return error(400, "VALIDATION_ERROR", &why);
    }
    let name = body["template_name"].as_str().unwrap_or_default();
    if let Some((_, status, code)) = BITBYBIT_ERRORS.iter().find(|(n, _, _)| *n == name) {
        return error(
            *status,
            code,
            "Simulated error, as asked by the template name",
        );
    }
    let n = SENT.fetch_add(1, Ordering::SeqCst);
    (
        200,
        json!({"data": {"messageId2": format!("wamid.SIM{n:012}"), "timestamp": "2026-01-15T14:00:00Z"}}),
    )
}

/// The request body's schema in bitbybit's OpenAPI document.
fn check_bitbybit(body: &Map<String, Value>) -> Result<(), String> {
    let known = [
        "to",
        "template_name",
        "template_source",
        "sources",
        "params",
        "mediaUrl",
        "ignoreActiveTicket",
        "countryCode",
    ];
    if let Some(k) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("unknown property {k}"));
    }
    let digits = body
        .get("to")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    let string = |k: &str| body.get(k).is_none_or(Value::is_string);
    let one_of = |k: &str, allowed: &[&str]| {
        body.get(k)
            .is_none_or(|v| v.as_str().is_some_and(|s| allowed.contains(&s)))
    };
    let checks = [
        (digits, "to must be a string of digits"),
        (
            body.get("template_name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "template_name is required",
        ),
        (
            body.contains_key("template_source") && one_of("template_source", &["CRM", "AUTH"]),
            "template_source must be CRM or AUTH",
        ),
        (
            one_of("sources", &["whatsapp cloud api", "whatsapp coex"]),
            "sources is not a known channel",
        ),
        (
            body.get("params")
                .is_none_or(|p| p.as_array().is_some_and(|a| a.iter().all(Value::is_string))),
            "params must be an array of strings",
        ),
        (
            string("mediaUrl") && string("countryCode"),
            "mediaUrl and countryCode must be strings",
        ),
        (
            body.get("ignoreActiveTicket").is_none_or(Value::is_boolean),
            "ignoreActiveTicket must be a boolean",
        ),
    ];
    checks
        .iter()
        .find(|(ok, _)| !ok)
        .map_or(Ok(()), |(_, why)| Err(why.to_string()))
}

fn autocalls(bearer: Option<String>, json_type: bool, body: Option<Value>) -> (u16, Value) {
    let error = |status, code: &str, message: &str| {
        (
            status,
            json!({"success": false, "error": message, "error_code": code}),
        )
    };
    if !bearer.is_some_and(|b| b.starts_with("Bearer ") && b.len() > 7) {
        return (401, json!({"message": "Unauthenticated."}));
    }
    let body = match (json_type, body) {
        (true, Some(Value::Object(body))) => body,
        _ => return error(422, "UNKNOWN_ERROR", "The request body must be JSON."),
    };
    if let Err(why) = check_autocalls(&body) {
        return error(422, "UNKNOWN_ERROR", &why);
    }
    let template = body["template_id"].as_u64().unwrap_or_default();
    if let Some((_, status, code)) = AUTOCALLS_ERRORS.iter().find(|(id, _, _)| *id == template) {
        return error(
            *status,
            code,
            "Simulated error, as asked by the template id",
        );
    }
    let n = SENT.fetch_add(1, Ordering::SeqCst);
    (
        200,
        json!({"success": true, "conversation_id": 1000 + n, "message_id": 5000 + n, "whatsapp_message_id": 8000 + n,
                 "message_sid": format!("SM{n:032x}"), "status": "queued"}),
    )
}

/// The request fields of autocalls' "Send Template Message" page.
fn check_autocalls(body: &Map<String, Value>) -> Result<(), String> {
    let known = [
        "sender_id",
        "template_id",
        "recipient_phone",
        "recipient_name",
        "variables",
    ];
    if let Some(k) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("The {k} field is not accepted."));
    }
    let positive = |k: &str| body.get(k).and_then(Value::as_u64).is_some_and(|n| n > 0);
    let phone = body
        .get("recipient_phone")
        .and_then(Value::as_str)
        .is_some_and(|p| {
            p.len() > 4 && p.starts_with('+') && p[1..].bytes().all(|b| b.is_ascii_digit())
        });
    let checks = [
        (
            positive("sender_id"),
            "The sender_id field is required and must be an integer.",
        ),
        (
            positive("template_id"),
            "The template_id field is required and must be an integer.",
        ),
        (
            phone,
            "The recipient_phone field must be in international format.",
        ),
        (
            body.get("recipient_name")
                .is_none_or(|n| n.as_str().is_some_and(|s| s.chars().count() <= 255)),
            "The recipient_name field must be at most 255 characters.",
        ),
        (
            body.get("variables").is_none_or(|v| {
                v.as_object()
                    .is_some_and(|m| m.values().all(Value::is_string))
            }),
            "The variables field must be an object of strings.",
        ),
    ];
    checks
        .iter()
        .find(|(ok, _)| !ok)
        .map_or(Ok(()), |(_, why)| Err(why.to_string()))
}

/// `/meta/v{N}.0/{phone_number_id}/messages`, the phone number id being Meta's numeric id.
fn meta_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    matches!(parts.as_slice(), ["", "meta", version, id, "messages"]
        if version.starts_with('v') && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

fn meta(bearer: Option<String>, json_type: bool, body: Option<Value>) -> (u16, Value) {
    let n = SENT.fetch_add(1, Ordering::SeqCst);
    let error = |status, code: i64, message: &str| {
        (
            status,
            json!({"error": {"message": format!("({code}) {message}"), "type": "OAuthException",
                   "code": code, "error_data": {"messaging_product": "whatsapp", "details": message},
                   "fbtrace_id": format!("SIMtrace{n:08}")}}),
        )
    };
    if !bearer.is_some_and(|b| b.starts_with("Bearer ") && b.len() > 7) {
        return error(401, 190, "Invalid OAuth access token");
    }
    let body = match (json_type, body) {
        (true, Some(Value::Object(body))) => body,
        _ => return error(400, 100, "Invalid parameter"),
    };
    if let Err(why) = check_meta(&body) {
        return error(400, 100, &why);
    }
    let name = body["template"]["name"].as_str().unwrap_or_default();
    let asked = name
        .strip_prefix("sim_error_")
        .and_then(|c| c.parse::<i64>().ok());
    if let Some((code, status, title)) = META_ERRORS.iter().find(|(c, _, _)| Some(*c) == asked) {
        return error(*status, *code, title);
    }
    let to = body["to"].as_str().unwrap_or_default();
    let reference = body.get("biz_opaque_callback_data").and_then(Value::as_str);
    // A message to be reported gets an id the caller can know: its client_reference's.
    let id = match reference {
        Some(reference) if name == META_DELIVERED || name.starts_with("sim_failed_") => {
            format!("wamid.SIM.{reference}")
        }
        _ => format!("wamid.SIM{n:012}"),
    };
    let failure = name
        .strip_prefix("sim_failed_")
        .and_then(|c| c.parse::<i64>().ok());
    if name == META_DELIVERED || failure.is_some() {
        let words: &[&str] = if failure.is_some() {
            &["sent", "failed"]
        } else {
            &["sent", "delivered", "read"]
        };
        tokio::spawn(report_statuses(
            id.clone(),
            to.trim_start_matches('+').to_string(),
            reference.map(str::to_string),
            words,
            failure,
        ));
    }
    let status = if name == META_PACED {
        "held_for_quality_assessment"
    } else {
        "accepted"
    };
    (
        200,
        json!({"messaging_product": "whatsapp",
               "contacts": [{"input": to, "wa_id": to.trim_start_matches('+')}],
               "messages": [{"id": id, "message_status": status}]}),
    )
}

/// The template message of Meta's send-messages page: its fields, the template's name and
/// language, and components of the known types with their parameters.
fn check_meta(body: &Map<String, Value>) -> Result<(), String> {
    let known = [
        "messaging_product",
        "recipient_type",
        "to",
        "type",
        "template",
        "biz_opaque_callback_data",
    ];
    if let Some(k) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("Unexpected key \"{k}\" on param \"message\"."));
    }
    let to = body.get("to").and_then(Value::as_str).unwrap_or_default();
    let template = body.get("template").and_then(Value::as_object);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let component = |c: &Value| {
        let kind = c.get("type").and_then(Value::as_str);
        let parameters = c.get("parameters").and_then(Value::as_array);
        let button = kind != Some("button")
            || (c.get("sub_type").and_then(Value::as_str).is_some()
                && c.get("index").is_some_and(|i| i.is_string() || i.is_u64()));
        matches!(kind, Some("header" | "body" | "button"))
            && button
            && parameters
                .is_some_and(|p| !p.is_empty() && p.iter().all(|p| p.get("type").is_some()))
    };
    let checks = [
        (
            body.get("messaging_product") == Some(&json!("whatsapp")),
            "messaging_product must be whatsapp",
        ),
        (
            to.len() > 4 && to.starts_with('+') && to[1..].bytes().all(|b| b.is_ascii_digit()),
            "to must be a phone number with its country code",
        ),
        (
            body.get("recipient_type").is_none_or(|t| t == "individual"),
            "recipient_type must be individual",
        ),
        (
            body.get("type") == Some(&json!("template")),
            "type must be template",
        ),
        (
            template.is_some_and(|t| text(t.get("name"))),
            "template.name is required",
        ),
        (
            template.is_some_and(|t| text(t.get("language").and_then(|l| l.get("code")))),
            "template.language.code is required",
        ),
        (
            template.is_some_and(|t| {
                t.get("components").is_none_or(|c| {
                    c.as_array()
                        .is_some_and(|c| !c.is_empty() && c.iter().all(component))
                })
            }),
            "template.components must be header, body or button components with parameters",
        ),
    ];
    checks
        .iter()
        .find(|(ok, _)| !ok)
        .map_or(Ok(()), |(_, why)| Err(why.to_string()))
}

/// Posts Meta's status webhooks for a message the simulator accepted, one after another, to
/// `SIM_META_WEBHOOK_URL`, each signed with `SIM_META_APP_SECRET` as Meta signs them.
async fn report_statuses(
    id: String,
    recipient: String,
    reference: Option<String>,
    words: &'static [&'static str],
    failure: Option<i64>,
) {
    let (Ok(url), Ok(secret)) = (
        std::env::var("SIM_META_WEBHOOK_URL"),
        std::env::var("SIM_META_APP_SECRET"),
    ) else {
        return;
    };
    let client = reqwest::Client::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    for (i, word) in words.iter().enumerate() {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut status = json!({"id": id, "status": word, "timestamp": (now + i as u64).to_string(),
                                "recipient_id": recipient});
        if let Some(reference) = &reference {
            status["biz_opaque_callback_data"] = json!(reference);
        }
        if *word == "sent" {
            status["pricing"] = json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "utility"});
        }
        if let (Some(code), "failed") = (failure, *word) {
            let title = META_ERRORS
                .iter()
                .find(|(c, _, _)| *c == code)
                .map_or("Message failed", |(_, _, t)| *t);
            status["errors"] = json!([{"code": code, "title": title, "message": title, "error_data": {"details": title}}]);
        }
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
            "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881",
                      "phone_number_id": "106540352242922"}, "statuses": [status]},
            "field": "messages"}]}]})
        .to_string();
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
        let signature = hex::encode(aws_lc_rs::hmac::sign(&key, body.as_bytes()).as_ref());
        let sent = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", format!("sha256={signature}"))
            .body(body)
            .send()
            .await;
        match sent {
            Ok(answer) => eprintln!(
                "simulator: meta webhook {word} for {id}: HTTP {}",
                answer.status()
            ),
            Err(error) => {
                eprintln!("simulator: meta webhook {word} for {id} not delivered: {error}")
            }
        }
    }
}

/// A local status bus: EventBridge's `PutEvents`, as the function calls it with
/// `AWS_ENDPOINT_URL_EVENTBRIDGE` set here. Every event is printed, one line each.
fn local_bus(body: Option<Value>) -> (u16, Value) {
    let entries = body
        .as_ref()
        .and_then(|b| b.get("Entries"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let answered: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let n = SENT.fetch_add(1, Ordering::SeqCst);
            println!(
                "status event on {}: {}",
                entry["EventBusName"].as_str().unwrap_or("?"),
                entry["Detail"].as_str().unwrap_or("{}")
            );
            json!({"EventId": format!("sim-event-{n}")})
        })
        .collect();
    (200, json!({"FailedEntryCount": 0, "Entries": answered}))
}
