//! The prioritized improvement backlog: every live theme with an explainable score, its
//! weekly trend, whether it is rising or new, and the product manager's workflow state.
//!
//! * [`score`]: the arithmetic (pure, unit-tested).
//! * [`tallied`]: its input from the tallies kept as items arrive (`db::tallies`);
//!   [`facts`]: the same from every item, the definition the tallies are checked against.
//! * [`export`]: the ranked backlog as CSV.
//! * [`Weights`]: how much each component counts (`TRIAGE_BACKLOG_WEIGHTS`, read with the
//!   rest of the configuration).
//! * [`workflow`]: status, notes, effort, owner, pin — and their history.
//!
//! Scores are computed when asked, not stored: they depend on the period, the segment and
//! the moment. What they are computed from is stored, as per-day sums kept current in the
//! transaction of every change, so a page reads a few thousand rows at any number of items.

pub mod export;
pub mod facts;
pub mod score;
pub mod tallied;
pub mod workflow;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub use crate::config::weights::{Weights, COMPONENTS};
use crate::db::entity::{area, backlog_entry, theme};
use crate::Result;
use score::{ThemeScore, Window};

/// What to rank: the period (`None`: all time), a customer segment, statuses.
#[derive(Debug, Clone)]
pub struct Filter {
    pub as_of: DateTime<Utc>,
    pub period_days: Option<i64>,
    pub segment: Option<String>,
    /// Empty: every status.
    pub statuses: Vec<workflow::Status>,
    /// `score`, or the name of a component to sort by.
    pub sort: String,
    /// Only the themes of this area.
    pub area: Option<i64>,
}

impl Filter {
    /// The period it ranks.
    pub fn window(&self) -> Window {
        Window {
            as_of: self.as_of,
            since: self.period_days.map(|d| self.as_of - Duration::days(d)),
        }
    }

    pub fn new(as_of: DateTime<Utc>) -> Self {
        Self {
            as_of,
            period_days: Some(28),
            segment: None,
            statuses: Vec::new(),
            sort: "score".into(),
            area: None,
        }
    }
}

/// One theme on the backlog.
#[derive(Debug, Clone)]
pub struct Entry {
    pub theme: theme::Model,
    pub workflow: backlog_entry::Model,
    pub score: ThemeScore,
}

impl Entry {
    /// The name people see: the custom label when someone renamed the theme.
    pub fn label(&self) -> &str {
        self.theme.display_label()
    }

    pub fn keywords(&self) -> Vec<String> {
        self.theme.keyword_list()
    }
}

/// An area on the backlog: its themes (ranked as in [`rank`]) and their combined evidence.
#[derive(Debug, Clone)]
pub struct AreaEntry {
    /// `None`: themes not in any area (too few themes to group, or edited since).
    pub area: Option<area::Model>,
    /// The sum of its themes' scores: each theme's points are evidence, and an area with
    /// many well-supported themes carries more of it than one with a single theme.
    pub score: f64,
    /// Items in the period (the sum of its themes' volume).
    pub volume: f64,
    pub themes: Vec<Entry>,
}

impl AreaEntry {
    pub fn label(&self) -> &str {
        self.area.as_ref().map_or("Not in an area", |a| a.name())
    }
}

/// The backlog by area: [`rank`] with the same filter, grouped, areas by score.
pub async fn by_area<C: ConnectionTrait>(
    db: &C,
    weights: &Weights,
    filter: &Filter,
) -> Result<Vec<AreaEntry>> {
    let entries = rank(db, weights, filter).await?;
    let areas: std::collections::HashMap<i64, area::Model> = area::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let mut groups: Vec<AreaEntry> = Vec::new();
    for e in entries {
        let key = e.theme.area_id.filter(|a| areas.contains_key(a));
        let pos = match groups
            .iter()
            .position(|g| g.area.as_ref().map(|a| a.id) == key)
        {
            Some(p) => p,
            None => {
                groups.push(AreaEntry {
                    area: key.and_then(|k| areas.get(&k).cloned()),
                    score: 0.0,
                    volume: 0.0,
                    themes: Vec::new(),
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[pos];
        g.score += e.score.score;
        g.volume += e.score.components[0];
        g.themes.push(e);
    }
    groups.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.label().cmp(b.label()))
    });
    Ok(groups)
}

/// One theme's backlog entry, scored over the 28 days before `as_of` like the backlog's
/// default view — the same score [`rank`] gives it. Scores are relative to the other themes, so
/// this reads every theme's figures for the period, but only this theme's trend, first
/// item and workflow.
pub async fn entry<C: ConnectionTrait>(
    db: &C,
    weights: &Weights,
    theme: theme::Model,
    as_of: DateTime<Utc>,
) -> Result<Entry> {
    let window = Filter::new(as_of).window();
    let id = theme.id;
    let just_this = [id].into();
    let (tallies, first_seen, workflow) = tokio::try_join!(
        tallied::load(db, window, None, tallied::Trends::Of(id)),
        crate::db::tallies::first_seen_of(db, &just_this),
        async { Ok(backlog_entry::Entity::find_by_id(id).one(db).await?) },
    )?;
    let score = score::score(&tallies, &first_seen, window, weights)
        .into_iter()
        .find(|s| s.theme_id == id)
        .unwrap_or_else(|| ThemeScore::empty(id));
    Ok(Entry {
        workflow: workflow.unwrap_or_else(|| workflow::blank(id)),
        score,
        theme,
    })
}

/// Every live theme matching `filter`, pinned ones first, then by `filter.sort`.
pub async fn rank<C: ConnectionTrait>(
    db: &C,
    weights: &Weights,
    filter: &Filter,
) -> Result<Vec<Entry>> {
    let window = filter.window();
    // Independent reads, at once on a pool (see `tallied::load`).
    let themes = theme::Entity::find()
        .filter(theme::Column::MergedInto.is_null())
        .filter(theme::Column::Size.gt(0))
        .all(db);
    let (tallies, first_seen, mut workflows, themes) = tokio::try_join!(
        tallied::load(
            db,
            window,
            filter.segment.as_deref(),
            tallied::Trends::Every
        ),
        crate::db::tallies::first_seen(db),
        workflow::entries(db),
        async { Ok(themes.await?) },
    )?;
    let mut scores: std::collections::HashMap<i64, ThemeScore> =
        score::score(&tallies, &first_seen, window, weights)
            .into_iter()
            .map(|s| (s.theme_id, s))
            .collect();
    let mut out: Vec<Entry> = themes
        .into_iter()
        .map(|t| Entry {
            workflow: workflows
                .remove(&t.id)
                .unwrap_or_else(|| workflow::blank(t.id)),
            score: scores
                .remove(&t.id)
                .unwrap_or_else(|| ThemeScore::empty(t.id)),
            theme: t,
        })
        .filter(|e| filter.statuses.is_empty() || filter.statuses.contains(&e.workflow.status))
        .filter(|e| filter.area.is_none_or(|a| e.theme.area_id == Some(a)))
        .collect();
    let key = COMPONENTS.iter().position(|c| *c == filter.sort);
    let sort_value = |e: &Entry| key.map_or(e.score.score, |i| e.score.components[i]);
    out.sort_by(|a, b| {
        b.workflow
            .pinned
            .cmp(&a.workflow.pinned)
            .then(sort_value(b).total_cmp(&sort_value(a)))
            .then(a.theme.id.cmp(&b.theme.id))
    });
    Ok(out)
}
