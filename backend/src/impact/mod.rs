//! Did it work? What happened to a theme's feedback after its change reached customers.
//!
//! * [`rollouts`]: when the change reached which segments (recorded by a product manager,
//!   with history).
//! * [`measure`]: per cohort, the report rate and the satisfaction of the customers who
//!   reported the theme, before and after, against the customers not reached yet;
//!   whether a shipped theme's reports came back ("reopened").
//! * [`estimate`]: the statistics (difference in differences with 95 % intervals), pure.
//! * [`answers`]: customers who reported it say whether it is fixed for them.
//!
//! [`of`] is the one read behind the theme page, `GET /api/v1/themes/{id}/impact` and the
//! digest; [`headlines`] the cheaper one behind the backlog's impact column (report rates
//! only, every theme with a rollout in one query). docs/impact.md explains the method.

pub mod answers;
pub mod estimate;
pub mod measure;
pub mod rollouts;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::db::tallies;
use crate::Result;
use measure::{CohortImpact, DayCounts};
use rollouts::Rollout;

/// A theme's impact, as the theme page and the API show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Impact {
    pub theme_id: i64,
    /// Weeks compared before and after each rollout.
    pub weeks: u32,
    pub rollouts: Vec<Rollout>,
    pub cohorts: Vec<CohortImpact>,
    /// What customers who reported it answered after it shipped.
    pub answers: answers::Tally,
    /// A shipped theme whose report rate came back above its level before the rollout in
    /// each of the last two weeks.
    pub reopened: bool,
    pub as_of: DateTime<Utc>,
}

/// One theme's impact as of `now`, over `weeks` weeks either side of each rollout.
pub async fn of<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<Impact> {
    let (list, answers, shipped) = tokio::try_join!(
        rollouts::list(db, theme_id),
        answers::tally(db, theme_id),
        is_shipped(db, theme_id),
    )?;
    let today = tallies::day_of(now);
    let mut out = Impact {
        theme_id,
        weeks,
        rollouts: list,
        cohorts: Vec::new(),
        answers,
        reopened: false,
        as_of: now,
    };
    let Some((from, to)) = measure::span(&out.rollouts, weeks, today) else {
        return Ok(out);
    };
    let counts = DayCounts::read(db, &[theme_id], from, to).await?;
    // The scored items of each cohort's earlier reporters, read before measuring (the
    // arithmetic is synchronous).
    let cohorts = measure::cohorts(&out.rollouts);
    let mut scores = HashMap::new();
    for (i, c) in cohorts.iter().enumerate() {
        let w = measure::window(&cohorts, i, weeks, today);
        let read = tallies::scores_of_reporters(
            db,
            theme_id,
            w.start,
            tallies::day_start(w.before),
            tallies::day_start(w.end),
        )
        .await?;
        scores.insert(c.starts_on, read);
    }
    let read = |c: &measure::Cohort| scores.get(&c.starts_on).cloned().unwrap_or_default();
    out.cohorts = measure::measure(theme_id, &out.rollouts, &counts, Some(&read), weeks, today);
    out.reopened = shipped && measure::reopened(theme_id, &out.rollouts, &counts, weeks, today);
    Ok(out)
}

async fn is_shipped<C: ConnectionTrait>(db: &C, theme_id: i64) -> Result<bool> {
    use crate::db::entity::backlog_entry;
    use sea_orm::EntityTrait;
    Ok(backlog_entry::Entity::find_by_id(theme_id)
        .one(db)
        .await?
        .is_some_and(|e| e.status == crate::backlog::workflow::Status::Shipped))
}

/// The backlog's view of a theme's impact: its first cohort's headline figure.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Headline {
    /// The relative change of the report rate (difference in differences when there is a
    /// comparison group); `None` while not measurable, with `sentence` saying why.
    pub effect: Option<estimate::Estimate>,
    pub sentence: String,
    pub reopened: bool,
}

/// Every theme with a rollout: its headline, from report rates only (one read of the day
/// tallies for all of them). `shipped` lists the themes whose status is shipped (only they
/// can be reopened).
pub async fn headlines<C: ConnectionTrait>(
    db: &C,
    shipped: &std::collections::HashSet<i64>,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Headline>> {
    let all = rollouts::all(db).await?;
    let today = tallies::day_of(now);
    let spans: Vec<(i32, i32)> = all
        .values()
        .filter_map(|r| measure::span(r, weeks, today))
        .collect();
    let (Some(from), Some(to)) = (
        spans.iter().map(|s| s.0).min(),
        spans.iter().map(|s| s.1).max(),
    ) else {
        return Ok(HashMap::new());
    };
    let themes: Vec<i64> = all.keys().copied().collect();
    let counts = DayCounts::read(db, &themes, from, to).await?;
    Ok(all
        .iter()
        .map(|(&theme, list)| {
            let cohorts = measure::measure(theme, list, &counts, None, weeks, today);
            let first = cohorts.first();
            (
                theme,
                Headline {
                    effect: first.and_then(CohortImpact::headline),
                    sentence: first.map(|c| c.sentence.clone()).unwrap_or_default(),
                    reopened: shipped.contains(&theme)
                        && measure::reopened(theme, list, &counts, weeks, today),
                },
            )
        })
        .collect())
}

/// The headlines of the themes in `entries` that have rollouts (read once for the page);
/// with `filter.sort == "impact"`, `entries` reordered by [`sort_by_effect`].
pub async fn on_backlog<C: ConnectionTrait>(
    db: &C,
    entries: &mut [crate::backlog::Entry],
    sort: &str,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<HashMap<i64, Headline>> {
    let found = headlines(db, &shipped(entries.iter()), weeks, now).await?;
    if sort == "impact" {
        sort_by_effect(entries, &found);
    }
    Ok(found)
}

/// The ids of the shipped themes among `entries` (only they can be reopened).
pub fn shipped<'a>(
    entries: impl IntoIterator<Item = &'a crate::backlog::Entry>,
) -> std::collections::HashSet<i64> {
    use crate::backlog::workflow::Status;
    entries
        .into_iter()
        .filter(|e| e.workflow.status == Status::Shipped)
        .map(|e| e.theme.id)
        .collect()
}

/// Pinned themes first as always; then themes with a measured effect, the largest fall
/// first; then the rest in the order they had.
pub fn sort_by_effect(entries: &mut [crate::backlog::Entry], headlines: &HashMap<i64, Headline>) {
    let effect = |e: &crate::backlog::Entry| {
        headlines
            .get(&e.theme.id)
            .and_then(|h| h.effect)
            .map_or(f64::INFINITY, |x| x.value)
    };
    entries.sort_by(|a, b| {
        b.workflow
            .pinned
            .cmp(&a.workflow.pinned)
            .then(effect(a).total_cmp(&effect(b)))
    });
}
