//! The web UI in real headless Chromium (Debian's `chromium`, driven by playwright-core
//! from tests/ui/run.mjs): sign-in, the backlog, a theme page, a status change, a merge,
//! escaping, search, the unthemed queue, the phone layout, a ticket with live
//! suggestions, and a customer answering the survey. Afterwards the API confirms that
//! what was done in the browser was stored.
//!
//! Runs on SQLite only: the pages call the same services the API tests run on both
//! backends. Screenshots go to target/screenshots (`make screenshots` refreshes the ones
//! in docs/screenshots).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use triage_e2e::{Backend, Env};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn create_user(env: &Env, email: &str, role: &str, password: &str) {
    let mut child = env
        .cmd()
        .args([
            "user",
            "create",
            "--email",
            email,
            "--name",
            "Sam Support",
            "--role",
            role,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn web_ui_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/setup.sh (it installs Debian's chromium)"
    );
    let env = Env::new(Backend::Sqlite).unwrap();
    let demo = env.run_ok(&["demo", "--no-serve"]);
    let survey_id: String = demo
        .lines()
        .find_map(|l| l.split("/s/").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("demo prints the survey link")
        .to_string();
    create_user(
        &env,
        "support@demo.example",
        "support",
        "support-password-1",
    );
    // A short password is refused with the reason.
    let mut short = env
        .cmd()
        .args([
            "user",
            "create",
            "--email",
            "x@demo.example",
            "--name",
            "X",
            "--role",
            "pm",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(short.stdin.take().unwrap(), "short").unwrap();
    let out = short.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));

    let s = env.serve();
    let shots = std::env::var("TRIAGE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace().join("target/screenshots"));
    let ui = workspace().join("tests/ui");
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/setup.sh (npm ci in tests/ui)"
    );
    // A script in tests/ui run against this server as the demo's users; what it did is the
    // JSON on its last line.
    let run_script = |script: &str, extra: &[(&str, &str)]| -> Value {
        let out = Command::new("node")
            .arg(ui.join(script))
            .env("TRIAGE_URL", &s.url)
            .env("PM_EMAIL", "pm@demo.example")
            .env("PM_PASSWORD", "triage-demo")
            .env("SUPPORT_EMAIL", "support@demo.example")
            .env("SUPPORT_PASSWORD", "support-password-1")
            .env("SURVEY_ID", &survey_id)
            .env("SCREENSHOTS", &shots)
            .env("CHROMIUM", &chromium)
            .envs(extra.iter().copied())
            .output()
            .expect("running node");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{script} failed:\n{}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
    };
    let done = run_script("run.mjs", &[]);

    // Accessibility on the same data: axe-core finds no WCAG 2.1 A/AA violation on the
    // main pages for any role, and the daily work needs no mouse (tests/ui/a11y.mjs).
    create_user(&env, "admin@demo.example", "admin", "admin-password-1");
    let checked = run_script(
        "a11y.mjs",
        &[
            ("ADMIN_EMAIL", "admin@demo.example"),
            ("ADMIN_PASSWORD", "admin-password-1"),
        ],
    );
    assert!(
        checked["audited"].as_array().unwrap().len() >= 17,
        "{checked}"
    );
    // The keyboard-only ticket is stored, as the API sees it.
    let kb_ticket = checked["keyboard"]["ticket_id"].as_i64().unwrap();

    // What the browser did is in the database, as the API sees it.
    let token = env.token("admin");
    let rollouts = s
        .get(
            &format!("/api/v1/backlog/{}/rollouts", done["rollout_theme"]),
            &token,
        )
        .body;
    let segments: Vec<_> = rollouts
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["segments"].clone())
        .collect();
    assert_eq!(
        segments,
        [
            serde_json::json!(["consumer"]),
            serde_json::json!(["enterprise"]),
            Value::Null
        ],
        "the demo's two rollouts and the one recorded in the browser, by day"
    );
    let planned = s
        .get("/api/v1/backlog?status=planned&period=all", &token)
        .body;
    let entry = planned["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["theme_id"] == done["planned_theme"])
        .expect("the planned theme");
    assert_eq!(entry["owner"], "Dana Okafor");
    assert!(entry["label"].as_str().unwrap().starts_with("<img src=x"));
    let history = s
        .get(
            &format!("/api/v1/backlog/{}/history", done["planned_theme"]),
            &token,
        )
        .body;
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "status"
            && c["actor_name"] == "Demo PM"
            && !c.to_string().contains("pm@demo.example")));
    let from = &done["merged"]["from"];
    assert_eq!(
        s.get(&format!("/api/v1/themes/{from}"), &token).status,
        409,
        "merged away"
    );
    assert_eq!(done["taught"], true);
    let answers = s.get("/api/v1/themes/answers", &token).body;
    let from_page: Vec<&serde_json::Value> = answers["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["source"] == "question" && a["answer"] == "same")
        .collect();
    assert_eq!(
        from_page.len(),
        1,
        "the Teach page's answer is stored: {answers}"
    );
    assert!(from_page[0]["actor"].as_str().unwrap().starts_with("user:"));
    let ticket = s
        .get(&format!("/api/v1/tickets/{}", done["ticket_id"]), &token)
        .body;
    assert_eq!(ticket["subject"], "Card not arrived");
    let kb = s.get(&format!("/api/v1/tickets/{kb_ticket}"), &token).body;
    assert_eq!(kb["subject"], "Keyboard only: transfer stuck");
    // The email typed on the survey page is kept on the answer, unconfirmed: it makes no
    // customer (double opt-in, tests/tests/hardening.rs follows the link).
    let customers = s.get("/api/v1/customers?limit=500", &token).body;
    assert!(!customers["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["email"] == done["survey_email"]));
    let answers = s
        .get(
            &format!("/api/v1/surveys/{survey_id}/responses?limit=500"),
            &token,
        )
        .body;
    let sam = answers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["respondent_email"] == done["survey_email"])
        .expect("the survey answer");
    assert_eq!(sam["notify_requested"], true);
    assert!(sam["customer_id"].is_null());
    for page in [
        "login",
        "backlog",
        "theme",
        "search",
        "unthemed",
        "backlog-phone",
        "ticket-form",
        "tickets",
        "survey",
        "digest-preview",
    ] {
        assert!(shots.join(format!("{page}.png")).exists(), "{page}.png");
    }
}
