//! Customers as stored: inserting one (or learning that its key is taken), lookups by
//! key, changing details, and the customers behind a theme.
//!
//! Which customer an item belongs to is intake's rule (`intake::customers`); details change
//! only through [`update`], which the customers API offers to product managers and admins.

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use super::entity::consent_event::{self, ConsentSource};
use super::entity::customer::{self, Column, Entity as Customers};
use crate::{Error, Result};

/// Creates a customer; `None` when its email or external id already belongs to one (the
/// unique constraints decide, so two concurrent creates cannot both succeed).
pub async fn insert_new<C: ConnectionTrait>(
    db: &C,
    model: customer::ActiveModel,
) -> Result<Option<customer::Model>> {
    super::insert_or_skip(db, model).await
}

/// The customer with this external id, or else this email.
pub async fn find_by_key<C: ConnectionTrait>(
    db: &C,
    external_id: Option<&str>,
    email: Option<&str>,
) -> Result<Option<customer::Model>> {
    for (column, value) in [(Column::ExternalId, external_id), (Column::Email, email)] {
        let Some(value) = value else { continue };
        if let Some(m) = Customers::find().filter(column.eq(value)).one(db).await? {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// Customers whose external id (`by_email`: email) is one of `keys`.
pub async fn with_keys<C: ConnectionTrait>(
    db: &C,
    keys: &[String],
    by_email: bool,
) -> Result<Vec<customer::Model>> {
    let column = if by_email {
        Column::Email
    } else {
        Column::ExternalId
    };
    let mut out = Vec::new();
    for chunk in keys.chunks(1000) {
        out.extend(
            Customers::find()
                .filter(column.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The largest `account_value` accepted (10¹², a trillion in any currency). The backlog
/// sums account values; a bound keeps every sum, and so every score, finite.
pub const MAX_ACCOUNT_VALUE: f64 = 1e12;

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
    // Two changes of one customer apply one after the other (the tallies snapshot below
    // must read what the other left).
    super::lock_rows(&txn, "customers", "id", [id]).await?;
    let m = Customers::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("customer", id))?;
    // A patch that names nothing changes nothing (PATCH semantics), not an error.
    if *patch == CustomerPatch::default() {
        return Ok(m);
    }
    let segment_changed = patch.segment.is_some() && patch.segment != m.segment;
    let value_changed = patch.account_value.is_some() && patch.account_value != m.account_value;
    // The backlog tallies count items by segment and customers by value.
    let tallied = if segment_changed || value_changed {
        let items = super::items::ids_of_customers(&txn, &[id]).await?;
        Some(super::tallies::snapshot(&txn, &items).await?)
    } else {
        None
    };
    let was_opted_in = m.notify_opt_in;
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
        if v != was_opted_in {
            record_consent(&txn, id, v, ConsentSource::Changed).await?;
        }
    }
    let m = am.update(&txn).await?;
    if let Some(snap) = tallied {
        if segment_changed {
            super::outbox::enqueue(&txn, super::outbox::TOPIC_INDEX, snap.item_ids()).await?;
        }
        super::tallies::commit(&txn, snap).await?;
    }
    txn.commit().await?;
    Ok(m)
}

/// Records a change to customer `customer_id`'s wish to hear back (the history an export
/// shows; see `consent_event`).
pub async fn record_consent<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
    opt_in: bool,
    source: ConsentSource,
) -> Result<()> {
    consent_event::ActiveModel {
        customer_id: Set(customer_id),
        opt_in: Set(opt_in),
        source: Set(source),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The customer no longer wants to hear back (the link in a mail); recorded when it was a
/// change. An unknown (erased) customer is nothing to do.
pub async fn unsubscribe(db: &sea_orm::DatabaseConnection, id: i64) -> Result<()> {
    let txn = super::begin_write(db).await?;
    if let Some(found) = Customers::find_by_id(id).one(&txn).await? {
        if found.notify_opt_in {
            let mut am = found.into_active_model();
            am.notify_opt_in = Set(false);
            am.update(&txn).await?;
            record_consent(&txn, id, false, ConsentSource::Unsubscribed).await?;
        }
    }
    txn.commit().await?;
    Ok(())
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

impl Contributor {
    /// As shown to a role that does not see contact details (`Role::sees_customer_contact`).
    pub fn without_contact(self) -> Self {
        Contributor {
            email: None,
            account_value: None,
            ..self
        }
    }
}

/// The customers behind a theme's items: most items first, then highest account value.
/// Read from the backlog's theme × customer tallies (`backlog_pairs`, kept equal to a
/// count of the theme's items per customer), so a theme of 50,000 items reads its pairs,
/// not its items.
pub async fn contributors<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    limit: u64,
) -> Result<Vec<Contributor>> {
    use sea_orm::sea_query::{Alias, Expr, JoinType, NullOrdering, Order, Query};
    let pairs = Alias::new(super::tallies::PAIRS);
    let items = Alias::new("items");
    let q = Query::select()
        .columns([
            (Customers, Column::Id),
            (Customers, Column::Name),
            (Customers, Column::Email),
            (Customers, Column::Segment),
            (Customers, Column::AccountValue),
        ])
        .column((pairs.clone(), items.clone()))
        .from(pairs.clone())
        .join(
            JoinType::InnerJoin,
            Customers,
            Expr::col((Customers, Column::Id)).equals((pairs.clone(), Alias::new("customer_id"))),
        )
        .and_where(Expr::col((pairs.clone(), Alias::new("theme_id"))).eq(theme_id))
        .and_where(Expr::col((pairs.clone(), items.clone())).gt(0))
        .order_by((pairs, items), Order::Desc)
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
