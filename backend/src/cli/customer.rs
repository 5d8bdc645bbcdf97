//! `triage customer export|erase|erasures`: a customer's data on request (GDPR articles 15
//! and 17), for the operator on the server's machine. The API offers the same to admins.

use crate::db::{self, customers};
use crate::privacy::{self, Actor};
use crate::{Config, Error, Result};

#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Who {
    /// The customer's email.
    #[arg(long)]
    email: Option<String>,
    /// Your id for the customer.
    #[arg(long)]
    external_id: Option<String>,
    /// triage's id for the customer.
    #[arg(long)]
    id: Option<i64>,
}

#[derive(clap::Subcommand, Debug)]
pub enum CustomerCommand {
    /// Print everything held about one customer as one JSON document.
    Export {
        #[command(flatten)]
        who: Who,
    },
    /// Remove a customer and everything they contributed, everywhere; prints the receipt.
    Erase {
        #[command(flatten)]
        who: Who,
        /// Needed: erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Erasure receipts, newest first (what was removed, when, by whom; no personal data).
    Erasures {
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Erase items older than TRIAGE_RETENTION_DAYS now (`serve` does it daily).
    Retention,
}

pub async fn run(config: &Config, cmd: &CustomerCommand) -> Result<()> {
    let db = db::connect(config).await?;
    match cmd {
        CustomerCommand::Export { who } => {
            let id = resolve(&db, who).await?;
            print_json(&privacy::export::export(&db, id).await?)
        }
        CustomerCommand::Erase { who, yes } => {
            let id = resolve(&db, who).await?;
            if !yes {
                return Err(Error::Config(format!(
                    "erasing customer {id} removes them and every item they contributed, for \
                     good; run it again with --yes if that is what you want"
                )));
            }
            let erased = privacy::erase::customer(&db, id, &Actor::Cli).await?;
            finish(config, &db, &erased.item_ids).await?;
            print_json(&erased.receipt)
        }
        CustomerCommand::Erasures { limit } => {
            let page = db::Page {
                limit: *limit,
                offset: 0,
            };
            print_json(&privacy::erase::receipts(&db, page).await?.items)
        }
        CustomerCommand::Retention => {
            let days = config.retention_days.ok_or_else(|| {
                Error::Config("TRIAGE_RETENTION_DAYS is not set: every item is kept".into())
            })?;
            let done = privacy::retention::run_once(&db, days).await?;
            let ids: Vec<i64> = done.iter().flat_map(|e| e.item_ids.clone()).collect();
            finish(config, &db, &ids).await?;
            let receipts: Vec<_> = done.into_iter().map(|e| e.receipt).collect();
            print_json(&receipts)
        }
    }
}

/// Applies the erasure to the index and the graph, or says who will.
async fn finish(config: &Config, db: &sea_orm::DatabaseConnection, ids: &[i64]) -> Result<()> {
    if !privacy::erase::apply_now(config, db, ids).await? {
        eprintln!(
            "a running `triage serve` holds the search index; it removes the erased items from \
             the index and the vector graph within seconds"
        );
    }
    Ok(())
}

async fn resolve(db: &sea_orm::DatabaseConnection, who: &Who) -> Result<i64> {
    if let Some(id) = who.id {
        return Ok(id);
    }
    let email = who.email.as_deref().map(str::to_lowercase);
    let c = customers::find_by_key(db, who.external_id.as_deref(), email.as_deref())
        .await?
        .ok_or_else(|| {
            let key = who.email.as_deref().or(who.external_id.as_deref());
            Error::not_found("customer", format!("{:?}", key.unwrap_or_default()))
        })?;
    Ok(c.id)
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(Error::failed("writing JSON"))?;
    println!("{text}");
    Ok(())
}
