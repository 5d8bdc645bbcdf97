//! Intake services and the outbox, without HTTP, on a real SQLite file.

use sea_orm::{DatabaseConnection, EntityTrait};
use triage::config::Settings;
use triage::db::{self, outbox};
use triage::intake::input::{CustomerInput, TicketInput};
use triage::intake::store::{store, Outcome, Source};
use triage::intake::validate;
use triage::Config;

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
    let out = store(&db, &batch, Source::Import).await.unwrap();
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
    let again = store(&db, &batch[..2], Source::Import).await.unwrap();
    assert!(again.iter().all(|o| matches!(o, Outcome::Duplicate { .. })));
    assert_eq!(outbox::pending(&db, outbox::TOPIC_INDEX).await.unwrap(), 2);

    // Without external ids, rows go in one by one and are all new.
    let loose = vec![
        ticket(None, "loose 1", "z@y.co", "smb"),
        ticket(None, "loose 2", "z@y.co", "smb"),
    ];
    let out = store(&db, &loose, Source::Api).await.unwrap();
    assert!(out.iter().all(|o| matches!(o, Outcome::Created { .. })));
    assert_eq!(db::items::count(&db).await.unwrap(), 4);
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
    store(&db, &batch, Source::Api).await.unwrap();
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
