//! The HTTP face of triage: the JSON API under `/api/v1/`, the OpenAPI document and the
//! health check. One router module per resource; handlers only translate between HTTP and
//! the services in `intake`, `db` and the index — no business logic lives here.

mod areas;
mod backlog;
mod customers;
mod error;
mod extract;
mod health;
mod hooks;
mod impact;
mod limits;
pub mod listen;
pub mod metrics;
mod observe;
mod openapi;
pub(crate) mod queries;
mod ratings;
mod search;
mod surveys;
mod themes;
mod tickets;
mod tokens;
pub(crate) mod web;
mod webhooks;

/// The web UI's session cookie (without the `__Host-` prefix it gets behind https).
pub use web::session::COOKIE as SESSION_COOKIE;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use triage_index::FeedbackIndex;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::Config;

pub use crate::db::{Listing, Page};
pub use extract::{AdminOnly, Auth, Editor, JsonBody, Params, PathIds};
pub use limits::Limits;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct ApiContext {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub index: Arc<FeedbackIndex>,
    /// Wakes the index worker after a write, so new items are searchable at once.
    pub index_wake: Arc<Notify>,
    /// Wakes the embedding worker after a write.
    pub embed_wake: Arc<Notify>,
    /// The embedding model, shared with the embedding worker; `None` when it could not be
    /// loaded (features that need it then say so).
    pub embedder: Option<Arc<dyn crate::embed::Embedder + Sync>>,
    /// The nearest-neighbour graph of search by meaning; `None` with the model.
    pub vectors: Option<Arc<triage_index::VectorIndex>>,
    /// Rate limits for anonymous posts (the public survey page, sign-in).
    pub limits: Arc<Limits>,
    /// Password checks, a few at a time.
    pub passwords: Arc<crate::db::users::PasswordChecker>,
    /// Where posted items are stored (group commit).
    pub writes: Arc<crate::intake::group::Writers>,
    /// This process's figures for `GET /metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Password checks at once: argon2id takes about 19 MiB each, so a sign-in flood costs at
/// most ~80 MiB; the rest wait their turn.
const MAX_PASSWORD_CHECKS: usize = 4;

impl ApiContext {
    /// A context on `db` and the text index, without the model (search by meaning and
    /// suggestions off) and with workers nobody listens to; `serve` adds the model, the
    /// graph and its workers' wake-ups. Tests drive the router with it directly.
    pub fn new(
        config: Config,
        db: DatabaseConnection,
        index: Arc<FeedbackIndex>,
    ) -> crate::Result<Self> {
        Ok(Self {
            limits: Arc::new(Limits::new(&config)),
            passwords: Arc::new(crate::db::users::PasswordChecker::new(MAX_PASSWORD_CHECKS)?),
            writes: Arc::new(crate::intake::group::Writers::start(
                &db,
                config.intake_batch as usize,
                config.redact,
            )),
            config: Arc::new(config),
            db,
            index,
            index_wake: Arc::new(Notify::new()),
            embed_wake: Arc::new(Notify::new()),
            embedder: None,
            vectors: None,
            metrics: Arc::new(crate::metrics::Metrics::new()),
        })
    }

    /// What `GET /metrics` reads.
    pub fn metrics_source(&self) -> metrics::Source {
        metrics::Source {
            metrics: self.metrics.clone(),
            db: self.db.clone(),
            config: self.config.clone(),
            has_index: true,
        }
    }

    /// Runs a search for the API or the search page, a few at a time (see `http::limits`);
    /// an `area` becomes the list of its themes.
    pub async fn search(
        &self,
        params: queries::SearchParams,
    ) -> crate::Result<crate::search::Found> {
        let mut req = params.request;
        if let Some(area) = params.area {
            let themes = crate::themes::areas::theme_ids(&self.db, area).await?;
            req.themes_any = Some(themes.into_iter().map(|t| t as u64).collect());
        }
        let _slot = self.limits.search.enter().await?;
        self.search_engines().search(req, params.mode).await
    }

    /// The text index, vector graph and model, for [`crate::search`].
    pub fn search_engines(&self) -> crate::search::Engines {
        crate::search::Engines {
            text: self.index.clone(),
            vectors: self.vectors.clone(),
            embedder: self.embedder.clone(),
        }
    }

    /// Tells the workers that new items are waiting.
    pub fn wake_workers(&self) {
        self.index_wake.notify_one();
        self.embed_wake.notify_one();
    }
}

/// `bytes` as a CSV file download named `filename`.
pub fn csv_download(filename: &str, bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub fn router(ctx: ApiContext) -> Router {
    let api = OpenApiRouter::new()
        .merge(tickets::router())
        .merge(ratings::router())
        .merge(surveys::router())
        .merge(customers::router())
        .merge(search::router())
        .merge(themes::router())
        .merge(backlog::router())
        .merge(impact::router())
        .merge(areas::router())
        .merge(tokens::router())
        .merge(webhooks::router())
        .merge(hooks::router());
    // The router and the OpenAPI document come out of the same list of handlers.
    let (routes, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .nest("/api/v1", api)
        .merge(health::router())
        .split_for_parts();
    let routes = routes
        .merge(openapi::router(doc))
        .merge(metrics::router())
        .merge(web::router());
    observe::wrap(
        routes
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(ctx.config.max_body_bytes))
            // A request (its body included) gets this long; a client that trickles its body,
            // or a handler stuck on a lock, does not hold a connection for ever.
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                ctx.config.serve_limits.request_timeout,
            ))
            .layer(axum::middleware::map_response(security_headers)),
        ctx.metrics.clone(),
    )
    .with_state(ctx)
}

/// The Content-Security-Policy of every response: scripts only from files of this site
/// (no inline script, so injected markup could not run any), no framing, forms only to
/// this site. Inline `style` attributes stay allowed: they cannot run code.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Security headers on every response, pages and API alike (a JSON error is a page too
/// when someone frames it or sniffs it).
async fn security_headers(mut r: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{self, HeaderValue};
    let h = r.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    r
}

async fn not_found(uri: axum::http::Uri) -> crate::Error {
    crate::Error::not_found("route", uri.path())
}

/// `limit` and `offset` of list endpoints (read by [`Params::page`]; described here).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 1_000_000)]
    pub offset: Option<i64>,
}

impl<T> Listing<T> {
    /// Builds a listing from source rows, attaching each row's unified item id.
    pub async fn of<M>(
        ctx: &ApiContext,
        kind: crate::db::items::ItemKind,
        (rows, total): (Vec<M>, u64),
        page: Page,
        id_of: impl Fn(&M) -> i64,
        view: impl Fn(M, Option<i64>) -> T,
    ) -> crate::Result<Self> {
        let ids: Vec<i64> = rows.iter().map(&id_of).collect();
        let item_ids = crate::db::items::ids_by_source(&ctx.db, kind, &ids).await?;
        let items = rows
            .into_iter()
            .map(|m| {
                let item_id = item_ids.get(&id_of(&m)).copied();
                view(m, item_id)
            })
            .collect();
        Ok(Self {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }
}
