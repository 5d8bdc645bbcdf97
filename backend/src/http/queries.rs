//! Query strings the API and the web pages read the same way: a search (`q`, `mode`,
//! `kind`, `segment`, `from`/`to`, `theme`, `area`, `min_score`/`max_score`, `sort`,
//! `exact`, `limit`, `offset`) and the backlog's filters (`period`, `segment`, `area`,
//! `status`, `sort`, `as_of`). docs/api.md describes both.

use triage_index::{SearchRequest, SortOrder};

use super::Params;
use crate::backlog::{workflow, Filter, COMPONENTS};
use crate::db::items::ItemKind;
use crate::search::Mode;
use crate::{Error, Result};

/// Deep pages cost as much as collecting every hit before them; nobody reads page 500.
const MAX_OFFSET: i64 = 10_000;

/// A parsed search: what the index is asked, how, and the area whose themes it is limited
/// to (turned into theme ids by [`super::ApiContext::search`]).
#[derive(Debug, Clone)]
pub struct SearchParams {
    pub request: SearchRequest,
    pub mode: Mode,
    pub area: Option<i64>,
}

impl SearchParams {
    pub fn parse(p: &mut Params) -> Result<Self> {
        let mode = match p.text("mode").as_deref() {
            None => Mode::default(),
            Some(m) => <Mode as clap::ValueEnum>::from_str(m, false).map_err(|_| {
                Error::invalid(
                    "invalid_value",
                    "mode",
                    format!("mode must be hybrid, keyword or semantic, got {m:?}"),
                )
            })?,
        };
        Ok(Self {
            request: parse_request(p)?,
            mode,
            area: p.int("area", 1, i64::MAX)?,
        })
    }
}

fn parse_request(p: &mut Params) -> Result<SearchRequest> {
    let kinds: Vec<String> = p
        .text("kind")
        .map(|k| {
            k.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = kinds.iter().find(|k| ItemKind::parse(k).is_none()) {
        return Err(Error::invalid(
            "invalid_value",
            "kind",
            format!("kind must be one of {}, got {bad:?}", ItemKind::names()),
        ));
    }
    let sort = match p.text("sort").as_deref() {
        None | Some("relevance") => SortOrder::Relevance,
        Some("newest") | Some("date") => SortOrder::Newest,
        Some("oldest") => SortOrder::Oldest,
        Some(other) => {
            return Err(Error::invalid(
                "invalid_value",
                "sort",
                format!("sort must be relevance, newest or oldest, got {other:?}"),
            ))
        }
    };
    let query = p.text("q").unwrap_or_default();
    if query.chars().count() > 500 {
        return Err(Error::invalid(
            "too_long",
            "q",
            "q is limited to 500 characters",
        ));
    }
    let req = SearchRequest {
        query,
        kinds,
        segment: p.text("segment"),
        theme: p.int("theme", 1, i64::MAX)?.map(|t| t as u64),
        themes_any: None,
        from: p.time("from", false)?,
        to: p.time("to", true)?,
        min_score: p.float("min_score", 0.0, 1.0)?,
        max_score: p.float("max_score", 0.0, 1.0)?,
        sort,
        match_any: false,
        exact_words: p.flag("exact")?,
        limit: p.int("limit", 1, 100)?.unwrap_or(20) as usize,
        offset: p.int("offset", 0, MAX_OFFSET)?.unwrap_or(0) as usize,
    };
    if let (Some(from), Some(to)) = (req.from, req.to) {
        if from >= to {
            return Err(Error::unprocessable(
                "invalid_value",
                "to",
                "to must be later than from",
            ));
        }
    }
    Ok(req)
}

/// The backlog's filters (`period`, `segment`, `area`, `status`, `sort`, `as_of`).
pub fn backlog_filter(p: &mut Params) -> Result<Filter> {
    let mut f = Filter::new(p.time("as_of", false)?.unwrap_or_else(chrono::Utc::now));
    if let Some(period) = p.text("period") {
        f.period_days = parse_period(&period)?;
    }
    f.segment = p.text("segment").map(|s| s.trim().to_string());
    f.area = p.int("area", 1, i64::MAX)?;
    if let Some(status) = p.text("status") {
        f.statuses = workflow::parse_statuses(&status)?;
    }
    if let Some(sort) = p.text("sort") {
        // `impact`: measured themes first, the largest fall first (the ranking's own order
        // is by score; `impact::sort_by_effect` reorders it).
        if sort != "score" && sort != "impact" && !COMPONENTS.contains(&sort.as_str()) {
            return Err(Error::invalid(
                "invalid_value",
                "sort",
                format!(
                    "sort must be score, impact or one of {}, got {sort:?}",
                    COMPONENTS.join(", ")
                ),
            ));
        }
        f.sort = sort;
    }
    Ok(f)
}

fn parse_period(text: &str) -> Result<Option<i64>> {
    let t = text.trim();
    if t == "all" {
        return Ok(None);
    }
    t.strip_suffix('d')
        .unwrap_or(t)
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .map(Some)
        .ok_or_else(|| {
            Error::invalid(
                "invalid_value",
                "period",
                format!("period must be all or a number of days from 1d to 3650d, got {text:?}"),
            )
        })
}
