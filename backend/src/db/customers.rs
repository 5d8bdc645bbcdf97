//! Customers: finding or creating the customer an item refers to, and changing one.
//!
//! A reference matches an existing customer by external id first, then by email. Intake
//! may **create** a customer with the details it gives, but never **changes** one: anyone
//! with an intake token (or the public survey page) could otherwise rewrite a customer's
//! segment, account value or consent by naming them on a ticket. Details change only
//! through [`update`], which the customers API offers to product managers and admins.
//! Creation is `ON CONFLICT DO NOTHING` followed by a lookup, so two concurrent requests
//! naming the same new customer both succeed and share one row.

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
            None => create(db, r).await?,
        };
        ids.push(Some(model.id));
        known.add(model);
    }
    Ok(ids)
}

/// Creates a customer; `None` when its email or external id already belongs to one (the
/// unique constraints decide, so two concurrent creates cannot both succeed).
pub async fn insert_new<C: ConnectionTrait>(
    db: &C,
    r: &CustomerRef,
) -> Result<Option<customer::Model>> {
    insert_or_skip(db, active_model(r)).await
}

/// A change to a customer's details: `Some` fields are set, `None` ones left alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub segment: Option<String>,
    pub account_value: Option<f64>,
    pub notify_opt_in: Option<bool>,
}

/// Applies `patch` to customer `id`. A segment change re-indexes the customer's items (search
/// filters by segment), in the same transaction.
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    id: i64,
    patch: &CustomerPatch,
) -> Result<customer::Model> {
    let txn = super::begin_write(db).await?;
    let m = Customers::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("customer", id))?;
    // A patch that names nothing changes nothing (PATCH semantics), not an error.
    if *patch == CustomerPatch::default() {
        return Ok(m);
    }
    let segment_changed = patch.segment.is_some() && patch.segment != m.segment;
    let mut am = m.into_active_model();
    if patch.name.is_some() {
        am.name = Set(patch.name.clone());
    }
    if patch.segment.is_some() {
        am.segment = Set(patch.segment.clone());
    }
    if patch.account_value.is_some() {
        am.account_value = Set(patch.account_value);
    }
    if let Some(v) = patch.notify_opt_in {
        am.notify_opt_in = Set(v);
    }
    let m = am.update(&txn).await?;
    if segment_changed {
        let items = super::items::ids_of_customers(&txn, &[id]).await?;
        super::outbox::enqueue(&txn, super::outbox::TOPIC_INDEX, &items).await?;
    }
    txn.commit().await?;
    Ok(m)
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

    fn add(&mut self, m: customer::Model) {
        if let Some(e) = &m.external_id {
            self.by_external.insert(e.clone(), m.clone());
        }
        if let Some(e) = &m.email {
            self.by_email.insert(e.clone(), m);
        }
    }
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

async fn create<C: ConnectionTrait>(db: &C, r: &CustomerRef) -> Result<customer::Model> {
    if let Some(m) = insert_new(db, r).await? {
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
