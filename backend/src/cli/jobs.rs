//! `triage jobs`: the outbox queues — how many jobs wait, which have failed for good and
//! why, and putting failed ones back in line once their cause is fixed.

use clap::Subcommand;
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::db::outbox;
use crate::{Error, Result};

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Jobs waiting per topic; with --failed, every job that failed for good.
    List {
        /// List the failed (dead) jobs with their last error.
        #[arg(long)]
        failed: bool,
        #[arg(long)]
        json: bool,
    },
    /// Put failed jobs back in line (these ids, or --all).
    Retry {
        ids: Vec<i64>,
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub async fn run(
    db: &DatabaseConnection,
    config: &crate::Config,
    command: &JobsCommand,
) -> Result<()> {
    match command {
        JobsCommand::List {
            failed: false,
            json,
        } => {
            let mut rows = Vec::new();
            for topic in outbox::TOPICS {
                // The index topic is a log each replica's index reads: pending is what this
                // data dir's index has not read.
                let pending = if topic == outbox::TOPIC_INDEX {
                    crate::jobs::index_sync::pending(db, &config.data_dir).await?
                } else {
                    outbox::pending(db, topic).await?
                };
                rows.push((topic, pending, outbox::dead_count(db, topic).await?));
            }
            if *json {
                let topics: serde_json::Map<_, _> = rows
                    .iter()
                    .map(|(t, p, d)| (t.to_string(), json!({"pending": p, "failed": d})))
                    .collect();
                println!("{}", serde_json::Value::Object(topics));
            } else {
                println!("topic\tpending\tfailed");
                for (t, p, d) in rows {
                    println!("{t}\t{p}\t{d}");
                }
            }
        }
        JobsCommand::List { failed: true, json } => {
            let dead = outbox::dead(db, None).await?;
            if *json {
                let text = serde_json::to_string(&dead).map_err(Error::failed("jobs list"))?;
                println!("{text}");
            } else if dead.is_empty() {
                println!("no failed jobs");
            } else {
                println!("id\ttopic\titem\tattempts\tfailed at\tlast error");
                for j in dead {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        j.id,
                        j.topic,
                        j.item_id,
                        j.attempts,
                        j.dead_at
                            .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                        j.last_error.unwrap_or_default()
                    );
                }
            }
        }
        JobsCommand::Retry { ids, all } => {
            if ids.is_empty() && !all {
                return Err(Error::Config(
                    "name the failed jobs to retry (ids from `triage jobs list --failed`) or pass --all"
                        .into(),
                ));
            }
            let n = outbox::retry(db, (!all).then_some(ids.as_slice())).await?;
            println!("{n} failed job(s) back in line; a running `triage serve` picks them up");
        }
    }
    Ok(())
}
