//! Intake services and the outbox, without HTTP, on a real SQLite file.

use sea_orm::{DatabaseConnection, EntityTrait};
use triage::config::Settings;
use triage::db::{self, outbox};
use triage::intake::input::{CustomerInput, TicketInput};
use triage::intake::redact::Redact;
use triage::intake::store::{store, Outcome, Source};
use triage::intake::validate;
use triage::Config;

async fn sqlite() -> (tempfile::TempDir, DatabaseConnection) {
    let (dir, _, db) = sqlite_with_config().await;
    (dir, db)
}

/// A database in a new SQLite file, with the configuration that points at it.
async fn sqlite_with_config() -> (tempfile::TempDir, Config, DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_settings(Settings {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let db = db::connect(&config).await.unwrap();
    (dir, config, db)
}

fn ticket(ext: Option<&str>, subject: &str, email: &str, segment: &str) -> validate::NewTicket {
    validate::ticket(TicketInput {
        subject: subject.into(),
        body: "body".into(),
        priority: None,
        status: None,
        tags: None,
        external_id: ext.map(str::to_string),
        customer: Some(CustomerInput {
            email: Some(email.into()),
            segment: Some(segment.into()),
            ..Default::default()
        }),
        created_at: None,
    })
    .unwrap()
}

#[tokio::test]
async fn a_batch_stores_items_jobs_and_reports_duplicates() {
    let (_dir, db) = sqlite().await;
    let batch = vec![
        ticket(Some("a"), "one", "x@y.co", "smb"),
        ticket(Some("b"), "two", "X@Y.co", "smb"),
        ticket(Some("a"), "repeat in the batch", "x@y.co", "smb"),
    ];
    let out = store(&db, &batch, Source::Import, Redact::all())
        .await
        .unwrap();
    assert!(matches!(out[0], Outcome::Created { .. }));
    assert!(matches!(out[1], Outcome::Created { .. }));
    assert_eq!(
        out[2],
        Outcome::Duplicate {
            external_id: "a".into()
        }
    );
    assert_eq!(db::items::count(&db).await.unwrap(), 2);
    assert_eq!(outbox::pending(&db, outbox::TOPIC_INDEX).await.unwrap(), 2);

    // Same batch again: nothing new, no new jobs.
    let again = store(&db, &batch[..2], Source::Import, Redact::all())
        .await
        .unwrap();
    assert!(again.iter().all(|o| matches!(o, Outcome::Duplicate { .. })));
    assert_eq!(outbox::pending(&db, outbox::TOPIC_INDEX).await.unwrap(), 2);

    // Without external ids, rows go in one by one and are all new.
    let loose = vec![
        ticket(None, "loose 1", "z@y.co", "smb"),
        ticket(None, "loose 2", "z@y.co", "smb"),
    ];
    let out = store(&db, &loose, Source::Api, Redact::all())
        .await
        .unwrap();
    assert!(out.iter().all(|o| matches!(o, Outcome::Created { .. })));
    assert_eq!(db::items::count(&db).await.unwrap(), 4);
}

/// A helpdesk's later state of a stored ticket: status, priority and tags follow the newest
/// `updated_at`; subject and body stay; an older or equal one changes nothing; masking
/// applies to the new tags as at intake.
#[tokio::test]
async fn a_newer_helpdesk_state_updates_a_ticket_and_an_older_one_does_not() {
    use triage::db::entity::ticket;
    use triage::intake::store::{update_ticket, TicketUpdate};
    let (_dir, db) = sqlite().await;
    let first = ticket(Some("zendesk:7"), "Card declined", "x@y.co", "smb");
    let out = store(
        &db,
        std::slice::from_ref(&first),
        Source::Hook,
        Redact::all(),
    )
    .await
    .unwrap();
    let Outcome::Created { id, item_id } = out[0] else {
        panic!("{out:?}")
    };
    let stored = |db: DatabaseConnection| async move {
        ticket::Entity::find_by_id(id)
            .one(&db)
            .await
            .unwrap()
            .unwrap()
    };
    let t0 = chrono::Utc::now();
    let later = |secs: i64, priority: &str, status: &str, tags: &[&str]| {
        let mut t = ticket(Some("zendesk:7"), "Edited subject", "x@y.co", "smb");
        t.body = "a later comment".into();
        t.priority = priority.into();
        t.status = status.into();
        t.tags = tags.iter().map(|s| s.to_string()).collect();
        t.source_updated_at = Some(t0 + chrono::Duration::seconds(secs));
        t
    };
    let up = |t: validate::NewTicket| {
        let db = db.clone();
        async move { update_ticket(&db, &t, Redact::all()).await.unwrap() }
    };

    let newer = later(
        60,
        "urgent",
        "solved",
        &["cards", "call me on +44 20 7946 0958"],
    );
    assert_eq!(up(newer.clone()).await, TicketUpdate::Updated { item_id });
    let now = stored(db.clone()).await;
    assert_eq!(
        (now.priority.as_str(), now.status.as_str()),
        ("urgent", "solved")
    );
    assert_eq!(
        now.tags, r#"["cards","call me on [phone]"]"#,
        "tags masked like intake"
    );
    assert_eq!(
        (now.subject.as_str(), now.body.as_str()),
        ("Card declined", "body")
    );
    assert_eq!(
        now.source_updated_at.map(|t| t.timestamp()),
        Some((t0 + chrono::Duration::seconds(60)).timestamp())
    );

    // The same update again, and an older one delivered late: nothing changes.
    assert_eq!(up(newer).await, TicketUpdate::Stale { item_id });
    let older = later(30, "low", "open", &[]);
    assert_eq!(up(older).await, TicketUpdate::Stale { item_id });
    assert_eq!(stored(db.clone()).await, now);

    // Newer but the same state: unchanged, the time moves on.
    let same = later(
        90,
        "urgent",
        "solved",
        &["cards", "call me on +44 20 7946 0958"],
    );
    assert_eq!(up(same).await, TicketUpdate::Unchanged { item_id });
    assert_eq!(
        stored(db.clone())
            .await
            .source_updated_at
            .map(|t| t.timestamp()),
        Some((t0 + chrono::Duration::seconds(90)).timestamp())
    );
    // Without a time (a tool that sends none): applied in arrival order.
    let mut untimed = later(0, "high", "pending", &[]);
    untimed.source_updated_at = None;
    assert_eq!(up(untimed).await, TicketUpdate::Updated { item_id });
    assert_eq!(stored(db.clone()).await.priority, "high");
    // An external id never stored is not an update.
    let mut unknown = later(100, "high", "open", &[]);
    unknown.meta.external_id = Some("zendesk:8".into());
    assert!(update_ticket(&db, &unknown, Redact::all()).await.is_err());
}

#[tokio::test]
async fn intake_keeps_a_customer_and_a_segment_change_requeues_their_items() {
    let (_dir, db) = sqlite().await;
    let claim_all = || async {
        let jobs = outbox::claim(&db, outbox::TOPIC_INDEX, "test", 100)
            .await
            .unwrap();
        let ids: Vec<i64> = jobs.iter().map(|j| j.job_id).collect();
        outbox::complete(&db, &ids).await.unwrap();
        let mut items: Vec<i64> = jobs.iter().map(|j| j.item_id).collect();
        items.sort();
        items.dedup();
        items
    };
    store(
        &db,
        &[
            ticket(Some("a"), "one", "x@y.co", "smb"),
            ticket(Some("b"), "two", "x@y.co", "smb"),
        ],
        Source::Api,
        Redact::all(),
    )
    .await
    .unwrap();
    assert_eq!(claim_all().await.len(), 2);

    // A ticket naming the customer with another segment changes nothing about them: only
    // the new item is queued.
    store(
        &db,
        &[ticket(Some("c"), "three", "x@y.co", "enterprise")],
        Source::Api,
        Redact::all(),
    )
    .await
    .unwrap();
    assert_eq!(claim_all().await.len(), 1);
    let customers = triage::db::entity::customer::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].segment.as_deref(), Some("smb"));

    // The customers service changes it, and re-queues all three items (their indexed
    // segment is stale) in the same transaction.
    let patch = triage::db::customers::CustomerPatch {
        segment: Some("enterprise".into()),
        ..Default::default()
    };
    let changed = triage::db::customers::update(&db, customers[0].id, &patch)
        .await
        .unwrap();
    assert_eq!(changed.segment.as_deref(), Some("enterprise"));
    assert_eq!(claim_all().await.len(), 3);
}

#[tokio::test]
async fn claims_are_exclusive_and_released_after_a_crash() {
    let (_dir, db) = sqlite().await;
    let batch: Vec<_> = (0..5)
        .map(|i| ticket(Some(&format!("t{i}")), "s", "x@y.co", "smb"))
        .collect();
    store(&db, &batch, Source::Api, Redact::all())
        .await
        .unwrap();
    let first = outbox::claim(&db, outbox::TOPIC_INDEX, "index-a", 3)
        .await
        .unwrap();
    let second = outbox::claim(&db, outbox::TOPIC_INDEX, "index-b", 10)
        .await
        .unwrap();
    assert_eq!(
        (first.len(), second.len()),
        (3, 2),
        "no job is handed out twice"
    );
    assert!(outbox::claim(&db, outbox::TOPIC_INDEX, "index-b", 10)
        .await
        .unwrap()
        .is_empty());
    // index-a "crashes" and starts again: its claims come back.
    assert_eq!(outbox::release(&db, "index-a").await.unwrap(), 3);
    assert_eq!(
        outbox::claim(&db, outbox::TOPIC_INDEX, "index-a", 10)
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn idle_sessions_end_and_are_swept() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    use triage::db::{entity::session, sessions, tokens::Role, users};
    let (_dir, db) = sqlite().await;
    let u = users::create(&db, "ida@corp.test", "Ida", Role::Support, "ida-password-1")
        .await
        .unwrap();
    let (token, s) = sessions::start(&db, u.id).await.unwrap();
    // A fresh session lasts the idle timeout, not the whole 14 days.
    assert!(s.expires_at <= s.created_at + sessions::IDLE);
    assert!(sessions::find(&db, &token).await.unwrap().is_some());

    // Used after a while: its deadline moves forward (never past 14 days after sign-in).
    let mut am: session::ActiveModel = s.clone().into();
    am.expires_at = Set(chrono::Utc::now() + chrono::Duration::minutes(30));
    am.update(&db).await.unwrap();
    let (touched, _) = sessions::find(&db, &token).await.unwrap().unwrap();
    assert!(touched.expires_at > chrono::Utc::now() + chrono::Duration::hours(11));
    assert!(touched.expires_at <= touched.created_at + sessions::LIFETIME);

    // Unused past its deadline: gone, and the sweep deletes the row.
    let mut am: session::ActiveModel = touched.into();
    am.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    am.update(&db).await.unwrap();
    assert!(sessions::find(&db, &token).await.unwrap().is_none());
    assert_eq!(sessions::sweep(&db).await.unwrap(), 1);
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused() {
    use triage::db::tokens::{self, Role};
    let (_dir, db) = sqlite().await;
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (_, expired) = tokens::create(&db, "old", Role::Admin, Some(past))
        .await
        .unwrap();
    assert!(tokens::find(&db, &expired).await.unwrap().is_none());
    let (m, live) = tokens::issue(&db, "new", "pm", Some(1)).await.unwrap();
    assert!(tokens::find(&db, &live).await.unwrap().is_some());
    tokens::revoke(&db, m.id).await.unwrap();
    assert!(tokens::find(&db, &live).await.unwrap().is_none());
}

/// Stores new tickets; their item ids.
async fn created(db: &DatabaseConnection, batch: &[validate::NewTicket]) -> Vec<i64> {
    store(db, batch, Source::Api, Redact::all())
        .await
        .unwrap()
        .iter()
        .map(|o| match o {
            Outcome::Created { item_id, .. } => *item_id,
            other => panic!("{other:?}"),
        })
        .collect()
}

/// An outbox consumer whose handler fails for chosen items. The real handlers (index,
/// embeddings) have no input that fails on purpose, so this stands in for "an item that
/// cannot be handled" (a corrupt row, a text the model chokes on); the claims, failures and
/// dead-lettering are the real ones, on a real SQLite file.
struct Flaky {
    db: DatabaseConnection,
    fails: std::sync::Mutex<std::collections::HashSet<i64>>,
    handled: std::sync::Mutex<Vec<i64>>,
}

impl triage::jobs::consumer::Consumer for Flaky {
    fn db(&self) -> &DatabaseConnection {
        &self.db
    }
    fn topic(&self) -> &'static str {
        outbox::TOPIC_INDEX
    }
    fn consumer(&self) -> &str {
        "flaky"
    }
    fn batch(&self) -> u64 {
        100
    }
    async fn handle(&self, item_ids: Vec<i64>) -> triage::Result<()> {
        let fails = self.fails.lock().unwrap().clone();
        if item_ids.iter().any(|i| fails.contains(i)) {
            return Err(triage::Error::Internal("cannot handle this item".into()));
        }
        self.handled.lock().unwrap().extend(item_ids);
        Ok(())
    }
}

#[tokio::test]
async fn a_job_that_always_fails_is_set_aside_and_blocks_nothing() {
    use triage::jobs::consumer::drain_once;
    let (_dir, db) = sqlite().await;
    let batch: Vec<_> = (0..5)
        .map(|i| ticket(Some(&format!("t{i}")), "s", "x@y.co", "smb"))
        .collect();
    let ids: Vec<i64> = created(&db, &batch).await;
    let poison = ids[0]; // the oldest job: first in every claim
    let c = Flaky {
        db: db.clone(),
        fails: std::sync::Mutex::new([poison].into()),
        handled: Default::default(),
    };
    // First pass: the four good items are done although the poison one heads the batch.
    assert_eq!(drain_once(&c).await.unwrap(), 4);
    assert_eq!(c.handled.lock().unwrap().len(), 4);
    // It fails alone from now on; after MAX_ATTEMPTS claims it is dead, not retried.
    let mut tries = 1;
    while outbox::pending(&db, outbox::TOPIC_INDEX).await.unwrap() > 0 {
        assert!(drain_once(&c).await.is_err());
        tries += 1;
        assert!(tries <= outbox::MAX_ATTEMPTS, "never set aside");
    }
    assert_eq!(tries, outbox::MAX_ATTEMPTS);
    let dead = outbox::dead(&db, None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].item_id, poison);
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("cannot handle this item")
    );
    assert_eq!(
        outbox::dead_count(&db, outbox::TOPIC_INDEX).await.unwrap(),
        1
    );
    assert_eq!(
        drain_once(&c).await.unwrap(),
        0,
        "a dead job is not claimed"
    );

    // New work of the topic flows past it.
    store(
        &db,
        &[ticket(Some("t9"), "s", "x@y.co", "smb")],
        Source::Api,
        Redact::all(),
    )
    .await
    .unwrap();
    assert_eq!(drain_once(&c).await.unwrap(), 1);

    // Fixed, then retried: it is handled and gone.
    c.fails.lock().unwrap().clear();
    assert_eq!(outbox::retry(&db, None).await.unwrap(), 1);
    assert_eq!(drain_once(&c).await.unwrap(), 1);
    assert!(c.handled.lock().unwrap().contains(&poison));
    assert!(outbox::dead(&db, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_outage_does_not_use_up_attempts() {
    use triage::jobs::consumer::drain_once;
    let (_dir, db) = sqlite().await;
    let batch: Vec<_> = (0..3)
        .map(|i| ticket(Some(&format!("o{i}")), "s", "x@y.co", "smb"))
        .collect();
    let all = created(&db, &batch).await;
    let c = Flaky {
        db: db.clone(),
        fails: std::sync::Mutex::new(all.iter().copied().collect()),
        handled: Default::default(),
    };
    // Every item fails alike (the index is down, say): nothing is set aside.
    for _ in 0..2 * outbox::MAX_ATTEMPTS {
        assert!(drain_once(&c).await.is_err());
    }
    assert!(outbox::dead(&db, None).await.unwrap().is_empty());
    assert_eq!(outbox::pending(&db, outbox::TOPIC_INDEX).await.unwrap(), 3);
    c.fails.lock().unwrap().clear();
    assert_eq!(drain_once(&c).await.unwrap(), 3);
}

#[tokio::test]
async fn a_job_that_keeps_crashing_the_worker_is_set_aside_at_restart() {
    let (_dir, db) = sqlite().await;
    store(
        &db,
        &[ticket(Some("c"), "s", "x@y.co", "smb")],
        Source::Api,
        Redact::all(),
    )
    .await
    .unwrap();
    // Claimed, then the worker dies before completing or failing it, again and again.
    for _ in 0..outbox::MAX_ATTEMPTS {
        assert_eq!(
            outbox::claim(&db, outbox::TOPIC_INDEX, "index-a", 10)
                .await
                .unwrap()
                .len(),
            1
        );
        outbox::release(&db, "index-a").await.unwrap();
    }
    assert_eq!(outbox::dead(&db, None).await.unwrap().len(), 1);
    assert!(outbox::claim(&db, outbox::TOPIC_INDEX, "index-a", 10)
        .await
        .unwrap()
        .is_empty());
}

/// Three well-apart groups of 20 tickets with vectors near three axes (the clustering only
/// needs vectors; these stand in for the model's, which this test is not about).
async fn three_topics(db: &DatabaseConnection) -> Vec<Vec<i64>> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut groups = Vec::new();
    let mut rows = Vec::new();
    for (g, topic) in ["refund late", "card blocked", "app crashes"]
        .iter()
        .enumerate()
    {
        let batch: Vec<_> = (0..20)
            .map(|i| ticket(Some(&format!("{g}-{i}")), topic, "x@y.co", "smb"))
            .collect();
        let ids: Vec<i64> = created(db, &batch).await;
        for &id in &ids {
            let mut v: Vec<f32> = (0..16).map(|_| rng.random_range(-0.05..0.05)).collect();
            v[g] += 1.0;
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            rows.push((id, v.iter().map(|x| x / norm).collect()));
        }
        groups.push(ids);
    }
    db::embeddings::upsert(db, "test-model", "f32", &rows)
        .await
        .unwrap();
    groups
}

/// [`three_topics`], clustered into themes by a full rebuild.
async fn three_themes(db: &DatabaseConnection) -> Vec<Vec<i64>> {
    let groups = three_topics(db).await;
    triage::themes::rebuild::rebuild(
        db,
        "test-model",
        &triage::themes::discover::DiscoverOptions::default(),
        None,
    )
    .await
    .unwrap();
    groups
}

/// The theme an item is placed in, if any.
async fn theme_of(db: &DatabaseConnection, item: i64) -> Option<i64> {
    triage::db::entity::item_theme::Entity::find_by_id(item)
        .one(db)
        .await
        .unwrap()
        .and_then(|p| p.theme_id)
}

#[tokio::test]
async fn a_second_rebuild_over_the_same_items_moves_none_and_keeps_the_tallies() {
    use triage::backlog::score::Window;
    use triage::backlog::{facts, tallied};
    use triage::themes::discover::DiscoverOptions;
    use triage::themes::rebuild;
    let (_dir, db) = sqlite().await;
    let groups = three_topics(&db).await;
    let opts = DiscoverOptions::default();
    let first = rebuild::rebuild(&db, "test-model", &opts, None)
        .await
        .unwrap();
    let placed = groups.iter().flatten().count();
    assert!(first.moved >= placed - first.unthemed, "{first:?}");
    let before = theme_of(&db, groups[1][0]).await;
    let second = rebuild::rebuild(&db, "test-model", &opts, None)
        .await
        .unwrap();
    assert_eq!(second.moved, 0, "{second:?}");
    assert_eq!(theme_of(&db, groups[1][0]).await, before);
    // The tallies the rebuilds moved equal the backlog computed from the items.
    let window = Window {
        as_of: chrono::Utc::now(),
        since: None,
    };
    let stored = tallied::load(&db, window, None, tallied::Trends::Every)
        .await
        .unwrap();
    let full = facts::tallies(&db, window, None).await.unwrap();
    assert!(!full.themes.is_empty());
    assert_eq!(stored, full);
}

#[tokio::test]
async fn edits_made_while_a_rebuild_runs_are_not_overwritten() {
    use triage::db::entity::theme;
    use triage::themes::discover::DiscoverOptions;
    use triage::themes::{edits, rebuild};
    let (_dir, db) = sqlite().await;
    let groups = three_topics(&db).await;
    let opts = DiscoverOptions::default();
    rebuild::rebuild(&db, "test-model", &opts, None)
        .await
        .unwrap();
    let theme_of = |item: i64| theme_of(&db, item);
    let (a, b, c) = (
        theme_of(groups[0][0]).await.expect("themed"),
        theme_of(groups[1][0]).await.expect("themed"),
        theme_of(groups[2][0]).await.expect("themed"),
    );
    assert!(a != b && b != c && a != c, "three themes: {a} {b} {c}");

    // A rebuild reads and clusters …
    let plan = rebuild::plan(&db, "test-model", &opts).await.unwrap();
    // … while people move an item, split two off, lock a theme and merge two.
    let moved = groups[0][1];
    edits::move_item(&db, moved, Some(b), "pm").await.unwrap();
    let split_off = [groups[0][2], groups[0][3]];
    let new_theme = edits::split(&db, a, &split_off, Some("Late refunds"), "pm")
        .await
        .unwrap();
    edits::set_locked(&db, b, true, "pm").await.unwrap();
    edits::merge(&db, c, a, "pm").await.unwrap();
    // … then writes.
    rebuild::apply(&db, plan, None).await.unwrap();

    assert_eq!(theme_of(moved).await, Some(b), "the move was undone");
    for item in split_off {
        assert_eq!(
            theme_of(item).await,
            Some(new_theme.id),
            "the split was undone"
        );
    }
    // Theme b was locked: its members (the moved item included) stay as they were.
    for &item in &groups[1] {
        assert_eq!(theme_of(item).await, Some(b), "a locked theme changed");
    }
    // Theme c was merged into a: the cluster that continued c lands in a, not in a theme
    // that no longer exists.
    for &item in &groups[2] {
        let t = theme_of(item).await.expect("themed");
        let row = theme::Entity::find_by_id(t)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert!(
            row.merged_into.is_none(),
            "item {item} placed in merged-away theme {t}"
        );
        assert_eq!(t, a, "the merge was undone");
    }
    assert!(
        theme::Entity::find_by_id(b)
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .locked
    );
}

#[tokio::test]
async fn a_bulk_move_is_all_or_nothing() {
    use triage::db::entity::theme;
    use triage::themes::edits;
    let (_dir, db) = sqlite().await;
    let groups = three_themes(&db).await;
    let theme_of = |item: i64| theme_of(&db, item);
    let (a, b) = (
        theme_of(groups[0][0]).await.unwrap(),
        theme_of(groups[1][0]).await.unwrap(),
    );
    let picked: Vec<i64> = groups[0][..5].to_vec();
    // One unknown item: nothing moves (one per-item transaction would have moved the rest).
    let mut with_unknown = picked.clone();
    with_unknown.push(999_999);
    let err = edits::move_items(&db, &with_unknown, Some(b), "pm")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("999999"), "{err}");
    for &i in &picked {
        assert_eq!(theme_of(i).await, Some(a));
    }
    // All known (one repeated): all move, sizes follow.
    let mut repeated = picked.clone();
    repeated.push(picked[0]);
    edits::move_items(&db, &repeated, Some(b), "pm")
        .await
        .unwrap();
    for &i in &picked {
        assert_eq!(theme_of(i).await, Some(b));
    }
    let size = |t: i64| {
        let db = db.clone();
        async move {
            theme::Entity::find_by_id(t)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .size
        }
    };
    assert_eq!(size(a).await, 15);
    assert_eq!(size(b).await, 25);
}

/// Concurrent posts share transactions (group commit) yet each gets its own answer: new ids
/// for new items, 409 naming the first item for a repeated external id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_writes_answer_each_post_on_its_own() {
    use triage::intake::group::GroupCommit;
    let (_dir, db) = sqlite().await;
    let writes = GroupCommit::start(db.clone(), 256, Redact::all());
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..60 {
        let writes = writes.clone();
        // Every sixth post repeats the external id "same".
        let ext = if i % 6 == 0 {
            "same".to_string()
        } else {
            format!("t{i}")
        };
        posts.spawn(async move {
            let t = ticket(Some(&ext), &format!("post {i}"), "x@y.co", "smb");
            (ext, writes.store(t, Source::Api).await)
        });
    }
    let mut created = std::collections::HashSet::new();
    let mut conflicts = Vec::new();
    while let Some(r) = posts.join_next().await {
        match r.unwrap() {
            (ext, Ok((id, item_id))) => {
                assert!(created.insert(ext), "one external id stored twice");
                assert!(id > 0 && item_id > 0);
            }
            (ext, Err(triage::Error::Conflict { field, message })) => {
                assert_eq!((ext.as_str(), field.as_str()), ("same", "external_id"));
                conflicts.push(message);
            }
            (_, Err(e)) => panic!("unexpected failure: {e}"),
        }
    }
    assert_eq!(created.len(), 51, "50 distinct ids and one `same`");
    assert_eq!(conflicts.len(), 9);
    assert_eq!(db::items::count(&db).await.unwrap(), 51);
    assert_eq!(outbox::pending(&db, outbox::TOPIC_EMBED).await.unwrap(), 51);
    // The conflict names the stored ticket.
    let same = triage::db::entity::ticket::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.external_id.as_deref() == Some("same"))
        .unwrap();
    assert!(conflicts
        .iter()
        .all(|m| m.contains(&format!("(id {})", same.id))));
}

/// One bad item in a grouped write (its survey is gone: a foreign-key failure) fails alone;
/// the posts that shared its transaction are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_item_does_not_fail_the_posts_grouped_with_it() {
    use triage::intake::group::GroupCommit;
    use triage::intake::validate::{ItemMeta, NewResponse, NewSurvey};
    let (_dir, db) = sqlite().await;
    let survey = triage::intake::surveys::create(
        &db,
        NewSurvey {
            title: "How are we doing?".into(),
            questions: vec![("text".into(), "Tell us".into())],
        },
    )
    .await
    .unwrap();
    let response = |survey_id: i64, ext: &str| NewResponse {
        meta: ItemMeta {
            external_id: Some(ext.into()),
            customer: None,
            created_at: chrono::Utc::now(),
        },
        survey_id,
        survey_title: "How are we doing?".into(),
        answers: vec![],
        respondent: None,
    };
    let writes = GroupCommit::start(db.clone(), 256, Redact::all());
    // Hold the write lock so the posts queue up and go in as one batch once it is free.
    let lock = db::begin_write(&db).await.unwrap();
    let mut posts = tokio::task::JoinSet::new();
    for (i, survey_id) in [
        survey.survey.id,
        999_999,
        survey.survey.id,
        survey.survey.id,
    ]
    .into_iter()
    .enumerate()
    {
        let (writes, r) = (writes.clone(), response(survey_id, &format!("r{i}")));
        posts.spawn(async move { (survey_id, writes.store(r, Source::Api).await) });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    lock.rollback().await.unwrap();
    let (mut ok, mut failed) = (0, 0);
    while let Some(r) = posts.join_next().await {
        match r.unwrap() {
            (999_999, Err(e)) => {
                assert!(!e.is_client_error(), "{e}");
                failed += 1;
            }
            (_, Ok(_)) => ok += 1,
            (s, r) => panic!("survey {s}: unexpected {r:?}"),
        }
    }
    assert_eq!((ok, failed), (3, 1));
    assert_eq!(db::items::count(&db).await.unwrap(), 3);
}

// ---- Customers, the workflow, accounts and digests, as services (no HTTP, no model) ----

fn customer_ref(
    external_id: Option<&str>,
    email: Option<&str>,
    segment: &str,
) -> validate::CustomerRef {
    validate::customer_ref(CustomerInput {
        external_id: external_id.map(str::to_string),
        email: email.map(str::to_string),
        segment: Some(segment.into()),
        notify_opt_in: Some(true),
        ..Default::default()
    })
    .unwrap()
    .unwrap()
}

#[tokio::test]
async fn a_customer_is_found_by_key_never_changed_by_intake_and_a_duplicate_names_its_field() {
    use triage::intake::customers;
    let (_dir, db) = sqlite().await;
    let first = customers::create(
        &db,
        &customer_ref(Some("c-1"), Some("ann@corp.test"), "smb"),
    )
    .await
    .unwrap();
    // Naming the customer by external id (with other details) finds them and changes nothing.
    let by_id = customer_ref(Some("c-1"), None, "enterprise");
    let by_email = customer_ref(None, Some("ann@corp.test"), "enterprise");
    let new = customer_ref(None, Some("bob@corp.test"), "enterprise");
    let ids = customers::resolve(&db, &[Some(&by_id), None, Some(&by_email), Some(&new)])
        .await
        .unwrap();
    assert_eq!(ids[0], Some(first.id));
    assert_eq!(ids[1], None);
    assert_eq!(ids[2], Some(first.id));
    assert!(ids[3].is_some_and(|id| id != first.id));
    let stored = triage::db::entity::customer::Entity::find_by_id(first.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.segment.as_deref(),
        Some("smb"),
        "intake changed a customer"
    );

    for (r, field) in [
        (
            customer_ref(Some("c-1"), Some("other@corp.test"), "smb"),
            "external_id",
        ),
        (
            customer_ref(Some("c-2"), Some("ann@corp.test"), "smb"),
            "email",
        ),
    ] {
        match customers::create(&db, &r).await {
            Err(triage::Error::Conflict { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected a conflict on {field}, got {other:?}"),
        }
    }

    // Two creates of the same new customer at once: one wins, the other is told why.
    let r = customer_ref(Some("c-3"), None, "smb");
    let (a, b) = tokio::join!(customers::create(&db, &r), customers::create(&db, &r));
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
}

#[tokio::test]
async fn a_status_change_is_recorded_once_and_shipping_tells_each_opted_in_customer_once() {
    use triage::backlog::workflow::{self, EntryChange};
    use triage::db::entity::mail;
    let (_dir, db) = sqlite().await;
    let groups = three_themes(&db).await;
    let theme = theme_of(&db, groups[0][0]).await.expect("themed");
    // The tickets' one customer (x@y.co) opts in to hearing back.
    let c = triage::db::customers::find_by_key(&db, None, Some("x@y.co"))
        .await
        .unwrap()
        .unwrap();
    let patch = triage::db::customers::CustomerPatch {
        notify_opt_in: Some(true),
        ..Default::default()
    };
    triage::db::customers::update(&db, c.id, &patch)
        .await
        .unwrap();

    let ship = || EntryChange {
        status: Some("shipped".into()),
        owner: Some("Pat".into()),
        ..Default::default()
    };
    // Before it is saved, the person sees who will get what: one customer, this note.
    use triage::digest::notices::preview_status_change as preview;
    let shipped = workflow::Status::Shipped;
    let p = preview(&db, "http://t", theme, shipped).await.unwrap();
    let p = p.expect("one customer is waiting to hear");
    assert_eq!(p.recipients, 1);
    assert!(p.subject.contains("has been fixed"), "{}", p.subject);
    assert!(
        p.text.contains("Fixed for me: [their own link]"),
        "{}",
        p.text
    );
    assert!(
        !p.text.contains("sig="),
        "no customer's signed link is shown: {}",
        p.text
    );
    // A status nobody is told about has nothing to preview.
    let reviewing = workflow::Status::UnderReview;
    assert!(preview(&db, "http://t", theme, reviewing)
        .await
        .unwrap()
        .is_none());
    let (entry, changes) = workflow::update(&db, theme, ship(), "pm@corp.test", "http://t")
        .await
        .unwrap();
    assert_eq!(entry.status, workflow::Status::Shipped);
    let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["status", "owner"]);
    let notices = || async {
        mail::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.recipient == "x@y.co")
            .count()
    };
    assert_eq!(notices().await, 1);
    // The note the preview showed is the one sent (links and name made general); and now
    // there is nothing left to send.
    let general = |text: &str| {
        // Without the greeting ("Hello Ana," / "Hello [their name],").
        let text = text.split_once(',').map_or(text, |(_, rest)| rest);
        text.split_whitespace()
            .map(|w| match w.starts_with("http://t/") {
                true => "[their own link]",
                false => w,
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let sent = mail::Entity::find().all(&db).await.unwrap();
    assert!(sent
        .iter()
        .any(|m| m.subject == p.subject && general(&m.text) == general(&p.text)));
    assert!(preview(&db, "http://t", theme, shipped)
        .await
        .unwrap()
        .is_none());

    // The same change again records nothing and sends nothing more.
    let (_, changes) = workflow::update(&db, theme, ship(), "pm@corp.test", "http://t")
        .await
        .unwrap();
    assert!(changes.is_empty());
    assert_eq!(notices().await, 1);
    assert_eq!(workflow::history(&db, theme, None).await.unwrap().len(), 2);
    assert_eq!(
        workflow::history(&db, theme, Some(1)).await.unwrap().len(),
        1
    );

    // A status that does not exist is refused, naming the field; nothing is recorded.
    let bad = EntryChange {
        status: Some("done".into()),
        ..Default::default()
    };
    match workflow::update(&db, theme, bad, "pm@corp.test", "http://t").await {
        Err(triage::Error::Invalid { field, .. }) => assert_eq!(field.as_deref(), Some("status")),
        other => panic!("expected invalid status, got {other:?}"),
    }
    assert_eq!(workflow::history(&db, theme, None).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_new_pm_gets_the_weekly_digest_once_per_week_and_support_staff_do_not() {
    use triage::db::entity::{mail, subscription};
    use triage::db::tokens::Role;
    use triage::digest::{schedule, subscriptions};
    let (_dir, config, db) = sqlite_with_config().await;
    let pm = subscriptions::create_user(&db, "pat@corp.test", "Pat", Role::Pm, "pat-password-1")
        .await
        .unwrap();
    let support =
        subscriptions::create_user(&db, "sam@corp.test", "Sam", Role::Support, "sam-password-1")
            .await
            .unwrap();
    let subs = subscription::Entity::find().all(&db).await.unwrap();
    assert_eq!(subs.iter().map(|s| s.user_id).collect::<Vec<_>>(), [pm.id]);
    assert!(subs.iter().all(|s| s.user_id != support.id));

    // A taken email is a conflict, and leaves no half-made account or subscription.
    assert!(matches!(
        subscriptions::create_user(&db, "pat@corp.test", "Pat 2", Role::Pm, "pat-password-2").await,
        Err(triage::Error::Conflict { .. })
    ));
    assert_eq!(
        subscription::Entity::find().all(&db).await.unwrap().len(),
        1
    );

    let now = chrono::Utc::now();
    let week = triage::digest::week::IsoWeek::containing(now);
    let first = schedule::enqueue(&db, &config, Some(week), now)
        .await
        .unwrap();
    let again = schedule::enqueue(&db, &config, Some(week), now)
        .await
        .unwrap();
    assert_eq!((first.queued, first.skipped), (1, 0));
    assert_eq!((again.queued, again.skipped), (0, 1));
    let digests: Vec<String> = mail::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.recipient)
        .collect();
    assert_eq!(digests, ["pat@corp.test"]);
}

#[tokio::test]
async fn erasing_a_customer_removes_their_items_everywhere_and_keeps_a_receipt() {
    use triage::db::entity::{embedding, mail, theme};
    use triage::privacy::{self, Actor};
    let (_dir, config, db) = sqlite_with_config().await;
    // A webhook subscriber gets every new item: its queue holds their words too.
    triage::db::webhooks::create_subscription(
        &db,
        triage::db::webhooks::NewSubscription {
            url: "http://127.0.0.1:9/items".into(),
            events: vec![triage::webhooks::EventType::ItemCreated],
            format: triage::webhooks::WebhookFormat::Standard,
            description: String::new(),
        },
    )
    .await
    .unwrap();
    // Two tickets of the customer to erase, with a word nobody else uses, in the refund
    // group (vectors on its axis), before the themes are built.
    let theirs: Vec<validate::NewTicket> = (0..2)
        .map(|i| {
            let mut t = ticket(
                Some(&format!("e{i}")),
                "refund late zorblax",
                "erase@me.test",
                "smb",
            );
            t.body = format!("zorblax refund {i} never arrived");
            t
        })
        .collect();
    let erased_items = created(&db, &theirs).await;
    let rows: Vec<(i64, Vec<f32>)> = erased_items
        .iter()
        .map(|&id| {
            let mut v = vec![0.0f32; 16];
            v[0] = 1.0;
            (id, v)
        })
        .collect();
    db::embeddings::upsert(&db, "test-model", "f32", &rows)
        .await
        .unwrap();
    let groups = three_themes(&db).await;
    let refund = theme_of(&db, groups[0][0]).await.expect("themed");
    assert_eq!(theme_of(&db, erased_items[0]).await, Some(refund));
    let before = theme::Entity::find_by_id(refund)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        before.keyword_list().contains(&"zorblax".to_string()),
        "{before:?}"
    );
    // Mail to them: one waiting, one sent.
    // A PM's digests: one quotes an erased item, one does not.
    for (key, sent, to, kind, text) in [
        (
            "waiting",
            false,
            "Erase@Me.test",
            db::mail::MailKind::Notice,
            "t",
        ),
        (
            "sent",
            true,
            "Erase@Me.test",
            db::mail::MailKind::Notice,
            "t",
        ),
        (
            "quoting",
            true,
            "pm@corp.test",
            db::mail::MailKind::Digest,
            "1. Refunds\n   > zorblax refund 1 never arrived\n",
        ),
        (
            "other",
            true,
            "pm@corp.test",
            db::mail::MailKind::Digest,
            "1. Refunds\n   > body\n",
        ),
    ] {
        db::mail::enqueue(
            &db,
            db::mail::NewMail {
                dedupe_key: key.into(),
                kind,
                recipient: to.into(),
                subject: "s".into(),
                text: text.into(),
                html: "h".into(),
                unsubscribe_url: None,
            },
        )
        .await
        .unwrap();
        if sent {
            let m = mail::Entity::find().all(&db).await.unwrap();
            db::mail::mark_sent(&db, m.last().unwrap().id)
                .await
                .unwrap();
        }
    }
    let index = triage::jobs::index_sync::IndexSync::open(&config, db.clone())
        .await
        .unwrap();
    index.drain_all().await.unwrap();
    let docs = index.index().num_docs();
    index.close().await.unwrap();

    let customer = db::customers::find_by_key(&db, None, Some("erase@me.test"))
        .await
        .unwrap()
        .unwrap();
    let export = privacy::export::export(&db, customer.id).await.unwrap();
    assert_eq!(export.tickets.len(), 2);
    assert_eq!(export.mails.len(), 2, "only mail to them");
    assert_eq!(
        export.tickets[0].theme.as_ref().map(|p| p.theme_id),
        Some(refund)
    );

    let erased = privacy::erase::customer(&db, customer.id, &Actor::User(7))
        .await
        .unwrap();
    let r = &erased.receipt;
    assert_eq!((r.items, r.tickets, r.ratings), (2, 2, 0));
    // Their webhook deliveries left the outbox and its log; everyone else's stay.
    let deliveries = triage::db::entity::webhook_delivery::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), groups.iter().flatten().count());
    assert!(deliveries.iter().all(|d| !d.payload.contains("zorblax")));
    assert_eq!(
        (r.mails_cancelled, r.mails_removed, r.mails_scrubbed),
        (1, 1, 1)
    );
    assert_eq!(r.actor, "user:7");
    assert_eq!(r.customer_id, Some(customer.id));
    // The theme lost two members and the word only they used.
    let after = theme::Entity::find_by_id(refund)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.size, before.size - 2);
    assert!(
        !after.keyword_list().contains(&"zorblax".to_string()),
        "{after:?}"
    );
    assert!(!after.label.contains("zorblax"));
    // Rows, vectors, mail and the customer are gone; the other customer's items stay.
    assert!(embedding::Entity::find_by_id(erased_items[0])
        .one(&db)
        .await
        .unwrap()
        .is_none());
    let left: Vec<String> = mail::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(left.len(), 2, "the PM's digests stay: {left:?}");
    assert!(left.iter().all(|t| !t.contains("zorblax")), "{left:?}");
    assert!(left.iter().any(|t| t.contains("> body")), "{left:?}");
    assert!(matches!(
        privacy::export::export(&db, customer.id).await,
        Err(triage::Error::NotFound { .. })
    ));
    assert!(matches!(
        privacy::erase::customer(&db, customer.id, &Actor::Cli).await,
        Err(triage::Error::NotFound { .. })
    ));
    assert_eq!(theme_of(&db, groups[0][1]).await, Some(refund));
    // The index follows from the queued jobs, and keeps no deleted document in its files.
    assert!(privacy::erase::apply_now(&config, &db, &erased.item_ids)
        .await
        .unwrap());
    let index = triage::jobs::index_sync::IndexSync::open(&config, db.clone())
        .await
        .unwrap();
    assert_eq!(index.index().num_docs(), docs - 2);
    index.close().await.unwrap();
    let page = db::Page {
        limit: 10,
        offset: 0,
    };
    let receipts = privacy::erase::receipts(&db, page).await.unwrap();
    assert_eq!(receipts.total, 1);
}

#[tokio::test]
async fn retention_erases_only_old_items_in_batches_with_receipts() {
    let (_dir, db) = sqlite().await;
    let old = |i: usize| {
        let mut t = ticket(Some(&format!("old{i}")), "old", "x@y.co", "smb");
        t.meta.created_at = chrono::Utc::now() - chrono::Duration::days(100);
        t
    };
    let batch: Vec<_> = (0..3).map(old).collect();
    created(&db, &batch).await;
    let fresh = created(&db, &[ticket(Some("new"), "new", "x@y.co", "smb")]).await;
    let done = triage::privacy::retention::run_once(&db, 30).await.unwrap();
    assert_eq!(done.iter().map(|e| e.receipt.items).sum::<i64>(), 3);
    assert!(done.iter().all(|e| e.receipt.actor == "retention"));
    let left = triage::db::entity::feedback_item::Entity::find()
        .all(&db)
        .await
        .unwrap();
    assert_eq!(left.iter().map(|i| i.id).collect::<Vec<_>>(), fresh);
    // The customer stays; a second run finds nothing.
    assert!(db::customers::find_by_key(&db, None, Some("x@y.co"))
        .await
        .unwrap()
        .is_some());
    assert!(triage::privacy::retention::run_once(&db, 30)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn personal_data_is_masked_before_it_is_stored() {
    let (_dir, db) = sqlite().await;
    let mut t = ticket(Some("pii"), "call +44 20 7946 0958", "x@y.co", "smb");
    t.body = "card 4111 1111 1111 1111, mail me at a.b@example.org".into();
    t.tags = vec!["from 203.0.113.9".into()];
    let ids = created(&db, &[t.clone()]).await;
    let item = triage::db::entity::feedback_item::Entity::find_by_id(ids[0])
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.subject.as_deref(), Some("call [phone]"));
    assert_eq!(item.text, "card [card], mail me at [email]");
    let row = triage::db::entity::ticket::Entity::find_by_id(item.source_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.body, item.text);
    assert_eq!(row.tags, r#"["from [ip]"]"#);
    // Off: stored as given.
    let mut raw = t;
    raw.meta.external_id = Some("raw".into());
    let stored = store(&db, &[raw], Source::Api, Redact::none())
        .await
        .unwrap();
    let Outcome::Created { item_id, .. } = stored[0] else {
        panic!()
    };
    let item = triage::db::entity::feedback_item::Entity::find_by_id(item_id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert!(item.text.contains("4111 1111 1111 1111"));
}

/// A theme (of [`three_themes`]) and a product manager, Pat Lee, to act on it.
async fn a_theme_and_a_pm(db: &DatabaseConnection) -> (i64, triage::db::entity::user::Model) {
    let groups = three_themes(db).await;
    let theme = theme_of(db, groups[0][0]).await.expect("themed");
    let pat = triage::db::users::create(
        db,
        "pat@corp.test",
        "Pat Lee",
        triage::db::tokens::Role::Pm,
        "correct horse battery",
    )
    .await
    .unwrap();
    (theme, pat)
}

#[tokio::test]
async fn history_names_the_user_who_acted_and_a_deleted_one_is_a_former_user() {
    use triage::backlog::workflow::{self, EntryChange};
    use triage::db::actors::{self, Actor, FORMER_USER};
    let (_dir, db) = sqlite().await;
    let (theme, pat) = a_theme_and_a_pm(&db).await;
    let me = Actor::User(pat.id).stored();
    let plan = EntryChange {
        status: Some("planned".into()),
        ..Default::default()
    };
    workflow::update(&db, theme, plan, &me, "http://t")
        .await
        .unwrap();
    let history = workflow::history(&db, theme, None).await.unwrap();
    assert_eq!(history[0].actor, format!("user:{}", pat.id));
    assert!(!history[0].actor.contains("pat@corp.test"));
    let names = actors::names(&db, history.iter().map(|c| c.actor.as_str()))
        .await
        .unwrap();
    assert_eq!(names[&me], "Pat Lee");
    triage::db::users::delete(&db, "PAT@corp.test")
        .await
        .unwrap();
    let names = actors::names(&db, [me.as_str()]).await.unwrap();
    assert_eq!(names[&me], FORMER_USER);
    assert!(matches!(
        triage::db::users::delete(&db, "pat@corp.test").await,
        Err(triage::Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn the_migration_rewrites_names_and_emails_in_history_to_ids() {
    use migration::MigratorTrait;
    use sea_orm::{ConnectionTrait, Statement};
    let (_dir, db) = sqlite().await;
    let (theme, pat) = a_theme_and_a_pm(&db).await;
    let (token, _) = triage::db::tokens::issue(&db, "ci bot", "pm", None)
        .await
        .unwrap();
    // Rows as they were written before history held ids.
    for actor in ["Pat Lee <pat@corp.test>", "ci bot", "Gone <gone@corp.test>"] {
        db.execute(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO backlog_changes (theme_id, field, before, after, actor, created_at) \
             VALUES ($1, 'status', 'new', 'planned', $2, CURRENT_TIMESTAMP)",
            [theme.into(), actor.into()],
        ))
        .await
        .unwrap();
    }
    // Back to before the privacy migration (however many came after it), then up again:
    // the rewrite runs on these rows.
    let all = migration::Migrator::migrations();
    let privacy = all
        .iter()
        .position(|m| m.name() == "m20261203_000009_privacy")
        .expect("the privacy migration");
    migration::Migrator::down(&db, Some((all.len() - privacy) as u32))
        .await
        .unwrap();
    migration::Migrator::up(&db, None).await.unwrap();
    let actors: Vec<String> = triage::backlog::workflow::history(&db, theme, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.actor)
        .collect();
    assert_eq!(
        actors,
        [
            "former".to_string(),
            format!("token:{}", token.id),
            format!("user:{}", pat.id)
        ]
    );
}

#[tokio::test]
async fn every_change_of_consent_is_in_the_export_and_erasure_removes_it() {
    use triage::db::customers::{self, CustomerPatch};
    use triage::db::entity::consent_event::{self, ConsentSource};
    use triage::privacy::{self, Actor};
    let (_dir, db) = sqlite().await;
    let mut first = ticket(Some("c1"), "s", "opt@in.test", "smb");
    first.meta.customer.as_mut().unwrap().notify_opt_in = Some(true);
    created(&db, &[first]).await;
    let c = customers::find_by_key(&db, None, Some("opt@in.test"))
        .await
        .unwrap()
        .unwrap();
    let set = |v: bool| CustomerPatch {
        notify_opt_in: Some(v),
        ..Default::default()
    };
    customers::update(&db, c.id, &set(false)).await.unwrap();
    customers::update(&db, c.id, &set(false)).await.unwrap(); // no change, no event
    customers::update(&db, c.id, &set(true)).await.unwrap();
    customers::unsubscribe(&db, c.id).await.unwrap();
    customers::unsubscribe(&db, c.id).await.unwrap(); // already out
    let export = privacy::export::export(&db, c.id).await.unwrap();
    let history: Vec<(bool, ConsentSource)> = export
        .consent
        .history
        .iter()
        .map(|e| (e.opt_in, e.source))
        .collect();
    assert_eq!(
        history,
        [
            (true, ConsentSource::Given),
            (false, ConsentSource::Changed),
            (true, ConsentSource::Changed),
            (false, ConsentSource::Unsubscribed),
        ]
    );
    assert!(!export.consent.notify_opt_in);
    privacy::erase::customer(&db, c.id, &Actor::Cli)
        .await
        .unwrap();
    assert!(consent_event::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .is_empty());
}

/// Webhooks out: events are queued in the transaction of their change, once per
/// subscription that wants them, and the states (rising) are found once per week.
#[tokio::test]
async fn webhook_events_are_queued_with_their_changes() {
    use chrono::{Duration, Utc};
    use triage::backlog::workflow::{self, EntryChange};
    use triage::db::entity::webhook_delivery;
    use triage::db::webhooks::{self, NewSubscription, SubscriptionChange};
    use triage::webhooks::{EventType, WebhookFormat};
    let (_dir, config, db) = sqlite_with_config().await;
    let all = webhooks::create_subscription(
        &db,
        NewSubscription {
            url: "http://127.0.0.1:9/all".into(),
            events: EventType::ALL.to_vec(),
            format: WebhookFormat::Standard,
            description: String::new(),
        },
    )
    .await
    .unwrap();
    let off = webhooks::create_subscription(
        &db,
        NewSubscription {
            url: "http://127.0.0.1:9/off".into(),
            events: vec![EventType::ItemCreated, EventType::ThemeCreated],
            format: WebhookFormat::Slack,
            description: String::new(),
        },
    )
    .await
    .unwrap();
    let change = SubscriptionChange {
        enabled: Some(false),
        ..Default::default()
    };
    webhooks::update_subscription(&db, off.id, change)
        .await
        .unwrap();
    let of = |kind: EventType| {
        let db = db.clone();
        async move {
            webhook_delivery::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .into_iter()
                .filter(|d| d.event_type == kind)
                .collect::<Vec<_>>()
        }
    };

    // One theme rising: 2 items a week for 8 weeks, then 12 this week; two steady ones.
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let now = Utc::now();
    let mut rows = Vec::new();
    let mut n = 0;
    for (g, topic) in ["refund late", "card blocked", "app crashes"]
        .iter()
        .enumerate()
    {
        let mut when: Vec<chrono::DateTime<Utc>> = Vec::new();
        for w in 1..=8 {
            when.extend([now - Duration::weeks(w) - Duration::hours(1); 2]);
        }
        let this_week = if g == 0 { 12 } else { 2 };
        when.extend(std::iter::repeat_n(now - Duration::hours(2), this_week));
        let batch: Vec<_> = when
            .iter()
            .map(|t| {
                n += 1;
                validate::ticket(TicketInput {
                    subject: topic.to_string(),
                    body: "body".into(),
                    priority: None,
                    status: None,
                    tags: None,
                    external_id: Some(format!("w-{n}")),
                    customer: None,
                    created_at: Some(t.to_rfc3339()),
                })
                .unwrap()
            })
            .collect();
        for id in created(&db, &batch).await {
            let mut v: Vec<f32> = (0..16).map(|_| rng.random_range(-0.05..0.05)).collect();
            v[g] += 1.0;
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            rows.push((id, v.iter().map(|x| x / norm).collect::<Vec<f32>>()));
        }
    }
    let items = rows.len();
    assert_eq!(
        of(EventType::ItemCreated).await.len(),
        items,
        "one per item, none for the disabled subscription"
    );
    db::embeddings::upsert(&db, "test-model", "f32", &rows)
        .await
        .unwrap();
    let opts = triage::themes::discover::DiscoverOptions::default();
    triage::themes::rebuild::rebuild(&db, "test-model", &opts, None)
        .await
        .unwrap();
    let themes = triage::db::entity::theme::Entity::find()
        .all(&db)
        .await
        .unwrap();
    let created_events = of(EventType::ThemeCreated).await;
    assert_eq!(
        created_events.len(),
        themes.len(),
        "one theme.created per theme"
    );
    assert!(created_events.iter().all(|d| d.subscription_id == all.id));
    // A second rebuild over the same items makes no theme, so no event.
    triage::themes::rebuild::rebuild(&db, "test-model", &opts, None)
        .await
        .unwrap();
    assert_eq!(of(EventType::ThemeCreated).await.len(), themes.len());

    // A status change is an event with before and after; an owner change is not.
    let theme = themes[0].id;
    let plan = EntryChange {
        status: Some("planned".into()),
        ..Default::default()
    };
    workflow::update(&db, theme, plan, "pm@corp.test", "http://t")
        .await
        .unwrap();
    let owner = EntryChange {
        owner: Some("Pat".into()),
        ..Default::default()
    };
    workflow::update(&db, theme, owner, "pm@corp.test", "http://t")
        .await
        .unwrap();
    let status = of(EventType::ThemeStatusChanged).await;
    assert_eq!(status.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&status[0].payload).unwrap();
    assert_eq!(body["type"], "theme.status_changed");
    assert_eq!(
        (body["data"]["from"].as_str(), body["data"]["to"].as_str()),
        (Some("new"), Some("planned"))
    );
    assert_eq!(body["data"]["url"], format!("http://t/themes/{theme}"));

    // The rising theme is found once, however often the watcher looks.
    let found = triage::webhooks::watch::look(&db, &config, Utc::now())
        .await
        .unwrap();
    assert!(found >= 1, "the spiking theme is rising");
    let again = triage::webhooks::watch::look(&db, &config, Utc::now())
        .await
        .unwrap();
    assert_eq!(again, 0, "the same week's rising theme is not queued twice");
    let rising = of(EventType::ThemeRising).await;
    let body: serde_json::Value = serde_json::from_str(&rising[0].payload).unwrap();
    let spiking = theme_of(&db, rows[0].0).await.unwrap();
    assert!(
        rising
            .iter()
            .any(|d| d.payload.contains(&format!("\"theme_id\":{spiking}"))),
        "{body}"
    );
}
