//! The one configuration type, read from the environment and command-line flags.
//!
//! Names are part of the stable interface (ARCHITECTURE.md): `TRIAGE_DATA_DIR`,
//! `DATABASE_URL`, `TRIAGE_BIND`, `TRIAGE_BASE_URL`, `SMTP_URL`.
//!
//! The configuration sits at the bottom of the crate with the error type: every layer reads
//! it, so it imports nothing above it. The few settings whose type is more than a number
//! (the embedding [`Precision`], the backlog [`Weights`], the server's [`ServeLimits`])
//! are defined here and used by the layer they configure.

pub mod privacy;
pub mod weights;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Error, Result};
pub use privacy::{PiiKind, Redact};
pub use weights::Weights;

/// Numeric precision of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Precision {
    Auto,
    Fp32,
    Bf16,
}

impl Precision {
    pub fn parse(s: &str) -> Result<Precision> {
        match s {
            "auto" => Ok(Precision::Auto),
            "fp32" => Ok(Precision::Fp32),
            "bf16" => Ok(Precision::Bf16),
            _ => Err(Error::Config(format!(
                "TRIAGE_EMBED_PRECISION must be auto, fp32 or bf16, got {s:?}"
            ))),
        }
    }
}

/// How long and how many; see `http::listen`.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

/// Largest JSON request body the API accepts; bigger bodies get 413 `payload_too_large`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the SQLite file (by default) and the search index live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://<data_dir>/triage.db`.
    pub database_url: String,
    pub bind: SocketAddr,
    /// Public URL of the web UI, used in links sent out by email.
    pub base_url: String,
    pub smtp_url: Option<String>,
    pub max_body_bytes: usize,
    /// Memory the index writer may buffer before it flushes a segment.
    pub index_heap_bytes: usize,
    /// The sentence-transformers model directory (`TRIAGE_MODEL_DIR`).
    pub model_dir: PathBuf,
    /// libtorch threads for embedding (`TRIAGE_EMBED_THREADS`, default: all cores).
    pub embed_threads: usize,
    /// `auto`, `fp32` or `bf16` (`TRIAGE_EMBED_PRECISION`).
    pub embed_precision: Precision,
    /// How often `serve` re-clusters themes (`TRIAGE_THEMES_EVERY_HOURS`, default 6).
    pub themes_every: std::time::Duration,
    /// Backlog score weights (`TRIAGE_BACKLOG_WEIGHTS`, e.g. `volume=2,customer_value=0`).
    pub backlog_weights: Weights,
    /// Sender of every email (`TRIAGE_MAIL_FROM`, default `triage <triage@localhost>`).
    pub mail_from: String,
    /// First retry delay after a failed send (`TRIAGE_MAIL_RETRY_SECONDS`, default 60).
    pub mail_retry: std::time::Duration,
    /// An extra certificate authority (PEM) to trust for SMTP TLS (`TRIAGE_SMTP_CA_FILE`).
    pub smtp_ca_file: Option<PathBuf>,
    /// Answers the public survey page takes from one IP address per hour.
    pub survey_answers_per_ip_hour: u32,
    /// Answers one survey takes per minute, from everyone together.
    pub survey_answers_per_minute: u32,
    /// Connection and request limits of `serve` (`TRIAGE_HEADER_TIMEOUT_SECONDS`, default
    /// 10; `TRIAGE_REQUEST_TIMEOUT_SECONDS`, 60; `TRIAGE_MAX_CONNECTIONS`, 1024;
    /// `TRIAGE_SHUTDOWN_GRACE_SECONDS`, 10).
    pub serve_limits: ServeLimits,
    /// Drafts embedded for suggestions at once (`TRIAGE_SUGGEST_SLOTS`, default 1: the other
    /// core stays with the embedding worker) and searches run at once
    /// (`TRIAGE_SEARCH_SLOTS`, default 4); each queues up to 4 × that many, then says 429.
    pub suggest_slots: u32,
    pub search_slots: u32,
    /// Most single-item posts stored in one transaction (`TRIAGE_INTAKE_BATCH`, default 256;
    /// 1 = a transaction per post): see `intake::group`.
    pub intake_batch: u32,
    /// Personal data masked in item text at intake (`TRIAGE_REDACT`, default all kinds).
    pub redact: Redact,
    /// Items older than this many days are erased by a daily job (`TRIAGE_RETENTION_DAYS`;
    /// unset keeps them).
    pub retention_days: Option<u32>,
    /// Weeks before and after a rollout that its impact compares (`TRIAGE_IMPACT_WEEKS`,
    /// default 4, at most 26).
    pub impact_weeks: u32,
    /// A second address serving only `GET /metrics`, without a token
    /// (`TRIAGE_METRICS_BIND`, e.g. `10.0.0.5:9464`; unset: `/metrics` on the API address,
    /// admin token required).
    pub metrics_bind: Option<SocketAddr>,
    /// First pause after a failed webhook delivery, doubling to an hour
    /// (`TRIAGE_WEBHOOK_RETRY_SECONDS`, default 5).
    pub webhook_retry: Duration,
    /// Failed webhook deliveries in a row after which a subscription is disabled
    /// (`TRIAGE_WEBHOOK_DISABLE_AFTER`, default 20).
    pub webhook_disable_after: u32,
    /// How long a webhook receiver has to answer (`TRIAGE_WEBHOOK_TIMEOUT_SECONDS`,
    /// default 10).
    pub webhook_timeout: Duration,
}

/// The raw settings, as given by flags or environment: every variable is read here, in
/// [`Settings::from_env`]; `cli` lays its flags over them.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub base_url: Option<String>,
    pub smtp_url: Option<String>,
    pub model_dir: Option<PathBuf>,
    pub embed_threads: Option<String>,
    pub embed_precision: Option<String>,
    pub themes_every_hours: Option<String>,
    pub backlog_weights: Option<String>,
    pub mail_from: Option<String>,
    pub mail_retry_seconds: Option<String>,
    pub smtp_ca_file: Option<PathBuf>,
    pub survey_answers_per_ip_hour: Option<String>,
    pub survey_answers_per_minute: Option<String>,
    pub header_timeout_seconds: Option<String>,
    pub request_timeout_seconds: Option<String>,
    pub max_connections: Option<String>,
    pub shutdown_grace_seconds: Option<String>,
    pub suggest_slots: Option<String>,
    pub search_slots: Option<String>,
    pub intake_batch: Option<String>,
    pub redact: Option<String>,
    pub retention_days: Option<String>,
    pub impact_weeks: Option<String>,
    pub metrics_bind: Option<String>,
    pub webhook_retry_seconds: Option<String>,
    pub webhook_disable_after: Option<String>,
    pub webhook_timeout_seconds: Option<String>,
}

impl Settings {
    /// Everything not given as a flag, from the environment.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            data_dir: var("TRIAGE_DATA_DIR").map(PathBuf::from),
            database_url: var("DATABASE_URL"),
            bind: var("TRIAGE_BIND"),
            base_url: var("TRIAGE_BASE_URL"),
            smtp_url: var("SMTP_URL"),
            model_dir: var("TRIAGE_MODEL_DIR").map(PathBuf::from),
            embed_threads: var("TRIAGE_EMBED_THREADS"),
            embed_precision: var("TRIAGE_EMBED_PRECISION"),
            themes_every_hours: var("TRIAGE_THEMES_EVERY_HOURS"),
            backlog_weights: var("TRIAGE_BACKLOG_WEIGHTS"),
            mail_from: var("TRIAGE_MAIL_FROM"),
            mail_retry_seconds: var("TRIAGE_MAIL_RETRY_SECONDS"),
            smtp_ca_file: var("TRIAGE_SMTP_CA_FILE").map(PathBuf::from),
            survey_answers_per_ip_hour: var("TRIAGE_SURVEY_ANSWERS_PER_IP_HOUR"),
            survey_answers_per_minute: var("TRIAGE_SURVEY_ANSWERS_PER_MINUTE"),
            header_timeout_seconds: var("TRIAGE_HEADER_TIMEOUT_SECONDS"),
            request_timeout_seconds: var("TRIAGE_REQUEST_TIMEOUT_SECONDS"),
            max_connections: var("TRIAGE_MAX_CONNECTIONS"),
            shutdown_grace_seconds: var("TRIAGE_SHUTDOWN_GRACE_SECONDS"),
            suggest_slots: var("TRIAGE_SUGGEST_SLOTS"),
            search_slots: var("TRIAGE_SEARCH_SLOTS"),
            intake_batch: var("TRIAGE_INTAKE_BATCH"),
            redact: var("TRIAGE_REDACT"),
            retention_days: var("TRIAGE_RETENTION_DAYS"),
            impact_weeks: var("TRIAGE_IMPACT_WEEKS"),
            metrics_bind: var("TRIAGE_METRICS_BIND"),
            webhook_retry_seconds: var("TRIAGE_WEBHOOK_RETRY_SECONDS"),
            webhook_disable_after: var("TRIAGE_WEBHOOK_DISABLE_AFTER"),
            webhook_timeout_seconds: var("TRIAGE_WEBHOOK_TIMEOUT_SECONDS"),
        }
    }
}

/// Where scripts/setup.sh put the model for this checkout (baked in at build time by
/// .cargo/config.toml), so a built binary finds it without any variable set.
const BUILT_MODEL_DIR: Option<&str> = option_env!("TRIAGE_MODEL_DIR");

impl Config {
    pub fn from_settings(s: Settings) -> Result<Self> {
        let data_dir = s.data_dir.unwrap_or_else(|| PathBuf::from("triage-data"));
        let database_url = match s.database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                if !(url.starts_with("sqlite:") || url.starts_with("postgres")) {
                    return Err(Error::Config(format!(
                        "DATABASE_URL must start with sqlite: or postgres://, got {url:?}"
                    )));
                }
                url
            }
            None => sqlite_url(&data_dir.join("triage.db")),
        };
        let bind_text = s.bind.unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = bind_text.parse().map_err(|_| {
            Error::Config(format!(
                "TRIAGE_BIND must be an address like 127.0.0.1:8080, got {bind_text:?}"
            ))
        })?;
        let base_url = s
            .base_url
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            data_dir,
            database_url,
            bind,
            base_url,
            smtp_url: s.smtp_url,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            index_heap_bytes: 64 * 1024 * 1024,
            model_dir: s
                .model_dir
                .or_else(|| BUILT_MODEL_DIR.map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from(".deps/models/all-MiniLM-L6-v2")),
            embed_threads: match s.embed_threads {
                Some(t) => t.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    Error::Config(format!(
                        "TRIAGE_EMBED_THREADS must be a positive number, got {t:?}"
                    ))
                })?,
                None => std::thread::available_parallelism().map_or(2, |n| n.get()),
            },
            embed_precision: Precision::parse(s.embed_precision.as_deref().unwrap_or("auto"))?,
            themes_every: match s.themes_every_hours {
                Some(h) => h
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|h| h.is_finite() && *h > 0.0)
                    .map(|h| std::time::Duration::from_secs_f64(h * 3600.0))
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "TRIAGE_THEMES_EVERY_HOURS must be a positive number, got {h:?}"
                        ))
                    })?,
                None => std::time::Duration::from_secs(6 * 3600),
            },
            backlog_weights: match s.backlog_weights {
                Some(w) => Weights::parse(&w)?,
                None => Weights::default(),
            },
            mail_from: s
                .mail_from
                .unwrap_or_else(|| "triage <triage@localhost>".into()),
            mail_retry: std::time::Duration::from_secs(u64::from(positive(
                "TRIAGE_MAIL_RETRY_SECONDS",
                s.mail_retry_seconds,
                60,
            )?)),
            smtp_ca_file: s.smtp_ca_file,
            survey_answers_per_ip_hour: positive(
                "TRIAGE_SURVEY_ANSWERS_PER_IP_HOUR",
                s.survey_answers_per_ip_hour,
                30,
            )?,
            survey_answers_per_minute: positive(
                "TRIAGE_SURVEY_ANSWERS_PER_MINUTE",
                s.survey_answers_per_minute,
                600,
            )?,
            serve_limits: {
                let secs = |name, value, default| {
                    positive(name, value, default).map(|n| Duration::from_secs(u64::from(n)))
                };
                ServeLimits {
                    header_timeout: secs(
                        "TRIAGE_HEADER_TIMEOUT_SECONDS",
                        s.header_timeout_seconds,
                        10,
                    )?,
                    request_timeout: secs(
                        "TRIAGE_REQUEST_TIMEOUT_SECONDS",
                        s.request_timeout_seconds,
                        60,
                    )?,
                    max_connections: positive("TRIAGE_MAX_CONNECTIONS", s.max_connections, 1024)?
                        as usize,
                    shutdown_grace: secs(
                        "TRIAGE_SHUTDOWN_GRACE_SECONDS",
                        s.shutdown_grace_seconds,
                        10,
                    )?,
                }
            },
            suggest_slots: positive("TRIAGE_SUGGEST_SLOTS", s.suggest_slots, 1)?,
            search_slots: positive("TRIAGE_SEARCH_SLOTS", s.search_slots, 4)?,
            intake_batch: positive("TRIAGE_INTAKE_BATCH", s.intake_batch, 256)?,
            redact: match s.redact {
                Some(r) => Redact::parse(&r)?,
                None => Redact::default(),
            },
            retention_days: privacy::retention_days(s.retention_days)?,
            metrics_bind: match s.metrics_bind {
                Some(a) => Some(a.trim().parse().map_err(|_| {
                    Error::Config(format!(
                        "TRIAGE_METRICS_BIND must be an address like 127.0.0.1:9464, got {a:?}"
                    ))
                })?),
                None => None,
            },
            webhook_retry: Duration::from_secs(u64::from(positive(
                "TRIAGE_WEBHOOK_RETRY_SECONDS",
                s.webhook_retry_seconds,
                5,
            )?)),
            webhook_disable_after: positive(
                "TRIAGE_WEBHOOK_DISABLE_AFTER",
                s.webhook_disable_after,
                20,
            )?,
            webhook_timeout: Duration::from_secs(u64::from(positive(
                "TRIAGE_WEBHOOK_TIMEOUT_SECONDS",
                s.webhook_timeout_seconds,
                10,
            )?)),
            impact_weeks: match positive("TRIAGE_IMPACT_WEEKS", s.impact_weeks, 4)? {
                w if w <= 26 => w,
                w => {
                    return Err(Error::Config(format!(
                        "TRIAGE_IMPACT_WEEKS must be at most 26, got {w}"
                    )))
                }
            },
        })
    }

    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// The nearest-neighbour graph of search by meaning (derived, like the index).
    pub fn vectors_dir(&self) -> PathBuf {
        self.data_dir.join("vectors")
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// A positive whole number from setting `name`, or `default` when it is not set.
fn positive(name: &str, value: Option<String>, default: u32) -> Result<u32> {
    match value {
        Some(t) => t
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                Error::Config(format!("{name} must be a positive whole number, got {t:?}"))
            }),
        None => Ok(default),
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}
