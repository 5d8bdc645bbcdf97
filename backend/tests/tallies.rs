//! The backlog's stored tallies against the full computation over every item, on random
//! data through random changes — intake, placements, moves, a merge, customer segment and
//! value changes, erasure, a recount — on a real SQLite file and on PostgreSQL. After every
//! change, random periods (any `as_of`, some before items that exist; 1, 7, 28, 90 days or
//! all time) and segment filters must give the same figures both ways.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use triage::backlog::score::{Tallies, Window};
use triage::backlog::tallied::{self, Trends};
use triage::backlog::{self, facts, Weights};
use triage::config::Settings;
use triage::db::entity::item_theme;
use triage::db::{self, actors::Actor, customers, customers::CustomerPatch, tallies};
use triage::intake::input::{CustomerInput, RatingInput, TicketInput};
use triage::intake::redact::Redact;
use triage::intake::store::{store, Outcome, Source};
use triage::intake::validate;
use triage::themes::assign::{create_theme, placement, save_placements, write_placements};
use triage::Config;

const SEGMENTS: [Option<&str>; 3] = [Some("enterprise"), Some("smb"), None];

struct Rig {
    db: DatabaseConnection,
    _dir: tempfile::TempDir,
    now: DateTime<Utc>,
    rng: StdRng,
    items: Vec<i64>,
    themes: Vec<i64>,
    /// External ids of the tickets stored (a helpdesk's ids).
    tickets: Vec<String>,
    bulk: bool,
}

async fn rig(database_url: Option<String>, seed: u64) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_settings(Settings {
        data_dir: Some(dir.path().to_path_buf()),
        database_url,
        ..Default::default()
    })
    .unwrap();
    let db = db::connect(&config).await.unwrap();
    // Whole seconds: the period edges are then exact on both backends (PostgreSQL keeps
    // microseconds, SQLite whatever it is given).
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    Rig {
        db,
        _dir: dir,
        now,
        rng: StdRng::seed_from_u64(seed),
        items: Vec::new(),
        themes: Vec::new(),
        tickets: Vec::new(),
        bulk: false,
    }
}

impl Rig {
    /// A time in the last 150 days or the next 3, sometimes exactly at midnight.
    fn when(&mut self) -> DateTime<Utc> {
        let t = self.now + Duration::seconds(self.rng.random_range(-150 * 86_400..3 * 86_400));
        if self.rng.random_bool(0.1) {
            tallies::day_start(tallies::day_of(t))
        } else {
            t
        }
    }

    fn customer(&mut self) -> Option<CustomerInput> {
        let n = self.rng.random_range(0..40);
        (n < 30).then(|| CustomerInput {
            external_id: Some(format!("c{n}")),
            segment: SEGMENTS[n % 3].map(str::to_string),
            account_value: (n % 4 != 0).then_some(f64::from(n as u32) * 1234.5),
            ..Default::default()
        })
    }

    async fn add_items(&mut self, n: usize) {
        let (mut tickets, mut ratings) = (Vec::new(), Vec::new());
        for i in 0..n {
            let created_at = Some(self.when().to_rfc3339());
            let customer = self.customer();
            if self.rng.random_bool(0.5) {
                let external_id = format!("zendesk:{}", self.tickets.len());
                self.tickets.push(external_id.clone());
                tickets.push(
                    validate::ticket(TicketInput {
                        subject: format!("subject {i}"),
                        body: "body".into(),
                        priority: Some(["low", "normal", "high", "urgent"][i % 4].into()),
                        status: None,
                        tags: None,
                        external_id: Some(external_id),
                        customer,
                        created_at,
                    })
                    .unwrap(),
                );
            } else {
                ratings.push(
                    validate::rating(RatingInput {
                        score: self.rng.random_range(1..=5),
                        comment: Some(format!("comment {i}")),
                        subject: None,
                        external_id: None,
                        customer,
                        created_at,
                    })
                    .unwrap(),
                );
            }
        }
        let mut outcomes = store(&self.db, &tickets, Source::Api, Redact::none())
            .await
            .unwrap();
        outcomes.extend(
            store(&self.db, &ratings, Source::Api, Redact::none())
                .await
                .unwrap(),
        );
        for o in outcomes {
            if let Outcome::Created { item_id, .. } = o {
                self.items.push(item_id);
            }
        }
    }

    /// Places `n` random items: in a random theme, or unthemed one time in eight.
    async fn place(&mut self, n: usize) {
        let rows = self.random_placements(n);
        // As the embedding worker places new items: in one transaction with their tallies.
        let txn = db::begin_write(&self.db).await.unwrap();
        save_placements(&txn, rows).await.unwrap();
        txn.commit().await.unwrap();
    }

    /// Moves `n` random items the way a theme rebuild does: placements written, then the
    /// stored facts moved to the new themes, in one transaction — as a bulk move (rollups
    /// refilled after) every other time.
    async fn retheme(&mut self, n: usize) {
        self.bulk = !self.bulk;
        let rows = self.random_placements(n);
        let moves = rows
            .iter()
            .map(|r| (r.item_id.clone().unwrap(), r.theme_id.clone().unwrap()))
            .collect();
        let txn = db::begin_write(&self.db).await.unwrap();
        write_placements(&txn, rows).await.unwrap();
        let bulk = if self.bulk { 0 } else { usize::MAX };
        tallies::retheme_with(&txn, &moves, bulk).await.unwrap();
        txn.commit().await.unwrap();
    }

    fn random_placements(&mut self, n: usize) -> Vec<item_theme::ActiveModel> {
        let mut rows = Vec::new();
        for _ in 0..n {
            let item = self.items[self.rng.random_range(0..self.items.len())];
            let theme = (!self.rng.random_bool(0.125))
                .then(|| self.themes[self.rng.random_range(0..self.themes.len())]);
            if rows.iter().any(|r: &(i64, Option<i64>)| r.0 == item) {
                continue;
            }
            rows.push((item, theme));
        }
        rows.into_iter()
            .map(|(i, t)| placement(i, t, Some(0.5), false, self.now))
            .collect()
    }

    /// Random periods and segments: the stored tallies must equal the full computation.
    async fn check(&mut self, step: &str) {
        assert_eq!(
            tallies::first_seen(&self.db).await.unwrap(),
            facts::first_seen(&self.db).await.unwrap(),
            "{step}: first seen"
        );
        for _ in 0..12 {
            let as_of = match self.rng.random_range(0..5) {
                0 => self.now,
                // After every item: the usual case of a backlog read now.
                4 => self.now + Duration::days(4),
                1 => self.when(),
                // Exactly at an item, or at midnight.
                2 => {
                    let id = self.items[self.rng.random_range(0..self.items.len())];
                    created_at(&self.db, id).await.unwrap_or(self.now)
                }
                _ => tallies::day_start(tallies::day_of(self.when())),
            };
            let since = [None, Some(1), Some(7), Some(28), Some(90)][self.rng.random_range(0..5)]
                .map(|d| as_of - Duration::days(d));
            let segment =
                [None, Some("enterprise"), Some("smb"), Some("other")][self.rng.random_range(0..4)];
            let window = Window { as_of, since };
            let stored = tallied::load(&self.db, window, segment, Trends::Every)
                .await
                .unwrap();
            let full = facts::tallies(&self.db, window, segment).await.unwrap();
            let context = format!("{step}: {window:?} {segment:?}");
            assert_same(&stored, &full, &context);
            // One theme's trend (its page): the same figures, the other trends left out.
            let Some(&theme) = self
                .themes
                .get(self.rng.random_range(0..self.themes.len().max(1)))
            else {
                continue;
            };
            let one = tallied::load(&self.db, window, segment, Trends::Of(theme))
                .await
                .unwrap();
            assert_same(
                &one,
                &only_trend_of(full, theme),
                &format!("{context} trend of {theme}"),
            );
        }
        for &theme in &self.themes {
            check_contributors(&self.db, theme, step).await;
        }
        check_rollups(&self.db, step).await;
        self.check_entries(step).await;
    }

    /// A theme's own entry (its page) scores it as the whole ranking does.
    async fn check_entries(&mut self, step: &str) {
        let as_of = [self.now, self.when()][self.rng.random_range(0..2)];
        let weights = Weights::default();
        let ranked = backlog::rank(&self.db, &weights, &backlog::Filter::new(as_of))
            .await
            .unwrap();
        for e in ranked.iter().take(4) {
            let one = backlog::entry(&self.db, &weights, e.theme.clone(), as_of)
                .await
                .unwrap();
            assert_eq!(
                (&one.score, &one.workflow),
                (&e.score, &e.workflow),
                "{step}: entry of theme {} at {as_of}",
                e.theme.id
            );
        }
    }
}

/// A theme's contributors (read from the pair tallies) are its items counted per customer,
/// most items first.
async fn check_contributors(db: &DatabaseConnection, theme: i64, step: &str) {
    let listed = customers::contributors(db, theme, 1_000_000).await.unwrap();
    assert!(
        listed.windows(2).all(|w| w[0].items >= w[1].items),
        "{step}: contributors of theme {theme} not by items"
    );
    let listed: BTreeMap<i64, i64> = listed.into_iter().map(|c| (c.id, c.items)).collect();
    let counted: BTreeMap<i64, i64> = db
        .query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => COUNT_PER_CUSTOMER.replace('?', "$1"),
                _ => COUNT_PER_CUSTOMER.to_string(),
            },
            [theme.into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, counted, "{step}: contributors of theme {theme}");
}

/// The rollups equal what they roll up: `backlog_weeks` the themed day rows by week,
/// `backlog_last_days` the pairs by last day (per segment key and for all together); and no
/// tally keeps a row that counts nothing (a change removes the rows it empties).
async fn check_rollups(db: &DatabaseConnection, step: &str) {
    for empty in [
        "SELECT COUNT(*) FROM backlog_days WHERE items <= 0",
        "SELECT COUNT(*) FROM backlog_weeks WHERE items <= 0",
        "SELECT COUNT(*) FROM backlog_customer_days WHERE items <= 0",
        "SELECT COUNT(*) FROM backlog_pairs WHERE items <= 0",
        "SELECT COUNT(*) FROM backlog_totals WHERE items <= 0 AND customers <= 0",
        "SELECT COUNT(*) FROM backlog_last_days WHERE customers <= 0",
    ] {
        let n: i64 = db
            .query_one(Statement::from_string(db.get_database_backend(), empty))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        assert_eq!(n, 0, "{step}: {empty}");
    }
    for (stored, counted) in [
        (
            "SELECT theme_id, week, segment, items FROM backlog_weeks",
            "SELECT theme_id, CASE WHEN day >= 0 THEN day / 7 ELSE (day - 6) / 7 END AS wk, \
             segment, CAST(SUM(items) AS BIGINT) FROM backlog_days WHERE theme_id <> 0 \
             GROUP BY theme_id, wk, segment HAVING SUM(items) <> 0",
        ),
        (
            "SELECT theme_id, last_day, segment, customers FROM backlog_last_days",
            "SELECT theme_id, last_day, segment, COUNT(*) FROM backlog_pairs \
             GROUP BY theme_id, last_day, segment UNION ALL \
             SELECT theme_id, last_day, '*', COUNT(*) FROM backlog_pairs \
             GROUP BY theme_id, last_day",
        ),
    ] {
        assert_eq!(
            rows4(db, stored).await,
            rows4(db, counted).await,
            "{step}: {stored}"
        );
    }
}

async fn rows4(db: &DatabaseConnection, sql: &str) -> BTreeMap<(i64, i64, String), i64> {
    db.query_all(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let int = |i| {
                r.try_get_by_index::<i64>(i)
                    .or_else(|_| r.try_get_by_index::<i32>(i).map(i64::from))
                    .unwrap()
            };
            ((int(0), int(1), r.try_get_by_index(2).unwrap()), int(3))
        })
        .collect()
}

const COUNT_PER_CUSTOMER: &str = "SELECT i.customer_id, COUNT(*) FROM item_themes t \
    JOIN feedback_items i ON i.id = t.item_id \
    WHERE t.theme_id = ? AND i.customer_id IS NOT NULL GROUP BY i.customer_id";

async fn created_at(db: &DatabaseConnection, id: i64) -> Option<DateTime<Utc>> {
    let f = tallies::facts_of(db, &[id]).await.unwrap();
    f.first().map(|f| f.at)
}

/// `full` with every trend but `theme`'s left out (and themes left with nothing dropped).
fn only_trend_of(mut full: Tallies, theme: i64) -> Tallies {
    for (t, tally) in full.themes.iter_mut() {
        if *t != theme {
            tally.weekly = Default::default();
        }
    }
    full.themes.retain(|_, t| *t != Default::default());
    full
}

/// Equal, counts exactly; account values (floating-point sums in another order) to 1e-9.
fn assert_same(stored: &Tallies, full: &Tallies, context: &str) {
    assert_eq!(
        (stored.all_scored, stored.all_score_units),
        (full.all_scored, full.all_score_units),
        "{context}: all items"
    );
    let mut a: Vec<_> = stored.themes.iter().collect();
    let mut b: Vec<_> = full.themes.iter().collect();
    a.sort_by_key(|(k, _)| **k);
    b.sort_by_key(|(k, _)| **k);
    assert_eq!(
        a.iter().map(|(k, _)| **k).collect::<Vec<_>>(),
        b.iter().map(|(k, _)| **k).collect::<Vec<_>>(),
        "{context}: themes"
    );
    for ((theme, x), (_, y)) in a.iter().zip(&b) {
        let mut x = (*x).clone();
        assert!(
            (x.value - y.value).abs() <= 1e-9 * y.value.abs().max(1.0),
            "{context}: theme {theme} value {} vs {}",
            x.value,
            y.value
        );
        x.value = y.value;
        assert_eq!(&x, *y, "{context}: theme {theme}");
    }
}

async fn exercise(database_url: Option<String>, seed: u64) {
    let mut r = rig(database_url, seed).await;
    r.add_items(400).await;
    r.check("intake only").await;
    for i in 0..6 {
        let t = create_theme(&r.db, format!("t{i}"), None, "[]".into(), &[0.0; 4], 0)
            .await
            .unwrap();
        r.themes.push(t.id);
    }
    r.place(350).await;
    r.check("placed").await;
    r.place(60).await;
    r.check("moved").await;
    r.retheme(150).await;
    r.check("moved as a rebuild does").await;

    // A merge undone puts every placement and every tally back exactly; then it is made
    // again, for the steps below.
    let everything = Window {
        as_of: r.now + Duration::days(4),
        since: None,
    };
    let state = |db: DatabaseConnection| async move {
        use sea_orm::{EntityTrait, QueryOrder};
        let rows = item_theme::Entity::find()
            .order_by_asc(item_theme::Column::ItemId)
            .all(&db)
            .await
            .unwrap();
        let stored = tallied::load(&db, everything, None, Trends::Every)
            .await
            .unwrap();
        (rows, stored)
    };
    let (rows, stored) = state(r.db.clone()).await;
    for round in ["merged", "merged again"] {
        triage::themes::edits::merge(&r.db, r.themes[0], r.themes[1], "user:1")
            .await
            .unwrap();
        let merged = r.themes.remove(0);
        r.check(round).await;
        if round == "merged again" {
            break;
        }
        // Two people undo it at once: one does, the other is told it is done already.
        let edit = last_edit(&r.db).await;
        let (a, b) = tokio::join!(
            triage::themes::undo::undo(&r.db, edit, "user:1"),
            triage::themes::undo::undo(&r.db, edit, "user:2")
        );
        let conflicts = [&a, &b]
            .iter()
            .filter(|x| matches!(x, Err(triage::Error::Conflict { .. })))
            .count();
        assert!(a.is_ok() != b.is_ok() && conflicts == 1, "{a:?} {b:?}");
        r.themes.insert(0, merged);
        let (rows_now, stored_now) = state(r.db.clone()).await;
        assert_eq!(rows_now, rows, "placements after the merge was undone");
        assert_same(&stored_now, &stored, "tallies after the merge was undone");
        r.check("merge undone").await;
    }

    // A customer changes segment, another's account value changes, a third loses it.
    for (ext, patch) in [
        (
            "c1",
            CustomerPatch {
                segment: Some("enterprise".into()),
                ..Default::default()
            },
        ),
        (
            "c5",
            CustomerPatch {
                account_value: Some(99_999.0),
                ..Default::default()
            },
        ),
        (
            "c9",
            CustomerPatch {
                account_value: Some(0.0),
                segment: Some("smb".into()),
                ..Default::default()
            },
        ),
    ] {
        let id = customer_id(&r.db, ext).await;
        db::customers::update(&r.db, id, &patch).await.unwrap();
    }
    r.check("customers changed").await;
    // One customer changed by several requests at once: each applies to what the last left.
    let id = customer_id(&r.db, "c4").await;
    let mut burst = tokio::task::JoinSet::new();
    for k in 0..8 {
        let patch = CustomerPatch {
            segment: Some(["enterprise", "smb", "startup"][k % 3].into()),
            account_value: Some(1_000.0 * k as f64),
            ..Default::default()
        };
        let db = r.db.clone();
        burst.spawn(async move { db::customers::update(&db, id, &patch).await });
    }
    while let Some(done) = burst.join_next().await {
        done.unwrap().unwrap();
    }
    r.check("one customer changed by a burst").await;

    // A public-page answer (no customer) in a theme; its respondent confirms their email,
    // and the answer becomes that customer's.
    let survey = triage::intake::surveys::create(
        &r.db,
        validate::NewSurvey {
            title: "How are we doing?".into(),
            questions: vec![("text".into(), "What went wrong?".into())],
        },
    )
    .await
    .unwrap();
    let answer = validate::NewResponse {
        meta: validate::ItemMeta {
            external_id: None,
            customer: None,
            created_at: r.when(),
        },
        survey_id: survey.survey.id,
        survey_title: survey.survey.title.clone(),
        answers: vec![validate::NewAnswer {
            question_id: survey.questions[0].id,
            kind: "text".into(),
            number: None,
            text: Some("The card reader keeps failing".into()),
        }],
        respondent: Some(validate::Respondent {
            email: "reader@example.com".into(),
            notify: true,
        }),
    };
    let Outcome::Created {
        id: response_id,
        item_id,
    } = store(&r.db, &[answer], Source::Web, Redact::none())
        .await
        .unwrap()[0]
    else {
        panic!("the answer was not stored")
    };
    let txn = db::begin_write(&r.db).await.unwrap();
    save_placements(
        &txn,
        vec![placement(
            item_id,
            Some(r.themes[0]),
            Some(0.9),
            false,
            r.now,
        )],
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    r.items.push(item_id);
    r.check("an unconfirmed answer placed").await;
    let key = triage::digest::signing::key(&r.db).await.unwrap();
    let link = triage::digest::consent::confirm_url("", &key, response_id, "reader@example.com");
    let sig = link.rsplit("sig=").next().unwrap();
    triage::digest::consent::confirm(&r.db, response_id, sig)
        .await
        .unwrap();
    r.check("the answer confirmed by its respondent").await;

    // Several people move the same items at once (to different themes), while one theme is
    // merged into another: each change applies to what the last one left.
    let some: Vec<i64> = r.items.iter().step_by(23).take(20).copied().collect();
    let mut burst = tokio::task::JoinSet::new();
    for k in 0..6 {
        let (db, items, to) = (r.db.clone(), some.clone(), r.themes[k % r.themes.len()]);
        burst.spawn(async move {
            triage::themes::edits::move_items(&db, &items, Some(to), "user:1").await
        });
    }
    let (db, from, into) = (r.db.clone(), r.themes[1], r.themes[2]);
    burst.spawn(async move {
        triage::themes::edits::merge(&db, from, into, "user:1")
            .await
            .map(|_| ())
    });
    while let Some(done) = burst.join_next().await {
        match done.unwrap() {
            Ok(()) => {}
            // A move into the theme merged first finds it gone: that is its answer. Any
            // other error (a deadlock, say) fails the test.
            Err(triage::Error::Unprocessable { .. } | triage::Error::Conflict { .. }) => {}
            Err(e) => panic!("a concurrent move failed: {e:?}"),
        }
    }
    r.themes.remove(1);
    r.check("items moved by several people at once").await;

    // The helpdesk changes tickets' priorities (webhook updates), some twice, some out of
    // order (an older update changes nothing).
    for k in 0..60 {
        let ext = r.tickets[r.rng.random_range(0..r.tickets.len())].clone();
        let mut t = validate::ticket(TicketInput {
            subject: "ignored".into(),
            body: "ignored".into(),
            priority: Some(["low", "normal", "high", "urgent"][r.rng.random_range(0..4)].into()),
            status: Some("solved".into()),
            tags: None,
            external_id: Some(ext),
            customer: None,
            created_at: None,
        })
        .unwrap();
        let back = if k % 5 == 4 { -100 } else { k };
        t.source_updated_at = Some(r.now + Duration::seconds(back));
        triage::intake::store::update_ticket(&r.db, &t, Redact::none())
            .await
            .unwrap();
    }
    r.check("tickets updated by their helpdesk").await;
    // Updates of one ticket at once (a burst of events): each applies to what the last left.
    let ext = r.tickets[0].clone();
    let mut burst = tokio::task::JoinSet::new();
    for k in 0..8 {
        let mut t = validate::ticket(TicketInput {
            subject: "ignored".into(),
            body: "ignored".into(),
            priority: Some(["low", "urgent"][k % 2].into()),
            status: None,
            tags: None,
            external_id: Some(ext.clone()),
            customer: None,
            created_at: None,
        })
        .unwrap();
        t.source_updated_at = Some(r.now + Duration::seconds(1_000 + k as i64));
        let db = r.db.clone();
        burst.spawn(
            async move { triage::intake::store::update_ticket(&db, &t, Redact::none()).await },
        );
    }
    while let Some(done) = burst.join_next().await {
        done.unwrap().unwrap();
    }
    r.check("one ticket updated by a burst").await;

    let gone = customer_id(&r.db, "c2").await;
    triage::privacy::erase::customer(&r.db, gone, &Actor::Cli)
        .await
        .unwrap();
    let some: Vec<i64> = r.items.iter().step_by(17).copied().collect();
    triage::privacy::erase::items(&r.db, &some, &Actor::Retention)
        .await
        .unwrap();
    r.check("erased").await;
    // What is left to place.
    r.items =
        r.db.query_all(sea_orm::Statement::from_string(
            r.db.get_database_backend(),
            "SELECT id FROM feedback_items",
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index(0).unwrap())
        .collect();

    r.add_items(150).await;
    r.place(200).await;
    r.check("more items").await;
    r.retheme(300).await;
    r.check("more items moved as a rebuild does").await;

    let all_time = Window {
        as_of: r.now,
        since: None,
    };
    let before = tallied::load(&r.db, all_time, None, Trends::Every)
        .await
        .unwrap();
    tallies::recount(&r.db).await.unwrap();
    let after = tallied::load(&r.db, all_time, None, Trends::Every)
        .await
        .unwrap();
    assert_same(&after, &before, "recount");
    r.check("recounted").await;
    // A recount while items arrive and move: each write lands before or after it, whole.
    let db = r.db.clone();
    let (recounted, ()) = tokio::join!(tallies::recount(&db), async {
        r.add_items(60).await;
        r.place(60).await;
    });
    recounted.unwrap();
    r.check("recounted while items arrived").await;
}

/// The newest theme edit's id.
async fn last_edit(db: &DatabaseConnection) -> i64 {
    use sea_orm::{EntityTrait, QueryOrder};
    use triage::db::entity::theme_edit;
    theme_edit::Entity::find()
        .order_by_desc(theme_edit::Column::Id)
        .one(db)
        .await
        .unwrap()
        .expect("an edit")
        .id
}

async fn customer_id(db: &DatabaseConnection, external_id: &str) -> i64 {
    let row = db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id FROM customers WHERE external_id = '{external_id}'"),
        ))
        .await
        .unwrap()
        .expect("customer");
    row.try_get_by_index(0).unwrap()
}

#[tokio::test]
async fn sqlite_tallies_equal_the_full_computation() {
    for seed in [1, 2] {
        exercise(None, seed).await;
    }
}

#[tokio::test]
async fn postgres_tallies_equal_the_full_computation() {
    let admin = std::env::var("TRIAGE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(server) = sea_orm::Database::connect(&admin).await else {
        panic!("PostgreSQL does not answer at {admin}: the tallies must be checked on it");
    };
    let name = format!("triage_tallies_{}", rand::random::<u32>());
    server
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    exercise(Some(format!("{base}/{name}")), 3).await;
    let _ = server
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await;
}
