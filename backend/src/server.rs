//! `triage serve`: the API plus the index worker, in one process.
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
use crate::http::{self, ApiContext};
use crate::jobs::embed_sync::EmbedSync;
use crate::jobs::index_sync::IndexSync;
use crate::jobs::vector_sync;
use crate::{db, Config, Error, Result};

pub async fn serve(config: Config) -> Result<()> {
    let (listener, addr) = bind(&config).await?;
    println!("triage is listening on http://{addr}");
    run(config, listener).await?;
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

/// Serves on `listener` until Ctrl-C or SIGTERM.
pub async fn run(config: Config, listener: TcpListener) -> Result<()> {
    let shutdown = shutdown_signal();
    let db = db::connect(&config).await?;
    let sync = IndexSync::open(&config, db.clone()).await?;
    let wake = Arc::new(Notify::new());
    let embed_wake = Arc::new(Notify::new());
    let worker = tokio::spawn(sync.clone().run(wake.clone()));
    let (embedder, embed_worker, vectors) = match start_embedder(&config, &db).await {
        Ok(embed) => {
            let model = embed.embedder();
            let vectors = vector_sync::open(&config, model.model_name(), model.dims())?;
            tokio::spawn(vector_sync::catch_up(db.clone(), vectors.clone()));
            let saver = tokio::spawn(vector_sync::run_saver(vectors.clone()));
            let embed = embed.with_vectors(vectors.clone());
            let themes = tokio::spawn(crate::jobs::themes_job::run(
                db.clone(),
                embed.embedder().clone(),
                config.themes_every,
            ));
            // Searches and draft suggestions get a model of their own, on one math thread:
            // the worker's runs one batch of 256 at a time (about half a second), and a
            // query must not wait behind it. The copy costs the weights once more (~90 MB).
            let embedder: Arc<dyn crate::embed::Embedder + Sync> =
                match MiniLm::load_for_queries(&config).await {
                    Ok(m) => Arc::new(m),
                    Err(_) => embed.embedder().clone(),
                };
            let embed = tokio::spawn(embed.run(embed_wake.clone()));
            (Some(embedder), Some((embed, themes, saver)), Some(vectors))
        }
        Err(e) => {
            eprintln!("warning: embeddings, themes and search by meaning are off: {e}");
            (None, None, None)
        }
    };
    let mail_worker = tokio::spawn(crate::digest::run(
        db.clone(),
        Arc::new(config.clone()),
        format!(
            "{}-mail",
            crate::jobs::index_sync::instance_id(&config.data_dir)?
        ),
    ));
    // Expired sessions are deleted every hour (and at each sign-in and sign-out).
    let sweeper = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                if let Err(e) = crate::db::sessions::sweep(&db).await {
                    tracing::warn!(error = %e, "sweeping expired sessions failed");
                }
            }
        })
    };
    let retention = config.retention_days.map(|days| {
        tokio::spawn(crate::privacy::retention::run_forever(
            db.clone(),
            days,
            [wake.clone(), embed_wake.clone()],
        ))
    });
    let ctx = ApiContext {
        index_wake: wake,
        embed_wake,
        embedder,
        vectors: vectors.clone(),
        ..ApiContext::new(config, db, sync.index())?
    };
    let limits = ctx.config.serve_limits;
    http::listen::serve(listener, http::router(ctx), limits, shutdown).await;
    worker.abort();
    let _ = worker.await;
    mail_worker.abort();
    let _ = mail_worker.await;
    sweeper.abort();
    if let Some(r) = retention {
        r.abort();
    }
    if let Some((embed, themes, saver)) = embed_worker {
        for w in [embed, themes, saver] {
            w.abort();
            let _ = w.await;
        }
    }
    if let Some(vectors) = &vectors {
        vector_sync::save(vectors).await;
    }
    sync.close().await
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
