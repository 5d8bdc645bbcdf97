//! Impact on a real SQLite file: rollouts (validation, status rule, history), and a
//! generated scenario whose counts are known exactly — the enterprise segment's report share
//! halves after its rollout and its customers rate one star higher, the rest is unchanged —
//! read back through the day tallies as those exact counts and that effect. The intervals'
//! coverage over many noisy seeds is checked on the statistics alone (`impact::estimate`'s
//! tests); here the reads must be exact.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

use triage::backlog::workflow::{self, EntryChange};
use triage::config::Settings;
use triage::db::entity::{backlog_change, fix_answer::FixOutcome, item_theme};
use triage::db::{self, tallies};
use triage::impact::rollouts::{NewRollout, RolloutChange};
use triage::impact::{self, answers, rollouts};
use triage::intake::input::{CustomerInput, RatingInput};
use triage::intake::redact::Redact;
use triage::intake::store::{store, Outcome, Source};
use triage::intake::validate;
use triage::themes::assign::{create_theme, placement, save_placements};
use triage::{Config, Error};

async fn sqlite() -> (tempfile::TempDir, DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_settings(Settings {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let db = db::connect(&config).await.unwrap();
    (dir, db)
}

/// Days of the scenario: 28 before the rollout, 21 after (today is not counted).
const BEFORE: i64 = 28;
const AFTER: i64 = 21;

struct Scenario {
    db: DatabaseConnection,
    _dir: tempfile::TempDir,
    now: DateTime<Utc>,
    rolled_out: chrono::NaiveDate,
    theme: i64,
    /// Reports and items, generated: (enterprise before, after), (rest before, after).
    counts: [[(u64, u64); 2]; 2],
    /// Every item of the rest that is not a report: (id, day relative to the rollout, its
    /// rank among that day's such items).
    others: Vec<(i64, i64, usize)>,
}

/// Per day: 20 enterprise items (2 reports before the rollout, 1 after; 3★ before, 4★
/// after) and 40 from the rest (2 reports; 3★ throughout), all star ratings.
async fn scenario() -> Scenario {
    let (dir, db) = sqlite().await;
    let now = Utc::now();
    let today = tallies::day_start(tallies::day_of(now));
    let rollout_day = today - Duration::days(AFTER);
    let theme = create_theme(&db, "late cards".into(), None, "[]".into(), &[0.0; 4], 0)
        .await
        .unwrap()
        .id;
    let mut counts = [[(0u64, 0u64); 2]; 2];
    let mut ratings = Vec::new();
    let mut in_theme = Vec::new();
    let mut keys = Vec::new();
    for d in -BEFORE..AFTER {
        let at = rollout_day + Duration::days(d) + Duration::hours(9);
        let after = usize::from(d >= 0);
        for (group, n, reports, stars, segment) in [
            (
                0,
                20,
                if d >= 0 { 1 } else { 2 },
                if d >= 0 { 4 } else { 3 },
                Some("enterprise"),
            ),
            (1, 40, 2, 3, None),
        ] {
            let mut other = 0;
            for i in 0..n {
                // Which items are reports turns with the day, so every customer reports.
                let report = (i as i64 + d).rem_euclid(n as i64) < reports as i64;
                let who = if group == 0 {
                    format!("e{}", i % 10)
                } else {
                    format!("r{}", i % 20)
                };
                let customer = CustomerInput {
                    external_id: Some(who),
                    segment: segment
                        .map(str::to_string)
                        .or((i % 2 == 0).then(|| "smb".into())),
                    ..Default::default()
                };
                in_theme.push(report);
                keys.push((d, group, (group == 1 && !report).then_some(other)));
                other += usize::from(group == 1 && !report);
                ratings.push(
                    validate::rating(RatingInput {
                        score: stars,
                        comment: Some(format!("day {d} item {i}")),
                        subject: None,
                        external_id: None,
                        customer: Some(customer),
                        created_at: Some((at + Duration::minutes(i as i64)).to_rfc3339()),
                    })
                    .unwrap(),
                );
                counts[group][after].0 += u64::from(report);
                counts[group][after].1 += 1;
            }
        }
    }
    let outcomes = store(&db, &ratings, Source::Import, Redact::none())
        .await
        .unwrap();
    let rows: Vec<item_theme::ActiveModel> = outcomes
        .iter()
        .zip(&in_theme)
        .filter(|(_, t)| **t)
        .map(|(o, _)| match o {
            Outcome::Created { item_id, .. } => {
                placement(*item_id, Some(theme), Some(0.9), false, now)
            }
            other => panic!("not stored: {other:?}"),
        })
        .collect();
    save_placements(&db, rows).await.unwrap();
    let others = outcomes
        .iter()
        .zip(keys)
        .filter_map(|(o, (d, _, rank))| match (o, rank) {
            (Outcome::Created { item_id, .. }, Some(r)) => Some((*item_id, d, r)),
            _ => None,
        })
        .collect();
    Scenario {
        others,
        db,
        _dir: dir,
        now,
        rolled_out: rollout_day.date_naive(),
        theme,
        counts,
    }
}

async fn set_status(db: &DatabaseConnection, theme: i64, status: &str) {
    workflow::update(
        db,
        theme,
        EntryChange {
            status: Some(status.into()),
            ..Default::default()
        },
        "cli",
        "http://triage.test",
    )
    .await
    .unwrap();
}

fn input(day: &str, segments: Option<&[&str]>) -> NewRollout {
    NewRollout {
        starts_on: day.into(),
        segments: segments.map(|s| s.iter().map(|s| s.to_string()).collect()),
        note: None,
    }
}

fn field_of(e: Error) -> String {
    match e {
        Error::Invalid { field, .. } => field.unwrap_or_default(),
        Error::Unprocessable { field, .. } | Error::Conflict { field, .. } => field,
        other => panic!("not a field error: {other:?}"),
    }
}

#[tokio::test]
async fn rollouts_need_a_theme_in_progress_valid_input_and_keep_history() {
    let s = scenario().await;
    let (db, t) = (&s.db, s.theme);
    let day = s.rolled_out.to_string();
    let refused = rollouts::add(db, t, input(&day, Some(&["enterprise"])), "cli").await;
    assert_eq!(field_of(refused.unwrap_err()), "status");
    set_status(db, t, "in_progress").await;
    for (bad, field) in [
        (input("03/03/2026", None), "starts_on"),
        (input("1999-12-31", None), "starts_on"),
        (input("2026-02-30", None), "starts_on"),
        (input(&day, Some(&[])), "segments"),
        (input(&day, Some(&["  "])), "segments[0]"),
    ] {
        let e = rollouts::add(db, t, bad, "cli").await.unwrap_err();
        assert_eq!(field_of(e), field);
    }
    let r = rollouts::add(
        db,
        t,
        input(&day, Some(&["enterprise", "enterprise"])),
        "cli",
    )
    .await
    .unwrap();
    assert_eq!(r.segments, Some(vec!["enterprise".to_string()]));
    let moved = rollouts::update(
        db,
        t,
        r.id,
        RolloutChange {
            note: Some("beta flag".into()),
            ..Default::default()
        },
        "cli",
    )
    .await
    .unwrap();
    assert_eq!(
        (moved.starts_on, moved.note.as_str()),
        (r.starts_on, "beta flag")
    );
    // Another theme's rollout id is not this theme's.
    let other = create_theme(db, "other".into(), None, "[]".into(), &[0.0; 4], 0)
        .await
        .unwrap()
        .id;
    assert!(matches!(
        rollouts::update(db, other, r.id, RolloutChange::default(), "cli").await,
        Err(Error::NotFound { .. })
    ));
    let history: Vec<_> = backlog_change::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.field == "rollout")
        .collect();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(
        history[0].after.as_deref(),
        Some(format!("enterprise from {day}").as_str())
    );
    assert_eq!(
        history[1].after.as_deref(),
        Some(format!("enterprise from {day} (beta flag)").as_str())
    );
    rollouts::remove(db, t, r.id, "cli").await.unwrap();
    assert!(rollouts::list(db, t).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_known_effect_is_read_back_exactly() {
    let s = scenario().await;
    let (db, t) = (&s.db, s.theme);
    set_status(db, t, "shipped").await;
    rollouts::add(
        db,
        t,
        input(&s.rolled_out.to_string(), Some(&["enterprise"])),
        "cli",
    )
    .await
    .unwrap();
    let got = impact::of(db, t, 4, s.now).await.unwrap();
    assert_eq!(got.cohorts.len(), 1, "{got:?}");
    let c = &got.cohorts[0];
    assert_eq!((c.cohort.as_str(), c.days_after), ("enterprise", AFTER));
    let read = |p: &triage::impact::estimate::Phases| {
        [
            (p.before.reports(), p.before.items()),
            (p.after.reports(), p.after.items()),
        ]
    };
    assert_eq!(read(&c.treated), s.counts[0]);
    assert_eq!(read(c.comparison.as_ref().unwrap()), s.counts[1]);
    let rates = c.rates.as_ref().unwrap();
    assert!((rates.treated.value + 0.5).abs() < 1e-9, "{rates:?}");
    let (comparison, effect) = (rates.comparison.unwrap(), rates.effect.unwrap());
    assert!(comparison.value.abs() < 1e-9 && (effect.value + 0.5).abs() < 1e-9);
    assert!(
        effect.contains(-0.5) && effect.low < effect.value,
        "{effect:?}"
    );
    assert!(
        rates.treated.high < 0.0,
        "a clear fall in the cohort: {rates:?}"
    );
    assert!(
        c.sentence.starts_with("Reports fell 50 % in enterprise"),
        "{}",
        c.sentence
    );
    // 3★ → 4★ is 50 → 75 on the 0–100 scale; the rest stay at 50.
    let sat = c.satisfaction.as_ref().unwrap();
    assert_eq!((sat.treated_before, sat.treated_after), (50.0, 75.0));
    assert_eq!(sat.effect.unwrap().value, 25.0);
    assert!(!got.reopened);

    // The backlog's cheaper read agrees, and sorts the measured theme first.
    let shipped = [t].into();
    let h = impact::headlines(db, &shipped, 4, s.now).await.unwrap();
    assert_eq!(h[&t].effect, rates.effect);

    // Webhook subscribers hear of the measured effect once per rollout.
    use triage::webhooks::{EventType, WebhookFormat};
    let sub = triage::db::webhooks::NewSubscription {
        url: "http://127.0.0.1:9/impact".into(),
        events: vec![EventType::ThemeImpactMeasured],
        format: WebhookFormat::Standard,
        description: String::new(),
    };
    let made = triage::db::webhooks::create_subscription(db, sub)
        .await
        .unwrap();
    // The backlog lists themes with members; this scenario places items without counting.
    use sea_orm::sea_query::Expr;
    use sea_orm::QueryFilter;
    triage::db::entity::theme::Entity::update_many()
        .col_expr(triage::db::entity::theme::Column::Size, Expr::value(60))
        .filter(sea_orm::ColumnTrait::eq(
            &triage::db::entity::theme::Column::Id,
            t,
        ))
        .exec(db)
        .await
        .unwrap();
    let config = Config::from_settings(Settings::default()).unwrap();
    let found = triage::webhooks::watch::look(db, &config, s.now)
        .await
        .unwrap();
    assert_eq!(found, 1);
    assert_eq!(
        triage::webhooks::watch::look(db, &config, s.now)
            .await
            .unwrap(),
        0
    );
    let (sent, _) = triage::db::webhooks::deliveries(
        db,
        made.id,
        triage::db::Page {
            limit: 10,
            offset: 0,
        },
    )
    .await
    .unwrap();
    let body: serde_json::Value = serde_json::from_str(&sent[0].payload).unwrap();
    assert_eq!(body["type"], "theme.impact_measured");
    assert_eq!(body["data"]["theme_id"], t);
    assert!(body["data"]["sentence"]
        .as_str()
        .unwrap()
        .starts_with("Reports fell 50 %"));

    // Everyone a week ago: the enterprise cohort's after window stops there (its comparison
    // group is reached), and everyone else is measured before/after with no comparison.
    let week_ago = (s.now - Duration::days(7)).date_naive().to_string();
    rollouts::add(db, t, input(&week_ago, None), "cli")
        .await
        .unwrap();
    let got = impact::of(db, t, 4, s.now).await.unwrap();
    assert_eq!(got.cohorts.len(), 2);
    assert_eq!(got.cohorts[0].days_after, AFTER - 7);
    let rest = &got.cohorts[1];
    assert_eq!(
        (rest.cohort.as_str(), rest.days_after),
        ("everyone else", 7)
    );
    assert!(rest.compared_with.is_none() && rest.sentence.contains("no comparison group"));
}

#[tokio::test]
async fn reports_coming_back_reopen_a_shipped_theme() {
    let s = scenario().await;
    let (db, t) = (&s.db, s.theme);
    let day = s.rolled_out.to_string();
    // The scenario's theme: 4 reports of 60 items a day before, 3 after — not reopened.
    set_status(db, t, "shipped").await;
    rollouts::add(db, t, input(&day, None), "cli")
        .await
        .unwrap();
    assert!(!impact::of(db, t, 4, s.now).await.unwrap().reopened);
    // Another theme: 1 report a day before its rollout, 2 a day in the last two weeks.
    let back = create_theme(db, "came back".into(), None, "[]".into(), &[0.0; 4], 0)
        .await
        .unwrap()
        .id;
    let rows = s
        .others
        .iter()
        .filter(|&&(_, d, rank)| (d < 0 && rank == 0) || (d >= AFTER - 14 && rank < 2))
        .map(|&(id, ..)| placement(id, Some(back), Some(0.9), false, s.now))
        .collect();
    save_placements(db, rows).await.unwrap();
    set_status(db, back, "in_progress").await;
    rollouts::add(db, back, input(&day, None), "cli")
        .await
        .unwrap();
    assert!(
        !impact::of(db, back, 4, s.now).await.unwrap().reopened,
        "only a shipped theme can be reopened"
    );
    set_status(db, back, "shipped").await;
    assert!(impact::of(db, back, 4, s.now).await.unwrap().reopened);
    let shipped = [t, back].into();
    let h = impact::headlines(db, &shipped, 4, s.now).await.unwrap();
    assert!(h[&back].reopened && !h[&t].reopened);

    // The backlog sorted by impact: the theme whose reports fell before the one whose rose.
    triage::themes::assign::refresh_sizes(db).await.unwrap();
    let filter = triage::backlog::Filter::new(s.now);
    let weights = triage::backlog::Weights::default();
    let mut ranked = triage::backlog::rank(db, &weights, &filter).await.unwrap();
    let h = impact::on_backlog(db, &mut ranked, "impact", 4, s.now)
        .await
        .unwrap();
    let order: Vec<i64> = ranked.iter().map(|e| e.theme.id).collect();
    assert_eq!(order, [t, back], "{h:?}");
    assert!(h[&t].effect.unwrap().value < 0.0 && h[&back].effect.unwrap().value > 0.0);
}

#[tokio::test]
async fn answers_replace_each_other_and_a_comment_becomes_one_ticket_in_the_theme() {
    let s = scenario().await;
    let (db, t) = (&s.db, s.theme);
    set_status(db, t, "shipped").await;
    let customer = {
        use sea_orm::{ColumnTrait, QueryFilter};
        triage::db::entity::customer::Entity::find()
            .filter(triage::db::entity::customer::Column::ExternalId.eq("e1"))
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let fixed = answers::record(db, customer, t, FixOutcome::Fixed, None, Redact::all())
        .await
        .unwrap();
    assert_eq!(fixed.answer, FixOutcome::Fixed);
    // A comment only goes with "still a problem".
    let e = answers::record(
        db,
        customer,
        t,
        FixOutcome::Fixed,
        Some("hm".into()),
        Redact::all(),
    )
    .await
    .unwrap_err();
    assert_eq!(field_of(e), "comment");
    for _ in 0..2 {
        let still = answers::record(
            db,
            customer,
            t,
            FixOutcome::StillAProblem,
            Some("Still waiting, call me on +44 20 7946 0958".into()),
            Redact::all(),
        )
        .await
        .unwrap();
        assert_eq!(still.answer, FixOutcome::StillAProblem);
        assert!(still.item_id.is_some());
    }
    let tally = answers::tally(db, t).await.unwrap();
    assert_eq!(
        (tally.answered, tally.fixed, tally.still_a_problem),
        (1, 0, 1)
    );
    assert_eq!(
        tally.sentence().unwrap(),
        "confirmed fixed by 0 % of the 1 customer who answered"
    );
    // One follow-up ticket (the replay found it), placed in the theme by hand, masked.
    let follow_ups: Vec<_> = triage::db::entity::feedback_item::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.text.contains("Still waiting"))
        .collect();
    assert_eq!(follow_ups.len(), 1);
    assert!(
        !follow_ups[0].text.contains("7946"),
        "{}",
        follow_ups[0].text
    );
    let placed = item_theme::Entity::find_by_id(follow_ups[0].id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((placed.theme_id, placed.by_human), (Some(t), true));

    // The answer is the customer's data: in their export, and gone with their erasure.
    let export = triage::privacy::export::export(db, customer).await.unwrap();
    assert_eq!(export.consent.fix_answers.len(), 1);
    triage::privacy::erase::customer(db, customer, &triage::db::actors::Actor::Cli)
        .await
        .unwrap();
    assert_eq!(answers::tally(db, t).await.unwrap().answered, 0);
    assert!(
        triage::db::entity::feedback_item::Entity::find_by_id(follow_ups[0].id)
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
}
