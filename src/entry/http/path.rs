//! Which paths are ours (docs/api.md, "Routes"): `/v1/...` exactly, `/<stage>/v1/...` where
//! `<stage>` is the request's own stage, or `/<BASE_PATH>/v1/...` where a custom domain's
//! mapping leaves one segment in the path. Any other prefix, an empty segment or a trailing
//! `/` is no path of ours, so that a policy written for one route cannot be walked around
//! by spelling it differently. The one home of that rule.

/// The route part of `path` (from its `/v1` on), or `None` when the path is not ours.
pub fn route_path<'a>(
    path: &'a str,
    stage: Option<&str>,
    base_path: Option<&str>,
) -> Option<&'a str> {
    if !path.starts_with('/') || path.ends_with('/') || path.contains("//") {
        return None;
    }
    let is_ours = |rest: &str| rest == "/v1" || rest.starts_with("/v1/");
    if is_ours(path) {
        return Some(path);
    }
    let prefixes = [stage.filter(|s| *s != "$default"), base_path];
    prefixes.into_iter().flatten().find_map(|prefix| {
        let rest = path.strip_prefix('/')?.strip_prefix(prefix)?;
        is_ours(rest).then_some(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_ours_exactly_with_its_stage_or_the_base_path_and_never_spelled_otherwise() {
        assert_eq!(route_path("/v1/messages", None, None), Some("/v1/messages"));
        assert_eq!(
            route_path("/prod/v1/messages", Some("prod"), None),
            Some("/v1/messages")
        );
        assert_eq!(
            route_path("/api/v1/health", None, Some("api")),
            Some("/v1/health")
        );
        assert_eq!(
            route_path("/v1/messages", Some("$default"), None),
            Some("/v1/messages")
        );
        for walked_around in [
            "/x/v1/messages/batch",
            "//v1/messages/batch",
            "/v1/messages/batch//",
            "/v1/messages/batch/",
            "/v1//messages/batch",
            "/prodx/v1/messages",
            "/api/v1/health",
            "/a/b/v1/messages",
            "v1/messages",
            "/",
            "",
        ] {
            assert_eq!(
                route_path(walked_around, Some("prod"), None),
                None,
                "{walked_around}"
            );
        }
        assert_eq!(
            route_path("/$default/v1/messages", Some("$default"), None),
            None
        );
    }
}
