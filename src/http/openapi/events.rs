//! The eight event routes, described in the same loop over
//! [`EventType::ALL`] that [`crate::http::events::routes`] registers them
//! with, so a new event type cannot be served undocumented.

use utoipa::PartialSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};

use super::schemas::EventCreated;
use crate::domain::event::EventType;
use crate::http::events::EventBody;

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

/// `T`'s schema with `data` (and `extra` properties) replaced.
fn narrowed<T: PartialSchema>(data: &str, extra: &[(&str, Object)]) -> Object {
    let RefOr::T(Schema::Object(mut object)) = T::schema() else {
        unreachable!("derived struct schemas are objects")
    };
    object
        .properties
        .insert("data".into(), Ref::from_schema_name(data).into());
    for (name, schema) in extra {
        object
            .properties
            .insert((*name).into(), schema.clone().into());
    }
    object
}

fn created(ty: EventType, data: &str) -> ResponseBuilder {
    let kind = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([ty.as_str()]))
        .build();
    let schema = narrowed::<EventCreated>(data, &[("type", kind)]);
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
                .schema(Some(narrowed::<EventBody>(data_in, &[])))
                .build(),
        )
        .build();
    let mut op = OperationBuilder::new()
        .tag("events")
        .operation_id(Some(format!("post_{}", ty.as_str())))
        .summary(Some(format!("Posts a `{}` event.", ty.as_str())))
        .description(Some(
            "The event rules (docs/rules.md, \"The event rules\") decide 404 and 409, in their order, \
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
