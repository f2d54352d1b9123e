//! `POST /v1/messages`: one send request; the `Idempotency-Key` header is its key when the
//! body has none.

use super::reply::{Call, Reply};
use crate::entry::shared::finish;
use crate::send::Context;
use futures_util::future::BoxFuture;

pub fn handle<'a>(call: &'a Call<'a>) -> BoxFuture<'a, Reply> {
    Box::pin(async move {
        let text = match super::reply::json_text(call) {
            Ok(text) => text,
            Err(error) => return call.rejected(error),
        };
        let default_key = match call.idempotency_key() {
            Ok(header) => header,
            Err(error) => return call.rejected(error),
        };
        let context = Context {
            invocation: call.invocation,
            default_key,
            scope: &call.caller.scope,
            caller: call.caller.name.as_deref(),
        };
        let outcome = call.app.sender.send(text, &context).await;
        finish(
            call.app,
            "http",
            &call.invocation.request_id,
            None,
            &outcome,
            call.started,
        );
        Reply::of(&outcome)
    })
}
