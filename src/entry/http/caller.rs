//! Who asked, as the HTTP request's context says (docs/api.md, "Callers"): the IAM
//! principal API Gateway verified, or the JWT's subject and client; for the log line
//! (`caller`) and for the scope of idempotency keys. An assumed role's session is left out
//! of the scope, so that one application retrying from another instance (another session)
//! is still the same caller.

use lambda_http::request::RequestContext;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// Who asked, for the log line; `None` when the request carries no identity (a function
    /// URL or an ALB without one).
    pub name: Option<String>,
    /// Whose idempotency keys these are.
    pub scope: String,
}

/// Whose keys a request without an identity uses.
const ANONYMOUS: &str = "http";

impl Caller {
    pub fn of(context: Option<&RequestContext>) -> Caller {
        let authorizer = match context {
            Some(RequestContext::ApiGatewayV2(c)) => c.authorizer.as_ref(),
            Some(RequestContext::ApiGatewayV1(c)) => Some(&c.authorizer),
            _ => None,
        };
        let iam = authorizer
            .and_then(|a| a.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone())
            .or_else(|| match context {
                Some(RequestContext::ApiGatewayV1(c)) => c.identity.user_arn.clone(),
                _ => None,
            });
        if let Some(arn) = iam.filter(|a| !a.is_empty()) {
            return Caller {
                scope: format!("iam:{}", without_session(&arn)),
                name: Some(arn),
            };
        }
        let claims = authorizer
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims);
        let claim = |name: &str| claims.and_then(|c| c.get(name)).filter(|v| !v.is_empty());
        match (claim("sub"), claim("client_id")) {
            (None, None) => Caller {
                name: None,
                scope: ANONYMOUS.to_string(),
            },
            (sub, client) => {
                let (sub, client) = (
                    sub.map_or("", String::as_str),
                    client.map_or("", String::as_str),
                );
                Caller {
                    name: Some(format!("jwt sub={sub} client_id={client}")),
                    scope: format!("jwt:{}:{sub}:{client}", sub.len()),
                }
            }
        }
    }
}

/// `arn:aws:sts::123456789012:assumed-role/app/i-0abc` is the role
/// `arn:aws:sts::123456789012:assumed-role/app`, whichever session asks.
fn without_session(arn: &str) -> &str {
    match arn.split_once(":assumed-role/") {
        Some((_, role)) if role.contains('/') => {
            let cut = arn.len() - role.len() + role.find('/').unwrap_or(role.len());
            &arn[..cut]
        }
        _ => arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_roles_session_is_not_part_of_its_scope() {
        assert_eq!(
            without_session("arn:aws:sts::123456789012:assumed-role/app/i-0abc"),
            "arn:aws:sts::123456789012:assumed-role/app"
        );
        assert_eq!(
            without_session("arn:aws:iam::123456789012:user/ana"),
            "arn:aws:iam::123456789012:user/ana"
        );
        assert_eq!(Caller::of(None).scope, "http");
    }
}
