//! Webhooks out and in, against real HTTP on loopback.
//!
//! Out: receivers started by the test get `item.created` signed per Standard Webhooks (the
//! signature is checked here with the published algorithm, not triage's code); a receiver
//! that was down gets the event once it is up, under the same id and only once; a receiver
//! that never answers neither holds up the others nor stays on for ever (it is disabled
//! after repeated failures and the log says why); the Slack format is a Slack message.
//!
//! In: a Zendesk hook takes a call signed the Zendesk way, ignores its replay and a ticket
//! imported before, and refuses bad, missing and stale signatures with 401 storing
//! nothing; a generic hook maps fields from its own payload.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use triage_e2e::{free_port, json_line, on_both, Env, Reply, Server};

on_both!(
    events_reach_receivers_signed_and_retried,
    hooks_take_signed_calls_only
);

type Calls = Arc<Mutex<Vec<(HashMap<String, String>, String)>>>;

/// A receiver on `port`: records each request and answers 200; with `hang`, accepts and
/// never answers.
fn receiver(port: u16, hang: bool) -> Calls {
    let calls: Calls = Arc::default();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("receiver port");
    let got = calls.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(200) {
            let Ok(mut stream) = stream else { continue };
            if hang {
                held.push(stream);
                continue;
            }
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = HashMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or(0);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.trim().split_once(':') {
                    headers.insert(k.trim().to_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap_or(());
            got.lock()
                .unwrap()
                .push((headers, String::from_utf8_lossy(&body).into_owned()));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    calls
}

fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

/// Standard Webhooks, as its specification says: HMAC-SHA256 with the base64-decoded part
/// of the secret after `whsec_`, over `id.timestamp.body`, base64, prefixed `v1,`.
fn standard_signature_ok(secret: &str, h: &HashMap<String, String>, body: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{body}", h["webhook-id"], h["webhook-timestamp"]).as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    h["webhook-signature"].split(' ').any(|s| s == expected)
}

fn subscribe(s: &Server, admin: &str, url: &str, events: &[&str], format: &str) -> Value {
    let r = s.post(
        "/api/v1/webhooks",
        admin,
        &json!({"url": url, "events": events, "format": format}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn events_reach_receivers_signed_and_retried(env: &Env) {
    env.set_var("TRIAGE_WEBHOOK_RETRY_SECONDS", "1");
    env.set_var("TRIAGE_WEBHOOK_TIMEOUT_SECONDS", "2");
    env.set_var("TRIAGE_WEBHOOK_DISABLE_AFTER", "3");
    let admin = env.token("admin");
    let pm = env.token("pm");
    let s = env.serve();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let a = receiver(pa, false);
    let _hanging = receiver(pb, true);
    let sub_a = subscribe(
        &s,
        &admin,
        &format!("http://127.0.0.1:{pa}/a"),
        &["item.created"],
        "standard",
    );
    let sub_b = subscribe(
        &s,
        &admin,
        &format!("http://127.0.0.1:{pb}/b"),
        &["item.created"],
        "standard",
    );
    // Nothing listens on C yet.
    let sub_c = subscribe(
        &s,
        &admin,
        &format!("http://127.0.0.1:{pc}/c"),
        &["item.created"],
        "standard",
    );
    let slack = subscribe(
        &s,
        &admin,
        &format!("http://127.0.0.1:{pa}/slack"),
        &["item.created"],
        "slack",
    );
    assert!(sub_a["secret"].as_str().unwrap().starts_with("whsec_"));
    // Bad input names the field; support and pm cannot subscribe.
    let bad = s.post(
        "/api/v1/webhooks",
        &admin,
        &json!({"url": "ftp://x", "events": ["item.created"]}),
    );
    assert_eq!((bad.status, bad.error_field()), (400, Some("url")));
    let bad = s.post(
        "/api/v1/webhooks",
        &admin,
        &json!({"url": "http://x.test", "events": ["item.deleted"]}),
    );
    assert_eq!(bad.status, 400, "{:?}", bad.body);
    assert_eq!(
        s.post(
            "/api/v1/webhooks",
            &pm,
            &json!({"url": "http://x.test", "events": ["item.created"]})
        )
        .status,
        403
    );

    let t = s.post(
        "/api/v1/tickets",
        &pm,
        &json!({"subject": "Card declined", "body": "My card was declined at the shop, call me on +44 20 7946 0958"}),
    );
    assert_eq!(t.status, 201);
    let item_id = t.body["item_id"].as_i64().unwrap();

    // A gets it promptly although B never answers.
    let started = Instant::now();
    // The standard body has `data`; the Slack message (also to A) has `blocks`.
    wait_until("receiver A", 10, || {
        a.lock()
            .unwrap()
            .iter()
            .any(|(_, b)| b.contains("\"data\""))
    });
    assert!(started.elapsed() < Duration::from_secs(8));
    let calls = a.lock().unwrap().clone();
    let (h, body) = calls
        .iter()
        .find(|(_, b)| b.contains("\"data\""))
        .expect("the standard delivery");
    assert!(
        standard_signature_ok(sub_a["secret"].as_str().unwrap(), h, body),
        "{h:?}"
    );
    assert!(!standard_signature_ok(
        sub_b["secret"].as_str().unwrap(),
        h,
        body
    ));
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["type"], "item.created");
    assert_eq!(v["data"]["item_id"], item_id);
    assert!(
        !body.contains("7946 0958"),
        "personal data is masked before anything is sent: {body}"
    );
    let event_id = h["webhook-id"].clone();
    // The Slack subscription got a Slack message, signed too.
    wait_until("the slack message", 10, || {
        a.lock()
            .unwrap()
            .iter()
            .any(|(_, b)| b.contains("\"blocks\""))
    });
    let calls = a.lock().unwrap().clone();
    let (sh, sb) = calls
        .iter()
        .find(|(_, b)| b.contains("\"blocks\""))
        .unwrap();
    let m: Value = serde_json::from_str(sb).unwrap();
    assert!(m["text"].as_str().unwrap().contains("Card declined"), "{m}");
    assert_eq!(m["blocks"][0]["type"], "section");
    assert!(standard_signature_ok(
        slack["secret"].as_str().unwrap(),
        sh,
        sb
    ));

    // C was down: it gets the event once it is up, under the same id, once.
    let c_id = sub_c["id"].as_i64().unwrap();
    wait_until("a failed attempt to C", 10, || {
        let log = s.get(&format!("/api/v1/webhooks/{c_id}/deliveries"), &admin);
        log.body["items"][0]["last_error"].as_str().is_some()
    });
    let c = receiver(pc, false);
    wait_until("receiver C after its outage", 30, || {
        !c.lock().unwrap().is_empty()
    });
    std::thread::sleep(Duration::from_secs(3));
    let got_c = c.lock().unwrap().clone();
    assert_eq!(got_c.len(), 1, "one delivery, no duplicate: {got_c:?}");
    assert_eq!(got_c[0].0["webhook-id"], event_id, "the same id as A's");
    let log = s.get(&format!("/api/v1/webhooks/{c_id}/deliveries"), &admin);
    assert_eq!(log.body["items"][0]["state"], "delivered", "{}", log.body);
    assert!(log.body["items"][0]["attempts"].as_i64().unwrap() >= 2);

    // B never answers: after 3 failures in a row it is turned off, saying why.
    let b_id = sub_b["id"].as_i64().unwrap();
    wait_until("B disabled", 60, || {
        s.get(&format!("/api/v1/webhooks/{b_id}"), &admin).body["enabled"] == false
    });
    let b = s.get(&format!("/api/v1/webhooks/{b_id}"), &admin).body;
    assert!(
        b["disabled_reason"].as_str().unwrap().contains("failed"),
        "{b}"
    );
    let log = s.get(&format!("/api/v1/webhooks/{b_id}/deliveries"), &admin);
    assert!(
        log.body["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no answer"),
        "{}",
        log.body
    );
    // A's receiver saw each event once per subscription.
    let ids: Vec<String> = a
        .lock()
        .unwrap()
        .iter()
        .map(|(h, b)| format!("{}{}", h["webhook-id"], b.contains("blocks")))
        .collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");
    // Turned on again by an admin.
    let on = s.patch(
        &format!("/api/v1/webhooks/{b_id}"),
        &admin,
        &json!({"enabled": true}),
    );
    assert_eq!((on.status, on.body["enabled"].clone()), (200, json!(true)));
    assert_eq!(on.body["consecutive_failures"], 0);
}

fn zendesk_call(
    s: &Server,
    hook: &str,
    secret: &str,
    body: &str,
    at: chrono::DateTime<chrono::Utc>,
    tamper: bool,
) -> Reply {
    let ts = at.to_rfc3339();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(body.as_bytes());
    let mut sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if tamper {
        sig = sig.replacen(|c: char| c.is_ascii_alphabetic(), "0", 1);
    }
    let r = s
        .client
        .post(format!("{}/api/v1/hooks/{hook}", s.url))
        .header("x-zendesk-webhook-signature", sig)
        .header("x-zendesk-webhook-signature-timestamp", ts)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    Reply {
        status: r.status().as_u16(),
        body: r.json().unwrap_or(Value::Null),
    }
}

fn ticket_by_external_id(s: &Server, token: &str, external_id: &str) -> Value {
    let list = s.get("/api/v1/tickets?limit=100", token);
    list.body["items"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| t["external_id"] == external_id)
        .cloned()
        .unwrap_or_else(|| panic!("no ticket {external_id}: {}", list.body))
}

fn ticket_count(s: &Server, token: &str) -> u64 {
    s.get("/api/v1/tickets?limit=1", token).body["total"]
        .as_u64()
        .unwrap()
}

fn hooks_take_signed_calls_only(env: &Env) {
    // A ticket imported from a Zendesk export first.
    let fixture = format!(
        "{}/fixtures/import/zendesk-tickets.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let r = json_line(&env.run_ok(&["import", &fixture, "--from", "zendesk", "--json"]));
    assert_eq!(r["imported"], 2);
    let admin = env.token("admin");
    let s = env.serve();
    let secret = "zd-signing-secret-0123456789";
    let made = s.post(
        "/api/v1/hooks",
        &admin,
        &json!({"name": "zendesk", "source": "zendesk", "secret": secret}),
    );
    assert_eq!(made.status, 201, "{:?}", made.body);
    let no_secret = s.post(
        "/api/v1/hooks",
        &admin,
        &json!({"name": "zd2", "source": "zendesk"}),
    );
    assert_eq!(
        (no_secret.status, no_secret.error_field()),
        (400, Some("secret"))
    );
    // Over the documented 200 characters (counted as characters, not bytes): refused,
    // nothing made.
    let long_secret = "é".repeat(150) + &"k".repeat(51);
    let too_long = s.post(
        "/api/v1/hooks",
        &admin,
        &json!({"name": "zd3", "source": "zendesk", "secret": long_secret}),
    );
    assert_eq!(
        (too_long.status, too_long.error_field()),
        (400, Some("secret")),
        "{:?}",
        too_long.body
    );
    let just_fits = s.post(
        "/api/v1/hooks",
        &admin,
        &json!({"name": "zd4", "source": "zendesk", "secret": "é".repeat(200)}),
    );
    assert_eq!(just_fits.status, 201, "{:?}", just_fits.body);
    let listed = s.get("/api/v1/hooks", &admin).body;
    let names: Vec<&str> = listed
        .as_array()
        .expect("a list of hooks")
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert!(
        names.contains(&"zd4") && !names.contains(&"zd3"),
        "{names:?}"
    );
    assert_eq!(
        s.post(
            "/api/v1/hooks",
            &env.token("pm"),
            &json!({"name": "x", "source": "zendesk", "secret": secret})
        )
        .status,
        403
    );

    let now = chrono::Utc::now();
    let event = json!({"type": "zen:event-type:ticket.created", "id": "01H", "time": now.to_rfc3339(),
        "detail": {"id": "99001", "subject": "Statement missing", "description": "My March statement is not in the app",
                   "priority": "NORMAL", "status": "NEW", "tags": ["statements"], "requester_id": "555",
                   "created_at": now.to_rfc3339()}}).to_string();
    let before = ticket_count(&s, &admin);
    // Wrong signature, stale timestamp, none at all: 401, nothing stored.
    assert_eq!(
        zendesk_call(&s, "zendesk", secret, &event, now, true).status,
        401
    );
    assert_eq!(
        zendesk_call(
            &s,
            "zendesk",
            secret,
            &event,
            now - chrono::Duration::minutes(10),
            false
        )
        .status,
        401
    );
    assert_eq!(
        zendesk_call(&s, "zendesk", "another secret", &event, now, false).status,
        401
    );
    let bare = s
        .client
        .post(format!("{}/api/v1/hooks/zendesk", s.url))
        .body(event.clone())
        .send()
        .unwrap();
    assert_eq!(bare.status().as_u16(), 401);
    assert_eq!(ticket_count(&s, &admin), before);
    // Signed: stored once; the replay and a ticket imported before (same state; the labels
    // read from fields a trigger body lacks are kept) are duplicates.
    let created = zendesk_call(&s, "zendesk", secret, &event, now, false);
    assert_eq!(
        (created.status, &created.body["status"]),
        (201, &json!("created"))
    );
    let item_id = created.body["item_id"].as_i64().expect("the new item's id");
    let replay = zendesk_call(&s, "zendesk", secret, &event, now, false);
    assert_eq!(
        (
            replay.status,
            &replay.body["status"],
            replay.body["item_id"].as_i64()
        ),
        (200, &json!("duplicate"), Some(item_id))
    );
    let trigger = json!({"ticket": {"id": "35436", "subject": "Card declined at the supermarket", "description": "again",
        "priority": "High", "status": "Open", "tags": "cards declined"}}).to_string();
    let again = zendesk_call(&s, "zendesk", secret, &trigger, now, false);
    assert_eq!(
        (again.status, &again.body["status"]),
        (200, &json!("duplicate")),
        "{:?}",
        again.body
    );
    assert_eq!(ticket_count(&s, &admin), before + 1);
    let imported = ticket_by_external_id(&s, &admin, "zendesk:35436");
    assert_eq!(
        imported["tags"],
        json!(["cards", "declined", "channel:email", "satisfaction:bad"])
    );

    // Zendesk's later events about the ticket: the newer state is taken (status, priority,
    // tags; subject and body stay as filed), an older one delivered late changes nothing.
    let changed = |status: &str, priority: &str, tags: Value, at: chrono::DateTime<chrono::Utc>| {
        json!({"type": "zen:event-type:ticket.status_changed", "id": format!("01H-{status}"), "time": at.to_rfc3339(),
            "detail": {"id": "99001", "subject": "Renamed by an agent", "description": "an agent's note",
                       "priority": priority, "status": status, "tags": tags, "requester_id": "555",
                       "created_at": now.to_rfc3339(), "updated_at": at.to_rfc3339()}})
        .to_string()
    };
    let solved = changed(
        "SOLVED",
        "URGENT",
        json!(["statements", "vip"]),
        now + chrono::Duration::seconds(60),
    );
    let up = zendesk_call(&s, "zendesk", secret, &solved, now, false);
    assert_eq!(
        (up.status, &up.body["status"], up.body["item_id"].as_i64()),
        (200, &json!("updated"), Some(item_id)),
        "{:?}",
        up.body
    );
    let late = changed(
        "OPEN",
        "LOW",
        json!([]),
        now + chrono::Duration::seconds(30),
    );
    let stale = zendesk_call(&s, "zendesk", secret, &late, now, false);
    assert_eq!(
        (stale.status, &stale.body["status"]),
        (200, &json!("duplicate"))
    );
    let t = ticket_by_external_id(&s, &admin, "zendesk:99001");
    assert_eq!(
        (
            &t["status"],
            &t["priority"],
            &t["tags"],
            &t["subject"],
            &t["body"]
        ),
        (
            &json!("solved"),
            &json!("urgent"),
            &json!(["statements", "vip"]),
            &json!("Statement missing"),
            &json!("My March statement is not in the app")
        )
    );
    assert!(t["source_updated_at"].is_string(), "{t}");
    assert_eq!(ticket_count(&s, &admin), before + 1);
    // A bad updated_at is 400 naming it, nothing changed.
    let bad_time = changed(
        "OPEN",
        "LOW",
        json!([]),
        now + chrono::Duration::seconds(90),
    )
    .replace(
        &(now + chrono::Duration::seconds(90)).to_rfc3339(),
        "yesterday",
    );
    let refused = zendesk_call(&s, "zendesk", secret, &bad_time, now, false);
    assert_eq!(
        (refused.status, refused.error_field()),
        (400, Some("updated_at")),
        "{:?}",
        refused.body
    );
    assert_eq!(
        ticket_by_external_id(&s, &admin, "zendesk:99001")["status"],
        "solved"
    );
    assert_eq!(
        zendesk_call(&s, "nope", secret, &event, now, false).status,
        404
    );

    // A generic hook with a field map, signed per Standard Webhooks.
    let made = s.post("/api/v1/hooks", &admin, &json!({"name": "forms", "source": "generic",
        "mapping": {"external_id": "$.entry.id", "subject": "$.form.title", "body": "$.entry.answers[0].text", "customer.email": "$.entry.email"}}));
    assert_eq!(made.status, 201, "{:?}", made.body);
    let key = made.body["secret"].as_str().unwrap().to_string();
    let bad_map = s.post(
        "/api/v1/hooks",
        &admin,
        &json!({"name": "f2", "source": "generic", "mapping": {"subject": "$.a"}}),
    );
    assert_eq!(bad_map.status, 400);
    assert!(
        bad_map.error_field().unwrap().starts_with("mapping."),
        "{:?}",
        bad_map.body
    );
    let body = json!({"form": {"title": "Contact us"}, "entry": {"id": 4411, "email": "rae@example.com", "answers": [{"text": "The export to CSV is missing columns"}]}}).to_string();
    let send = |sig_key: &str| {
        let ts = chrono::Utc::now().timestamp();
        let k = base64::engine::general_purpose::STANDARD
            .decode(sig_key.trim_start_matches("whsec_"))
            .unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&k).unwrap();
        mac.update(format!("msg_1.{ts}.{body}").as_bytes());
        let sig = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        s.client
            .post(format!("{}/api/v1/hooks/forms", s.url))
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(body.clone())
            .send()
            .unwrap()
    };
    assert_eq!(
        send("whsec_b3RoZXIgc2VjcmV0IGtleSAxMjM0").status().as_u16(),
        401
    );
    let ok = send(&key);
    assert_eq!(ok.status().as_u16(), 201);
    let receipt: Value = ok.json().unwrap();
    assert_eq!(receipt["status"], "created");
    assert_eq!(send(&key).status().as_u16(), 200);
    let list = s.get("/api/v1/tickets?limit=100", &admin);
    let t = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["external_id"] == "forms:4411")
        .cloned()
        .expect("the mapped ticket");
    assert_eq!(t["subject"], "Contact us");
    assert_eq!(t["body"], "The export to CSV is missing columns");
    assert!(t["customer_id"].is_i64());
}
