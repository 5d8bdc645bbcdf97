//! The `triage` command; see `triage --help` and the README.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Benchmarks drive the router in process: one access line per measured request would
    // be noise on the screen and a cost in the figures.
    let default = if std::env::args().nth(1).as_deref() == Some("bench") {
        "warn,triage=info,triage::access=warn"
    } else {
        "warn,triage=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRIAGE_LOG")
        .unwrap_or_else(|_| default.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Read here rather than in `Config`: logging starts before the configuration is read,
    // so that reading it can log.
    match std::env::var("TRIAGE_LOG_FORMAT").as_deref().map(str::trim) {
        Err(_) | Ok("") | Ok("text") => logs.init(),
        Ok("json") => logs.json().init(),
        Ok(other) => {
            eprintln!("error: TRIAGE_LOG_FORMAT must be text or json, got {other:?}");
            return ExitCode::from(2);
        }
    }
    match triage::cli::run_blocking() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_client_error() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
