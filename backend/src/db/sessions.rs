//! Browser sessions: a random token in an HttpOnly cookie, stored only as its hash, with a
//! per-session CSRF token that every form must send back.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::entity::{session, user};
use super::tokens::{hash, random_hex};
use crate::Result;

/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::days(14);

/// Starts a session; returns the cookie token (shown to the browser only).
pub async fn start<C: ConnectionTrait>(db: &C, user_id: i64) -> Result<(String, session::Model)> {
    let token = random_hex();
    let now = Utc::now();
    let s = session::ActiveModel {
        token_hash: Set(hash(&token)),
        user_id: Set(user_id),
        csrf_token: Set(random_hex()),
        created_at: Set(now),
        expires_at: Set(now + LIFETIME),
    }
    .insert(db)
    .await?;
    Ok((token, s))
}

/// The live session for this cookie token and its user.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> Result<Option<(session::Model, user::Model)>> {
    let Some(s) = session::Entity::find_by_id(hash(token)).one(db).await? else {
        return Ok(None);
    };
    if s.expires_at < Utc::now() {
        return Ok(None);
    }
    let u = user::Entity::find_by_id(s.user_id).one(db).await?;
    Ok(u.filter(|u| !u.disabled).map(|u| (s, u)))
}

/// Signs out: the token stops working at once. Also sweeps expired sessions.
pub async fn end<C: ConnectionTrait>(db: &C, token: &str) -> Result<()> {
    session::Entity::delete_by_id(hash(token)).exec(db).await?;
    session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?;
    Ok(())
}
