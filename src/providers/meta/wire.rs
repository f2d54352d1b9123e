//! The Graph API's template message, as Meta's send-messages page gives it
//! (docs/providers.md, "meta"): private `Serialize` types, so that what is sent is typed
//! and a dry run shows exactly this.

use serde::Serialize;

#[derive(Serialize)]
pub(super) struct GraphBody<'a> {
    pub messaging_product: &'static str,
    pub recipient_type: &'static str,
    pub to: &'a str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub template: Template<'a>,
    /// Our `client_reference`, which Meta echoes in every status of the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct Template<'a> {
    pub name: &'a str,
    pub language: Language<'a>,
    /// Sent only when there is something in them.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub components: &'a [Component],
}

#[derive(Serialize)]
pub(super) struct Language<'a> {
    pub code: &'a str,
}

/// One component of the template: its header, its body, one of its buttons.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum Component {
    Header {
        parameters: Vec<Parameter>,
    },
    Body {
        parameters: Vec<Parameter>,
    },
    Button {
        sub_type: ButtonKind,
        /// Meta takes the button's position as a string.
        index: String,
        parameters: Vec<Parameter>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ButtonKind {
    Url,
    QuickReply,
    CopyCode,
}

/// A parameter: a text (positional, or named by `parameter_name`), a media link, a quick
/// reply's payload or a coupon code.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Parameter {
    Text {
        #[serde(skip_serializing_if = "Option::is_none")]
        parameter_name: Option<String>,
        text: String,
    },
    Image {
        image: Link,
    },
    Video {
        video: Link,
    },
    Document {
        document: Link,
    },
    Payload {
        payload: String,
    },
    CouponCode {
        coupon_code: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(super) struct Link {
    pub link: String,
}

impl Parameter {
    /// The caller's own value it carries (personal, like a variable's).
    pub fn value(&self) -> &str {
        match self {
            Parameter::Text { text, .. } => text,
            Parameter::Image { image: l }
            | Parameter::Video { video: l }
            | Parameter::Document { document: l } => &l.link,
            Parameter::Payload { payload } => payload,
            Parameter::CouponCode { coupon_code } => coupon_code,
        }
    }
}

impl Component {
    pub fn parameters(&self) -> &[Parameter] {
        match self {
            Component::Header { parameters }
            | Component::Body { parameters }
            | Component::Button { parameters, .. } => parameters,
        }
    }
}
