//! API tokens: creation, lookup by hash, listing and revocation.
//!
//! Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely (a slow
//! password hash protects low-entropy secrets; these are not). Only the hash is stored:
//! the token is printed once, at creation. A token may expire; a revoked or expired token
//! is refused at once (every request looks it up). `last_used_at` is written at most once a
//! minute per token, so a busy script does not turn every read into a write.

use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use sha2::{Digest, Sha256};

use super::entity::api_token::{self, Column, Entity as Tokens};
use crate::{Error, Result};

/// What a token may do. Every role may read; writes are checked per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Support,
    Pm,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Support, Role::Pm, Role::Admin];

    /// Whether this role sees a customer's email and account value. Support answers
    /// tickets and needs a name and a segment; what a customer is worth and how to reach
    /// them outside the ticket is for product managers and admins (least access).
    pub fn sees_customer_contact(self) -> bool {
        self != Role::Support
    }

    /// Whether this role changes themes and the backlog (product managers and admins).
    pub fn edits_themes(self) -> bool {
        matches!(self, Role::Pm | Role::Admin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Support => "support",
            Role::Pm => "pm",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "invalid_value",
                    "role",
                    format!("role must be support, pm or admin, got {s:?}"),
                )
            })
    }
}

const PREFIX: &str = "trg_";

/// Creates a token; returns the stored row and the token itself (shown once).
pub async fn create<C: ConnectionTrait>(
    db: &C,
    name: &str,
    role: Role,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> Result<(api_token::Model, String)> {
    let token = format!("{PREFIX}{}", random_hex());
    let model = api_token::ActiveModel {
        name: Set(name.to_string()),
        role: Set(role.as_str().to_string()),
        token_hash: Set(hash(&token)),
        created_at: Set(Utc::now()),
        revoked: Set(false),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((model, token))
}

/// Longest expiry a token may be given, in days (ten years).
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// Creates a token from what a person typed: a name (1–200 characters), a role and an
/// optional lifetime in days. The one entry point of the CLI and the admin API.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    name: &str,
    role: &str,
    expires_in_days: Option<u32>,
) -> Result<(api_token::Model, String)> {
    // PostgreSQL text cannot hold NUL (and no reader wants it): dropped, as in intake.
    let name = name.replace('\0', "");
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid(
            "invalid_value",
            "name",
            "name must be 1 to 200 characters",
        ));
    }
    let role = Role::parse(role)?;
    let expires_at = match expires_in_days {
        Some(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => {
            Some(Utc::now() + chrono::Duration::days(i64::from(d)))
        }
        Some(d) => {
            return Err(Error::invalid(
                "out_of_range",
                "expires_in_days",
                format!("expires_in_days must be 1 to {MAX_EXPIRY_DAYS}, got {d}"),
            ))
        }
        None => None,
    };
    create(db, name, role, expires_at).await
}

/// The live token with this value, if any.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> Result<Option<(api_token::Model, Role)>> {
    let Some(model) = Tokens::find()
        .filter(Column::TokenHash.eq(hash(token)))
        .filter(Column::Revoked.eq(false))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if model.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    let role = Role::parse(&model.role)?;
    if model
        .last_used_at
        .is_none_or(|t| now - t > chrono::Duration::minutes(1))
    {
        Tokens::update_many()
            .col_expr(Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
            .filter(Column::Id.eq(model.id))
            .exec(db)
            .await?;
    }
    Ok(Some((model, role)))
}

/// Every token, newest first (hashes are never shown).
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<api_token::Model>> {
    use sea_orm::QueryOrder;
    Ok(Tokens::find().order_by_desc(Column::Id).all(db).await?)
}

/// Revokes token `id`: it is refused from the next request on. Revoking twice is fine.
pub async fn revoke<C: ConnectionTrait>(db: &C, id: i64) -> Result<api_token::Model> {
    let model = Tokens::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("token", id))?;
    if model.revoked {
        return Ok(model);
    }
    let mut am: api_token::ActiveModel = model.into();
    am.revoked = Set(true);
    Ok(am.update(db).await?)
}

/// 256 random bits as hex: API tokens, session tokens, CSRF tokens.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256 of a high-entropy secret, as stored.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
