//! The four HTTP envelopes, decoded with `aws_lambda_events`' request types and answered
//! with its response types, so that each origin gets the shape it understands.

use crate::entry::FunctionError;
use aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupResponse};
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    RestV1,
    /// HTTP API payload v2 and function URLs share one shape.
    HttpV2,
    Alb,
}

pub struct HttpRequest {
    pub origin: Origin,
    pub method: String,
    pub path: String,
    pub stage: Option<String>,
    headers: HeaderMap,
    body: Option<String>,
    base64: bool,
    /// An ALB target group with multi-value headers wants them back the same way.
    multi_value: bool,
}

pub enum BodyError {
    TooLarge,
    BadBase64,
}

/// An answer before it is put in its envelope.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(status: u16, document: Value) -> Self {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: document.to_string(),
        }
    }

    pub fn with_request_id(mut self, request_id: &str) -> Self {
        self.headers
            .push(("x-request-id".into(), request_id.into()));
        self
    }
}

fn malformed(origin: Origin, error: serde_json::Error) -> FunctionError {
    let source_name = match origin {
        Origin::RestV1 => "API Gateway REST",
        Origin::HttpV2 => "HTTP API or function URL",
        Origin::Alb => "ALB",
    };
    FunctionError::Malformed {
        source_name,
        reason: error.to_string(),
    }
}

impl HttpRequest {
    pub fn decode(event: Value, origin: Origin) -> Result<Self, FunctionError> {
        Ok(match origin {
            Origin::RestV1 => {
                let e: ApiGatewayProxyRequest =
                    serde_json::from_value(event).map_err(|e| malformed(origin, e))?;
                HttpRequest {
                    origin,
                    method: e.http_method.to_string(),
                    path: e.path.unwrap_or_default(),
                    stage: e.request_context.stage,
                    headers: merged(e.headers, e.multi_value_headers),
                    body: e.body,
                    base64: e.is_base64_encoded,
                    multi_value: false,
                }
            }
            Origin::HttpV2 => {
                let e: ApiGatewayV2httpRequest =
                    serde_json::from_value(event).map_err(|e| malformed(origin, e))?;
                HttpRequest {
                    origin,
                    method: e.request_context.http.method.to_string(),
                    path: e
                        .raw_path
                        .or(e.request_context.http.path)
                        .unwrap_or_default(),
                    stage: e.request_context.stage,
                    headers: e.headers,
                    body: e.body,
                    base64: e.is_base64_encoded,
                    multi_value: false,
                }
            }
            Origin::Alb => {
                let multi_value = event
                    .get("multiValueHeaders")
                    .is_some_and(|h| h.is_object());
                let e: AlbTargetGroupRequest =
                    serde_json::from_value(event).map_err(|e| malformed(origin, e))?;
                HttpRequest {
                    origin,
                    method: e.http_method.to_string(),
                    path: e.path.unwrap_or_default(),
                    stage: None,
                    headers: merged(e.headers, e.multi_value_headers),
                    body: e.body,
                    base64: e.is_base64_encoded,
                    multi_value,
                }
            }
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's bytes, refused past `limit` before any decoding work is done.
    pub fn body_bytes(&self, limit: usize) -> Result<Vec<u8>, BodyError> {
        let Some(body) = &self.body else {
            return Ok(Vec::new());
        };
        if !self.base64 {
            return if body.len() > limit {
                Err(BodyError::TooLarge)
            } else {
                Ok(body.clone().into_bytes())
            };
        }
        if body.len() > limit.div_ceil(3) * 4 + 4 {
            return Err(BodyError::TooLarge);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|_| BodyError::BadBase64)?;
        if bytes.len() > limit {
            return Err(BodyError::TooLarge);
        }
        Ok(bytes)
    }

    /// Puts the answer in the envelope this origin expects.
    pub fn encode(&self, answer: Answer) -> Value {
        let headers = header_map(&answer.headers);
        let body = Some(Body::Text(answer.body));
        let status = i64::from(answer.status);
        let value = match self.origin {
            Origin::RestV1 => {
                let mut r = ApiGatewayProxyResponse::default();
                (r.status_code, r.headers, r.body) = (status, headers, body);
                serde_json::to_value(r)
            }
            Origin::HttpV2 => {
                let mut r = ApiGatewayV2httpResponse::default();
                (r.status_code, r.headers, r.body) = (status, headers, body);
                serde_json::to_value(r)
            }
            Origin::Alb => {
                let mut r = AlbTargetGroupResponse::default();
                r.status_code = status;
                r.status_description = Some(format!("{} {}", answer.status, reason(answer.status)));
                if self.multi_value {
                    r.multi_value_headers = headers;
                } else {
                    r.headers = headers;
                }
                r.body = body;
                serde_json::to_value(r)
            }
        };
        value.unwrap_or_else(|_| serde_json::json!({"statusCode": 500, "body": "{\"error\":{\"code\":\"INTERNAL\"}}"}))
    }
}

/// REST and ALB events may carry both header maps; the multi-value one is complete.
fn merged(single: HeaderMap, multi: HeaderMap) -> HeaderMap {
    let mut headers = single;
    for name in multi.keys() {
        if let Some(first) = multi.get(name) {
            headers.insert(name.clone(), first.clone());
        }
    }
    headers
}

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

fn reason(status: u16) -> &'static str {
    aws_lambda_events::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}
