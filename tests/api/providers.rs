//! What every provider of the registry must do, each tried from its fixture file
//! (`support/providers/<name>.json`): send from every event source, through the built
//! function too; send nothing for a bad request; map its documented refusal; never take a
//! broken answer for a success; and leak none of its key.

use crate::support::fixtures::{self, Fixture, Stubs};
use crate::support::function::Launch;
use crate::support::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::ResponseTemplate;

async fn answering(fixture: &Fixture, t: &TestApp, response: ResponseTemplate) {
    t.stubs[fixture.name].reset().await;
    answer_every_post(&t.stubs[fixture.name], response).await;
}

fn sqs(body: &Value) -> Value {
    json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": body.to_string(),
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sends"}]})
}

fn eventbridge(detail: &Value) -> Value {
    json!({"version": "0", "id": "ev-1", "detail-type": "send", "source": "wa-dispatch.send",
           "account": "123456789012", "time": "2026-12-01T10:00:00Z", "region": "us-east-1",
           "resources": [], "detail": detail})
}

#[tokio::test]
async fn every_provider_sends_from_every_event_source() {
    for fixture in fixtures::all() {
        let t = TestApp::start().await;
        answering(
            &fixture,
            &t,
            ResponseTemplate::new(200).set_body_json(fixture.success.clone()),
        )
        .await;
        let http = t.post("/v1/messages", &fixture.request).await;
        assert_eq!(http.status, 200, "{}: {:?}", fixture.name, http.body);
        assert_eq!(http.body["provider"], fixture.name);
        let direct = t.invoke(fixture.request.clone()).await.unwrap();
        assert_eq!(direct["http_status"], 200, "{}: {direct}", fixture.name);
        let batch = t.invoke(sqs(&fixture.request)).await.unwrap();
        assert_eq!(batch, json!({"batchItemFailures": []}), "{}", fixture.name);
        let event = t.invoke(eventbridge(&fixture.request)).await;
        assert!(event.is_ok(), "{}: {event:?}", fixture.name);
        assert_eq!(
            received(&t.stubs[fixture.name]).await,
            4,
            "{}",
            fixture.name
        );
    }
}

#[tokio::test]
async fn the_built_function_knows_every_provider() {
    setup();
    let stubs = Stubs::start().await;
    for fixture in fixtures::all() {
        answer_every_post(
            &stubs[fixture.name],
            ResponseTemplate::new(200).set_body_json(fixture.success.clone()),
        )
        .await;
    }
    let function = Launch::new().stubs(&stubs).start().await;
    for fixture in fixtures::all() {
        let answer = function
            .invoke(fixture.request.clone(), Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(answer["http_status"], 200, "{}: {answer}", fixture.name);
    }
    assert_eq!(stubs.received().await, fixtures::all().len());
}

#[tokio::test]
async fn a_bad_request_for_any_provider_sends_nothing_and_names_its_field() {
    let t = TestApp::start().await;
    for fixture in fixtures::all() {
        let mut bad = fixture.request.clone();
        bad["variabels"] = json!(["x"]);
        let answer = t.post("/v1/messages", &bad).await;
        assert_eq!(
            (answer.status, answer.field()),
            (400, Some("variabels")),
            "{}",
            fixture.name
        );
        let mut block = fixture.request.clone();
        block[fixture.name] = json!({"no_such_option": 1});
        let answer = t.post("/v1/messages", &block).await;
        assert_eq!(answer.status, 400, "{}", fixture.name);
        assert_eq!(
            answer.field(),
            Some(format!("{}.no_such_option", fixture.name).as_str())
        );
    }
    assert_eq!(t.stubs.received().await, 0);
    assert_eq!(
        t.aws.get_secret_value_calls(),
        0,
        "no secret read for a bad request"
    );
}

#[tokio::test]
async fn every_providers_refusal_maps_and_no_broken_answer_is_a_success() {
    for fixture in fixtures::all() {
        let t = TestApp::start().await;
        let (status, body, code) = fixture.refusal.clone();
        answering(
            &fixture,
            &t,
            ResponseTemplate::new(status).set_body_json(body),
        )
        .await;
        let refused = t.post("/v1/messages", &fixture.request).await;
        assert_eq!(refused.code(), code, "{}: {:?}", fixture.name, refused.body);
        for broken in [
            ResponseTemplate::new(200).set_body_string("<html>ok</html>"),
            ResponseTemplate::new(200).set_body_json(json!({})),
            ResponseTemplate::new(302).insert_header("location", "https://elsewhere.example/"),
            ResponseTemplate::new(503).set_body_string("busy"),
        ] {
            answering(&fixture, &t, broken).await;
            let answer = t.post("/v1/messages", &fixture.request).await;
            assert_eq!(
                (answer.status, answer.code()),
                (502, "PROVIDER_UNAVAILABLE"),
                "{}: {:?}",
                fixture.name,
                answer.body
            );
        }
        // An echo of everything it was sent leaks none of it.
        let mut echoed = fixture.request.to_string();
        echoed.push_str(&fixtures::key_of(&fixture));
        let echo =
            json!({"error": {"code": "X", "message": echoed}, "error_code": "X", "success": false});
        answering(&fixture, &t, ResponseTemplate::new(422).set_body_json(echo)).await;
        let answer = t.post("/v1/messages", &fixture.request).await;
        assert!(
            !answer
                .body
                .to_string()
                .contains(&fixtures::key_of(&fixture)),
            "{}",
            fixture.name
        );
        assert!(
            !answer.body.to_string().contains(SECRET_VARIABLE),
            "{}: {:?}",
            fixture.name,
            answer.body
        );
    }
}
