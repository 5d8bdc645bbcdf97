//! `/api/v1/tickets`: create, get and list support tickets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, Auth, JsonBody, Listing, Params, PathIds};
use crate::db::entity::ticket::{self, Column, Entity as Tickets};
use crate::db::items;
use crate::db::items::ItemKind;
use crate::db::tokens::Role;
use crate::intake::input::TicketInput;
use crate::intake::store::Source;
use crate::intake::validate;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
}

/// A stored support ticket.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Ticket)]
pub struct TicketView {
    id: i64,
    /// The unified feedback item (search, themes); null until it exists.
    item_id: Option<i64>,
    subject: String,
    body: String,
    priority: String,
    status: String,
    tags: Vec<String>,
    customer_id: Option<i64>,
    external_id: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    /// When its helpdesk last changed it (tickets kept up to date by a webhook).
    source_updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl TicketView {
    fn new(t: ticket::Model, item_id: Option<i64>) -> Self {
        Self {
            id: t.id,
            item_id,
            tags: serde_json::from_str(&t.tags).unwrap_or_default(),
            subject: t.subject,
            body: t.body,
            priority: t.priority,
            status: t.status,
            customer_id: t.customer_id,
            external_id: t.external_id,
            created_at: t.created_at,
            source_updated_at: t.source_updated_at,
        }
    }
}

/// File a support ticket.
#[utoipa::path(post, path = "/tickets", tag = "tickets", request_body = TicketInput,
    responses((status = 201, description = "stored", body = TicketView)))]
async fn create(
    State(ctx): State<ApiContext>,
    auth: Auth,
    JsonBody(input): JsonBody<TicketInput>,
) -> Result<(StatusCode, Json<TicketView>)> {
    auth.require(&Role::ALL)?;
    let (id, item_id) = ctx
        .writes
        .tickets
        .store(validate::ticket(input)?, Source::Api)
        .await?;
    ctx.wake_workers();
    let t = find(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(TicketView::new(t, Some(item_id)))))
}

async fn find(ctx: &ApiContext, id: i64) -> Result<ticket::Model> {
    Tickets::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| Error::not_found("ticket", id))
}

/// One ticket.
#[utoipa::path(get, path = "/tickets/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, description = "the ticket", body = TicketView)))]
async fn get_one(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
) -> Result<Json<TicketView>> {
    let id = ids.first();
    let t = find(&ctx, id).await?;
    let item = items::by_source(&ctx.db, ItemKind::Ticket, id).await?;
    Ok(Json(TicketView::new(t, item.map(|i| i.id))))
}

/// Tickets, newest first.
#[utoipa::path(get, path = "/tickets", tag = "tickets", params(super::PageQuery,
        ("status" = Option<String>, Query, description = "only tickets with this status")),
    responses((status = 200, description = "a page of tickets", body = Listing<TicketView>)))]
async fn list(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<Listing<TicketView>>> {
    let page = params.page(50, 500)?;
    let status = params.text("status");
    params.finish()?;
    let mut select = Tickets::find();
    if let Some(s) = status {
        select = select.filter(Column::Status.eq(s));
    }
    let rows = crate::db::page(&ctx.db, select, Column::Id, page.limit, page.offset).await?;
    Ok(Json(
        Listing::of(
            &ctx,
            ItemKind::Ticket,
            rows,
            page,
            |t| t.id,
            TicketView::new,
        )
        .await?,
    ))
}
