//! The backlog end to end: feedback with known dates, ratings and customers goes in, the
//! real model groups it into themes, and the ranked backlog explains itself — a spiking
//! theme is flagged rising, a theme first seen this week is new, a theme that drags
//! ratings down has a positive rating impact — then a product manager works the backlog
//! (status, pin, owner), every change is recorded, and the CSV export matches.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use triage_e2e::{on_both, Env, Server};

on_both!(backlog_ranks_explains_and_records_changes);

const DELIVERY: [&str; 5] = [
    "My new card has not arrived yet after {n} days",
    "Still waiting for my bank card to be delivered, it has been {n} days",
    "When will my replacement card arrive in the post? Ordered {n} days ago",
    "Card delivery is taking too long, {n} days and no card",
    "The card you sent me {n} days ago never came in the mail",
];
const CRASH: [&str; 5] = [
    "The app crashes every time I try to log in (attempt {n})",
    "App closes immediately after login on my phone, tried {n} times",
    "Login screen crashes the mobile app, {n} times today",
    "Since the update the app crashes when signing in, {n} tries",
    "Mobile app crash on sign in again, this is attempt {n}",
];
const DARK: [&str; 5] = [
    "Please add a dark mode to the app, {n} people in my team want it",
    "Would love a dark theme for night use, asked {n} times",
    "Dark mode please, the white screen hurts my eyes ({n})",
    "Can you add a night mode option? {n} of us would use it",
    "A dark colour scheme would be great, vote {n}",
];

/// A rating `days_ago` days old by a customer of `segment`.
fn rating(s: &Server, token: &str, text: &str, stars: i64, days_ago: i64, who: (&str, &str, f64)) {
    let at = (Utc::now() - Duration::days(days_ago) - Duration::hours(2)).to_rfc3339();
    let r = s.post(
        "/api/v1/ratings",
        token,
        &json!({"score": stars, "comment": text, "subject": "Mobile app", "created_at": at,
                "customer": {"external_id": who.0, "segment": who.1, "account_value": who.2}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
}

fn fill(s: &Server, token: &str) {
    let mut n = 0;
    let mut next = |templates: &[&str; 5]| {
        n += 1;
        templates[n % 5].replace("{n}", &(n + 2).to_string())
    };
    // Card delivery: steady, 4 a week for 10 weeks, happy-ish consumers.
    for week in 1..=10 {
        for d in 0..4 {
            let who = format!("consumer-{}", (week * 4 + d) % 17);
            rating(
                s,
                token,
                &next(&DELIVERY),
                4,
                week * 7 + d,
                (&who, "consumer", 100.0),
            );
        }
    }
    // App crashes: one a week for 8 weeks, then a spike of 12 this week; unhappy, enterprise.
    for week in 1..=8 {
        rating(
            s,
            token,
            &next(&CRASH),
            1,
            week * 7 + 1,
            ("ent-1", "enterprise", 50_000.0),
        );
    }
    for d in 0..12 {
        let who = format!("ent-{}", d % 4);
        rating(
            s,
            token,
            &next(&CRASH),
            1,
            d % 6,
            (&who, "enterprise", 50_000.0),
        );
    }
    // Dark mode: first asked for this week.
    for d in 0..8 {
        let who = format!("consumer-{d}");
        rating(s, token, &next(&DARK), 3, d % 5, (&who, "consumer", 100.0));
    }
}

/// The backlog entry whose theme holds most items mentioning `word`.
fn entry_about<'a>(s: &Server, token: &str, items: &'a [Value], word: &str) -> &'a Value {
    items
        .iter()
        .max_by_key(|e| {
            let members = s
                .get(
                    &format!("/api/v1/themes/{}?limit=200", e["theme_id"]),
                    token,
                )
                .body;
            members["items"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["text"].as_str().unwrap().to_lowercase().contains(word))
                .count()
        })
        .unwrap()
}

fn backlog_ranks_explains_and_records_changes(env: &Env) {
    let admin = env.token("admin");
    let pm = env.token("pm");
    let support = env.token("support");
    let s = env.serve();
    fill(&s, &admin);
    s.stop();
    env.run_ok(&["themes", "rebuild", "--clusters", "3"]);
    let s = env.serve();
    let delivery = themes_rank_with_the_reasons_behind_their_scores(&s, &pm);
    filters_narrow_the_figures_and_bad_ones_name_themselves(&s, &pm, delivery);
    the_workflow_is_recorded_and_only_editors_change_it(&s, &pm, &support, delivery);
    the_csv_keeps_the_rank_and_defuses_formulas(&s, &pm, delivery);
}

/// Three themes, ranked, each score the sum of its parts; rising, new and the figures
/// behind them as the data was made. Returns the card-delivery theme.
fn themes_rank_with_the_reasons_behind_their_scores(s: &Server, pm: &str) -> i64 {
    let b = s.get("/api/v1/backlog?period=90d", pm);
    assert_eq!(b.status, 200, "{:?}", b.body);
    let items = b.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{items:?}");
    for (i, e) in items.iter().enumerate() {
        assert_eq!(e["rank"].as_u64(), Some(i as u64 + 1));
        let parts: f64 = e["contributions"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((parts - e["score"].as_f64().unwrap()).abs() < 0.35, "{e}");
        for c in [
            "volume",
            "unique_customers",
            "velocity",
            "rating_impact",
            "customer_value",
            "ticket_priority",
        ] {
            assert!(e["components"][c].is_number(), "{c} missing in {e}");
        }
        assert_eq!(e["weekly"].as_array().unwrap().len(), 12);
        assert_eq!(e["status"], "new");
    }
    let scores: Vec<f64> = items.iter().map(|e| e["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let crash = entry_about(s, pm, &items, "crash");
    let delivery = entry_about(s, pm, &items, "card");
    let dark = entry_about(s, pm, &items, "dark");
    assert_ne!(crash["theme_id"], delivery["theme_id"]);
    assert_ne!(dark["theme_id"], crash["theme_id"]);
    assert_eq!(crash["rising"], true, "{crash}");
    assert_eq!(delivery["rising"], false, "{delivery}");
    assert_eq!(dark["new"], true, "{dark}");
    assert_eq!(delivery["new"], false);
    assert!(
        crash["components"]["rating_impact"].as_f64().unwrap() > 0.0,
        "{crash}"
    );
    assert!(
        delivery["components"]["rating_impact"].as_f64().unwrap() < 0.0,
        "{delivery}"
    );
    assert!(
        crash["components"]["velocity"].as_f64().unwrap() > 3.0,
        "{crash}"
    );
    assert_eq!(
        crash["components"]["customer_value"].as_f64(),
        Some(200_000.0)
    );
    assert_eq!(crash["weekly"][11].as_u64(), Some(12));
    delivery["theme_id"].as_i64().unwrap()
}

/// A segment narrows the figures; an unknown parameter or value names itself.
fn filters_narrow_the_figures_and_bad_ones_name_themselves(s: &Server, pm: &str, delivery: i64) {
    let ent = s
        .get("/api/v1/backlog?period=90d&segment=enterprise", pm)
        .body;
    let ent_delivery = ent["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["theme_id"] == delivery)
        .unwrap();
    assert_eq!(ent_delivery["components"]["volume"].as_f64(), Some(0.0));
    for (q, field) in [
        ("period=9x", "period"),
        ("status=done", "status"),
        ("sort=size", "sort"),
        ("colour=red", "colour"),
    ] {
        let r = s.get(&format!("/api/v1/backlog?{q}"), pm);
        assert_eq!(
            (r.status, r.error_field()),
            (400, Some(field)),
            "{q}: {:?}",
            r.body
        );
    }
}

/// Status, owner, pin and effort are recorded with who changed them; support staff may
/// read the backlog but not change it.
fn the_workflow_is_recorded_and_only_editors_change_it(
    s: &Server,
    pm: &str,
    support: &str,
    delivery: i64,
) {
    let id = delivery;
    let path = format!("/api/v1/backlog/{id}");
    let r = s.patch(
        &path,
        pm,
        &json!({"status": "planned", "owner": "Ana", "pinned": true, "effort": "m"}),
    );
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["changes"].as_array().unwrap().len(), 4);
    assert_eq!(
        s.patch(&path, support, &json!({"status": "shipped"}))
            .status,
        403
    );
    let bad = s.patch(&path, pm, &json!({"status": "finished"}));
    assert_eq!((bad.status, bad.error_field()), (400, Some("status")));
    let bad = s.patch(&path, pm, &json!({"effort": "huge"}));
    assert_eq!((bad.status, bad.error_field()), (400, Some("effort")));
    assert_eq!(
        s.patch("/api/v1/backlog/999999", pm, &json!({"status": "planned"}))
            .status,
        404
    );
    let again = s.patch(&path, pm, &json!({"status": "planned"}));
    assert_eq!(
        again.body["changes"].as_array().unwrap().len(),
        0,
        "no change, no record"
    );

    let b = s.get("/api/v1/backlog?period=90d", pm).body;
    assert_eq!(
        b["items"][0]["theme_id"].as_i64(),
        Some(id),
        "pinned goes first"
    );
    assert_eq!(b["items"][0]["status"], "planned");
    assert_eq!(b["items"][0]["owner"], "Ana");
    let planned = s.get("/api/v1/backlog?status=planned", pm).body;
    assert_eq!(planned["total"].as_u64(), Some(1));
    let history = s.get(&format!("{path}/history"), pm).body;
    let status_change = history
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "status")
        .unwrap();
    assert_eq!(status_change["before"], "new");
    assert_eq!(status_change["after"], "planned");
    // History keeps the token's id and shows its name; no email is written into it.
    assert!(
        status_change["actor"]
            .as_str()
            .unwrap()
            .starts_with("token:"),
        "{status_change}"
    );
    assert_eq!(
        status_change["actor_name"], "token test pm",
        "{status_change}"
    );
}

/// One CSV row per theme in rank order; a label typed as a formula is defused.
fn the_csv_keeps_the_rank_and_defuses_formulas(s: &Server, pm: &str, id: i64) {
    assert_eq!(
        s.post(
            &format!("/api/v1/themes/{id}/rename"),
            pm,
            &json!({"label": "=HYPERLINK(\"x\")"})
        )
        .status,
        200
    );
    let (status, kind, csv) = s.get_text("/api/v1/backlog.csv?period=90d", pm);
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let header = rows.headers().unwrap().clone();
    assert_eq!(&header[0], "rank");
    assert!(header.iter().any(|h| h == "rating_impact"));
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(&records[0][1], id.to_string().as_str());
    assert!(records[0][2].starts_with("'="), "{:?}", &records[0][2]);
}
