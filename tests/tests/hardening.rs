//! Safe on the open internet: nobody changes what is not theirs, bad values are refused,
//! every page carries the security headers, and cookies fit the deployment.

use serde_json::json;
use triage_e2e::{on_both, Env};

on_both!(
    intake_never_changes_a_customer,
    security_headers_on_every_response,
    sign_in_never_redirects_off_site,
    cookies_are_secure_behind_https
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
    let hits = s.get("/api/v1/search?q=refund&segment=enterprise", &pm);
    assert_eq!(hits.body["total"], 0, "{:?}", hits.body);

    // Bad changes name their field; an email is not a detail that changes.
    for (body, field) in [
        (json!({"account_value": 1e13}), "account_value"),
        (json!({"account_value": -1}), "account_value"),
        (json!({}), "body"),
        (json!({"email": "other@corp.test"}), "email"),
    ] {
        let r = s.patch(&path, &pm, &body);
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.error_field(), Some(field), "{body}: {:?}", r.body);
    }
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
