//! Browser sessions: a random token in an HttpOnly cookie, stored only as its hash, with a
//! per-session CSRF token that every form must send back.
//!
//! A session ends after [`IDLE`] without a request, and in any case [`LIFETIME`] after
//! sign-in: `expires_at` is the idle deadline, pushed forward as the session is used (at
//! most once every few minutes, so reading pages does not mean writing rows) but never
//! past `created_at + LIFETIME`. Expired rows are swept by `serve` every hour and at
//! every sign-in and sign-out.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::entity::{session, user};
use super::tokens::{hash, random_hex};
use crate::Result;

/// How long a sign-in lasts at most.
pub const LIFETIME: Duration = Duration::days(14);
/// A session unused this long ends.
pub const IDLE: Duration = Duration::hours(12);
/// `expires_at` is pushed forward only when it would move by more than this.
const TOUCH_EVERY: Duration = Duration::minutes(5);

/// Starts a session; returns the cookie token (shown to the browser only).
pub async fn start<C: ConnectionTrait>(db: &C, user_id: i64) -> Result<(String, session::Model)> {
    let token = random_hex();
    let now = Utc::now();
    let s = session::ActiveModel {
        token_hash: Set(hash(&token)),
        user_id: Set(user_id),
        csrf_token: Set(random_hex()),
        created_at: Set(now),
        expires_at: Set(now + IDLE.min(LIFETIME)),
    }
    .insert(db)
    .await?;
    sweep(db).await?;
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
    let now = Utc::now();
    if s.expires_at < now {
        return Ok(None);
    }
    let u = user::Entity::find_by_id(s.user_id).one(db).await?;
    let Some(u) = u.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    let idle_deadline = (now + IDLE).min(s.created_at + LIFETIME);
    let s = if idle_deadline - s.expires_at > TOUCH_EVERY {
        let mut am: session::ActiveModel = s.into();
        am.expires_at = Set(idle_deadline);
        am.update(db).await?
    } else {
        s
    };
    Ok(Some((s, u)))
}

/// Ends every session of `user_id` (sign out everywhere), but `keep` (a cookie token) if
/// given.
pub async fn end_all<C: ConnectionTrait>(db: &C, user_id: i64, keep: Option<&str>) -> Result<u64> {
    let mut q = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(t) = keep {
        q = q.filter(session::Column::TokenHash.ne(hash(t)));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// Deletes expired sessions; returns how many.
pub async fn sweep<C: ConnectionTrait>(db: &C) -> Result<u64> {
    Ok(session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lt(Utc::now()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Signs out: the token stops working at once. Also sweeps expired sessions.
pub async fn end<C: ConnectionTrait>(db: &C, token: &str) -> Result<()> {
    session::Entity::delete_by_id(hash(token)).exec(db).await?;
    sweep(db).await?;
    Ok(())
}
