//! Who did something, as history records it: a stable id, never an email.
//!
//! Backlog changes, theme edits, a backlog entry's `updated_by` and erasure receipts
//! store an [`Actor`] as `user:<id>`, `token:<id>`, `cli`, `retention` or `customer`. Pages and
//! digests show the user's (or token's) current name through [`names`]; once a user is
//! deleted their rows read "former user", and no email is ever written into history.

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::{api_token, user};
use crate::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user of the web UI.
    User(i64),
    /// An API token.
    Token(i64),
    /// The `triage` command on the server's machine.
    Cli,
    /// The daily retention job.
    Retention,
    /// A customer, through a signed link in a mail (which customer is not history's
    /// business: an erased customer leaves no id behind).
    Customer,
}

impl Actor {
    /// The stored form.
    pub fn stored(self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Token(id) => format!("token:{id}"),
            Actor::Cli => "cli".into(),
            Actor::Retention => "retention".into(),
            Actor::Customer => "customer".into(),
        }
    }

    /// Reads a stored value; `None` for anything else (rows written before actors were
    /// ids, which the migration rewrote to `former user`).
    pub fn parse(stored: &str) -> Option<Actor> {
        let id = |s: &str| s.parse::<i64>().ok();
        match stored.split_once(':') {
            Some(("user", n)) => id(n).map(Actor::User),
            Some(("token", n)) => id(n).map(Actor::Token),
            _ => match stored {
                "cli" => Some(Actor::Cli),
                "retention" => Some(Actor::Retention),
                "customer" => Some(Actor::Customer),
                _ => None,
            },
        }
    }
}

/// What a page shows for a user or token that no longer exists.
pub const FORMER_USER: &str = "former user";

/// Display names for these stored actors: a user's name, `token <name>` for a token,
/// "command line", "retention", and [`FORMER_USER`] for anyone deleted or unknown.
pub async fn names<'a, C: ConnectionTrait>(
    db: &C,
    stored: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, String>> {
    let stored: BTreeSet<&str> = stored.into_iter().collect();
    let parsed: Vec<(&str, Option<Actor>)> = stored.iter().map(|s| (*s, Actor::parse(s))).collect();
    let user_ids: Vec<i64> = parsed
        .iter()
        .filter_map(|(_, a)| match a {
            Some(Actor::User(id)) => Some(*id),
            _ => None,
        })
        .collect();
    let token_ids: Vec<i64> = parsed
        .iter()
        .filter_map(|(_, a)| match a {
            Some(Actor::Token(id)) => Some(*id),
            _ => None,
        })
        .collect();
    let users: HashMap<i64, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(user_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let tokens: HashMap<i64, String> = api_token::Entity::find()
        .filter(api_token::Column::Id.is_in(token_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(parsed
        .into_iter()
        .map(|(s, a)| {
            let name = match a {
                Some(Actor::User(id)) => users.get(&id).cloned(),
                Some(Actor::Token(id)) => tokens.get(&id).map(|n| format!("token {n}")),
                Some(Actor::Cli) => Some("command line".into()),
                Some(Actor::Retention) => Some("retention".into()),
                Some(Actor::Customer) => Some("a customer".into()),
                None => None,
            };
            (s.to_string(), name.unwrap_or_else(|| FORMER_USER.into()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips() {
        for a in [
            Actor::User(7),
            Actor::Token(3),
            Actor::Cli,
            Actor::Retention,
        ] {
            assert_eq!(Actor::parse(&a.stored()), Some(a));
        }
        assert_eq!(Actor::parse("Pat <pat@corp.test>"), None);
        assert_eq!(Actor::parse("user:x"), None);
    }
}
