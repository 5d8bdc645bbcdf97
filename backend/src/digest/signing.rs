//! Signed links that work without signing in (unsubscribe): an HMAC-SHA256 of what the
//! link does, keyed by a random secret created on first use and kept in the database so
//! every replica verifies the same links.

use hmac::{Hmac, Mac};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use sha2::Sha256;

use crate::db::entity::app_secret;
use crate::db::tokens::random_hex;
use crate::Result;

const KEY_NAME: &str = "link_signing_key";

/// The signing key, created once (concurrent first uses agree: the first insert wins).
pub async fn key<C: ConnectionTrait>(db: &C) -> Result<String> {
    app_secret::Entity::insert(app_secret::ActiveModel {
        name: Set(KEY_NAME.into()),
        value: Set(random_hex()),
    })
    .on_conflict(
        OnConflict::column(app_secret::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .do_nothing()
    .exec(db)
    .await?;
    let row = app_secret::Entity::find_by_id(KEY_NAME.to_string())
        .one(db)
        .await?
        .ok_or_else(|| crate::Error::Internal("the signing key vanished".into()))?;
    Ok(row.value)
}

/// The signature of `message` (hex).
pub fn sign(key: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` is `message`'s, compared in constant time.
pub fn verify(key: &str, message: &str, signature: &str) -> bool {
    let Ok(bytes) = hex::decode(signature) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(message.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_their_message_and_key() {
        let s = sign("k1", "unsubscribe:digest:7");
        assert!(verify("k1", "unsubscribe:digest:7", &s));
        assert!(!verify("k1", "unsubscribe:digest:8", &s));
        assert!(!verify("k2", "unsubscribe:digest:7", &s));
        assert!(!verify("k1", "unsubscribe:digest:7", "zz"));
    }
}
