//! Request extractors that fail with our JSON errors instead of axum's plain-text ones.
//!
//! * [`JsonBody`]: the body, size-limited, UTF-8 checked, parsed with field-naming errors.
//! * [`Auth`]: the bearer token's role; every `/api/v1` route takes one.
//! * [`Editor`], [`AdminOnly`]: an [`Auth`] with the role a write needs, checked before the
//!   body is read, so a caller without the role gets 403 whatever the body holds (and a
//!   refused body is never parsed).
//! * [`Params`]: query parameters, parsed one by one so errors name the parameter and
//!   unknown parameters are rejected rather than ignored.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiContext;
use crate::db::tokens::{self, Role};
use crate::db::Page;
use crate::intake::json;
use crate::validate;
use crate::{Error, Result};

pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<ApiContext> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &ApiContext) -> Result<Self> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge {
                    limit: state.config.max_body_bytes,
                }
            } else {
                Error::invalid(
                    "invalid_body",
                    "body",
                    format!("cannot read the request body: {e}"),
                )
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::invalid(
                "missing_body",
                "body",
                "the request needs a JSON body",
            ));
        }
        Ok(JsonBody(json::parse(&bytes)?))
    }
}

/// The caller, identified by an `Authorization: Bearer <token>` header.
#[derive(Debug, Clone)]
pub struct Auth {
    pub role: Role,
    pub token_id: i64,
    pub token_name: String,
}

impl Auth {
    /// What history records for this token's edits: its id, shown as its name.
    pub fn actor(&self) -> String {
        crate::db::actors::Actor::Token(self.token_id).stored()
    }

    /// Fails with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Error::Forbidden(format!(
            "this needs the {} role; the token {:?} has {}",
            names.join(" or "),
            self.token_name,
            self.role.as_str()
        )))
    }
}

impl FromRequestParts<ApiContext> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &ApiContext) -> Result<Self> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::Unauthorized(
                    "missing Authorization header; send `Authorization: Bearer <token>` (create one with `triage token create`)".into(),
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                Error::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let (model, role) = tokens::find(&state.db, token)
            .await?
            .ok_or_else(|| Error::Unauthorized("unknown or revoked API token".into()))?;
        Ok(Auth {
            role,
            token_id: model.id,
            token_name: model.name,
        })
    }
}

/// The roles an [`Authorised`] caller must have one of.
pub trait Roles {
    const ROLES: &'static [Role];
}

/// Product managers and admins: theme edits, the backlog workflow, surveys, customers.
pub enum Editors {}
impl Roles for Editors {
    const ROLES: &'static [Role] = &[Role::Pm, Role::Admin];
}

/// Admins only: API tokens.
pub enum Admins {}
impl Roles for Admins {
    const ROLES: &'static [Role] = &[Role::Admin];
}

/// A caller whose role is one of `R::ROLES`, checked as the request's parts are read.
pub struct Authorised<R>(pub Auth, std::marker::PhantomData<R>);

/// A pm or admin caller.
pub type Editor = Authorised<Editors>;
/// An admin caller.
pub type AdminOnly = Authorised<Admins>;

impl<R> std::ops::Deref for Authorised<R> {
    type Target = Auth;
    fn deref(&self) -> &Auth {
        &self.0
    }
}

impl<R: Roles> FromRequestParts<ApiContext> for Authorised<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &ApiContext) -> Result<Self> {
        let auth = Auth::from_request_parts(parts, state).await?;
        auth.require(R::ROLES)?;
        Ok(Authorised(auth, std::marker::PhantomData))
    }
}

/// Query parameters, consumed by name; [`Params::finish`] rejects any left over.
///
/// A blank value means "not given" for text. For numbers and times it depends on who
/// asks: the web pages' forms send their empty fields (`from=&to=`), so there blank is
/// "not given" too; on the API (`/api/…`) a blank number or time is a mistake, answered 400
/// like any other value that is not one — as its OpenAPI document says.
pub struct Params {
    values: HashMap<String, String>,
    blank_typed_is_absent: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|e| {
            Error::invalid(
                "invalid_query",
                "query",
                format!("malformed query string: {e}"),
            )
        })?;
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(Error::invalid(
                    "invalid_query",
                    k.clone(),
                    format!("{k} is given more than once"),
                ));
            }
        }
        // Inside a nested router `parts.uri` lost its prefix; the original has it.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_string(), |u| u.path().to_string());
        Ok(Params {
            values: map,
            blank_typed_is_absent: !path.starts_with("/api/"),
        })
    }
}

impl Params {
    /// A parameter's value without consuming it.
    pub fn peek(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }

    /// A text parameter, without NUL characters (no stored text has them, and PostgreSQL
    /// would refuse a query that carries one); blank is absent.
    pub fn text(&mut self, name: &str) -> Option<String> {
        self.values
            .remove(name)
            .map(|v| v.replace('\0', ""))
            .filter(|v| !v.trim().is_empty())
    }

    /// A yes/no parameter: `true`/`1` or `false`/`0`; absent is false, and so is blank on
    /// the web pages (on the API a blank is not a boolean: 400, as for numbers).
    pub fn flag(&mut self, name: &str) -> Result<bool> {
        match self.typed(name).as_deref().map(str::trim) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(Error::invalid(
                "invalid_type",
                name,
                format!("{name} must be true or false, got {other:?}"),
            )),
        }
    }

    /// The raw value of a number or time parameter (see the type's doc for blanks).
    fn typed(&mut self, name: &str) -> Option<String> {
        self.values
            .remove(name)
            .filter(|v| !(self.blank_typed_is_absent && v.trim().is_empty()))
    }

    pub fn int(&mut self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        let Some(raw) = self.typed(name) else {
            return Ok(None);
        };
        match raw.trim().parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
            Ok(v) => Err(Error::invalid(
                "out_of_range",
                name,
                format!("{name} must be between {min} and {max}, got {v}"),
            )),
            Err(_) => Err(Error::invalid(
                "invalid_type",
                name,
                format!("{name} must be a whole number, got {raw:?}"),
            )),
        }
    }

    pub fn float(&mut self, name: &str, min: f64, max: f64) -> Result<Option<f64>> {
        let Some(raw) = self.typed(name) else {
            return Ok(None);
        };
        match raw.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v >= min && v <= max => Ok(Some(v)),
            Ok(_) => Err(Error::invalid(
                "out_of_range",
                name,
                format!("{name} must be between {min} and {max}, got {raw}"),
            )),
            Err(_) => Err(Error::invalid(
                "invalid_type",
                name,
                format!("{name} must be a number, got {raw:?}"),
            )),
        }
    }

    /// A time: RFC 3339, or a date meaning midnight UTC (or the next midnight when
    /// `end_of_day`, so `to=2026-11-20` includes that whole day).
    pub fn time(
        &mut self,
        name: &str,
        end_of_day: bool,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let Some(raw) = self.typed(name) else {
            return Ok(None);
        };
        let t = validate::timestamp(name, &raw)?;
        let is_date = raw.trim().len() == 10;
        Ok(Some(if end_of_day && is_date {
            t + chrono::Duration::days(1)
        } else {
            t
        }))
    }

    /// `limit` and `offset` with defaults and bounds.
    pub fn page(&mut self, default_limit: i64, max_limit: i64) -> Result<Page> {
        Ok(Page {
            limit: self.int("limit", 1, max_limit)?.unwrap_or(default_limit) as u64,
            offset: self.int("offset", 0, 1_000_000)?.unwrap_or(0) as u64,
        })
    }

    /// Fails on any parameter not consumed: a typo must not silently widen a query.
    pub fn finish(self) -> Result<()> {
        let mut left: Vec<&String> = self.values.keys().collect();
        left.sort();
        match left.first() {
            None => Ok(()),
            Some(k) => Err(Error::invalid(
                "unknown_field",
                k.as_str(),
                format!("unknown query parameter {k}"),
            )),
        }
    }
}

/// Numeric path parameters (`/tickets/{id}`, `/surveys/{id}/responses/{response_id}`), in
/// route order; a non-numeric one is a 404 naming the parameter, like any unknown id.
pub struct PathIds(pub Vec<i64>);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::invalid("invalid_path", "path", e.to_string()))?;
        let mut ids = Vec::new();
        for (name, value) in raw.iter() {
            match value.parse::<i64>() {
                Ok(v) => ids.push(v),
                Err(_) => {
                    return Err(Error::invalid(
                        "invalid_type",
                        name,
                        format!("{name} must be a whole number, got {value:?}"),
                    ))
                }
            }
        }
        Ok(PathIds(ids))
    }
}

impl PathIds {
    pub fn first(&self) -> i64 {
        self.0.first().copied().unwrap_or_default()
    }
}
