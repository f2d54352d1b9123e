//! A real AWS wire API for the tests: moto in server mode (one per test process, on a free
//! loopback port), and a TCP proxy in front of it that counts `GetSecretValue` calls and
//! can refuse or hang connections to play an outage.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

static MOTO: OnceLock<(Mutex<Child>, String)> = OnceLock::new();

/// The shared moto endpoint, started on first use.
pub fn moto_url() -> String {
    MOTO.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let python = format!("{root}/.venv/bin/python");
        assert!(
            std::path::Path::new(&python).exists(),
            "moto is missing: run `bash scripts/setup.sh` (or the README's test command) first"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(python)
            .arg(format!("{root}/tests/api/support/moto_launcher.py"))
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "moto did not start");
        (Mutex::new(child), format!("http://127.0.0.1:{port}"))
    })
    .1
    .clone()
}

/// The SDK configuration of the tests' own clients: straight to moto.
async fn moto_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .load()
        .await
}

pub async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&moto_config().await)
}

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto_config().await)
}

/// A fresh idempotency table in moto (partition key `id`, string), as the template makes it.
pub async fn create_idempotency_table() -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let table = format!("wa-idempotency-{}-{n}", std::process::id());
    dynamodb()
        .await
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    table
}

/// Creates (or overwrites) a secret in moto.
pub async fn put_secret(id: &str, text: &str) {
    let client = secrets_client().await;
    if client
        .put_secret_value()
        .secret_id(id)
        .secret_string(text)
        .send()
        .await
        .is_err()
    {
        client
            .create_secret()
            .name(id)
            .secret_string(text)
            .send()
            .await
            .expect("create secret");
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Mode {
    Forward = 0,
    /// Accept, then close at once: the connection is reset before any answer.
    Refuse = 1,
    /// Accept and never answer.
    Hang = 2,
}

/// A TCP proxy (to moto, or to a provider stub) that counts connections and
/// `GetSecretValue` requests, and can fail on demand.
#[derive(Clone)]
pub struct AwsProxy {
    pub url: String,
    mode: Arc<AtomicU8>,
    calls: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    /// Connections numbered up to this one go silent, as after a Lambda freeze.
    frozen_up_to: Arc<AtomicUsize>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl AwsProxy {
    pub async fn start() -> AwsProxy {
        AwsProxy::to(moto_url().trim_start_matches("http://")).await
    }

    /// A proxy to `upstream` (`host:port`).
    pub async fn to(upstream: &str) -> AwsProxy {
        let upstream = upstream.to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = AwsProxy {
            url: format!("http://{}", listener.local_addr().unwrap()),
            mode: Arc::default(),
            calls: Arc::default(),
            connections: Arc::default(),
            frozen_up_to: Arc::default(),
            held: Arc::default(),
        };
        let this = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let number = this.connections.fetch_add(1, Ordering::SeqCst) + 1;
                match this.mode() {
                    Mode::Refuse => drop(client),
                    Mode::Hang => this.held.lock().unwrap().push(client),
                    Mode::Forward => {
                        let this = this.clone();
                        let upstream = upstream.clone();
                        tokio::spawn(async move { forward(client, &upstream, this, number).await });
                    }
                }
            }
        });
        proxy
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
        if mode != Mode::Hang {
            self.held.lock().unwrap().clear();
        }
    }

    fn mode(&self) -> Mode {
        match self.mode.load(Ordering::SeqCst) {
            1 => Mode::Refuse,
            2 => Mode::Hang,
            _ => Mode::Forward,
        }
    }

    pub fn get_secret_value_calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Every connection open now stops carrying bytes but stays open, as a connection
    /// does whose peer vanished while the function was frozen.
    pub fn freeze_open_connections(&self) {
        self.frozen_up_to
            .store(self.connections(), Ordering::SeqCst);
    }
}

async fn forward(mut client: TcpStream, upstream: &str, proxy: AwsProxy, number: usize) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let frozen = || number <= proxy.frozen_up_to.load(Ordering::SeqCst);
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upload = async {
        let mut buf = vec![0u8; 16 * 1024];
        let needle = b"secretsmanager.GetSecretValue";
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if frozen() {
                std::future::pending::<()>().await;
            }
            proxy.calls.fetch_add(
                buf[..n]
                    .windows(needle.len())
                    .filter(|w| w == needle)
                    .count(),
                Ordering::SeqCst,
            );
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let download = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upload, download);
}

/// A fresh status bus in moto with a rule on its status events targeting a fresh SQS
/// queue, so that a test reads what was published: (bus name, queue URL).
pub async fn create_status_bus() -> (String, String) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let name = format!("wa-status-{}-{n}", std::process::id());
    let config = moto_config().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    events
        .create_event_bus()
        .name(&name)
        .send()
        .await
        .expect("create bus");
    let queue = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("create queue");
    let url = queue.queue_url().unwrap().to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    events
        .put_rule()
        .name(&name)
        .event_bus_name(&name)
        .event_pattern(
            r#"{"source": ["wa-dispatch.status", "wa-dispatch.template"], "detail-type": ["WhatsApp message status", "WhatsApp template status"]}"#,
        )
        .send()
        .await
        .expect("put rule");
    events
        .put_targets()
        .rule(&name)
        .event_bus_name(&name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("put targets");
    (name, url)
}

/// Every event the queue holds (each one's `detail`), waiting up to a few seconds for
/// `at_least` of them.
pub async fn published(queue_url: &str, at_least: usize) -> Vec<serde_json::Value> {
    let sqs = aws_sdk_sqs::Client::new(&moto_config().await);
    let mut found = vec![];
    for _ in 0..20 {
        let output = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            let event: serde_json::Value = serde_json::from_str(message.body().unwrap()).unwrap();
            found.push(event);
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        if output.messages().is_empty() && found.len() >= at_least {
            break;
        }
        if output.messages().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    found
}
