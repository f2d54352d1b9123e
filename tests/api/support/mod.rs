//! The test harness: spawns what a test needs (provider stubs, moto, the App) and hands
//! back handles. Every log line and metric line of the process is captured, so that tests
//! can check that no key, variable value or full phone number was ever written.

pub mod arrivals;
pub mod aws;
pub mod faulty_aws;
pub mod fixtures;
pub mod function;
pub mod hostile;
pub mod runtime;

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;
use wa_dispatch::infra::metrics::MetricsSink;
use wa_dispatch::{App, Config};
use wiremock::MockServer;

pub const BITBYBIT_KEY: &str = "sk-bitbybit-KEY-must-never-be-logged";
pub const AUTOCALLS_KEY: &str = "sk-autocalls-KEY-must-never-be-logged";
pub const ROTATED_KEY: &str = "sk-rotated-KEY-must-never-be-logged";
pub const META_TOKEN: &str = "EAAG-meta-TOKEN-must-never-be-logged";
/// Phone numbers the tests send to, as national digits that must never be logged whole.
pub const PHONE_US: &str = "+1 415 555 1234";
/// The idempotency fingerprint's key in the test secret.
pub const FINGERPRINT_KEY: &str = "fingerprint-KEY-of-at-least-32-characters-never-logged";
pub const SECRET_VARIABLE: &str = "variable-value-must-never-be-logged";
/// Everything the captured output must never contain.
pub const FORBIDDEN: &[&str] = &[
    BITBYBIT_KEY,
    AUTOCALLS_KEY,
    ROTATED_KEY,
    META_TOKEN,
    FINGERPRINT_KEY,
    SECRET_VARIABLE,
    "4155551234",
    "8123456789",
    "81234567890",
    "John Doe",
];

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
static SETUP: Once = Once::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.get().unwrap().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Once per process: fake AWS credentials and region for moto, and log capture.
pub fn setup() {
    SETUP.call_once(|| {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ] {
            std::env::set_var(k, v);
        }
        std::env::remove_var("AWS_ENDPOINT_URL");
        std::env::remove_var("AWS_PROFILE");
        LOGS.set(Arc::default()).unwrap();
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_env_filter("info,wa_dispatch=debug,wiremock=off")
            .with_writer(|| Capture)
            .init();
    });
}

/// All log lines written so far by this test process.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.get().unwrap().lock().unwrap()).into_owned()
}

pub fn assert_nothing_forbidden(text: &str) {
    for word in FORBIDDEN {
        assert!(!text.contains(word), "a captured line holds {word:?}");
    }
    for fixture in fixtures::all() {
        let key = fixtures::key_of(&fixture);
        assert!(
            !text.contains(&key),
            "a captured line holds {}'s key",
            fixture.name
        );
    }
}

/// Ten years: the webhook fixtures (the providers' published examples, dated 2025) are not
/// stale under it; the tests of staleness set their own.
pub const FIXTURES_MAX_AGE: &str = "315360000";

pub struct TestApp {
    pub app: App,
    /// One stub per provider of the registry, at its base URL (`t.stubs["meta"]`).
    pub stubs: fixtures::Stubs,
    pub aws: aws::AwsProxy,
    pub metrics: Arc<Mutex<Vec<String>>>,
    pub secret_id: String,
}

/// Settings for one test's App.
pub struct Options {
    pub vars: Vec<(&'static str, String)>,
    pub secret: Option<String>,
    /// Another AWS endpoint for the function (a fault proxy in front of moto).
    pub aws_endpoint: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            vars: vec![],
            secret: Some(default_secret()),
            aws_endpoint: None,
        }
    }
}

/// The secret of every provider's fixture, and the function's own fingerprint key.
pub fn default_secret() -> String {
    let mut secret = json!({"wa-dispatch": {"fingerprint_key": FINGERPRINT_KEY}});
    for fixture in fixtures::all() {
        secret[fixture.name] = fixture.secret;
    }
    secret.to_string()
}

pub fn fingerprint_key() -> wa_dispatch::infra::secrets::FingerprintKey {
    wa_dispatch::infra::secrets::FingerprintKey::new(FINGERPRINT_KEY).unwrap()
}

fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{prefix}-{}-{n}", std::process::id())
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::with(Options::default()).await
    }

    pub async fn with(options: Options) -> TestApp {
        setup();
        let stubs = fixtures::Stubs::start().await;
        let aws = aws::AwsProxy::start().await;
        let secret_id = unique("wa/providers");
        if let Some(text) = &options.secret {
            aws::put_secret(&secret_id, text).await;
        }
        let mut vars: HashMap<&str, String> = HashMap::from([
            ("PROVIDER_SECRET_ID", secret_id.clone()),
            ("PROVIDER_TIMEOUT_MS", "3000".into()),
            ("AUTOCALLS_MAX_RPS", "50".into()),
            // The webhook fixtures are the providers' published examples, dated 2025.
            ("WEBHOOK_MAX_AGE_SECONDS", FIXTURES_MAX_AGE.into()),
        ]);
        vars.extend(stubs.base_urls());
        vars.extend(options.vars);
        let mut config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
        config.aws_endpoint_url = Some(options.aws_endpoint.clone().unwrap_or(aws.url.clone()));
        let metrics: Arc<Mutex<Vec<String>>> = Arc::default();
        let app = App::with_metrics(config, MetricsSink::Buffer(metrics.clone()));
        TestApp {
            app,
            stubs,
            aws,
            metrics,
            secret_id,
        }
    }

    /// Runs one event through the real handler, as the Lambda runtime would.
    pub async fn invoke(&self, event: Value) -> Result<Value, String> {
        self.invoke_with(event, Duration::from_secs(30)).await
    }

    pub async fn invoke_with(&self, event: Value, time_left: Duration) -> Result<Value, String> {
        self.invoke_text(&event.to_string(), time_left).await
    }

    /// Runs one event given as JSON text (numbers as written, which a `Value` would not
    /// keep) through `lambda_http` and the handler, in this process, as the runtime would.
    pub async fn invoke_text(&self, event: &str, time_left: Duration) -> Result<Value, String> {
        wa_dispatch::entry::invoke(event, "lambda-req-1", time_left, &self.app)
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends `body` to `path` as an HTTP API v2 event and returns (status, headers, body).
    pub async fn post(&self, path: &str, body: &Value) -> HttpAnswer {
        self.http(http_v2("POST", path, Some(body.to_string()), &[]))
            .await
    }

    pub async fn http(&self, event: Value) -> HttpAnswer {
        HttpAnswer::from_envelope(
            self.invoke(event)
                .await
                .expect("HTTP events never fail the function"),
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_nothing_forbidden(&logs());
            assert_nothing_forbidden(&self.metrics.lock().unwrap().join("\n"));
        }
    }
}

#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
}

impl HttpAnswer {
    pub fn from_envelope(envelope: Value) -> HttpAnswer {
        let mut headers = HashMap::new();
        for key in ["headers", "multiValueHeaders"] {
            if let Some(map) = envelope[key].as_object() {
                for (k, v) in map {
                    let v = v
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v[0].as_str().unwrap_or("").to_string());
                    headers.insert(k.to_ascii_lowercase(), v);
                }
            }
        }
        let body = serde_json::from_str(envelope["body"].as_str().unwrap_or("null"))
            .unwrap_or(Value::Null);
        HttpAnswer {
            status: envelope["statusCode"].as_u64().unwrap() as u16,
            headers,
            body,
        }
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// `true` when the answer is an idempotent replay of an earlier one.
    pub fn replayed(&self) -> bool {
        self.headers.get("idempotent-replay").map(String::as_str) == Some("true")
    }

    pub fn field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }
}

/// The sample events of `events/`, read as they are shipped.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path}")))
        .unwrap()
}

/// An HTTP API v2 event (the function URL shape is the same).
pub fn http_v2(method: &str, path: &str, body: Option<String>, headers: &[(&str, &str)]) -> Value {
    let mut event = fixture("http-api-v2.json");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["requestContext"]["http"]["path"] = json!(path);
    event["body"] = json!(body);
    event["isBase64Encoded"] = json!(false);
    for (k, v) in headers {
        event["headers"][k.to_ascii_lowercase()] = json!(v);
    }
    event
}

pub fn autocalls_request() -> Value {
    fixtures::fixture("autocalls").request
}

pub fn bitbybit_request() -> Value {
    fixtures::fixture("bitbybit").request
}

pub fn meta_request() -> Value {
    fixtures::fixture("meta").request
}

/// Meta's documented success answer for a send to `PHONE_US`.
pub fn meta_success() -> Value {
    fixtures::fixture("meta").success
}

pub fn autocalls_success() -> Value {
    fixtures::fixture("autocalls").success
}

pub fn bitbybit_success() -> Value {
    fixtures::fixture("bitbybit").success
}

/// A provider stub that gives every POST `response`.
pub async fn answer_every_post(server: &MockServer, response: wiremock::ResponseTemplate) {
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Every POST to `server` answered 200 with `provider`'s documented success (its fixture's).
pub async fn accepts(server: &MockServer, provider: &'static str) {
    let success = fixtures::fixture(provider).success;
    answer_every_post(
        server,
        wiremock::ResponseTemplate::new(200).set_body_json(success),
    )
    .await;
}

/// The autocalls send request under idempotency key `key`.
pub fn keyed(key: &str) -> Value {
    let mut body = autocalls_request();
    body["idempotency_key"] = json!(key);
    body
}

/// The requests a provider stub received.
pub async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// The `latency_ms` of the last request line in a function's output.
pub fn logged_latency_ms(output: &str) -> u64 {
    output
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|l| l["latency_ms"].as_u64())
        .expect("a request line")
}

/// An HTTP API v2 event signed by an IAM principal (as the HTTP API's IAM authorizer puts it).
pub fn as_iam(mut event: Value, arn: &str) -> Value {
    event["requestContext"]["authorizer"] = json!({"iam": {
        "accessKey": "ASIA...", "accountId": "123456789012", "callerId": "AROA...:i-0abc",
        "principalOrgId": null, "userArn": arn, "userId": "AROA...:i-0abc"}});
    event
}

/// An HTTP API v2 event authorized by a JWT with this subject and client.
pub fn as_jwt(mut event: Value, sub: &str, client_id: &str) -> Value {
    event["requestContext"]["authorizer"] = json!({"jwt": {
        "claims": {"sub": sub, "client_id": client_id, "iss": "https://cognito-idp.example"},
        "scopes": null}});
    event
}
