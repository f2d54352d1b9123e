//! The routes (docs/api.md, "Routes"): a route is one line here and one handler file. Its
//! path may hold `{parameters}` (one segment each); its methods each have a handler; its
//! body limit is checked before anything is read. 404, 405 with `Allow`, 413 and 415 come
//! from this table, never from a handler; the one exception is a webhook's `GET` for a
//! provider without a handshake, a 405 in the same words (`reply::not_allowed`).

use super::reply::{Call, Reply};
use super::{batch, health, send, status, webhook};
use futures_util::future::BoxFuture;

/// A route's handler for one method.
pub type Handler = for<'a> fn(&'a Call<'a>) -> BoxFuture<'a, Reply>;

pub struct Route {
    pub path: &'static str,
    pub methods: &'static [(&'static str, Handler)],
    /// The largest body taken, in bytes.
    pub body_limit: usize,
}

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;
pub const MAX_BODY: usize = 64 * KIB;
pub const MAX_BATCH_BODY: usize = MIB;
/// Meta's webhook payloads are up to 3 MB.
pub const MAX_WEBHOOK_BODY: usize = 4 * MIB;

#[rustfmt::skip]
pub static ROUTES: &[Route] = &[
    Route { path: "/v1/messages", methods: &[("POST", send::handle)], body_limit: MAX_BODY },
    Route { path: "/v1/messages/batch", methods: &[("POST", batch::handle)], body_limit: MAX_BATCH_BODY },
    Route { path: "/v1/messages/{provider}/{message_id}", methods: &[("GET", status::handle)], body_limit: 0 },
    Route { path: "/v1/health", methods: &[("GET", health::handle)], body_limit: 0 },
    Route { path: "/v1/webhooks/{provider}", methods: &[("GET", webhook::verify), ("POST", webhook::receive)], body_limit: MAX_WEBHOOK_BODY },
];

/// The route of `path` (already without its stage or base path) and its parameters.
pub fn find<'a>(
    routes: &'static [Route],
    path: &'a str,
) -> Option<(&'static Route, Vec<(&'static str, &'a str)>)> {
    routes
        .iter()
        .find_map(|route| Some((route, matches(route.path, path)?)))
}

fn matches<'a>(pattern: &'static str, path: &'a str) -> Option<Vec<(&'static str, &'a str)>> {
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                params.push((&w[1..w.len() - 1], g));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

impl Route {
    /// The handler for `method`: methods are upper case, as HTTP says.
    pub fn handler(&self, method: &str) -> Option<Handler> {
        self.methods
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, h)| *h)
    }

    /// The `Allow` header's value.
    pub fn allow(&self) -> String {
        self.methods
            .iter()
            .map(|(m, _)| *m)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_pattern_segment_by_segment() {
        assert_eq!(matches("/v1/messages", "/v1/messages"), Some(vec![]));
        assert_eq!(
            matches(
                "/v1/messages/{provider}/{message_id}",
                "/v1/messages/meta/wamid.X"
            ),
            Some(vec![("provider", "meta"), ("message_id", "wamid.X")])
        );
        assert_eq!(
            matches("/v1/messages/{provider}/{message_id}", "/v1/messages/meta"),
            None
        );
        assert_eq!(matches("/v1/messages", "/v1/messages/batch"), None);
        assert_eq!(matches("/v1/webhooks/{provider}", "/v1/webhooks/"), None);
        assert!(find(ROUTES, "/v1/message").is_none());
    }
}
