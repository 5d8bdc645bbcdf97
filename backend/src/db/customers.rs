//! Customers: finding or creating the customer an item refers to.
//!
//! A reference matches an existing customer by external id first, then by email. Details
//! given with a reference (name, segment, account value, opt-in) update the stored
//! customer, since intake is where they change. Creation is `ON CONFLICT DO NOTHING`
//! followed by a lookup, so two concurrent requests naming the same new customer both
//! succeed and share one row.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use super::entity::customer::{self, Column, Entity as Customers};
use crate::intake::store::insert_or_skip;
use crate::intake::validate::CustomerRef;
use crate::{Error, Result};

/// Result of resolving a batch of references.
pub struct Resolved {
    /// Customer id per reference, in input order.
    pub ids: Vec<Option<i64>>,
    /// Customers whose segment changed: their items must be re-indexed.
    pub segment_changed: Vec<i64>,
}

pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    refs: &[Option<&CustomerRef>],
) -> Result<Resolved> {
    let mut known = Known::load(db, refs).await?;
    let mut ids = Vec::with_capacity(refs.len());
    let mut segment_changed = Vec::new();
    for r in refs {
        let Some(r) = r else {
            ids.push(None);
            continue;
        };
        let model = match known.find(r) {
            Some(existing) => {
                let r = known.without_taken_keys(r, existing.id);
                let (model, seg) = update_details(db, existing, &r).await?;
                if seg {
                    segment_changed.push(model.id);
                }
                model
            }
            None => create(db, r).await?,
        };
        ids.push(Some(model.id));
        known.add(model);
    }
    Ok(Resolved {
        ids,
        segment_changed,
    })
}

/// Customers already stored that a batch refers to, by external id and by email.
struct Known {
    by_external: HashMap<String, customer::Model>,
    by_email: HashMap<String, customer::Model>,
}

impl Known {
    async fn load<C: ConnectionTrait>(db: &C, refs: &[Option<&CustomerRef>]) -> Result<Self> {
        let mut externals: Vec<String> = refs
            .iter()
            .flatten()
            .filter_map(|r| r.external_id.clone())
            .collect();
        let mut emails: Vec<String> = refs
            .iter()
            .flatten()
            .filter_map(|r| r.email.clone())
            .collect();
        externals.sort();
        externals.dedup();
        emails.sort();
        emails.dedup();
        let mut known = Self {
            by_external: HashMap::new(),
            by_email: HashMap::new(),
        };
        for chunk in externals.chunks(1000) {
            for m in Customers::find()
                .filter(Column::ExternalId.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                known.add(m);
            }
        }
        for chunk in emails.chunks(1000) {
            for m in Customers::find()
                .filter(Column::Email.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                known.add(m);
            }
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

    /// `r` without an email or external id that already belongs to another customer, so
    /// filling in a missing key never collides with a unique constraint.
    fn without_taken_keys(&self, r: &CustomerRef, owner: i64) -> CustomerRef {
        let taken = |m: Option<&customer::Model>| m.is_some_and(|m| m.id != owner);
        let mut r = r.clone();
        if taken(r.email.as_ref().and_then(|e| self.by_email.get(e))) {
            r.email = None;
        }
        if taken(r.external_id.as_ref().and_then(|e| self.by_external.get(e))) {
            r.external_id = None;
        }
        r
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

async fn create<C: ConnectionTrait>(db: &C, r: &CustomerRef) -> Result<customer::Model> {
    let am = customer::ActiveModel {
        external_id: Set(r.external_id.clone()),
        email: Set(r.email.clone()),
        name: Set(r.name.clone()),
        segment: Set(r.segment.clone()),
        account_value: Set(r.account_value),
        notify_opt_in: Set(r.notify_opt_in.unwrap_or(false)),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(m) = insert_or_skip(db, am).await? {
        return Ok(m);
    }
    // Someone else created it meanwhile (or the email belongs to another external id).
    let mut cond = sea_orm::Condition::any();
    if let Some(e) = &r.external_id {
        cond = cond.add(Column::ExternalId.eq(e.clone()));
    }
    if let Some(e) = &r.email {
        cond = cond.add(Column::Email.eq(e.clone()));
    }
    Customers::find()
        .filter(cond)
        .one(db)
        .await?
        .ok_or_else(|| Error::Internal("customer vanished after a conflicting insert".into()))
}

/// Applies details the reference gives; returns the customer and whether its segment changed.
async fn update_details<C: ConnectionTrait>(
    db: &C,
    m: customer::Model,
    r: &CustomerRef,
) -> Result<(customer::Model, bool)> {
    let segment_changed = r.segment.is_some() && r.segment != m.segment;
    let changed = segment_changed
        || (r.name.is_some() && r.name != m.name)
        || (r.account_value.is_some() && r.account_value != m.account_value)
        || r.notify_opt_in.is_some_and(|v| v != m.notify_opt_in)
        || (r.email.is_some() && m.email.is_none())
        || (r.external_id.is_some() && m.external_id.is_none());
    if !changed {
        return Ok((m, false));
    }
    let mut am = m.clone().into_active_model();
    if r.segment.is_some() {
        am.segment = Set(r.segment.clone());
    }
    if r.name.is_some() {
        am.name = Set(r.name.clone());
    }
    if r.account_value.is_some() {
        am.account_value = Set(r.account_value);
    }
    if let Some(v) = r.notify_opt_in {
        am.notify_opt_in = Set(v);
    }
    if m.email.is_none() && r.email.is_some() {
        am.email = Set(r.email.clone());
    }
    if m.external_id.is_none() && r.external_id.is_some() {
        am.external_id = Set(r.external_id.clone());
    }
    Ok((am.update(db).await?, segment_changed))
}

/// Every segment some customer is in, sorted (for filter menus).
pub async fn segments<C: ConnectionTrait>(db: &C) -> Result<Vec<String>> {
    use sea_orm::{QueryOrder, QuerySelect};
    let rows: Vec<Option<String>> = Customers::find()
        .select_only()
        .column(Column::Segment)
        .distinct()
        .filter(Column::Segment.is_not_null())
        .order_by_asc(Column::Segment)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().flatten().collect())
}

/// A customer who contributed items to a theme.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct Contributor {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub segment: Option<String>,
    pub account_value: Option<f64>,
    pub items: i64,
}

/// The customers behind a theme's items: most items first, then highest account value.
pub async fn contributors<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    limit: u64,
) -> Result<Vec<Contributor>> {
    use super::entity::{feedback_item as item, item_theme};
    use sea_orm::sea_query::{Alias, Expr, Func, JoinType, NullOrdering, Order, Query};
    let items = Alias::new("items");
    let q = Query::select()
        .columns([
            (Customers, Column::Id),
            (Customers, Column::Name),
            (Customers, Column::Email),
            (Customers, Column::Segment),
            (Customers, Column::AccountValue),
        ])
        .expr_as(
            Func::count(Expr::col((item::Entity, item::Column::Id))),
            items.clone(),
        )
        .from(item_theme::Entity)
        .join(
            JoinType::InnerJoin,
            item::Entity,
            Expr::col((item::Entity, item::Column::Id))
                .equals((item_theme::Entity, item_theme::Column::ItemId)),
        )
        .join(
            JoinType::InnerJoin,
            Customers,
            Expr::col((Customers, Column::Id)).equals((item::Entity, item::Column::CustomerId)),
        )
        .and_where(Expr::col((item_theme::Entity, item_theme::Column::ThemeId)).eq(theme_id))
        .group_by_columns([
            (Customers, Column::Id),
            (Customers, Column::Name),
            (Customers, Column::Email),
            (Customers, Column::Segment),
            (Customers, Column::AccountValue),
        ])
        .order_by(items, Order::Desc)
        .order_by_with_nulls(
            (Customers, Column::AccountValue),
            Order::Desc,
            NullOrdering::Last,
        )
        .order_by((Customers, Column::Id), Order::Asc)
        .limit(limit)
        .to_owned();
    Ok(
        <Contributor as sea_orm::FromQueryResult>::find_by_statement(
            db.get_database_backend().build(&q),
        )
        .all(db)
        .await?,
    )
}
