//! `docs/openapi.yaml` is the contract API clients are generated from; these tests prove it
//! says what the handler does, so that it cannot drift:
//! - every code of `error::Code` is in the spec's enum and code table with its status and
//!   `retryable`, and sits under that status in every operation that answers it;
//! - every response example is what the handler answers: each is driven through the real
//!   handler by a scenario below (its request example, or a request and a provider stub)
//!   and compared whole, message included (`"..."` in the spec stands for a value that
//!   varies);
//! - every limit the parser enforces is in the schema: each bound the spec states is
//!   accepted and the next value refused, naming the field.

use crate::support::aws::{create_idempotency_table, dynamodb, Mode};
use crate::support::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use wa_dispatch::error::{ApiError, Code};
use wa_dispatch::send::request::SendRequest;
use wiremock::{MockServer, ResponseTemplate};

fn spec() -> Value {
    let text = std::fs::read_to_string(format!("{}/docs/openapi.yaml", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    serde_norway::from_str(&text).expect("docs/openapi.yaml parses")
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(spec, spec.pointer(pointer).unwrap_or(&Value::Null))
        }
        None => value,
    }
}

#[test]
fn the_spec_is_openapi_3_1_with_every_route() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    for route in ["/v1/messages", "/v1/messages/batch", "/v1/health"] {
        assert!(spec["paths"][route].is_object(), "{route}");
    }
}

/// The codes an error schema allows (`error.code` as `enum` or `const`), and its
/// `retryable` when the schema fixes it.
fn schema_codes(spec: &Value, schema: &Value) -> (BTreeSet<String>, Option<bool>) {
    let mut codes = BTreeSet::new();
    let mut retryable = None;
    let schema = resolve(spec, schema);
    let mut parts: Vec<&Value> = vec![schema];
    parts.extend(schema["allOf"].as_array().into_iter().flatten());
    parts.extend(schema["oneOf"].as_array().into_iter().flatten());
    for part in parts {
        let part = resolve(spec, part);
        let error = &part["properties"]["error"]["properties"];
        for code in error["code"]["enum"].as_array().into_iter().flatten() {
            codes.insert(code.as_str().unwrap().to_string());
        }
        if let Some(code) = error["code"]["const"].as_str() {
            codes.insert(code.to_string());
        }
        if let Some(fixed) = error["retryable"]["const"].as_bool() {
            retryable = Some(fixed);
        }
    }
    (codes, retryable)
}

#[test]
fn every_code_is_in_the_spec_with_its_status_and_retryable() {
    let spec = spec();
    let code_schema = &spec["components"]["schemas"]["ErrorCode"];
    let listed: BTreeSet<&str> = code_schema["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let ours: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, ours, "the spec's ErrorCode enum and error::Code");

    // The code table in the enum's description: `| `A` / `B` | 404 / 405 | no | ... |`.
    let mut table = BTreeMap::new();
    for row in code_schema["description"].as_str().unwrap().lines() {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells.len() < 5 || !cells[1].starts_with('`') {
            continue;
        }
        let codes = cells[1].split(" / ").map(|c| c.trim_matches('`'));
        let statuses = cells[2].split(" / ").cycle();
        for (code, status) in codes.zip(statuses) {
            table.insert(
                code.to_string(),
                (status.parse::<u16>().unwrap(), cells[3] == "yes"),
            );
        }
    }
    for code in Code::ALL {
        assert_eq!(
            table.get(code.as_str()),
            Some(&(code.http_status(), code.retryable())),
            "the spec's code table row for {code}"
        );
    }

    // Under each status, an operation's error schema lists only codes of that status.
    let mut answered = BTreeSet::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (verb, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(&spec, response);
                let schema = &response["content"]["application/json"]["schema"];
                let (codes, retryable) = schema_codes(&spec, schema);
                for name in &codes {
                    let code = Code::ALL.iter().find(|c| c.as_str() == name).unwrap();
                    assert_eq!(
                        code.http_status().to_string(),
                        *status,
                        "{verb} {path}: {name} documented under {status}"
                    );
                    if let Some(fixed) = retryable {
                        assert_eq!(code.retryable(), fixed, "{verb} {path} {status}: {name}");
                    }
                    answered.insert(name.clone());
                }
            }
        }
    }
    let missing: Vec<&str> = ours
        .iter()
        .copied()
        .filter(|c| !answered.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes no response documents: {missing:?}"
    );
}

/// `want` (a spec example) and `got` are equal, where `"..."` in `want` matches anything.
fn matches(want: &Value, got: &Value, path: &str, errors: &mut Vec<String>) {
    match (want, got) {
        (Value::String(w), _) if w == "..." => {}
        (Value::Object(w), Value::Object(g)) => {
            for key in w.keys().chain(g.keys()).collect::<BTreeSet<_>>() {
                match (w.get(key), g.get(key)) {
                    (Some(w), Some(g)) => matches(w, g, &format!("{path}.{key}"), errors),
                    (Some(_), None) => errors.push(format!("{path}.{key}: missing")),
                    (None, Some(_)) => errors.push(format!("{path}.{key}: not in the example")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (w, g)) in w.iter().zip(g).enumerate() {
                matches(w, g, &format!("{path}[{i}]"), errors);
            }
        }
        _ if want == got => {}
        _ => errors.push(format!("{path}: example {want}, handler {got}")),
    }
}

/// What a scenario's provider answers.
#[derive(Clone)]
enum Stub {
    None,
    Autocalls(u16, Value),
    Bitbybit(u16, Value),
    Meta(u16, Value),
    /// Both providers accept.
    Both,
    /// autocalls accepts, bitbybit refuses (400 `VALIDATION_ERROR`).
    AutocallsOnly,
}

/// The circumstances of a scenario beyond its request.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Plain,
    /// With an idempotency table.
    Table,
    /// An in-flight record already holds the request's key.
    InFlight,
    /// Secrets Manager refuses connections.
    SecretsDown,
    /// The secret holds bitbybit only.
    NoAutocalls,
    /// The provider answers nothing for longer than PROVIDER_TIMEOUT_MS.
    Hang,
    /// bitbybit's production URL (a dry run sends nothing).
    ProductionUrls,
}

/// The request of a scenario.
#[derive(Clone)]
enum Input {
    /// The request example of the same name.
    Example,
    Json(Value),
    Raw(String),
    None,
}

#[derive(Clone)]
struct Scenario {
    path: &'static str,
    example: &'static str,
    method: &'static str,
    route: &'static str,
    content_type: &'static str,
    input: Input,
    stub: Stub,
    setup: Setup,
}

fn scenario(path: &'static str, example: &'static str) -> Scenario {
    Scenario {
        path,
        example,
        method: "POST",
        route: path,
        content_type: "application/json",
        input: Input::Example,
        stub: Stub::None,
        setup: Setup::Plain,
    }
}

fn autocalls_refusal(status: u16, code: &str, message: &str) -> Stub {
    Stub::Autocalls(
        status,
        json!({"success": false, "error": message, "error_code": code}),
    )
}

fn bitbybit_refusal(status: u16, code: &str, message: &str) -> Stub {
    Stub::Bitbybit(status, json!({"error": {"code": code, "message": message}}))
}

/// One scenario per response example: what makes the handler give that answer.
fn scenarios() -> Vec<Scenario> {
    const SEND: &str = "/v1/messages";
    const BATCH: &str = "/v1/messages/batch";
    const HEALTH: &str = "/v1/health";
    let autocalls = || autocalls_request_example();
    let send = |example| Scenario {
        input: Input::Json(autocalls()),
        ..scenario(SEND, example)
    };
    let big = |bytes: usize| Input::Raw(format!(r#"{{"pad":"{}"}}"#, "x".repeat(bytes)));
    let two = json!({"messages": [autocalls(), bitbybit_request_example()]});
    vec![
        Scenario {
            stub: Stub::Autocalls(200, autocalls_success()),
            ..scenario(SEND, "autocalls_send")
        },
        Scenario {
            stub: Stub::Both,
            ..scenario(SEND, "bitbybit_send")
        },
        Scenario {
            setup: Setup::ProductionUrls,
            ..scenario(SEND, "dry_run")
        },
        scenario(SEND, "unknown_field"),
        scenario(SEND, "invalid_phone"),
        scenario(SEND, "unknown_provider"),
        scenario(SEND, "media_url_with_autocalls"),
        scenario(SEND, "media_url_with_meta"),
        Scenario {
            stub: Stub::Meta(
                200,
                json!({"messaging_product": "whatsapp",
                "contacts": [{"input": "+14155551234", "wa_id": "14155551234"}],
                "messages": [{"id": "wamid.HBgLMTQxNTU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA", "message_status": "accepted"}]}),
            ),
            ..scenario(SEND, "meta_send")
        },
        Scenario {
            input: Input::Json(request_example("meta_send")),
            stub: Stub::Meta(
                404,
                json!({"error": {
                "message": "(#132001) Template name does not exist in the translation",
                "type": "OAuthException", "code": 132001,
                "error_data": {"messaging_product": "whatsapp",
                    "details": "The template does not exist in the specified language or the template has not been approved."},
                "fbtrace_id": "AZ8or2yhqkZfEZ-_4Qn_Bam"}}),
            ),
            ..scenario(SEND, "meta_template_not_found_answer")
        },
        Scenario {
            input: Input::Raw(r#"{"provider": "autocalls", "to": "+1" "template": 45}"#.into()),
            ..scenario(SEND, "malformed_json_answer")
        },
        Scenario {
            stub: autocalls_refusal(
                402,
                "INSUFFICIENT_BALANCE",
                "Insufficient balance. Please top up your account.",
            ),
            ..send("insufficient_balance_answer")
        },
        Scenario {
            route: "/v1/message",
            ..send("not_found_answer")
        },
        Scenario {
            method: "GET",
            input: Input::None,
            ..scenario(SEND, "method_not_allowed_answer")
        },
        Scenario {
            setup: Setup::InFlight,
            ..send("idempotency_conflict_answer")
        },
        Scenario {
            input: big(64 * 1024),
            ..scenario(SEND, "payload_too_large_answer")
        },
        Scenario {
            content_type: "text/plain",
            ..send("unsupported_media_type_answer")
        },
        Scenario {
            stub: autocalls_refusal(
                422,
                "TEMPLATE_NOT_APPROVED",
                "Template is not approved. Current status: pending",
            ),
            ..send("template_not_approved_answer")
        },
        Scenario {
            stub: autocalls_refusal(
                404,
                "TEMPLATE_NOT_FOUND",
                "Template not found or does not belong to this sender",
            ),
            ..send("template_not_found_answer")
        },
        Scenario {
            stub: autocalls_refusal(
                422,
                "SENDER_OFFLINE",
                "Sender is not online. Current status: Offline",
            ),
            ..send("sender_offline_answer")
        },
        Scenario {
            input: Input::Json(bitbybit_request_example()),
            stub: bitbybit_refusal(400, "VALIDATION_ERROR", "Invalid request body"),
            ..scenario(SEND, "provider_rejected_answer")
        },
        Scenario {
            input: Input::Json(bitbybit_request_example()),
            stub: bitbybit_refusal(
                429,
                "RATE_LIMIT_EXCEEDED",
                "Too many requests. Please retry after the reset period.",
            ),
            ..scenario(SEND, "rate_limited_answer")
        },
        Scenario {
            setup: Setup::NoAutocalls,
            ..send("configuration_error_answer")
        },
        Scenario {
            input: Input::Json(bitbybit_request_example()),
            stub: bitbybit_refusal(401, "INVALID_API_KEY", "Invalid or expired API key"),
            ..scenario(SEND, "provider_auth_failed_answer")
        },
        Scenario {
            stub: Stub::Autocalls(503, json!({"message": "Service Unavailable"})),
            ..send("provider_unavailable_answer")
        },
        Scenario {
            input: Input::Json({
                let mut keyed = autocalls();
                keyed["idempotency_key"] = json!("order-8812-reminder");
                keyed
            }),
            stub: Stub::Autocalls(500, json!({"message": "Server Error"})),
            setup: Setup::Table,
            ..scenario(SEND, "delivery_unknown_answer")
        },
        Scenario {
            setup: Setup::SecretsDown,
            ..send("secret_unavailable_answer")
        },
        Scenario {
            input: Input::Json(bitbybit_request_example()),
            setup: Setup::Hang,
            ..scenario(SEND, "provider_timeout_answer")
        },
        Scenario {
            input: Input::Example,
            stub: Stub::AutocallsOnly,
            ..scenario(BATCH, "two_messages")
        },
        Scenario {
            input: Input::Json(json!({"messages": vec![autocalls(); 101]})),
            ..scenario(BATCH, "too_many_messages_answer")
        },
        Scenario {
            method: "GET",
            input: Input::None,
            ..scenario(BATCH, "method_not_allowed_answer")
        },
        Scenario {
            input: big(1024 * 1024),
            ..scenario(BATCH, "payload_too_large_answer")
        },
        Scenario {
            content_type: "application/x-www-form-urlencoded",
            input: Input::Json(two),
            ..scenario(BATCH, "unsupported_media_type_answer")
        },
        Scenario {
            method: "GET",
            input: Input::None,
            ..scenario(HEALTH, "ok")
        },
        Scenario {
            input: Input::None,
            ..scenario(HEALTH, "method_not_allowed_answer")
        },
    ]
}

/// The send route's request examples `autocalls_send` and `bitbybit_send`.
fn autocalls_request_example() -> Value {
    request_example("autocalls_send")
}

fn bitbybit_request_example() -> Value {
    request_example("bitbybit_send")
}

fn request_example(name: &str) -> Value {
    spec()["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"][name]["value"]
        .clone()
}

async fn run(spec: &Value, scenario: &Scenario, example: &Value) -> HttpAnswer {
    setup();
    let mut vars = vec![];
    if matches!(scenario.setup, Setup::Table | Setup::InFlight) {
        vars.push(("IDEMPOTENCY_TABLE", create_idempotency_table().await));
    }
    if scenario.setup == Setup::Hang {
        vars.push(("PROVIDER_TIMEOUT_MS", "300".to_string()));
    }
    if scenario.setup == Setup::ProductionUrls {
        vars.push((
            "BITBYBIT_BASE_URL",
            "https://api.bitbybit.studio/whatsapp/open/v1".to_string(),
        ));
    }
    let secret = (scenario.setup == Setup::NoAutocalls)
        .then(|| json!({"bitbybit": {"api_key": BITBYBIT_KEY}}).to_string())
        .or(Some(default_secret()));
    let t = TestApp::with(Options {
        vars,
        secret,
        ..Options::default()
    })
    .await;
    let bitbybit_accepts = json!({"data": {"messageId2": "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ2", "timestamp": "2026-01-15T14:00:00Z"}});
    let answers: Vec<(&MockServer, u16, Value)> = match &scenario.stub {
        Stub::None => vec![],
        Stub::Autocalls(status, body) => vec![(&t.stubs["autocalls"], *status, body.clone())],
        Stub::Bitbybit(status, body) => vec![(&t.stubs["bitbybit"], *status, body.clone())],
        Stub::Meta(status, body) => vec![(&t.stubs["meta"], *status, body.clone())],
        Stub::Both => vec![
            (&t.stubs["autocalls"], 200, autocalls_success()),
            (&t.stubs["bitbybit"], 200, bitbybit_accepts),
        ],
        Stub::AutocallsOnly => vec![
            (&t.stubs["autocalls"], 200, autocalls_success()),
            (
                &t.stubs["bitbybit"],
                400,
                json!({"error": {"code": "VALIDATION_ERROR", "message": "Invalid request body"}}),
            ),
        ],
    };
    for (server, status, body) in answers {
        let response = ResponseTemplate::new(status)
            .set_body_json(body)
            .insert_header("retry-after", "30");
        answer_every_post(server, response).await;
    }
    if scenario.setup == Setup::Hang {
        answer_every_post(
            &t.stubs["bitbybit"],
            ResponseTemplate::new(200).set_delay(Duration::from_secs(5)),
        )
        .await;
    }
    if scenario.setup == Setup::SecretsDown {
        t.aws.set_mode(Mode::Refuse);
    }
    let body = match &scenario.input {
        Input::Example => Some(
            spec["paths"][scenario.path]["post"]["requestBody"]["content"]["application/json"]
                ["examples"][scenario.example]["value"]
                .to_string(),
        ),
        Input::Json(value) => Some(value.to_string()),
        Input::Raw(text) => Some(text.clone()),
        Input::None => None,
    };
    if scenario.setup == Setup::InFlight {
        // The same request, still in flight under its key in another invocation.
        let request: Value = serde_json::from_str(body.as_deref().unwrap()).unwrap();
        let parsed =
            SendRequest::parse(&request.to_string(), None, Some("order-8812-reminder")).unwrap();
        let key = parsed.fingerprint(&crate::support::fingerprint_key());
        let table = t.app.config.idempotency_table.clone().unwrap();
        dynamodb()
            .await
            .put_item()
            .table_name(table)
            .item(
                "id",
                aws_sdk_dynamodb::types::AttributeValue::S(wa_dispatch::send::record_id(
                    "http",
                    "order-8812-reminder",
                )),
            )
            .item(
                "fingerprint",
                aws_sdk_dynamodb::types::AttributeValue::S(key),
            )
            .item(
                "state",
                aws_sdk_dynamodb::types::AttributeValue::S("sending".into()),
            )
            .item(
                "lease_until",
                aws_sdk_dynamodb::types::AttributeValue::N("99999999999".into()),
            )
            .item(
                "expires_at",
                aws_sdk_dynamodb::types::AttributeValue::N("99999999999".into()),
            )
            .send()
            .await
            .unwrap();
    }
    // The example's own request id goes in as the caller's X-Request-Id.
    let request_id = example["error"]["request_id"]
        .as_str()
        .or(example["request_id"].as_str())
        .or(example["results"][0]["request_id"].as_str())
        .unwrap_or("r-spec")
        .to_string();
    let mut headers = vec![
        ("content-type", scenario.content_type),
        ("x-request-id", request_id.as_str()),
    ];
    if scenario.setup == Setup::InFlight {
        headers.push(("idempotency-key", "order-8812-reminder"));
    }
    t.http(http_v2(scenario.method, scenario.route, body, &headers))
        .await
}

#[tokio::test]
async fn every_example_is_what_the_handler_answers() {
    let spec = spec();
    let scenarios = scenarios();
    let test_only = crate::support::fixtures::test_only();
    assert!(
        !test_only.is_empty(),
        "the tests' build has a test-only provider"
    );
    let mut checked = 0;
    let mut differences = vec![];
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (verb, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(&spec, response);
                let examples = response["content"]["application/json"]["examples"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                for (name, example) in examples {
                    let value = &example["value"];
                    if value["error"]["code"] == "INTERNAL" {
                        // No input reaches a bug: the document is the one INTERNAL answers.
                        let document = ApiError::internal()
                            .to_document(value["error"]["request_id"].as_str().unwrap());
                        assert_eq!(&document, value, "{verb} {path} {status} {name}");
                        checked += 1;
                        continue;
                    }
                    let scenario = scenarios
                        .iter()
                        .find(|s| s.path == path && s.example == name)
                        .unwrap_or_else(|| {
                            panic!("{verb} {path} {status} {name}: no scenario drives this example")
                        });
                    let mut answer = run(&spec, scenario, value).await;
                    // The tests' build has test-only providers (`echo`) a deployment never
                    // has: a message listing the providers lists them last.
                    if let Some(message) = answer.body["error"]["message"].as_str() {
                        let deployed = test_only.iter().fold(message.to_string(), |m, name| {
                            m.replace(&format!(", {name}"), "")
                        });
                        answer.body["error"]["message"] = json!(deployed);
                    }
                    let mut errors = vec![];
                    if answer.status.to_string() != *status {
                        errors.push(format!("status: handler {}", answer.status));
                    }
                    matches(value, &answer.body, "$", &mut errors);
                    for error in errors {
                        differences.push(format!("{verb} {path} {status} {name}: {error}"));
                    }
                    for header in response["headers"].as_object().into_iter().flatten() {
                        let (header, declared) = header;
                        if resolve(&spec, declared)["required"] == true {
                            assert!(
                                answer.headers.contains_key(&header.to_ascii_lowercase()),
                                "{verb} {path} {status} {name}: no {header} header"
                            );
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(
        differences.is_empty(),
        "examples that differ from the handler:\n{}",
        differences.join("\n")
    );
    assert!(checked >= 30, "{checked} examples checked");
}

/// A send request with `field` set to `value`, otherwise valid for its provider.
fn with_field(field: &str, value: Value) -> Value {
    let mut body = json!({"provider": "bitbybit", "to": "+62 812 3456 7890", "template": "t"});
    if matches!(field, "recipient_name" | "variables.name") {
        body = json!({"provider": "autocalls", "to": "+1 415 555 1234", "template": 45});
    }
    match field {
        "variables.name" => body["variables"] = value,
        "variables.value" => body["variables"] = json!([value]),
        _ => body[field] = value,
    }
    body
}

/// The field an error names, or `None` when the request parses.
fn refused_field(body: &Value) -> Option<String> {
    SendRequest::parse(&body.to_string(), None, None)
        .err()
        .map(|e: ApiError| e.field.unwrap_or_default())
}

/// A field's value of a given number of characters (entries, for `variables`).
type ValueOfLength = Box<dyn Fn(usize) -> Value>;

#[test]
fn every_limit_the_parser_enforces_is_in_the_schema() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let send = &schemas["SendRequest"]["properties"];
    let number = |v: &Value| v.as_u64().unwrap() as usize;
    // (field as the request names it, the spec's bound, a value of that many characters)
    let text = |n: usize| json!("a".repeat(n));
    let limits: Vec<(&str, usize, ValueOfLength)> = vec![
        (
            "to",
            number(&send["to"]["maxLength"]),
            Box::new(|n| json!(format!("{:<n$}", "+62 812 3456 7890"))),
        ),
        (
            "template",
            number(&send["template"]["oneOf"][0]["maxLength"]),
            Box::new(text),
        ),
        (
            "recipient_name",
            number(&send["recipient_name"]["maxLength"]),
            Box::new(text),
        ),
        (
            "media_url",
            number(&send["media_url"]["maxLength"]),
            Box::new(|n| json!(format!("https://cdn.example/{}", "a".repeat(n - 20)))),
        ),
        (
            "client_reference",
            number(&send["client_reference"]["maxLength"]),
            Box::new(text),
        ),
        (
            "idempotency_key",
            number(&send["idempotency_key"]["maxLength"]),
            Box::new(text),
        ),
        (
            "variables",
            number(&send["variables"]["oneOf"][0]["maxItems"]),
            Box::new(|n| json!(vec!["v"; n])),
        ),
        (
            "variables.value",
            number(&schemas["VariableValue"]["oneOf"][0]["maxLength"]),
            Box::new(text),
        ),
        (
            "variables.name",
            number(&send["variables"]["oneOf"][1]["propertyNames"]["maxLength"]),
            Box::new(|n| json!({ "a".repeat(n): "v" })),
        ),
    ];
    assert_eq!(
        send["variables"]["oneOf"][1]["maxProperties"],
        send["variables"]["oneOf"][0]["maxItems"]
    );
    for (field, bound, value) in limits {
        let at = with_field(field, value(bound));
        assert_eq!(refused_field(&at), None, "{field} of {bound} is accepted");
        let over = refused_field(&with_field(field, value(bound + 1)));
        let named = over.as_deref().unwrap_or("(accepted)");
        assert!(
            over.is_some() && named.starts_with(field.split('.').next().unwrap()),
            "{field} of {} is refused naming the field, as the spec's {bound} says: {named}",
            bound + 1
        );
    }
    // A bitbybit template name of spaces only is refused; the schema says so too.
    assert_eq!(send["template"]["oneOf"][0]["pattern"], "\\S");
    assert_eq!(
        refused_field(&with_field("template", json!("   "))).as_deref(),
        Some("template")
    );
    // The batch's bounds and the body sizes.
    let batch = &schemas["BatchRequest"]["properties"]["messages"];
    assert_eq!(
        number(&batch["maxItems"]),
        wa_dispatch::entry::http::MAX_BATCH_ENTRIES
    );
    let conventions = spec["info"]["description"].as_str().unwrap();
    let sizes = format!(
        "Bodies over {} KiB ({} MiB for `POST /v1/messages/batch`)",
        wa_dispatch::entry::http::MAX_BODY / 1024,
        wa_dispatch::entry::http::MAX_BATCH_BODY / (1024 * 1024)
    );
    assert!(conventions.contains(&sizes), "the spec says: {sizes}");
}
