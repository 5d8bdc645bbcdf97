//! `/api/v1/customers`: create, get, list and change customers.
//!
//! Items usually create their customer implicitly (by email or external id); this route
//! is for loading customer details — segment, account value, opt-in — up front, and the
//! only way to change them afterwards (`PATCH`, product managers and admins): intake never
//! changes an existing customer.
//!
//! Support tokens see a customer's name and segment, not their email or account value
//! (least access). Admins can export everything held about a customer and erase them
//! (GDPR articles 15 and 17; `crate::privacy`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AdminOnly, ApiContext, Auth, Editor, JsonBody, Listing, Params, PathIds};
use crate::db::customers;
use crate::db::entity::customer::{self, Column, Entity as Customers};
use crate::db::entity::erasure;
use crate::db::tokens::Role;
use crate::intake::input::{CustomerInput, CustomerUpdate};
use crate::intake::validate;
use crate::privacy::{self, export::CustomerExport, Actor};
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, erase))
        .routes(routes!(export))
        .routes(routes!(erasures))
}

/// What `auth` may see of a customer.
fn shown(auth: &Auth, m: customer::Model) -> customer::Model {
    if auth.role.sees_customer_contact() {
        m
    } else {
        m.without_contact()
    }
}

/// Everything held about one customer, as one document (admin).
#[utoipa::path(get, path = "/customers/{id}/export", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, description = "the customer's data", body = CustomerExport)))]
async fn export(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    ids: PathIds,
) -> Result<Json<CustomerExport>> {
    Ok(Json(privacy::export::export(&ctx.db, ids.first()).await?))
}

/// Erase a customer and everything they contributed (admin); answers with the receipt.
/// The database changes at once; the search index and the vector graph follow within
/// seconds.
#[utoipa::path(delete, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, description = "the erasure receipt", body = erasure::Model)))]
async fn erase(
    State(ctx): State<ApiContext>,
    admin: AdminOnly,
    ids: PathIds,
) -> Result<Json<erasure::Model>> {
    let erased =
        privacy::erase::customer(&ctx.db, ids.first(), &Actor::Token(admin.token_id)).await?;
    ctx.index_wake.notify_one();
    ctx.embed_wake.notify_one();
    Ok(Json(erased.receipt))
}

/// Erasure receipts, newest first (admin): counts and former ids, no personal data.
#[utoipa::path(get, path = "/erasures", tag = "customers", params(super::PageQuery),
    responses((status = 200, description = "a page of receipts", body = Listing<erasure::Model>)))]
async fn erasures(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    mut params: Params,
) -> Result<Json<Listing<erasure::Model>>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    Ok(Json(privacy::erase::receipts(&ctx.db, page).await?))
}

/// Create a customer; 409 when the email or external id is taken.
#[utoipa::path(post, path = "/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, description = "created", body = customer::Model)))]
async fn create(
    State(ctx): State<ApiContext>,
    auth: Auth,
    JsonBody(input): JsonBody<CustomerInput>,
) -> Result<(StatusCode, Json<customer::Model>)> {
    auth.require(&Role::ALL)?;
    let Some(r) = validate::customer_ref(input).map_err(unprefix)? else {
        return Err(Error::invalid(
            "missing_field",
            "email",
            "a customer needs an email or an external_id",
        ));
    };
    let m = crate::intake::customers::create(&ctx.db, &r).await?;
    Ok((StatusCode::CREATED, Json(shown(&auth, m))))
}

/// Change a customer's name, segment, account value or opt-in (pm, admin); intake never
/// changes a customer.
#[utoipa::path(patch, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    request_body = CustomerUpdate,
    responses((status = 200, description = "the customer", body = customer::Model)))]
async fn update(
    State(ctx): State<ApiContext>,
    _: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<CustomerUpdate>,
) -> Result<Json<customer::Model>> {
    let patch = validate::customer_patch(input)?;
    Ok(Json(customers::update(&ctx.db, ids.first(), &patch).await?))
}

/// Field paths from `customer_ref` are relative to an item (`customer.email`); here the
/// customer is the whole body.
fn unprefix(e: Error) -> Error {
    match e {
        Error::Invalid {
            code,
            field,
            message,
        } => Error::Invalid {
            code,
            field: field.map(|f| f.trim_start_matches("customer.").to_string()),
            message: message.replace("customer.", ""),
        },
        other => other,
    }
}

async fn find(ctx: &ApiContext, id: i64) -> Result<customer::Model> {
    Customers::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| Error::not_found("customer", id))
}

/// One customer.
#[utoipa::path(get, path = "/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, description = "the customer", body = customer::Model)))]
async fn get_one(
    State(ctx): State<ApiContext>,
    auth: Auth,
    ids: PathIds,
) -> Result<Json<customer::Model>> {
    Ok(Json(shown(&auth, find(&ctx, ids.first()).await?)))
}

/// Customers, newest first.
#[utoipa::path(get, path = "/customers", tag = "customers", params(super::PageQuery,
        ("segment" = Option<String>, Query, description = "only this segment")),
    responses((status = 200, description = "a page of customers", body = Listing<customer::Model>)))]
async fn list(
    State(ctx): State<ApiContext>,
    auth: Auth,
    mut params: Params,
) -> Result<Json<Listing<customer::Model>>> {
    let page = params.page(50, 500)?;
    let segment = params.text("segment");
    params.finish()?;
    let mut select = Customers::find();
    if let Some(s) = segment {
        select = select.filter(Column::Segment.eq(s));
    }
    let (items, total) =
        crate::db::page(&ctx.db, select, Column::Id, page.limit, page.offset).await?;
    let items = items.into_iter().map(|m| shown(&auth, m)).collect();
    Ok(Json(Listing::new(items, total, page)))
}
