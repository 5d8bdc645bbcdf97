//! Which customer an item belongs to, and creating customers.
//!
//! A reference matches an existing customer by external id first, then by email. Intake
//! may **create** a customer with the details it gives, but never **changes** one: anyone
//! with an intake token (or the public survey page) could otherwise rewrite a customer's
//! segment, account value or consent by naming them on a ticket. Details change only
//! through `db::customers::update`, which the customers API offers to product managers
//! and admins. Creation is `ON CONFLICT DO NOTHING` followed by a lookup, so two
//! concurrent requests naming the same new customer both succeed and share one row.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait};

use super::validate::CustomerRef;
use crate::db::customers;
use crate::db::entity::consent_event::ConsentSource;
use crate::db::entity::customer;
use crate::{Error, Result};

/// The customer id of every reference, in input order: the existing customer it names, or
/// a new one created from it. Existing customers are left exactly as they are.
pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    refs: &[Option<&CustomerRef>],
) -> Result<Vec<Option<i64>>> {
    let mut known = Known::load(db, refs).await?;
    let mut ids = Vec::with_capacity(refs.len());
    for r in refs {
        let Some(r) = r else {
            ids.push(None);
            continue;
        };
        let model = match known.find(r) {
            Some(existing) => existing,
            None => find_or_create(db, r).await?,
        };
        ids.push(Some(model.id));
        known.add(model);
    }
    Ok(ids)
}

/// Creates the customer `r` describes, or a 409 naming the field (`external_id`, `email`)
/// that already belongs to someone. One statement decides: checking first and inserting
/// after would let two concurrent creates of the same customer both succeed.
pub async fn create<C: ConnectionTrait>(db: &C, r: &CustomerRef) -> Result<customer::Model> {
    if let Some(m) = insert(db, r).await? {
        return Ok(m);
    }
    for (field, value, by_email) in [
        ("external_id", &r.external_id, false),
        ("email", &r.email, true),
    ] {
        let Some(value) = value.as_deref() else {
            continue;
        };
        let (external_id, email) = if by_email {
            (None, Some(value))
        } else {
            (Some(value), None)
        };
        if let Some(existing) = customers::find_by_key(db, external_id, email).await? {
            return Err(Error::Conflict {
                field: field.into(),
                message: format!("customer {} already has {field} {value:?}", existing.id),
            });
        }
    }
    Err(Error::Internal(
        "a customer insert conflicted with no customer".into(),
    ))
}

async fn find_or_create<C: ConnectionTrait>(db: &C, r: &CustomerRef) -> Result<customer::Model> {
    if let Some(m) = insert(db, r).await? {
        return Ok(m);
    }
    // Someone else created it meanwhile (or the email belongs to another external id).
    customers::find_by_key(db, r.external_id.as_deref(), r.email.as_deref())
        .await?
        .ok_or_else(|| Error::Internal("customer vanished after a conflicting insert".into()))
}

/// Inserts the customer `r` describes (`None` when its key is taken); an opt-in given with
/// it starts the customer's consent history.
async fn insert<C: ConnectionTrait>(db: &C, r: &CustomerRef) -> Result<Option<customer::Model>> {
    let m = customers::insert_new(db, active_model(r)).await?;
    if let Some(m) = m.as_ref().filter(|m| m.notify_opt_in) {
        customers::record_consent(db, m.id, true, ConsentSource::Given).await?;
    }
    Ok(m)
}

fn active_model(r: &CustomerRef) -> customer::ActiveModel {
    customer::ActiveModel {
        external_id: Set(r.external_id.clone()),
        email: Set(r.email.clone()),
        name: Set(r.name.clone()),
        segment: Set(r.segment.clone()),
        account_value: Set(r.account_value),
        notify_opt_in: Set(r.notify_opt_in.unwrap_or(false)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// Customers already stored that a batch refers to, by external id and by email.
struct Known {
    by_external: HashMap<String, customer::Model>,
    by_email: HashMap<String, customer::Model>,
}

impl Known {
    async fn load<C: ConnectionTrait>(db: &C, refs: &[Option<&CustomerRef>]) -> Result<Self> {
        let keys = |f: fn(&CustomerRef) -> &Option<String>| {
            let mut v: Vec<String> = refs.iter().flatten().filter_map(|r| f(r).clone()).collect();
            v.sort();
            v.dedup();
            v
        };
        let mut known = Self {
            by_external: HashMap::new(),
            by_email: HashMap::new(),
        };
        let stored = [
            customers::with_keys(db, &keys(|r| &r.external_id), false).await?,
            customers::with_keys(db, &keys(|r| &r.email), true).await?,
        ];
        for m in stored.into_iter().flatten() {
            known.add(m);
        }
        Ok(known)
    }

    fn find(&self, r: &CustomerRef) -> Option<customer::Model> {
        r.external_id
            .as_ref()
            .and_then(|e| self.by_external.get(e))
            .or_else(|| r.email.as_ref().and_then(|e| self.by_email.get(e)))
            .cloned()
    }

    fn add(&mut self, m: customer::Model) {
        if let Some(e) = &m.external_id {
            self.by_external.insert(e.clone(), m.clone());
        }
        if let Some(e) = &m.email {
            self.by_email.insert(e.clone(), m);
        }
    }
}
