//! The eight event routes, described in the same loop over
//! [`EventType::ALL`] that [`crate::http::events::routes`] registers them
//! with, so a new event type cannot be served undocumented.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, Required, ResponseBuilder};

use crate::domain::event::EventType;

/// The schema names of the data an event type takes, and of the data its
/// `201` returns.
fn data_schemas(ty: EventType) -> (&'static str, &'static str) {
    match ty {
        EventType::Join | EventType::Leave => ("EmptyData", "NameData"),
        EventType::NumericPromptResponse => ("RatingData", "RatingData"),
        EventType::ColorPromptResponse | EventType::WordPromptResponse => {
            ("IndexData", "IndexData")
        }
        EventType::Like
        | EventType::PressPromptStartResponse
        | EventType::PressPromptEndResponse => ("EmptyData", "EmptyData"),
    }
}

fn with_data(base: &str, data: &str) -> AllOfBuilder {
    AllOfBuilder::new()
        .item(Ref::from_schema_name(base))
        .item(ObjectBuilder::new().property("data", Ref::from_schema_name(data)))
}

fn created(ty: EventType, data: &str) -> ResponseBuilder {
    let narrowed = ObjectBuilder::new().property(
        "type",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([ty.as_str()])),
    );
    let schema = with_data("EventCreated", data).item(narrowed);
    ResponseBuilder::new()
        .description(format!(
            "Accepted and committed: a `{}` event.",
            ty.as_str()
        ))
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
}

/// The path item of one event route.
pub fn path_item(ty: EventType) -> PathItem {
    let (data_in, data_out) = data_schemas(ty);
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(with_data("EventBody", data_in)))
                .build(),
        )
        .build();
    let mut op = OperationBuilder::new()
        .tag("events")
        .operation_id(Some(format!("post_{}", ty.as_str())))
        .summary(Some(format!("Posts a `{}` event.", ty.as_str())))
        .description(Some(
            "The event rules of SPEC §3 decide 404 and 409, in their order, \
             after the body, the prompt token and the rate limit are checked.",
        ))
        .security(SecurityRequirement::new("user_token", Vec::<String>::new()))
        .request_body(Some(body))
        .response("201", created(ty, data_out));
    for (status, name) in [
        ("401", "Unauthorized"),
        ("403", "Forbidden"),
        ("404", "PromptNotFound"),
        ("409", "EventConflict"),
        ("413", "PayloadTooLarge"),
        ("422", "Unprocessable"),
        ("429", "TooManyRequests"),
        ("503", "Unavailable"),
    ] {
        op = op.response(status, Ref::from_response_name(name));
    }
    PathItem::new(HttpMethod::Post, op)
}

/// Adds every event route to `doc`.
pub struct EventRoutes;

impl utoipa::Modify for EventRoutes {
    fn modify(&self, doc: &mut OpenApi) {
        for ty in EventType::ALL {
            doc.paths.paths.insert(
                format!("/api/1/interactive_prompts/events/{}", ty.route()),
                path_item(ty),
            );
        }
    }
}
