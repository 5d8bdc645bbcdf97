//! Email end to end against a real SMTP server (aiosmtpd on a loopback port): the
//! scheduler in `serve` sends each subscriber's weekly digest once — not again after a
//! restart, a re-run by hand or two senders at once —, messages have both MIME parts,
//! links into the web UI and a working one-click unsubscribe; a send while the server is
//! down is recorded and retried; and a theme moving to planned or shipped sends one note
//! to each opted-in customer behind it, never twice, and none after they opt out.

use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use mail_parser::{Message, MessageParser, MimeHeaders};
use serde_json::{json, Value};
use triage_e2e::{free_port, json_line, on_both, received, Env, Server, SmtpSink};

on_both!(digests_and_notes_are_sent_once);

/// `SMTP_URL` with credentials: without them the server refuses (a recorded, permanent
/// failure); with them the digest goes out.
#[test]
fn smtp_auth() {
    let env = Env::new(triage_e2e::Backend::Sqlite).unwrap();
    env.run_ok(&["demo", "--no-serve"]);
    let mail = env.dir.path().join("mail");
    let port = free_port();
    let _sink = SmtpSink::start_with(port, &mail, Some("triage:s3cret"));
    env.set_var("SMTP_URL", &format!("smtp://127.0.0.1:{port}"));
    let refused = send(&env, &week_ago(1));
    let outcome = |r: &Value| {
        (
            r["sent"].as_u64(),
            r["failed"].as_u64(),
            r["retrying"].as_u64(),
        )
    };
    assert_eq!(outcome(&refused), (Some(0), Some(1), Some(0)), "{refused}");
    assert!(received(&mail).is_empty());
    env.set_var(
        "SMTP_URL",
        &format!("smtp://triage:s3cret@127.0.0.1:{port}"),
    );
    let ok = send(&env, &week_ago(2));
    assert_eq!(outcome(&ok), (Some(1), Some(0), Some(0)), "{ok}");
    assert_eq!(received(&mail).len(), 1);
}

/// `SMTP_URL` with `tls=required`: the digest goes out over STARTTLS to a server whose
/// certificate is trusted through `TRIAGE_SMTP_CA_FILE`, and is refused (recorded,
/// retried later) while that authority is not trusted.
#[test]
fn smtp_starttls() {
    let env = Env::new(triage_e2e::Backend::Sqlite).unwrap();
    env.run_ok(&["demo", "--no-serve"]);
    let mail = env.dir.path().join("mail");
    let port = free_port();
    let _sink = SmtpSink::start_with(port, &mail, Some("--starttls"));
    env.set_var("SMTP_URL", &format!("smtp://localhost:{port}?tls=required"));
    let untrusted = send(&env, &week_ago(1));
    assert_eq!(untrusted["sent"].as_u64(), Some(0), "{untrusted}");
    assert!(received(&mail).is_empty());
    env.set_var("TRIAGE_SMTP_CA_FILE", mail.join("ca.pem").to_str().unwrap());
    let ok = send(&env, &week_ago(2));
    assert_eq!(ok["sent"].as_u64(), Some(1), "{ok}");
    assert_eq!(received(&mail).len(), 1);
}

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .expect("a parseable message")
}

fn to(m: &Message) -> String {
    m.to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string()
}

fn subject(m: &Message) -> String {
    m.subject().unwrap_or_default().to_string()
}

fn wait_for_messages(dir: &std::path::Path, n: usize, secs: u64) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = received(dir);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Signs in through the web form and sets the digest to Monday 00:00 UTC, so it is due
/// whatever day the test runs.
fn due_now(s: &Server, email: &str, password: &str) {
    let web = s.sign_in(email, password);
    let saved = web.post_form(
        "/settings",
        "/settings",
        &[
            ("active", "true"),
            ("weekday", "1"),
            ("hour", "0"),
            ("time_zone", "UTC"),
        ],
    );
    assert_eq!(saved.status(), 303, "{:?}", saved.text());
}

fn send(env: &Env, week: &str) -> Value {
    json_line(&env.run_ok(&["digest", "send", "--week", week, "--json"]))
}

fn week_ago(n: i64) -> String {
    let d = Utc::now() - chrono::Duration::weeks(n);
    let w = chrono::Datelike::iso_week(&d.date_naive());
    format!("{}-W{:02}", w.year(), w.week())
}

fn digests_and_notes_are_sent_once(env: &Env) {
    env.run_ok(&["demo", "--no-serve"]);
    env.create_user("ana@demo.example", "Ana <PM>", "pm", "ana-password-1");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    env.set_var("TRIAGE_BIND", &format!("127.0.0.1:{port}"));
    env.set_var("TRIAGE_BASE_URL", &base);
    env.set_var("TRIAGE_MAIL_RETRY_SECONDS", "1");
    let mail = env.dir.path().join("mail");
    let smtp_port = free_port();
    let sink = SmtpSink::start(smtp_port, &mail);
    env.set_var("SMTP_URL", &sink.url());
    let r = Mailroom {
        env,
        base,
        mail,
        smtp_port,
        pm: env.token("pm"),
    };
    let (got, first) = the_scheduler_sends_each_digest_once(&r);
    a_digest_has_both_parts_links_and_one_click_unsubscribe(&r, &got);
    the_preview_is_the_same_email(&r, &got);
    two_senders_send_each_digest_once(&r);
    one_click_unsubscribes_and_a_forged_link_does_not(&r, &got);
    // The sink that comes back up stays up for the rest of the story.
    let _sink = a_send_while_smtp_is_down_is_retried(&r, sink);
    planned_and_shipped_tell_each_opted_in_customer_once(&r, first);
}

/// What the scenarios share: the environment with the demo data, two PMs and an SMTP sink.
struct Mailroom<'a> {
    env: &'a Env,
    /// The web UI's address, as the links in mail show it.
    base: String,
    /// Where the sink writes what it receives.
    mail: std::path::PathBuf,
    smtp_port: u16,
    pm: String,
}

/// The scheduler: both PMs are due; each gets last week's digest once. Returns the two
/// digests and the top theme (renamed with markup, to see it escaped).
fn the_scheduler_sends_each_digest_once(r: &Mailroom) -> (Vec<Vec<u8>>, i64) {
    // A label with markup, to see it escaped in the HTML part.
    let top = r.env.serve();
    let backlog = top.get("/api/v1/backlog?limit=3", &r.pm).body;
    let first = backlog["items"][0]["theme_id"].as_i64().unwrap();
    top.post(
        &format!("/api/v1/themes/{first}/rename"),
        &r.pm,
        &json!({"label": "<b>Cards & \"fees\"</b>"}),
    );

    due_now(&top, "pm@demo.example", "triage-demo");
    due_now(&top, "ana@demo.example", "ana-password-1");
    let got = wait_for_messages(&r.mail, 2, 60);
    assert_eq!(got.len(), 2, "the scheduler sent both digests");
    top.stop();
    let again = r.env.serve();
    std::thread::sleep(Duration::from_secs(20));
    assert_eq!(received(&r.mail).len(), 2, "a restart does not send again");
    again.stop();
    let by_hand = send(r.env, &week_ago(1));
    assert_eq!(
        (by_hand["sent"].as_u64(), by_hand["skipped"].as_u64()),
        (Some(0), Some(2)),
        "{by_hand}"
    );
    (got, first)
}

/// What a digest looks like.
fn a_digest_has_both_parts_links_and_one_click_unsubscribe(r: &Mailroom, got: &[Vec<u8>]) {
    let base = &r.base;
    let mut recipients: Vec<String> = got.iter().map(|r| to(&parse(r))).collect();
    recipients.sort();
    assert_eq!(recipients, ["ana@demo.example", "pm@demo.example"]);
    let m = parse(&got[0]);
    assert!(subject(&m).contains(&week_ago(1)), "{}", subject(&m));
    assert!(m
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .is_some_and(|a| a.contains('@')));
    assert!(m.date().is_some() && m.message_id().is_some());
    let ct = m.content_type().unwrap();
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative"))
    );
    let text = m.body_text(0).unwrap().to_string();
    let html = m.body_html(0).unwrap().to_string();
    assert!(text.contains("Top of the backlog") && html.contains("Top of the backlog"));
    assert!(text.contains("Volume by channel"));
    assert!(
        text.contains("Shipped and measured") && html.contains("Shipped and measured"),
        "the demo's shipped fix is measured"
    );
    assert!(
        html.contains(&format!("href=\"{base}/themes/")),
        "links into the web UI"
    );
    assert!(text.contains(&format!("{base}/backlog")));
    assert!(
        html.contains("&lt;b&gt;Cards &amp; &quot;fees&quot;&lt;/b&gt;"),
        "user text is escaped"
    );
    assert!(!html.contains("<b>Cards"));
    let unsubscribe = m
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_string();
    assert!(unsubscribe.starts_with(&format!("{base}/unsubscribe?user=")));
    assert!(
        text.contains(&unsubscribe),
        "the text part has the same link"
    );
    assert_eq!(
        m.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
}

/// The preview is the same email: text on stdout, HTML to a file.
fn the_preview_is_the_same_email(r: &Mailroom, got: &[Vec<u8>]) {
    let preview = r.env.run_ok(&[
        "digest",
        "preview",
        "--to",
        "ana@demo.example",
        "--week",
        &week_ago(1),
    ]);
    let ana_digest = got
        .iter()
        .map(|r| parse(r))
        .find(|m| to(m) == "ana@demo.example")
        .unwrap();
    assert!(preview.contains(&subject(&ana_digest)), "{preview}");
    assert!(preview.contains("Top of the backlog"));
    let file = r.env.dir.path().join("preview.html");
    r.env.run_ok(&[
        "digest",
        "preview",
        "--week",
        &week_ago(1),
        "--html",
        file.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("Volume by channel"));
    let bad = r.env.run(&["digest", "preview", "--week", "2026-W99"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ISO week"));
}

/// Two senders at once for another week: each digest exactly once.
fn two_senders_send_each_digest_once(r: &Mailroom) {
    let w2 = week_ago(2);
    let spawn = || {
        r.env
            .cmd()
            .args(["digest", "send", "--week", &w2, "--json"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let sent: u64 = [a, b]
        .into_iter()
        .map(|c| {
            json_line(&String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap())["sent"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(sent, 2);
    assert_eq!(received(&r.mail).len(), 4);
}

/// One click unsubscribes (a forged link does not); the next digest skips that person.
fn one_click_unsubscribes_and_a_forged_link_does_not(r: &Mailroom, got: &[Vec<u8>]) {
    let s = r.env.serve();
    let ana_mail = got
        .iter()
        .map(|r| parse(r))
        .find(|m| to(m) == "ana@demo.example")
        .unwrap();
    let ana_link = ana_mail
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .trim_matches(['<', '>'])
        .to_string();
    let forged = s
        .client
        .get(ana_link.replace("sig=", "sig=00"))
        .send()
        .unwrap();
    assert_eq!(forged.status(), 400);
    // Opening the link (as a mail scanner would) only shows a button…
    let opened = s.client.get(&ana_link).send().unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().unwrap().contains("method=\"post\""));
    // …and the RFC 8058 one-click POST unsubscribes.
    let click = s
        .client
        .post(&ana_link)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .unwrap();
    assert_eq!(click.status(), 200);
    assert!(click.text().unwrap().contains("Unsubscribed"));
    s.stop();
    let w3 = send(r.env, &week_ago(3));
    assert_eq!(w3["sent"].as_u64(), Some(1), "{w3}");
}

/// The SMTP server is down: recorded and retried, then sent once it is back (the sink
/// started again is returned).
fn a_send_while_smtp_is_down_is_retried(r: &Mailroom, sink: SmtpSink) -> SmtpSink {
    drop(sink);
    let w4 = week_ago(4);
    let down = send(r.env, &w4);
    assert_eq!(down["sent"].as_u64(), Some(0), "{down}");
    assert!(down["retrying"].as_u64() >= Some(1), "{down}");
    let s = r.env.serve();
    let health = s.get("/healthz", &r.pm).body;
    assert!(
        health["mail"]["pending"].as_u64() >= Some(1),
        "waiting mail is visible: {health}"
    );
    s.stop();
    let back_up = SmtpSink::start(r.smtp_port, &r.mail);
    std::thread::sleep(Duration::from_millis(1500));
    let back = send(r.env, &w4);
    assert_eq!(
        (back["sent"].as_u64(), back["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{back}"
    );
    assert_eq!(received(&r.mail).len(), 6);
    back_up
}

/// Closing the loop: planned → one note per opted-in customer of the theme, never twice,
/// none after they opt out.
fn planned_and_shipped_tell_each_opted_in_customer_once(r: &Mailroom, first: i64) {
    let w4 = week_ago(4);
    let s = r.env.serve();
    let path = format!("/api/v1/backlog/{first}");
    assert_eq!(
        s.patch(&path, &r.pm, &json!({"status": "planned"})).status,
        200
    );
    s.stop();
    send(r.env, &w4);
    let notes = |status: &str| -> Vec<String> {
        received(&r.mail)
            .iter()
            .map(|r| parse(r))
            .filter(|m| subject(m).starts_with("Update:") && subject(m).contains(status))
            .map(|m| to(&m))
            .collect()
    };
    let planned = notes("planned");
    assert!(!planned.is_empty(), "the demo theme has opted-in customers");
    let mut unique = planned.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), planned.len(), "one note per customer");
    let s = r.env.serve();
    let customers = s.get("/api/v1/customers?limit=500", &r.pm).body;
    for email in &planned {
        let c = customers["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["email"] == email.as_str())
            .unwrap();
        assert_eq!(c["notify_opt_in"], true, "{email} opted in");
    }
    // Back and forth: no second note. One customer opts out before it ships.
    assert_eq!(
        s.patch(&path, &r.pm, &json!({"status": "in_progress"}))
            .status,
        200
    );
    assert_eq!(
        s.patch(&path, &r.pm, &json!({"status": "planned"})).status,
        200
    );
    let note = received(&r.mail)
        .iter()
        .map(|r| parse(r))
        .find(|m| subject(m).contains("planned"))
        .map(|m| {
            (
                to(&m),
                m.header_raw("List-Unsubscribe")
                    .unwrap()
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_string(),
            )
        });
    let (gone, link) = note.unwrap();
    assert_eq!(s.client.post(&link).send().unwrap().status(), 200);
    assert_eq!(
        s.patch(&path, &r.pm, &json!({"status": "shipped"})).status,
        200
    );
    s.stop();
    send(r.env, &w4);
    assert_eq!(notes("planned").len(), planned.len(), "no note twice");
    let shipped = notes("fixed");
    assert_eq!(shipped.len(), planned.len() - 1, "{shipped:?}");
    assert!(
        !shipped.contains(&gone),
        "an opted-out customer hears nothing"
    );
    customers_answer_whether_it_is_fixed(r, first);
}

/// The shipped note's links: "Fixed for me" / "Still a problem", signed per customer and
/// theme. A forged one is refused; opening one records nothing; the button records; a
/// replay records nothing new; a second answer replaces the first; a sentence becomes one
/// ticket in the theme.
fn customers_answer_whether_it_is_fixed(r: &Mailroom, theme: i64) {
    let raw = received(&r.mail)
        .into_iter()
        .find(|raw| subject(&parse(raw)).contains("fixed"))
        .expect("a shipped note");
    let m = parse(&raw);
    let text = m.body_text(0).unwrap().to_string();
    let html = m.body_html(0).unwrap().to_string();
    let link = |label: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} link in {text}"))
            .trim()
            .to_string()
    };
    let (fixed, still) = (link("Fixed for me:"), link("Still a problem:"));
    assert!(
        fixed.starts_with(&format!("{}/fixed?customer=", r.base)),
        "{fixed}"
    );
    assert!(
        html.contains(&fixed.replace('&', "&amp;")),
        "the HTML part has the same link"
    );
    let s = r.env.serve();
    let answers = |s: &Server| {
        s.get(&format!("/api/v1/themes/{theme}/impact"), &r.pm).body["answers"].clone()
    };
    // Forged: another signature, or this signature for another theme.
    let forged = s
        .client
        .get(fixed.replace("sig=", "sig=00"))
        .send()
        .unwrap();
    assert_eq!(forged.status(), 400);
    let other_theme = fixed.replace(&format!("theme={theme}&"), &format!("theme={}&", theme + 1));
    assert_eq!(s.client.post(&other_theme).send().unwrap().status(), 400);
    // Opening the link only shows a button.
    let opened = s.client.get(&fixed).send().unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().unwrap().contains("method=\"post\""));
    assert_eq!(answers(&s)["answered"], 0);
    for _ in 0..2 {
        let sent = s.client.post(&fixed).send().unwrap();
        assert_eq!(sent.status(), 200);
        assert!(sent.text().unwrap().contains("Fixed for me"));
    }
    assert_eq!(
        (
            answers(&s)["answered"].clone(),
            answers(&s)["fixed"].clone()
        ),
        (json!(1), json!(1))
    );
    // Changed their mind, with a sentence — sent twice.
    for _ in 0..2 {
        let sent = s
            .client
            .post(&still)
            .form(&[("comment", "The ATM kept my card again on Monday")])
            .send()
            .unwrap();
        assert_eq!(sent.status(), 200);
    }
    let a = answers(&s);
    assert_eq!(
        (
            a["answered"].clone(),
            a["fixed"].clone(),
            a["still_a_problem"].clone()
        ),
        (json!(1), json!(0), json!(1))
    );
    let newest = s.get("/api/v1/tickets?limit=20", &r.pm).body;
    let follow_ups: Vec<_> = newest["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["body"]
                .as_str()
                .is_some_and(|b| b.contains("kept my card again"))
        })
        .collect();
    assert_eq!(
        follow_ups.len(),
        1,
        "one ticket, not one per click: {newest}"
    );
    assert!(follow_ups[0]["subject"]
        .as_str()
        .unwrap()
        .starts_with("Still a problem: "));
    s.stop();
}
