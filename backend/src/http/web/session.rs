//! Who is looking at a page, and forms that are checked against cross-site forgery.
//!
//! The session cookie is HttpOnly and SameSite=Lax; when `TRIAGE_BASE_URL` is https it is
//! also Secure and named with the `__Host-` prefix. Every state-changing form carries the session's CSRF token in a hidden `csrf`
//! field; [`Form`] rejects a post without the right one before the handler runs.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;

use super::WebError;
use crate::db::entity::user;
use crate::db::sessions;
use crate::db::tokens::Role;
use crate::http::ApiContext;
use crate::{Error, Result};

pub const COOKIE: &str = "triage_session";

/// The signed-in user of this request.
#[derive(Clone)]
pub struct Viewer {
    pub user: user::Model,
    pub role: Role,
    pub csrf: String,
}

impl Viewer {
    /// PMs and admins edit themes and the backlog; support staff read and file tickets.
    pub fn can_edit(&self) -> bool {
        self.role.edits_themes()
    }

    pub fn require_editor(&self) -> Result<()> {
        if self.can_edit() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "only product managers and admins can change themes and the backlog; you are signed in as {}",
                self.role.as_str()
            )))
        }
    }

    /// What history records for this user's edits: their id, shown as their name.
    pub fn actor(&self) -> String {
        crate::db::actors::Actor::User(self.user.id).stored()
    }
}

/// The value of this deployment's cookie `name` (see [`cookie_name`]) in the request.
pub fn cookie(ctx: &ApiContext, headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    let name = cookie_name(ctx, name);
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name.as_str())
        .map(|(_, v)| v.to_string())
}

fn https(ctx: &ApiContext) -> bool {
    ctx.config.base_url.starts_with("https://")
}

/// The cookie's name on this deployment: behind https it carries the `__Host-` prefix,
/// which browsers accept only from a secure origin, with `Secure`, `Path=/` and no
/// `Domain` — so neither a sibling subdomain nor a plain-http page can set or shadow it.
pub fn cookie_name(ctx: &ApiContext, name: &str) -> String {
    if https(ctx) {
        format!("__Host-{name}")
    } else {
        name.to_string()
    }
}

/// A `Set-Cookie` value for this deployment (`Secure` and `__Host-` behind https).
pub fn set_cookie(ctx: &ApiContext, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if https(ctx) { "; Secure" } else { "" };
    let name = cookie_name(ctx, name);
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

impl FromRequestParts<ApiContext> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, ctx: &ApiContext) -> Result<Self, WebError> {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let sign_in = || WebError::SignIn { next: next.clone() };
        let token = cookie(ctx, &parts.headers, COOKIE).ok_or_else(sign_in)?;
        let (session, user) = sessions::find(&ctx.db, &token).await?.ok_or_else(sign_in)?;
        Ok(Viewer {
            role: crate::db::users::role(&user)?,
            user,
            csrf: session.csrf_token,
        })
    }
}

/// Posted form fields, in order; a name may repeat (checkbox lists).
#[derive(Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Result<Self> {
        serde_urlencoded::from_bytes(body)
            .map(Fields)
            .map_err(|e| Error::invalid("invalid_body", "body", format!("malformed form: {e}")))
    }

    /// A field's value, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A field's value as typed (blank allowed), `None` only when absent.
    pub fn raw(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn required(&self, name: &str) -> Result<String> {
        self.text(name).ok_or_else(|| {
            Error::invalid("missing_field", name, format!("{name} must not be empty"))
        })
    }

    pub fn id(&self, name: &str) -> Result<Option<i64>> {
        self.text(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    Error::invalid(
                        "invalid_type",
                        name,
                        format!("{name} must be a whole number, got {v:?}"),
                    )
                })
            })
            .transpose()
    }

    /// Every value of a repeated field, as ids (`item_ids=3&item_ids=5`).
    pub fn ids(&self, name: &str) -> Result<Vec<i64>> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| {
                v.trim().parse::<i64>().map_err(|_| {
                    Error::invalid(
                        "invalid_type",
                        name,
                        format!("{name} must be ids, got {v:?}"),
                    )
                })
            })
            .collect()
    }

    /// The ids of the checked boxes named `name`; at least one.
    pub fn selected(&self, name: &str) -> Result<Vec<i64>> {
        let ids = self.ids(name)?;
        if ids.is_empty() {
            return Err(Error::invalid(
                "missing_field",
                name,
                "select at least one item first",
            ));
        }
        Ok(ids)
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v != "false")
    }
}

/// Whether two copies of a secret token are present and equal, compared in constant time
/// so that the time a wrong guess takes says nothing about how much of it was right.
pub fn same_secret(given: Option<&str>, expected: Option<&str>) -> bool {
    use subtle::ConstantTimeEq;
    match (given, expected) {
        (Some(g), Some(e)) => bool::from(g.as_bytes().ct_eq(e.as_bytes())),
        _ => false,
    }
}

/// A form posted by a signed-in user with a matching CSRF token.
pub struct Form(pub Viewer, pub Fields);

impl FromRequest<ApiContext> for Form {
    type Rejection = WebError;

    async fn from_request(req: Request, ctx: &ApiContext) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, ctx).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), ctx)
            .await
            .map_err(|e| Error::invalid("invalid_body", "body", e.body_text()))?;
        let fields = Fields::parse(&bytes)?;
        if !same_secret(fields.raw("csrf").as_deref(), Some(&viewer.csrf)) {
            return Err(Error::Forbidden(
                "this form is out of date or was not sent from triage; reload the page and try again"
                    .into(),
            )
            .into());
        }
        Ok(Form(viewer, fields))
    }
}

/// A form anyone may post (the public survey page, sign-in): no session needed.
pub struct PublicForm(pub Fields);

impl FromRequest<ApiContext> for PublicForm {
    type Rejection = WebError;

    async fn from_request(req: Request, ctx: &ApiContext) -> Result<Self, WebError> {
        let bytes = Bytes::from_request(req, ctx)
            .await
            .map_err(|e| Error::invalid("invalid_body", "body", e.body_text()))?;
        Ok(PublicForm(Fields::parse(&bytes)?))
    }
}
