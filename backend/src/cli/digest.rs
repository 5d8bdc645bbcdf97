//! `triage digest preview|send`.

use std::path::PathBuf;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::db::entity::user;
use crate::digest::deliver::deliver_due;
use crate::digest::mailer::Mailer;
use crate::digest::week::IsoWeek;
use crate::digest::{schedule, subscriptions};
use crate::{db, Config, Error, Result};

#[derive(clap::Subcommand, Debug)]
pub enum DigestCommand {
    /// Print a digest's text part (or write its HTML part to a file).
    Preview {
        /// Whose digest (their filters and name); default: the first admin or pm.
        #[arg(long)]
        to: Option<String>,
        /// The week it reports on, like 2026-W47; default: last week.
        #[arg(long)]
        week: Option<String>,
        /// Write the HTML part here instead of printing the text part.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Queue every subscriber's digest for a week (default: last week) and send all due
    /// mail now; a digest already queued for that week is skipped, never sent twice.
    Send {
        #[arg(long)]
        week: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn week(arg: &Option<String>) -> Result<IsoWeek> {
    match arg {
        Some(w) => IsoWeek::parse("--week", w),
        None => Ok(IsoWeek::containing(Utc::now()).previous()),
    }
}

pub async fn run(config: &Config, cmd: &DigestCommand) -> Result<()> {
    let db = db::connect(config).await?;
    match cmd {
        DigestCommand::Preview { to, week: w, html } => {
            let w = week(w)?;
            let recipient = match to {
                Some(email) => user::Entity::find()
                    .filter(user::Column::Email.eq(email.trim().to_lowercase()))
                    .one(&db)
                    .await?
                    .ok_or_else(|| Error::invalid("unknown_user", "--to", format!("there is no user {email}")))?,
                None => user::Entity::find()
                    .filter(user::Column::Role.is_in(["admin", "pm"]))
                    .one(&db)
                    .await?
                    .ok_or_else(|| Error::invalid("missing_field", "--to", "there are no pm or admin users yet; create one with `triage user create`"))?,
            };
            let sub = subscriptions::get(&db, recipient.id).await?;
            let m = schedule::compose(&db, config, &recipient, sub.as_ref(), w).await?;
            match html {
                Some(path) => {
                    std::fs::write(path, &m.html).map_err(|e| Error::io(path, e))?;
                    eprintln!(
                        "wrote the HTML part of {}'s digest for {w} to {}",
                        recipient.email,
                        path.display()
                    );
                }
                None => println!("Subject: {}\nTo: {}\n\n{}", m.subject, m.recipient, m.text),
            }
            Ok(())
        }
        DigestCommand::Send { week: w, json } => {
            let w = week(w)?;
            let url = config
                .smtp_url
                .as_deref()
                .ok_or_else(|| Error::Config("SMTP_URL is not set; see docs/digests.md".into()))?;
            let mailer = Mailer::new(url, &config.mail_from, config.smtp_ca_file.as_deref())?;
            let queued = schedule::enqueue(&db, config, Some(w), Utc::now()).await?;
            let consumer = format!("cli-{}", std::process::id());
            let d = deliver_due(&db, &mailer, &consumer, config.mail_retry).await?;
            let report = json!({
                "week": w.to_string(),
                "queued": queued.queued,
                "sent": d.sent,
                "skipped": queued.skipped,
                "failed": d.failed + d.retrying,
                "retrying": d.retrying,
            });
            if *json {
                println!("{report}");
            } else {
                println!(
                    "{w}: {} digests queued, {} emails sent, {} skipped (already queued), {} failed ({} will be retried)",
                    queued.queued, d.sent, queued.skipped, d.failed + d.retrying, d.retrying
                );
            }
            Ok(())
        }
    }
}
