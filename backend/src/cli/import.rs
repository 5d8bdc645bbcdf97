//! `triage import`: a progress bar over the file, the index kept in step, a summary.

use std::path::Path;

use crate::intake::import::ImportOptions;
use crate::jobs::import::import_file;
use crate::{Config, Error, Result};

pub async fn run(config: &Config, file: &Path, opts: &ImportOptions, json: bool) -> Result<()> {
    let report = import_file(config, file, opts, json).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(Error::failed("writing the report"))?
        );
    } else {
        for e in &report.errors {
            let field = e
                .field
                .as_deref()
                .map(|f| format!(" [{f}]"))
                .unwrap_or_default();
            eprintln!("line {}{field}: {}", e.line, e.message);
        }
        if report.failed as usize > report.errors.len() {
            eprintln!(
                "… and {} more bad rows",
                report.failed as usize - report.errors.len()
            );
        }
        println!(
            "imported {}, skipped {} already stored, failed {} in {:.2}s",
            report.imported, report.skipped, report.failed, report.seconds
        );
    }
    Ok(())
}
