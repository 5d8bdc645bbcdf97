//! Web UI accounts: creation with an argon2id password hash, and sign-in checks.
//!
//! Passwords are low-entropy secrets, so unlike API tokens they get a slow, salted hash
//! (argon2id, the crate's default parameters). A failed sign-in says the same thing
//! whether the email or the password was wrong, so it cannot be used to find accounts.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::entity::user;
use super::tokens::Role;
use crate::validate;
use crate::{Error, Result};

/// Shortest password accepted; length matters more than character classes.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Creates an account. (A new product manager's digest subscription is the caller's part:
/// `digest::subscriptions::create_user`.)
pub async fn create<C: ConnectionTrait>(
    db: &C,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<user::Model> {
    let email = validate::email("email", email)?;
    let name = validate::required("name", name, 200)?;
    long_enough("password", password)?;
    if find_by_email(db, &email).await?.is_some() {
        return Err(Error::Conflict {
            field: "email".into(),
            message: format!("a user with the email {email} already exists"),
        });
    }
    let hash = hash_password(password)?;
    let u = user::ActiveModel {
        email: Set(email),
        name: Set(name),
        role: Set(role.as_str().into()),
        password_hash: Set(hash),
        disabled: Set(false),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(u)
}

/// Deletes the account with this email (its sessions and digest subscription go with it);
/// history keeps the user's id and shows "former user". 404 when there is none.
pub async fn delete<C: ConnectionTrait>(db: &C, email: &str) -> Result<user::Model> {
    let u = find_by_email(db, &email.trim().to_lowercase())
        .await?
        .ok_or_else(|| Error::not_found("user", format!("{email:?}")))?;
    user::Entity::delete_by_id(u.id).exec(db).await?;
    Ok(u)
}

fn long_enough(field: &str, password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "too_short",
            field,
            format!("the password must be at least {MIN_PASSWORD_CHARS} characters long"),
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String> {
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map_err(|e| Error::Internal(format!("hashing the password: {e}")))?
        .to_string())
}

async fn find_by_email<C: ConnectionTrait>(db: &C, email: &str) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// Checks passwords: argon2id (about 19 MiB and tens of milliseconds each) off the async
/// workers, at most `max` at a time, so a flood of sign-ins queues instead of taking
/// gigabytes; and the same work for an unknown email as for a known one (against a hash
/// of a random password made at start), so the response time does not tell which emails
/// have accounts.
pub struct PasswordChecker {
    permits: tokio::sync::Semaphore,
    decoy_hash: String,
}

/// How long a sign-in waits for a free password check before giving up (503).
const CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl PasswordChecker {
    pub fn new(max: usize) -> Result<Self> {
        let decoy = crate::db::tokens::random_hex();
        let decoy_hash = hash_password(&decoy)?;
        Ok(Self {
            permits: tokio::sync::Semaphore::new(max.max(1)),
            decoy_hash,
        })
    }

    /// The enabled user with this email and password, if both match.
    pub async fn authenticate<C: ConnectionTrait>(
        &self,
        db: &C,
        email: &str,
        password: &str,
    ) -> Result<Option<user::Model>> {
        let found = find_by_email(db, email).await?;
        let hash = found
            .as_ref()
            .map_or_else(|| self.decoy_hash.clone(), |u| u.password_hash.clone());
        let password = password.to_string();
        let _permit = tokio::time::timeout(CHECK_WAIT, self.permits.acquire())
            .await
            .map_err(|_| Error::TooManyRequests {
                message: "too many sign-ins at once; please try again in a moment".into(),
                retry_after_secs: 5,
            })?
            .map_err(Error::failed("password checks closed"))?;
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(Error::failed("password check failed"))?;
        Ok(found.filter(|u| ok && !u.disabled))
    }
}

impl PasswordChecker {
    /// Changes `user`'s password after checking the current one, and ends every other
    /// session of theirs (whoever knew the old password is signed out).
    pub async fn change_password(
        &self,
        db: &sea_orm::DatabaseConnection,
        user: &user::Model,
        current: &str,
        new: &str,
        keep_session: &str,
    ) -> Result<()> {
        if self.authenticate(db, &user.email, current).await?.is_none() {
            return Err(Error::invalid(
                "invalid_value",
                "current_password",
                "the current password is not right",
            ));
        }
        long_enough("new_password", new)?;
        let new = new.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&new))
            .await
            .map_err(Error::failed("hashing the password"))??;
        let txn = crate::db::begin_write(db).await?;
        let mut am: user::ActiveModel = user.clone().into();
        am.password_hash = Set(hash);
        am.update(&txn).await?;
        super::sessions::end_all(&txn, user.id, Some(keep_session)).await?;
        txn.commit().await?;
        Ok(())
    }
}

pub fn role(u: &user::Model) -> Result<Role> {
    Role::parse(&u.role)
}
