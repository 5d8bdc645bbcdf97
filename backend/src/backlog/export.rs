//! The backlog as CSV, one row per theme in rank order: the API's `/backlog.csv` and the
//! backlog page's download are both this file.

use super::{Entry, COMPONENTS};
use crate::{Error, Result};

/// `entries` (already ranked) as CSV bytes with a header row.
pub fn to_csv(entries: &[Entry]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["rank", "theme_id", "label", "score"];
    header.extend(COMPONENTS);
    header.extend([
        "status", "owner", "effort", "pinned", "rising", "new", "keywords", "notes",
    ]);
    let fail = Error::failed("writing CSV");
    w.write_record(&header).map_err(fail)?;
    // Figures as JSON numbers (`3.0`), the way the JSON backlog shows them.
    let number = |v: f64| serde_json::Value::from(v).to_string();
    for (i, e) in entries.iter().enumerate() {
        let wf = &e.workflow;
        let mut row = vec![
            (i + 1).to_string(),
            e.theme.id.to_string(),
            cell(e.label()),
            e.score.score.to_string(),
        ];
        row.extend(e.score.components.iter().map(|c| number(*c)));
        row.extend([
            wf.status.to_string(),
            cell(wf.owner.as_deref().unwrap_or("")),
            wf.effort.map(|e| e.to_string()).unwrap_or_default(),
            wf.pinned.to_string(),
            e.score.rising.to_string(),
            e.score.is_new.to_string(),
            cell(&e.keywords().join(" ")),
            cell(&wf.notes),
        ]);
        w.write_record(&row).map_err(fail)?;
    }
    w.into_inner().map_err(Error::failed("writing CSV"))
}

/// Text people typed, made safe for spreadsheets: a leading `=`, `+`, `-` or `@` would be
/// run as a formula, so such cells get a leading apostrophe.
fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{text}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_text_is_left_alone() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("card declined"), "card declined");
        assert_eq!(cell(""), "");
    }
}
