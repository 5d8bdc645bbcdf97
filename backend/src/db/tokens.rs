//! API tokens: creation and lookup by hash.
//!
//! Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely (a slow
//! password hash protects low-entropy secrets; these are not). Only the hash is stored:
//! the token is printed once, at creation.

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
) -> Result<(api_token::Model, String)> {
    let token = format!("{PREFIX}{}", random_hex());
    let model = api_token::ActiveModel {
        name: Set(name.to_string()),
        role: Set(role.as_str().to_string()),
        token_hash: Set(hash(&token)),
        created_at: Set(Utc::now()),
        revoked: Set(false),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((model, token))
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
    let role = Role::parse(&model.role)?;
    Ok(Some((model, role)))
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
