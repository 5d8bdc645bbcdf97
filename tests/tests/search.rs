//! Search over HTTP: stemming, typos, filters, snippets, pagination, sorting.

use serde_json::{json, Value};
use triage_e2e::{on_both, Env, Server};

on_both!(search_finds_ranks_filters_and_pages);

fn ids(v: &Value) -> Vec<i64> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["source_id"].as_i64().unwrap())
        .collect()
}

fn post(s: &Server, token: &str, path: &str, body: Value) -> i64 {
    let r = s.post(path, token, &body);
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn search_finds_ranks_filters_and_pages(env: &Env) {
    let token = env.token("pm");
    let s = env.serve();
    let t = "/api/v1/tickets";
    let refund = post(
        &s,
        &token,
        t,
        json!({"subject": "Refund not received", "body": "I was promised a refund two weeks ago and it never arrived.",
        "created_at": "2026-10-01T10:00:00Z", "customer": {"email": "e@corp.test", "segment": "enterprise"}}),
    );
    let refunded = post(
        &s,
        &token,
        t,
        json!({"subject": "Charged twice", "body": "They refunded one charge but the other is still there.",
        "created_at": "2026-11-10T10:00:00Z", "customer": {"email": "s@small.test", "segment": "smb"}}),
    );
    let script = post(
        &s,
        &token,
        t,
        json!({"subject": "Weird <script>alert(1)</script> in invoice", "body": "The invoice shows <b>raw tags</b> & symbols",
        "created_at": "2026-11-12T10:00:00Z"}),
    );
    let low = post(
        &s,
        &token,
        "/api/v1/ratings",
        json!({"score": 1, "comment": "Password reset email never arrives", "created_at": "2026-11-01T00:00:00Z"}),
    );
    let high = post(
        &s,
        &token,
        "/api/v1/ratings",
        json!({"score": 5, "comment": "Password reset was quick", "created_at": "2026-11-02T00:00:00Z"}),
    );
    for i in 0..30 {
        post(
            &s,
            &token,
            t,
            json!({"subject": format!("Dashboard slow {i}"), "body": "The dashboard takes ages to load",
            "created_at": format!("2026-09-{:02}T08:00:00Z", i % 28 + 1)}),
        );
    }
    s.wait_indexed();
    let q = |query: &str| s.get(&format!("/api/v1/search?{query}"), &token);

    // Stemming: "refunds" finds both "refund" and "refunded".
    let r = q("q=refunds");
    assert_eq!(r.body["total"], 2, "{:?}", r.body);
    assert!(ids(&r.body).contains(&refund) && ids(&r.body).contains(&refunded));
    // Subject matches rank above body-only matches.
    assert_eq!(ids(&r.body)[0], refund);
    // Every word must match.
    assert_eq!(ids(&q("q=refund+promised").body), vec![refund]);
    assert_eq!(q("q=refund+dashboard").body["total"], 0);

    // One wrong letter still finds the item, and says what it corrected.
    let typo = q("q=pasword+resett");
    assert_eq!(typo.body["total"], 2, "{:?}", typo.body);
    assert_eq!(typo.body["corrections"][0]["word"], "pasword");
    let transposed = q("q=dashbaord");
    assert_eq!(transposed.body["total"], 30, "{:?}", transposed.body);

    // Snippets highlight matches and escape user text.
    let r = q("q=invoice");
    let snippet = r.body["hits"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<b>invoice</b>"), "{snippet}");
    assert!(
        snippet.contains("&lt;b&gt;raw tags&lt;/b&gt;") && snippet.contains("&amp;"),
        "{snippet}"
    );
    assert!(
        !snippet.contains("<script>") && !snippet.contains("<b>raw"),
        "{snippet}"
    );
    assert_eq!(r.body["hits"][0]["source_id"], script);

    // Filters: kind, score range, segment, dates.
    assert_eq!(q("q=password&kind=rating").body["total"], 2);
    assert_eq!(q("q=password&kind=ticket").body["total"], 0);
    assert_eq!(ids(&q("q=password&max_score=0.5").body), vec![low]);
    assert_eq!(ids(&q("q=password&min_score=0.9").body), vec![high]);
    assert_eq!(ids(&q("q=refund&segment=smb").body), vec![refunded]);
    assert_eq!(ids(&q("q=refund&from=2026-11-01").body), vec![refunded]);
    assert_eq!(
        ids(&q("q=refund&to=2026-10-01").body),
        vec![refund],
        "a date includes its whole day"
    );
    assert_eq!(q("q=refund&from=2026-10-02&to=2026-11-09").body["total"], 0);
    assert_eq!(
        q("kind=rating").body["total"],
        2,
        "no words: every item passing the filters"
    );

    // Pagination and sorting.
    let p1 = q("q=dashboard&limit=10&sort=newest");
    let p2 = q("q=dashboard&limit=10&offset=10&sort=newest");
    let p4 = q("q=dashboard&limit=10&offset=30&sort=newest");
    assert_eq!(p1.body["total"], 30);
    assert_eq!(p1.body["hits"].as_array().unwrap().len(), 10);
    assert_eq!(p4.body["hits"].as_array().unwrap().len(), 0);
    let dates = |v: &Value| -> Vec<String> {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["created_at"].as_str().unwrap().to_string())
            .collect()
    };
    let mut all = dates(&p1.body);
    all.extend(dates(&p2.body));
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(all, sorted, "newest first across pages");
    assert!(
        ids(&p1.body).iter().all(|id| !ids(&p2.body).contains(id)),
        "pages do not overlap"
    );
    let oldest = q("q=dashboard&limit=1&sort=oldest");
    assert_eq!(oldest.body["hits"][0]["created_at"], "2026-09-01T08:00:00Z");
    let relevance = q("q=refund");
    let scores: Vec<f64> = relevance.body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}
