//! `triage themes rebuild|list`.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::db::entity::theme;
use crate::db::{self, items};
use crate::embed::minilm::MiniLm;
use crate::jobs::embed_sync::EmbedSync;
use crate::themes::discover::DiscoverOptions;
use crate::themes::rebuild::rebuild;
use crate::{Config, Error, Result};

#[derive(clap::Subcommand, Debug)]
pub enum ThemesCommand {
    /// Embed what is missing, then re-cluster all items into themes (keeping human edits).
    Rebuild {
        /// `auto` or a number of themes.
        #[arg(long, default_value = "auto")]
        clusters: String,
        #[arg(long)]
        json: bool,
    },
    /// The current themes, largest first.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// Embeds every item not embedded yet (with a progress bar unless `quiet`), then
/// re-clusters everything.
pub(super) async fn embed_and_rebuild(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    clusters: Option<usize>,
    quiet: bool,
) -> Result<crate::themes::rebuild::RebuildReport> {
    let embedder = embedder(config, db.clone()).await?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(items::count(db).await?)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} embedding new items {bar:30} {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    embedder
        .reembed(false, |done| bar.set_position(done))
        .await?;
    bar.finish_and_clear();
    let opts = DiscoverOptions {
        clusters,
        ..Default::default()
    };
    rebuild(
        db,
        embedder.embedder().model_name(),
        &opts,
        Some(embedder.embedder().clone()),
    )
    .await
}

pub async fn run(config: &Config, cmd: &ThemesCommand) -> Result<()> {
    let db = db::connect(config).await?;
    match cmd {
        ThemesCommand::Rebuild { clusters, json } => {
            let clusters = parse_clusters(clusters)?;
            let report = embed_and_rebuild(config, &db, clusters, *json).await?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string(&report).map_err(Error::failed("writing the report"))?
                );
            } else {
                println!(
                    "{} items → {} themes ({} kept their id, {} new), {} unthemed, {} moved, in {:.2}s",
                    report.items,
                    report.themes,
                    report.kept_ids,
                    report.new_themes,
                    report.unthemed,
                    report.moved,
                    report.seconds
                );
            }
            Ok(())
        }
        ThemesCommand::List { json } => {
            let themes = theme::Entity::find()
                .filter(theme::Column::MergedInto.is_null())
                .filter(theme::Column::Size.gt(0))
                .order_by_desc(theme::Column::Size)
                .all(&db)
                .await?;
            if *json {
                let rows: Vec<_> = themes
                    .iter()
                    .map(|t| {
                        json!({
                            "id": t.id,
                            "label": t.display_label(),
                            "keywords": t.keyword_list(),
                            "size": t.size,
                            "locked": t.locked,
                        })
                    })
                    .collect();
                println!("{}", json!({ "themes": rows }));
            } else if themes.is_empty() {
                println!("no themes yet: run `triage themes rebuild`");
            } else {
                for t in &themes {
                    println!("{:>6}  {:>6}  {}", t.id, t.size, t.display_label());
                }
            }
            Ok(())
        }
    }
}

pub fn parse_clusters(s: &str) -> Result<Option<usize>> {
    match s {
        "auto" => Ok(None),
        n => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 2)
            .map(Some)
            .ok_or_else(|| {
                Error::invalid(
                    "invalid_value",
                    "clusters",
                    format!("--clusters must be auto or a number ≥ 2, got {n:?}"),
                )
            }),
    }
}

/// The embedding worker for a one-off command (claims under a name of its own).
pub async fn embedder(config: &Config, db: sea_orm::DatabaseConnection) -> Result<EmbedSync> {
    let model = MiniLm::load_configured(config).await?;
    EmbedSync::new(db, Arc::new(model), "cli".into())
}
