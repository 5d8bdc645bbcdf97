//! The `triage` command line: argument parsing and one small module per command.
//!
//! Every command that reports figures takes `--json` and then prints exactly one JSON
//! object on stdout (progress and logs go to stderr), so scripts can parse it.

mod customer;
mod demo;
mod digest;
mod eval;
mod eval_edits;
pub(crate) mod import;
mod jobs;
mod reindex;
mod themes;
mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::db::tokens;
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::intake::sources::{Source, SourceOptions, SurveyOptions, Timezone};
use crate::{bench, db, server, Config, Error, Result};

#[derive(Parser, Debug)]
#[command(
    name = "triage",
    version,
    about = "Customer feedback triage: intake, search, themes, backlog, digests"
)]
struct Cli {
    /// Data directory: SQLite file (by default) and search index [env: TRIAGE_DATA_DIR].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://…; default: SQLite in the data directory [env: DATABASE_URL].
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the API server and the index worker.
    Serve {
        /// Address to listen on [env: TRIAGE_BIND].
        #[arg(long)]
        bind: Option<String>,
        /// Serve the API and search only; `triage worker` processes embed the items, build
        /// themes and send mail (docs/deploy.md).
        #[arg(long)]
        web_only: bool,
    },
    /// Embed items, place them in themes, rebuild themes, send mail and run retention,
    /// beside `serve --web-only` replicas on one PostgreSQL database (docs/deploy.md).
    Worker,
    /// Load the demo data shipped with triage (idempotent), then serve it.
    Demo {
        /// Address to listen on [env: TRIAGE_BIND].
        #[arg(long)]
        bind: Option<String>,
        /// Load the data and exit instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Import tickets, ratings or survey responses: triage's own CSV/JSONL columns
    /// (`--kind`), or another tool's export (`--from`; docs/import.md).
    Import {
        file: PathBuf,
        /// What the rows are (triage's own columns).
        #[arg(
            long,
            value_enum,
            required_unless_present = "from",
            conflicts_with = "from"
        )]
        kind: Option<ImportKind>,
        /// The tool the file was exported from; the kind of rows follows from it.
        #[arg(long, value_enum)]
        from: Option<Source>,
        /// Default: from the file extension (.csv, .jsonl).
        #[arg(long, value_enum, conflicts_with = "from")]
        format: Option<Format>,
        /// Survey for survey-response rows without a survey_id column.
        #[arg(long, conflicts_with = "from")]
        survey: Option<i64>,
        /// With --from typeform|survey-monkey: the survey's title (default: the file name).
        #[arg(long, requires = "from")]
        title: Option<String>,
        /// With --from typeform|survey-monkey: a question column's kind instead of the
        /// one its values suggest, as HEADER=nps|csat|text|skip (repeatable).
        #[arg(long = "question", value_name = "HEADER=KIND", value_parser = header_kind, requires = "from")]
        questions: Vec<(String, String)>,
        /// The time zone of dates the export writes without one (default UTC).
        #[arg(long, default_value = "UTC", requires = "from")]
        timezone: Timezone,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the search index from the database (and, with --embeddings, every vector).
    Reindex {
        /// Re-embed every item with the current model instead (needs no index lock).
        #[arg(long)]
        embeddings: bool,
        /// Recount the backlog's tallies from the items instead (safe while serving).
        #[arg(long, conflicts_with = "embeddings")]
        tallies: bool,
        #[arg(long)]
        json: bool,
    },
    /// Theme discovery: rebuild or list themes.
    Themes {
        #[command(subcommand)]
        command: themes::ThemesCommand,
    },
    /// Weekly email digests: preview one, or send a week's by hand.
    Digest {
        #[command(subcommand)]
        command: digest::DigestCommand,
    },
    /// A customer's data: export it, erase it (GDPR articles 15 and 17), erasure receipts.
    Customer {
        #[command(subcommand)]
        command: customer::CustomerCommand,
    },
    /// Manage web UI users.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Outbox queues: pending and failed jobs, and retrying failed ones.
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// Apply or roll back database migrations (serve and import apply them automatically).
    Migrate {
        #[arg(value_enum, default_value = "up")]
        direction: Direction,
        /// Needed for `down`, which drops every table and all data in them.
        #[arg(long)]
        yes: bool,
    },
    /// Score theme discovery against a labelled CSV (NMI, ARI, ACC).
    Eval(Box<eval::EvalArgs>),
    /// Measure throughput and latency; see docs/benchmarks.md.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Print shell completions for bash, zsh, fish, elvish or powershell, e.g.
    /// `triage completions bash > /etc/bash_completion.d/triage`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `triage man > /usr/local/share/man/man1/triage.1`.
    Man,
}

/// Shell completions or the manual page, generated from the command definitions above (so
/// they never fall out of step with them), written to `out`.
fn describe(command: &Command, out: &mut dyn std::io::Write) -> Result<()> {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    // Rendered whole first: the generator panics on a failed write, and a reader that stops
    // early (`| head`) is not an error.
    let mut text = Vec::new();
    match command {
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut cli, "triage", &mut text)
        }
        _ => clap_mangen::Man::new(cli)
            .render(&mut text)
            .map_err(|e| Error::io("the manual page", e))?,
    }
    match out.write_all(&text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("standard output", e))
        }
        _ => Ok(()),
    }
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token; the token is printed once, as the last line.
    Create {
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        /// The token stops working after this many days (default: until revoked).
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// Every token: id, name, role, created, last used, expiry, revoked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id: it is refused from the next request on.
    Revoke { id: i64 },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Direction {
    Up,
    Down,
}

/// Runs the command line to completion on a multi-threaded runtime of its own.
///
/// The binary calls this rather than polling [`run`] itself: a future is compiled where it
/// is polled, so polling it in `main.rs` compiled the whole command tree a second time, in
/// the binary (about a minute of an optimised build on two cores; docs/development.md).
pub fn run_blocking() -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?
        .block_on(run())
}

pub async fn run() -> Result<()> {
    let cli = Cli::parse();
    // Flags win over the environment; every variable is read in one place,
    // `Settings::from_env`.
    let settings = |bind: Option<String>| {
        let env = Settings::from_env();
        Settings {
            data_dir: cli.data_dir.clone().or(env.data_dir.clone()),
            database_url: cli.database_url.clone().or(env.database_url.clone()),
            bind: bind.or(env.bind.clone()),
            ..env
        }
    };
    match cli.command {
        ref c @ (Command::Completions { .. } | Command::Man) => {
            describe(c, &mut std::io::stdout().lock())
        }
        Command::Serve { ref bind, web_only } => {
            let processes = if web_only {
                server::Processes::WebOnly
            } else {
                server::Processes::AllInOne
            };
            server::serve(Config::from_settings(settings(bind.clone()))?, processes).await
        }
        Command::Worker => server::worker(Config::from_settings(settings(None))?).await,
        Command::Demo { ref bind, no_serve } => {
            let config = Config::from_settings(settings(bind.clone()))?;
            demo::load(&config).await?;
            if no_serve {
                return Ok(());
            }
            server::serve(config, server::Processes::AllInOne).await
        }
        Command::Import {
            ref file,
            kind,
            from,
            format,
            survey,
            ref title,
            ref questions,
            timezone,
            json,
        } => {
            let config = Config::from_settings(settings(None))?;
            let opts = match (from, kind) {
                (Some(source), _) => ImportOptions::from_source(
                    source,
                    SourceOptions {
                        timezone,
                        survey: SurveyOptions {
                            title: title.clone(),
                            questions: questions.clone(),
                        },
                    },
                ),
                (None, kind) => ImportOptions {
                    // clap requires --kind when --from is absent.
                    kind: kind.unwrap_or(ImportKind::Ticket),
                    format: match format {
                        Some(f) => f,
                        None => Format::from_path(file)?,
                    },
                    survey_id: survey,
                    from: None,
                },
            };
            import::run(&config, file, &opts, json).await
        }
        Command::Reindex {
            embeddings,
            tallies,
            json,
        } => {
            let config = Config::from_settings(settings(None))?;
            if tallies {
                reindex::tallies(&config, json).await
            } else if embeddings {
                reindex::embeddings(&config, json).await
            } else {
                reindex::run(&config, json).await
            }
        }
        Command::Themes { ref command } => {
            themes::run(&Config::from_settings(settings(None))?, command).await
        }
        Command::Digest { ref command } => {
            digest::run(&Config::from_settings(settings(None))?, command).await
        }
        Command::Customer { ref command } => {
            customer::run(&Config::from_settings(settings(None))?, command).await
        }
        Command::User { ref command } => {
            user::run(&Config::from_settings(settings(None))?, command).await
        }
        Command::Token { ref command } => {
            let db = db::connect(&Config::from_settings(settings(None))?).await?;
            token_command(&db, command).await
        }
        Command::Jobs { ref command } => {
            let config = Config::from_settings(settings(None))?;
            let db = db::connect(&config).await?;
            jobs::run(&db, &config, command).await
        }
        Command::Migrate { direction, yes } => {
            use migration::MigratorTrait;
            let config = Config::from_settings(settings(None))?;
            let db = db::connect(&config).await?;
            if let Direction::Down = direction {
                if !yes {
                    let items = db::items::count(&db).await?;
                    let applied = migration::Migrator::get_applied_migrations(&db).await?;
                    return Err(Error::Config(format!(
                        "`migrate down` rolls back all {} migrations and drops every triage table \
                         with its data — {items} feedback items, their themes, users, tokens and \
                         mail; run it again with --yes if that is what you want",
                        applied.len()
                    )));
                }
                migration::Migrator::down(&db, None).await?;
                println!("all migrations rolled back");
            } else {
                println!("database is up to date");
            }
            Ok(())
        }
        Command::Eval(ref args) => eval::run(&Config::from_settings(settings(None))?, args),
        Command::Bench { ref command } => bench::run(command).await,
    }
}

async fn token_command(db: &sea_orm::DatabaseConnection, command: &TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create {
            role,
            name,
            expires_days,
        } => {
            let (model, token) = tokens::issue(db, name, role, *expires_days).await?;
            eprintln!(
                "created token {:?} (id {}, role {}{}); it is shown only once:",
                model.name,
                model.id,
                model.role,
                model
                    .expires_at
                    .map(|e| format!(", expires {}", e.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            );
            println!("{token}");
        }
        TokenCommand::List { json } => {
            let all = tokens::list(db).await?;
            if *json {
                let text = serde_json::to_string(&all).map_err(Error::failed("token list"))?;
                println!("{text}");
            } else {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
                };
                println!("id\tname\trole\tcreated\tlast used\texpires\tstate");
                for t in all {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        t.id,
                        t.name,
                        t.role,
                        when(Some(t.created_at)),
                        when(t.last_used_at),
                        when(t.expires_at),
                        if t.revoked { "revoked" } else { "active" }
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let t = tokens::revoke(db, *id).await?;
            println!("token {} ({:?}) is revoked", t.id, t.name);
        }
    }
    Ok(())
}

/// `--question HEADER=KIND`: split at the last `=` (headers may hold one).
fn header_kind(s: &str) -> std::result::Result<(String, String), String> {
    match s.rsplit_once('=') {
        Some((h, k)) if !h.trim().is_empty() => Ok((h.trim().to_string(), k.trim().to_lowercase())),
        _ => Err(format!("expected HEADER=nps|csat|text|skip, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(command: Command) -> String {
        let mut out = Vec::new();
        describe(&command, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn completions_and_the_manual_come_from_the_command_definitions() {
        let bash = described(Command::Completions {
            shell: clap_complete::Shell::Bash,
        });
        for word in ["serve", "reindex", "--tallies", "--data-dir", "completions"] {
            assert!(bash.contains(word), "bash completion lacks {word}");
        }
        let fish = described(Command::Completions {
            shell: clap_complete::Shell::Fish,
        });
        assert!(fish.contains("complete -c triage") && fish.contains("worker"));
        let man = described(Command::Man);
        assert!(
            man.starts_with(".ie") || man.contains(".TH triage"),
            "{man}"
        );
        assert!(man.contains("Customer feedback triage") && man.contains("serve"));
    }
}
