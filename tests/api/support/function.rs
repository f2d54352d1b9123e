//! The built function, started the one way every test starts it: under the Runtime API
//! stand-in (`runtime.rs`), with the default secret in a local file or in moto, and its
//! providers wherever the test points them.

use super::aws::{self, AwsProxy};
use super::default_secret;
use super::runtime::Runtime;
use std::sync::atomic::{AtomicUsize, Ordering};
use wiremock::MockServer;

/// What a test starts the function with.
pub struct Launch {
    vars: Vec<(&'static str, String)>,
}

static N: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

impl Launch {
    /// The default secret in a local file (`PROVIDER_SECRETS_FILE`).
    pub fn new() -> Launch {
        let secrets = std::env::temp_dir().join(unique("wa-dispatch-secrets"));
        std::fs::write(&secrets, default_secret()).unwrap();
        Launch {
            vars: vec![
                ("PROVIDER_SECRETS_FILE", secrets.display().to_string()),
                (
                    "WEBHOOK_MAX_AGE_SECONDS",
                    super::FIXTURES_MAX_AGE.to_string(),
                ),
            ],
        }
    }

    /// The default secret in moto, read through `aws` (a proxy that counts and can fail);
    /// the secret's id is returned, for rotations.
    pub async fn with_secret_in(aws: &AwsProxy) -> (Launch, String) {
        let secret_id = unique("wa/function");
        aws::put_secret(&secret_id, &default_secret()).await;
        let launch = Launch {
            vars: vec![
                ("AWS_ENDPOINT_URL", aws.url.clone()),
                ("PROVIDER_SECRET_ID", secret_id.clone()),
                (
                    "WEBHOOK_MAX_AGE_SECONDS",
                    super::FIXTURES_MAX_AGE.to_string(),
                ),
            ],
        };
        (launch, secret_id)
    }

    /// Every provider at its stub.
    pub fn stubs(self, stubs: &super::fixtures::Stubs) -> Launch {
        stubs
            .base_urls()
            .into_iter()
            .fold(self, |launch, (variable, url)| launch.var(variable, url))
    }

    /// bitbybit and autocalls at these stubs.
    pub fn providers(self, bitbybit: &MockServer, autocalls: &MockServer) -> Launch {
        self.var(
            "BITBYBIT_BASE_URL",
            format!("{}/whatsapp/open/v1", bitbybit.uri()),
        )
        .var("AUTOCALLS_BASE_URL", autocalls.uri())
    }

    pub fn var(mut self, name: &'static str, value: impl Into<String>) -> Launch {
        self.vars.push((name, value.into()));
        self
    }

    pub fn vars(self, extra: &[(&'static str, &str)]) -> Launch {
        extra.iter().fold(self, |launch, (k, v)| launch.var(k, *v))
    }

    pub async fn start(self) -> Runtime {
        super::setup();
        Runtime::start(&self.vars).await
    }
}
