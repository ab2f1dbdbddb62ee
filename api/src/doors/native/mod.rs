//! Hopper's own REST API, `/api/v1`: for operators, scripts, the dashboard and the CLI. JSON in and
//! out, bearer tokens, RFC 9457 problem details for every refusal, and an OpenAPI 3.1 document generated
//! from these handlers (`/openapi.json`, browsable at `/docs` with a Swagger UI served from the binary).

mod auth;
mod catalog;
mod fleet;
mod jobs;
mod listing;
mod load;
mod logs;
mod model;
mod problem;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub(crate) use problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hopper",
        description = "Hopper's own REST API: submit, find, follow and cancel jobs. Errors are RFC 9457 problem details.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "jobs", description = "Jobs: submit, find, read, cancel"),
        (name = "fleet", description = "Queues and the workers that serve them"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "One of HOPPER_TOKENS: `Authorization: Bearer <secret>`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The native API's OpenAPI document, before its paths are added.
pub(crate) fn api_doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Adds the native API's routes to the node's OpenAPI router.
pub(crate) fn routes(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    router
        .routes(routes!(jobs::submit, listing::list))
        .routes(routes!(listing::counts))
        .routes(routes!(jobs::retry))
        .routes(routes!(jobs::suspend))
        .routes(routes!(jobs::resume))
        .routes(routes!(catalog::job_types))
        .routes(routes!(fleet::queues))
        .routes(routes!(fleet::workers))
        .routes(routes!(load::load))
        .routes(routes!(jobs::get, jobs::cancel))
        .routes(routes!(logs::logs))
}
