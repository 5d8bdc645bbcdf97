//! `triage serve`: the API plus the index worker (and, unless `--web-only`, embedding,
//! themes and mail) in one process; and `triage worker`: all but the API and search.
//!
//! Startup order matters: the database is migrated first, then the index is opened (and
//! rebuilt in the background if it was missing or corrupt), and only then does the server
//! accept connections. On Ctrl-C or SIGTERM it stops accepting, finishes in-flight
//! requests and commits the index.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::embed::minilm::MiniLm;
use crate::embed::Embedder;
use crate::http::{self, ApiContext};
use crate::jobs::embed_sync::EmbedSync;
use crate::jobs::index_sync::IndexSync;
use crate::jobs::lease::Leases;
use crate::jobs::vector_sync;
use crate::{db, Config, Error, Result};

pub async fn serve(config: Config, processes: Processes) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    println!("triage is listening on http://{addr}");
    run_with(config, listener, processes).await?;
    println!("triage stopped");
    Ok(())
}

/// Binds the configured address (port 0 picks a free one; the real address is returned).
pub async fn bind(config: &Config) -> Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(Error::failed("reading the bound address"))?;
    Ok((listener, addr))
}

/// What a `serve` process runs besides the API and its search index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processes {
    /// Everything in one process: embedding, theme rebuilds, mail (the default).
    AllInOne,
    /// The API and search only: items are embedded by `triage worker` processes, and
    /// this replica learns their vectors from the job log (see `jobs::index_sync`).
    WebOnly,
}

/// Serves on `listener` until Ctrl-C or SIGTERM, with everything in this process.
pub async fn run(config: Config, listener: TcpListener) -> Result<()> {
    run_with(config, listener, Processes::AllInOne).await
}

/// Serves on `listener` until Ctrl-C or SIGTERM.
pub async fn run_with(config: Config, listener: TcpListener, processes: Processes) -> Result<()> {
    let shutdown = shutdown_signal();
    let db = db::connect(&config).await?;
    let leases = Leases::new(&config);
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let mut sync = IndexSync::open(&config, db.clone()).await?;
    let wake = Arc::new(Notify::new());
    let embed_wake = Arc::new(Notify::new());
    let mut background = Vec::new();
    let (embedder, vectors) = match processes {
        Processes::AllInOne => match start_embedder(&config, &db).await {
            Ok(embed) => {
                let vectors = open_graph(&config, &db, &**embed.embedder(), &mut background)?;
                let embed = embed
                    .with_vectors(vectors.clone())
                    .with_metrics(metrics.clone());
                background.push(tokio::spawn(crate::jobs::themes_job::run(
                    db.clone(),
                    embed.embedder().clone(),
                    config.themes_every,
                    leases.clone(),
                    metrics.clone(),
                )));
                // Searches and draft suggestions get a model of their own, on one math
                // thread: the worker's runs one batch of 256 at a time (about half a
                // second), and a query must not wait behind it. The copy costs the weights
                // once more (~90 MB).
                let embedder: Arc<dyn crate::embed::Embedder + Sync> =
                    match MiniLm::load_for_queries(&config).await {
                        Ok(m) => Arc::new(m),
                        Err(_) => embed.embedder().clone(),
                    };
                background.push(tokio::spawn(embed.run(embed_wake.clone())));
                (Some(embedder), Some(vectors))
            }
            Err(e) => {
                eprintln!("warning: embeddings, themes and search by meaning are off: {e}");
                (None, None)
            }
        },
        Processes::WebOnly => match MiniLm::load_for_queries(&config).await {
            Ok(m) => {
                let vectors = open_graph(&config, &db, &m, &mut background)?;
                sync = sync.with_vectors(vectors.clone());
                let embedder: Arc<dyn crate::embed::Embedder + Sync> = Arc::new(m);
                (Some(embedder), Some(vectors))
            }
            Err(e) => {
                eprintln!("warning: search by meaning is off: {e}");
                (None, None)
            }
        },
    };
    background.push(tokio::spawn(sync.clone().run(wake.clone())));
    background.extend(shared_work(
        &config,
        &db,
        &leases,
        [wake.clone(), embed_wake.clone()],
        &metrics,
    )?);
    let ctx = ApiContext {
        index_wake: wake,
        embed_wake,
        embedder,
        vectors: vectors.clone(),
        metrics,
        ..ApiContext::new(config, db, sync.index())?
    };
    background.push(http::metrics::serve_separately(ctx.metrics_source()).await?);
    let limits = ctx.config.serve_limits;
    http::listen::serve(listener, http::router(ctx), limits, shutdown).await;
    for w in background {
        w.abort();
        let _ = w.await;
    }
    if let Some(vectors) = &vectors {
        vector_sync::save(vectors).await;
    }
    sync.close().await
}

/// Opens the vector graph for `model`'s vectors, fills what it lacks from the stored
/// embeddings in the background and saves it every minute.
fn open_graph(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    model: &dyn Embedder,
    background: &mut Vec<tokio::task::JoinHandle<()>>,
) -> Result<Arc<triage_index::VectorIndex>> {
    let vectors = vector_sync::open(config, model.model_name(), model.dims())?;
    background.push(tokio::spawn(vector_sync::catch_up(
        db.clone(),
        vectors.clone(),
    )));
    background.push(tokio::spawn(vector_sync::run_saver(vectors.clone())));
    Ok(vectors)
}

/// `triage worker`: embeds items and places them in themes, rebuilds themes, sends mail and
/// runs retention — everything but the API and search — until Ctrl-C or SIGTERM. Any number
/// can run beside the `serve` replicas: embedding jobs are claimed with `FOR UPDATE SKIP
/// LOCKED`, and once-only work is leased ([`crate::jobs::lease`]).
pub async fn worker(config: Config) -> Result<()> {
    let shutdown = shutdown_signal();
    let db = db::connect(&config).await?;
    let leases = Leases::new(&config);
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let embed = start_embedder(&config, &db)
        .await?
        .with_metrics(metrics.clone());
    let wake = Arc::new(Notify::new());
    let mut background = vec![
        tokio::spawn(crate::jobs::themes_job::run(
            db.clone(),
            embed.embedder().clone(),
            config.themes_every,
            leases.clone(),
            metrics.clone(),
        )),
        tokio::spawn(embed.run(wake.clone())),
    ];
    background.extend(shared_work(
        &config,
        &db,
        &leases,
        [wake.clone(), wake],
        &metrics,
    )?);
    // A worker has no API: with TRIAGE_METRICS_BIND it serves its own figures there.
    background.push(
        http::metrics::serve_separately(http::metrics::Source {
            metrics,
            db: db.clone(),
            config: Arc::new(config.clone()),
            has_index: false,
        })
        .await?,
    );
    println!("triage worker is running");
    shutdown.await;
    for w in background {
        w.abort();
        let _ = w.await;
    }
    println!("triage worker stopped");
    Ok(())
}

/// What every process runs: mail (digests queued under a lease, sent by whoever claims
/// them), webhooks (sent by whoever claims them; rising and measured themes looked for
/// under a lease), the hourly sweep of expired sessions, and retention (leased) when
/// configured.
fn shared_work(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
    leases: &Leases,
    wake: [Arc<Notify>; 2],
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut out = vec![tokio::spawn(crate::digest::run(
        db.clone(),
        Arc::new(config.clone()),
        format!(
            "{}-mail",
            crate::jobs::index_sync::instance_id(&config.data_dir)?
        ),
        leases.clone(),
    ))];
    let deliverer = crate::webhooks::deliver::Deliverer::new(db.clone(), config, metrics.clone())?;
    out.push(tokio::spawn(deliverer.run(Arc::new(Notify::new()))));
    out.push(tokio::spawn(crate::webhooks::watch::run(
        db.clone(),
        Arc::new(config.clone()),
        leases.clone(),
    )));
    // Expired sessions are deleted every hour (and at each sign-in and sign-out).
    let sweep_db = db.clone();
    out.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(e) = crate::db::sessions::sweep(&sweep_db).await {
                tracing::warn!(error = %e, "sweeping expired sessions failed");
            }
        }
    }));
    if let Some(days) = config.retention_days {
        out.push(tokio::spawn(crate::privacy::retention::run_forever(
            db.clone(),
            days,
            wake,
            leases.clone(),
        )));
    }
    Ok(out)
}

/// Loads the embedding model (about a second) and releases embedding jobs left claimed by
/// a crash of this data dir's server.
pub async fn start_embedder(
    config: &Config,
    db: &sea_orm::DatabaseConnection,
) -> Result<EmbedSync> {
    let model = MiniLm::load_configured(config).await?;
    let consumer = format!(
        "{}-embed",
        crate::jobs::index_sync::instance_id(&config.data_dir)?
    );
    let sync = EmbedSync::new(db.clone(), Arc::new(model), consumer)?;
    sync.start().await?;
    Ok(sync)
}

/// Installs the Ctrl-C and SIGTERM handlers now and returns a future that resolves on
/// either. Installing them eagerly matters: a handler created on the future's first poll
/// leaves a window after `/healthz` answers in which SIGTERM still kills the process
/// outright, skipping the final commit and the vector save.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
        async move {
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
