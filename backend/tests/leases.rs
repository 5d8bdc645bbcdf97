//! Leases for once-only work on a real PostgreSQL server: one holder at a time, handed on
//! when the holder's session ends (a process exit or kill -9 closes it the same way).

use sea_orm::ConnectionTrait;
use triage::config::Settings;
use triage::jobs::lease::{Leases, Work};
use triage::Config;

#[tokio::test]
async fn one_holder_at_a_time_and_the_lease_passes_on_when_it_goes() {
    let admin = std::env::var("TRIAGE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(server) = sea_orm::Database::connect(&admin).await else {
        eprintln!("SKIPPED: no PostgreSQL server answers at {admin}");
        return;
    };
    let name = format!("triage_leases_{}", rand::random::<u32>());
    server
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_settings(Settings {
        data_dir: Some(dir.path().to_path_buf()),
        database_url: Some(format!("{base}/{name}")),
        ..Default::default()
    })
    .unwrap();

    let first = Leases::new(&config);
    let second = Leases::new(&config);
    assert!(first.holds(Work::ThemeRebuild).await);
    assert!(first.holds(Work::ThemeRebuild).await, "a holder keeps it");
    assert!(!second.holds(Work::ThemeRebuild).await, "two holders");
    // Other work is leased on its own.
    assert!(second.holds(Work::Retention).await);
    assert!(!first.holds(Work::Retention).await);

    // The holder goes away: its session ends, and the lease is free for the next asker.
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !second.holds(Work::ThemeRebuild).await {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never passed on"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let third = Leases::new(&config);
    assert!(!third.holds(Work::ThemeRebuild).await);
    drop((second, third));
    let _ = server
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await;
}

#[tokio::test]
async fn sqlite_grants_every_lease() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_settings(Settings {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let (a, b) = (Leases::new(&config), Leases::new(&config));
    assert!(a.holds(Work::DigestSchedule).await && b.holds(Work::DigestSchedule).await);
}
