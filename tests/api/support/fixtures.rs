//! Each provider's test fixture, one file per provider under `support/providers/`, found
//! through the crate's registry: a provider the registry holds and no fixture describes
//! fails every test that starts an App. Adding a provider to the tests is its fixture file.

use serde_json::Value;
use std::collections::BTreeMap;
use wa_dispatch::providers::REGISTRY;
use wiremock::MockServer;

/// One provider's fixture.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub name: &'static str,
    /// Put after the stub's address to make the provider's base URL.
    pub base_path: String,
    /// The provider's entry of the secret.
    pub secret: Value,
    /// A send request that its stub's `success` accepts.
    pub request: Value,
    pub success: Value,
    /// One documented refusal: its HTTP status, body, and the code it maps to.
    pub refusal: (u16, Value, String),
}

pub fn fixture(name: &'static str) -> Fixture {
    let path = format!(
        "{}/tests/api/support/providers/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("no fixture for {name}: {path}"));
    let f: Value = serde_json::from_str(&text).unwrap();
    Fixture {
        name,
        base_path: f["base_path"].as_str().unwrap().to_string(),
        secret: f["secret"].clone(),
        request: f["request"].clone(),
        success: f["success"].clone(),
        refusal: (
            f["refusal"]["status"].as_u64().unwrap() as u16,
            f["refusal"]["body"].clone(),
            f["refusal"]["code"].as_str().unwrap().to_string(),
        ),
    }
}

/// Every provider of the registry, with its fixture.
pub fn all() -> Vec<Fixture> {
    REGISTRY.iter().map(|p| fixture(p.name())).collect()
}

/// The providers only the tests' build has (a deployment never does): the registry's entries
/// under `#[cfg(any(test, feature = "test-providers"))]` in src/providers/mod.rs, each named
/// after its file.
pub fn test_only() -> Vec<String> {
    let path = format!("{}/src/providers/mod.rs", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let names: Vec<String> = lines
        .windows(2)
        .filter(|pair| pair[0] == r#"#[cfg(any(test, feature = "test-providers"))]"#)
        .filter_map(|pair| pair[1].strip_prefix('&')?.split("::").next())
        .map(str::to_string)
        .collect();
    for name in &names {
        assert!(
            wa_dispatch::providers::find(name).is_some(),
            "{name} is in the registry"
        );
    }
    names
}

/// The key a provider's fixture holds (its entry's credential field).
pub fn key_of(fixture: &Fixture) -> String {
    let provider = wa_dispatch::providers::find(fixture.name).unwrap();
    fixture.secret[provider.key_field()]
        .as_str()
        .unwrap()
        .to_string()
}

/// One provider stub per provider of the registry.
pub struct Stubs(pub BTreeMap<&'static str, MockServer>);

impl Stubs {
    pub async fn start() -> Stubs {
        let mut stubs = BTreeMap::new();
        for provider in REGISTRY {
            stubs.insert(provider.name(), MockServer::start().await);
        }
        Stubs(stubs)
    }

    /// `<NAME>_BASE_URL` of each provider, at its stub.
    pub fn base_urls(&self) -> Vec<(&'static str, String)> {
        self.0
            .iter()
            .map(|(name, server)| {
                let variable: &'static str =
                    Box::leak(format!("{}_BASE_URL", name.to_ascii_uppercase()).into_boxed_str());
                (
                    variable,
                    format!("{}{}", server.uri(), fixture(name).base_path),
                )
            })
            .collect()
    }

    /// The requests every stub received, all providers together.
    pub async fn received(&self) -> usize {
        let mut total = 0;
        for server in self.0.values() {
            total += server.received_requests().await.unwrap_or_default().len();
        }
        total
    }
}

impl std::ops::Index<&str> for Stubs {
    type Output = MockServer;

    fn index(&self, name: &str) -> &MockServer {
        &self.0[name]
    }
}
