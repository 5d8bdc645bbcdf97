//! Safe on the open internet: nobody changes what is not theirs, bad values are refused,
//! every page carries the security headers, and cookies fit the deployment.

use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use serde_json::{json, Value};
use triage_e2e::{free_port, on_both, received, Env, Server, SmtpSink};

on_both!(
    intake_never_changes_a_customer,
    security_headers_on_every_response,
    sign_in_never_redirects_off_site,
    cookies_are_secure_behind_https,
    the_survey_page_changes_no_customer,
    sign_in_is_throttled_and_says_nothing_about_accounts,
    password_change_and_sign_out_everywhere,
    tokens_are_listed_revoked_and_expire
);

fn intake_never_changes_a_customer(env: &Env) {
    let pm = env.token("pm");
    let support = env.token("support");
    let s = env.serve();
    let vip = json!({"external_id": "c-vip", "email": "vip@corp.test", "name": "Vera",
                     "segment": "enterprise", "account_value": 50000, "notify_opt_in": true});
    let created = s.post("/api/v1/customers", &pm, &vip);
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{id}");

    // A support token names the customer on tickets with other details, by email and by
    // external id: the tickets are filed under the customer, the customer is unchanged.
    for who in [
        json!({"email": "VIP@corp.test", "name": "Mallory", "segment": "smb", "account_value": 1, "notify_opt_in": false}),
        json!({"external_id": "c-vip", "segment": "free", "account_value": 1e12, "notify_opt_in": false}),
    ] {
        let t = s.post(
            "/api/v1/tickets",
            &support,
            &json!({"subject": "Refund missing", "body": "Where is my refund?", "customer": who}),
        );
        assert_eq!(t.status, 201, "{:?}", t.body);
        assert_eq!(t.body["customer_id"], id);
    }
    let after = s.get(&path, &pm).body;
    for field in ["name", "segment", "account_value", "notify_opt_in", "email"] {
        assert_eq!(
            after[field], created.body[field],
            "{field} changed by intake"
        );
    }

    // Details change through the customers API, and only for pm and admin.
    let denied = s.patch(&path, &support, &json!({"segment": "smb"}));
    assert_eq!(denied.status, 403, "{:?}", denied.body);
    assert_eq!(s.get(&path, &pm).body["segment"], "enterprise");
    let changed = s.patch(
        &path,
        &pm,
        &json!({"segment": "smb", "notify_opt_in": false}),
    );
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["segment"], "smb");
    assert_eq!(changed.body["notify_opt_in"], false);
    assert_eq!(changed.body["account_value"], 50000.0);
    // The customer's items are re-indexed under the new segment.
    s.search_until("q=refund&segment=smb", &pm, |b| b["total"] == 2);
    let hits = s.get(
        "/api/v1/search?q=refund&segment=enterprise&mode=keyword",
        &pm,
    );
    assert_eq!(hits.body["total"], 0, "{:?}", hits.body);

    // Bad changes name their field; an email is not a detail that changes.
    for (body, field) in [
        (json!({"account_value": 1e13}), "account_value"),
        (json!({"account_value": -1}), "account_value"),
        (json!({"email": "other@corp.test"}), "email"),
    ] {
        let r = s.patch(&path, &pm, &body);
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.error_field(), Some(field), "{body}: {:?}", r.body);
    }
    // A patch that names nothing changes nothing (and is not an error).
    let same = s.patch(&path, &pm, &json!({}));
    assert_eq!(same.status, 200, "{:?}", same.body);
    assert_eq!(same.body["segment"], "smb", "{:?}", same.body);
    assert_eq!(
        s.patch("/api/v1/customers/999999", &pm, &json!({"segment": "x"}))
            .status,
        404
    );

    // account_value has an upper bound at intake, so no sum of them can overflow a score.
    let huge = s.post(
        "/api/v1/tickets",
        &support,
        &json!({"subject": "x", "body": "y", "customer": {"email": "new@corp.test", "account_value": 1e308}}),
    );
    assert_eq!(huge.status, 400, "{:?}", huge.body);
    assert_eq!(huge.error_field(), Some("customer.account_value"));

    // A duplicate create is a conflict naming the field, never a second 201.
    let dup = s.post("/api/v1/customers", &pm, &json!({"email": "vip@corp.test"}));
    assert_eq!(dup.status, 409);
    assert_eq!(dup.error_field(), Some("email"));
}

fn security_headers_on_every_response(env: &Env) {
    let token = env.token("pm");
    let s = env.serve();
    for (path, auth) in [
        ("/login", None),
        ("/backlog", None),
        ("/api/v1/tickets", Some(token.as_str())),
        ("/api/v1/tickets", None),
        ("/no/such/page", None),
        ("/healthz", None),
        ("/assets/suggest.js", None),
    ] {
        let mut req = s
            .client
            .get(format!("{}{path}", s.url))
            .header("Accept", "text/html");
        if let Some(t) = auth {
            req = req.bearer_auth(t);
        }
        let r = req.send().unwrap();
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_else(|| panic!("{path}: no script-src in {csp}"));
        assert_eq!(script, "script-src 'self'", "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
    // No page carries inline script (the CSP would block it): the ticket form's script is
    // a file.
    env.create_user("agent@corp.test", "Agent", "support", "agent-password-1");
    let (status, form) = s
        .sign_in("agent@corp.test", "agent-password-1")
        .get("/tickets/new");
    assert_eq!(status, 200);
    assert!(form.contains("src=\"/assets/suggest.js\""), "{form}");
    assert!(
        !form.contains("<script>"),
        "inline script on the ticket form"
    );
    let js = s
        .client
        .get(format!("{}/assets/suggest.js", s.url))
        .send()
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
}

fn sign_in_never_redirects_off_site(env: &Env) {
    let s = env.serve();
    // The login page puts `next` in a hidden field: a hostile one is replaced by /backlog.
    for next in [
        "//evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https://evil.example",
        "/\\evil.example",
    ] {
        let page = s
            .client
            .get(format!("{}/login", s.url))
            .query(&[("next", next)])
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            page.contains("name=\"next\" value=\"/backlog\""),
            "{next:?} kept: {page}"
        );
    }
}

fn cookies_are_secure_behind_https(env: &Env) {
    // Plain http (a laptop, the demo): no Secure flag, or browsers would drop the cookie.
    let s = env.serve();
    let page = s.client.get(format!("{}/login", s.url)).send().unwrap();
    let plain = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(plain.starts_with("triage_login="), "{plain}");
    assert!(!plain.contains("Secure"), "{plain}");
    s.stop();
    // Behind https: Secure and the __Host- prefix (no Domain, Path=/).
    env.set_var("TRIAGE_BASE_URL", "https://triage.example");
    let s = env.serve();
    let page = s.client.get(format!("{}/login", s.url)).send().unwrap();
    let secure = page.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(secure.starts_with("__Host-triage_login="), "{secure}");
    assert!(secure.contains("; Secure"), "{secure}");
    assert!(
        secure.contains("Path=/") && !secure.contains("Domain"),
        "{secure}"
    );
    assert!(secure.contains("HttpOnly"), "{secure}");
}

/// Posts the public survey form from `from` (a loopback address): status and page.
fn answer(
    s: &Server,
    from: &str,
    survey: &Value,
    email: &str,
    notify: bool,
) -> (u16, String, Option<String>) {
    let client = reqwest::blocking::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let sid = &survey["id"];
    let q = format!("q{}", survey["questions"][0]["id"]);
    let mut form = vec![(q.as_str(), "3"), ("email", email)];
    if notify {
        form.push(("notify_opt_in", "true"));
    }
    let r = client
        .post(format!("{}/s/{sid}", s.url))
        .form(&form)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.text().unwrap(), retry)
}

fn the_survey_page_changes_no_customer(env: &Env) {
    let mail = env.dir.path().join("mail");
    let sink = SmtpSink::start(free_port(), &mail);
    env.set_var("SMTP_URL", &sink.url());
    env.set_var("TRIAGE_SURVEY_ANSWERS_PER_IP_HOUR", "4");
    env.set_var("TRIAGE_SURVEY_ANSWERS_PER_MINUTE", "6");
    let pm = env.token("pm");
    let support = env.token("support");
    let s = env.serve();
    let survey = s
        .post(
            "/api/v1/surveys",
            &pm,
            &json!({"title": "NPS", "questions": [{"kind": "nps", "prompt": "Recommend us?"}]}),
        )
        .body;
    let sid = survey["id"].as_i64().unwrap();
    let out = s
        .post(
            "/api/v1/customers",
            &pm,
            &json!({"email": "quiet@corp.test", "segment": "enterprise"}),
        )
        .body;
    let inn = s
        .post(
            "/api/v1/customers",
            &pm,
            &json!({"email": "keen@corp.test", "notify_opt_in": true}),
        )
        .body;

    // An anonymous visitor opts a real customer in, and another one out: neither changes,
    // and neither answer is filed under them.
    let (status, page, _) = answer(&s, "127.0.0.1", &survey, "quiet@corp.test", true);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("follow the link we just sent"), "{page}");
    assert_eq!(
        answer(&s, "127.0.0.1", &survey, "keen@corp.test", false).0,
        200
    );
    let customer = |c: &Value| s.get(&format!("/api/v1/customers/{}", c["id"]), &pm).body;
    assert_eq!(customer(&out)["notify_opt_in"], false);
    assert_eq!(customer(&inn)["notify_opt_in"], true);
    let responses = s.get(&format!("/api/v1/surveys/{sid}/responses"), &pm).body;
    let rows = responses["items"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2, "{responses}");
    for r in &rows {
        assert!(
            r["customer_id"].is_null(),
            "an anonymous answer filed under a customer: {r}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r["respondent_email"] == "quiet@corp.test" && r["notify_requested"] == true));

    // The confirmation mail reaches the address typed; opening its link changes nothing
    // (mail scanners open links), pressing the button opts in and files the answer.
    let deadline = Instant::now() + Duration::from_secs(60);
    let link = loop {
        let found = received(&mail).into_iter().find_map(|raw| {
            let m = MessageParser::default().parse(&raw[..])?;
            let to = m.to()?.first()?.address()?.to_string();
            let text = m.body_text(0)?.to_string();
            let at = text.find("/confirm-email?")?;
            let start = text[..at].rfind("http")?;
            let end = text[at..]
                .find(char::is_whitespace)
                .map_or(text.len(), |e| at + e);
            (to == "quiet@corp.test").then(|| text[start..end].to_string())
        });
        if let Some(l) = found {
            break l;
        }
        assert!(Instant::now() < deadline, "no confirmation mail");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(
        received(&mail).len(),
        1,
        "only the request to hear back is confirmed by mail"
    );
    // (The link is on TRIAGE_BASE_URL, here the default bind address: open it on this server.)
    let url = reqwest::Url::parse(&link).unwrap();
    let link = format!("{}{}?{}", s.url, url.path(), url.query().unwrap());
    let opened = s.client.get(&link).send().unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().unwrap().contains("method=\"post\""));
    assert_eq!(
        customer(&out)["notify_opt_in"],
        false,
        "opening the link opted in"
    );
    let query: Vec<(String, String)> = reqwest::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut forged = query.clone();
    forged[1].1 = "0".repeat(64);
    let bad = s
        .client
        .post(format!("{}/confirm-email", s.url))
        .form(&forged)
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(customer(&out)["notify_opt_in"], false);
    let ok = s
        .client
        .post(format!("{}/confirm-email", s.url))
        .form(&query)
        .send()
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(customer(&out)["notify_opt_in"], true);
    let responses = s.get(&format!("/api/v1/surveys/{sid}/responses"), &pm).body;
    assert!(responses["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["customer_id"] == out["id"]));
    let again = s
        .client
        .post(format!("{}/confirm-email", s.url))
        .form(&query)
        .send()
        .unwrap();
    assert!(again.text().unwrap().contains("already confirmed"));

    // Rate limits: 4 answers an hour from one address (two used above), 6 a minute for one
    // survey (a fresh one, so the minutes spent waiting for mail do not count).
    let busy = s
        .post(
            "/api/v1/surveys",
            &pm,
            &json!({"title": "Busy", "questions": [{"kind": "nps", "prompt": "?"}]}),
        )
        .body;
    assert_eq!(answer(&s, "127.0.0.1", &busy, "", false).0, 200);
    assert_eq!(answer(&s, "127.0.0.1", &busy, "", false).0, 200);
    let (status, _, retry) = answer(&s, "127.0.0.1", &busy, "", false);
    assert_eq!(status, 429, "a fifth answer from one address");
    assert!(retry.unwrap().parse::<u64>().unwrap() > 0);
    for from in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"] {
        assert_eq!(answer(&s, from, &busy, "", false).0, 200, "{from}");
    }
    let (status, page, _) = answer(&s, "127.0.0.6", &busy, "", false);
    assert_eq!(
        status, 429,
        "a seventh answer to the survey within a minute: {page}"
    );
    let total = s
        .get(&format!("/api/v1/surveys/{}/responses", busy["id"]), &pm)
        .body["total"]
        .clone();
    assert_eq!(total, 6);

    // Closing: pm and admin only; a closed survey takes no answers, from the page or the API.
    let path = format!("/api/v1/surveys/{sid}");
    assert_eq!(
        s.patch(&path, &support, &json!({"closed": true})).status,
        403
    );
    let closed = s.patch(&path, &pm, &json!({"closed": true}));
    assert_eq!(closed.status, 200, "{:?}", closed.body);
    assert!(closed.body["closed_at"].is_string());
    let page = s.client.get(format!("{}/s/{sid}", s.url)).send().unwrap();
    assert_eq!(page.status(), 409);
    assert!(page.text().unwrap().contains("closed"));
    let q = survey["questions"][0]["id"].to_string();
    let api = s.post(
        &format!("/api/v1/surveys/{sid}/responses"),
        &support,
        &json!({"answers": {q: 9}}),
    );
    assert_eq!(api.status, 409, "{:?}", api.body);
    assert_eq!(api.error_field(), Some("survey_id"));
    assert_eq!(
        s.patch(&path, &pm, &json!({"closed": false})).body["closed_at"],
        Value::Null
    );
}

/// One sign-in through the form from loopback address `from`: status and time taken.
fn attempt(s: &Server, from: &str, email: &str, password: &str) -> (u16, Duration) {
    let client = reqwest::blocking::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client.get(format!("{}/login", s.url)).send().unwrap();
    let cookie = triage_e2e::set_cookie(&page, "triage_login").unwrap();
    let csrf = triage_e2e::hidden(&page.text().unwrap(), "login_csrf");
    let started = Instant::now();
    let r = client
        .post(format!("{}/login", s.url))
        .header("cookie", cookie)
        .form(&[
            ("login_csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .unwrap();
    (r.status().as_u16(), started.elapsed())
}

fn median(mut d: Vec<Duration>) -> Duration {
    d.sort();
    d[d.len() / 2]
}

fn sign_in_is_throttled_and_says_nothing_about_accounts(env: &Env) {
    env.create_user("ana@corp.test", "Ana", "pm", "ana-password-1");
    env.create_user("bo@corp.test", "Bo", "pm", "bo-password-11");
    for i in 0..5 {
        env.create_user(
            &format!("known{i}@corp.test"),
            "K",
            "pm",
            "known-password-1",
        );
    }
    let s = env.serve();

    // An unknown email costs the same password check as a known one, so timing does not
    // tell which emails have accounts. Both sides fail the same way (a wrong password, the
    // first failure of each account, so no added delay): a successful sign-in also writes
    // a session, which is not what an attacker guessing emails sees.
    for _ in 0..5 {
        // Five sign-ins that work (the per-account limit below counts them).
        assert_eq!(
            attempt(&s, "127.0.0.2", "ana@corp.test", "ana-password-1").0,
            303
        );
    }
    let known: Vec<Duration> = (0..5)
        .map(|i| {
            let email = format!("known{i}@corp.test");
            let (status, took) = attempt(&s, "127.0.0.2", &email, "whatever-123");
            assert_eq!(status, 401);
            took
        })
        .collect();
    let unknown: Vec<Duration> = (0..5)
        .map(|i| {
            let (status, took) = attempt(
                &s,
                "127.0.0.2",
                &format!("nobody{i}@corp.test"),
                "whatever-123",
            );
            assert_eq!(status, 401);
            took
        })
        .collect();
    let (known, unknown) = (median(known), median(unknown));
    assert!(
        unknown * 2 >= known,
        "unknown emails answer faster ({unknown:?}) than known ones ({known:?})"
    );

    // Failures in a row for one account wait longer and longer: the fourth waits ≥ 1 s.
    let first = attempt(&s, "127.0.0.3", "bo@corp.test", "wrong-password");
    assert_eq!(first.0, 401);
    attempt(&s, "127.0.0.3", "bo@corp.test", "wrong-password");
    attempt(&s, "127.0.0.3", "bo@corp.test", "wrong-password");
    let fourth = attempt(&s, "127.0.0.3", "bo@corp.test", "wrong-password");
    assert_eq!(fourth.0, 401);
    assert!(fourth.1 >= Duration::from_millis(1000), "{:?}", fourth.1);
    assert!(first.1 < Duration::from_millis(1000), "{:?}", first.1);
    // A success clears the streak.
    assert_eq!(
        attempt(&s, "127.0.0.3", "bo@corp.test", "bo-password-11").0,
        303
    );

    // Ten attempts per account per 15 minutes (ana used five), from any address: then
    // 429, even with the right password.
    for from in [
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
        "127.0.0.7",
        "127.0.0.8",
    ] {
        assert_eq!(
            attempt(&s, from, "ana@corp.test", "ana-password-1").0,
            303,
            "{from}"
        );
    }
    assert_eq!(
        attempt(&s, "127.0.0.9", "ana@corp.test", "ana-password-1").0,
        429
    );

    // Twenty attempts per address per minute, whatever the accounts.
    for i in 0..20 {
        assert_eq!(
            attempt(&s, "127.0.0.10", &format!("x{i}@corp.test"), "whatever-123").0,
            401
        );
    }
    let page = s.client.get(format!("{}/login", s.url)).send().unwrap();
    assert_eq!(page.status(), 200, "the page itself is not limited");
    assert_eq!(
        attempt(&s, "127.0.0.10", "y@corp.test", "whatever-123").0,
        429
    );
}

fn password_change_and_sign_out_everywhere(env: &Env) {
    env.create_user("cy@corp.test", "Cy", "pm", "cy-password-01");
    let s = env.serve();
    let here = s.sign_in("cy@corp.test", "cy-password-01");
    let laptop = s.sign_in("cy@corp.test", "cy-password-01");
    let change = |current: &str, new: &str| {
        here.post_form(
            "/settings",
            "/settings/password",
            &[("current_password", current), ("new_password", new)],
        )
        .status()
        .as_u16()
    };
    assert_eq!(change("not-my-password", "cy-password-02"), 400);
    assert_eq!(change("cy-password-01", "short"), 400);
    assert_eq!(
        laptop.get("/settings").0,
        200,
        "a refused change signs nobody out"
    );
    assert_eq!(change("cy-password-01", "cy-password-02"), 303);
    // This session goes on; every other one is signed out; only the new password works.
    assert_eq!(here.get("/settings").0, 200);
    assert_eq!(
        laptop.get("/settings").0,
        303,
        "the other session still works"
    );
    assert_eq!(
        attempt(&s, "127.0.0.20", "cy@corp.test", "cy-password-01").0,
        401
    );
    let phone = s.sign_in("cy@corp.test", "cy-password-02");
    // Sign out everywhere: this session and the phone's.
    let out = here.post_form("/settings", "/logout/everywhere", &[]);
    assert_eq!(out.status(), 303);
    assert_eq!(here.get("/settings").0, 303);
    assert_eq!(phone.get("/settings").0, 303);
}

fn tokens_are_listed_revoked_and_expire(env: &Env) {
    let admin = env.token("admin");
    let support = env.token("support");
    let s = env.serve();
    assert_eq!(s.get("/api/v1/tokens", &support).status, 403);
    let made = s.post(
        "/api/v1/tokens",
        &admin,
        &json!({"name": "zapier", "role": "pm", "expires_in_days": 30}),
    );
    assert_eq!(made.status, 201, "{:?}", made.body);
    let pm = made.body["token"].as_str().unwrap().to_string();
    assert!(made.body["expires_at"].is_string());
    assert_eq!(s.get("/api/v1/tickets", &pm).status, 200);
    let listed = s.get("/api/v1/tokens", &admin).body;
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "zapier")
        .unwrap()
        .clone();
    assert!(row["last_used_at"].is_string(), "{row}");
    assert!(
        row.get("token").is_none() && row.get("token_hash").is_none(),
        "{row}"
    );
    // Revoked: refused from the very next request.
    let id = row["id"].as_i64().unwrap();
    assert_eq!(
        s.client
            .delete(format!("{}/api/v1/tokens/{id}", s.url))
            .bearer_auth(&support)
            .send()
            .unwrap()
            .status(),
        403
    );
    let gone = s
        .client
        .delete(format!("{}/api/v1/tokens/{id}", s.url))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(gone.status(), 200);
    assert_eq!(s.get("/api/v1/tickets", &pm).status, 401);
    for (body, field) in [
        (
            json!({"name": "x", "role": "pm", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (json!({"name": "x", "role": "owner"}), "role"),
        (json!({"name": " ", "role": "pm"}), "name"),
    ] {
        let r = s.post("/api/v1/tokens", &admin, &body);
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.error_field(), Some(field), "{body}");
    }
    // The CLI: list (JSON, no secrets) and revoke by id.
    let list: Value =
        serde_json::from_str(env.run_ok(&["token", "list", "--json"]).trim()).unwrap();
    let support_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "test support")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(!env.run_ok(&["token", "list"]).contains("trg_"));
    env.run_ok(&["token", "revoke", &support_id.to_string()]);
    assert_eq!(s.get("/api/v1/tickets", &support).status, 401);
}
