//! Search over HTTP: stemming, typos, filters, snippets, pagination, sorting; and by
//! meaning, with the real model.

use serde_json::{json, Value};
use triage_e2e::{on_both, Env, Server};

on_both!(
    search_finds_ranks_filters_and_pages,
    search_by_meaning_finds_paraphrases_corrects_typos_and_keeps_filters,
);

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
    // Keyword semantics (every word must match): the meaning half is tested below.
    let q = |query: &str| s.get(&format!("/api/v1/search?{query}&mode=keyword"), &token);

    // Stemming: "refunds" finds both "refund" and "refunded".
    let r = q("q=refunds");
    assert_eq!(r.body["total"], 2, "{:?}", r.body);
    assert!(ids(&r.body).contains(&refund) && ids(&r.body).contains(&refunded));
    // Subject matches rank above body-only matches.
    assert_eq!(ids(&r.body)[0], refund);
    // Every word must match.
    assert_eq!(ids(&q("q=refund+promised").body), vec![refund]);
    // No item has both: items with either are shown, and the response says so.
    let either = q("q=refund+dashboard");
    assert_eq!(either.body["relaxed"], "some_words", "{:?}", either.body);
    assert_eq!(either.body["total"], 32, "2 with refund, 30 with dashboard");
    assert_eq!(q("q=refund+promised").body["relaxed"], Value::Null);

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

/// Hybrid search with the real model: a paraphrase with no word in common finds its item,
/// a typo correction never outranks what was typed, filters hold in every mode, and the
/// response says when it relaxed the words.
fn search_by_meaning_finds_paraphrases_corrects_typos_and_keeps_filters(env: &Env) {
    let token = env.token("pm");
    let s = env.serve();
    let ticket = |body: &str, segment: &str| {
        post(
            &s,
            &token,
            "/api/v1/tickets",
            json!({"subject": "Ticket", "body": body, "customer": {"email": format!("{segment}@x.test"), "segment": segment}}),
        )
    };
    let courier = ticket("The courier never delivered my bank card", "smb");
    let post_card = ticket(
        "My new card still has not shown up in the post",
        "enterprise",
    );
    let freezing = ticket("The app keeps freezing and then shuts down", "enterprise");
    let cash = ticket("I withdrew cash from an ATM yesterday", "smb");
    ticket("Dark mode please, the screen is too bright", "smb");
    s.wait_indexed();
    s.wait_embedded();
    let q = |query: &str| {
        let r = s.get(&format!("/api/v1/search?{query}"), &token);
        assert_eq!(r.status, 200, "{query}: {:?}", r.body);
        r.body
    };

    // No word in common with the courier ticket: keyword search finds nothing, meaning does.
    let words = q("q=parcel+didn%27t+arrive&mode=keyword");
    assert_eq!(words["total"], 0, "{words}");
    assert_eq!(words["mode"], "keyword");
    for mode in ["hybrid", "semantic"] {
        let r = q(&format!("q=parcel+didn%27t+arrive&mode={mode}"));
        assert_eq!(ids(&r)[0], courier, "{mode}: {r}");
        assert_eq!(r["mode"], mode);
    }
    let hybrid = q("q=parcel+didn%27t+arrive");
    assert_eq!(hybrid["mode"], "hybrid", "hybrid is the default");
    assert_eq!(hybrid["relaxed"], "meaning", "{hybrid}");

    // Filters hold in every mode: the courier ticket is smb.
    for mode in ["hybrid", "semantic", "keyword"] {
        let r = q(&format!(
            "q=parcel+didn%27t+arrive&mode={mode}&segment=enterprise"
        ));
        assert!(!ids(&r).contains(&courier), "{mode}: {r}");
        let r = q(&format!("q=parcel+didn%27t+arrive&mode={mode}&kind=rating"));
        assert_eq!(r["total"], 0, "{mode}: {r}");
    }
    let card = q("q=card+delivery&segment=enterprise&mode=semantic");
    assert_eq!(ids(&card)[0], post_card, "{card}");

    // "crashes" is in no item: corrected to "cash", but the item about crashing (found by
    // meaning) ranks above the one that only has the guessed word.
    let typo = q("q=crashes");
    assert_eq!(typo["corrections"][0]["word"], "crashes", "{typo}");
    let found = ids(&typo);
    assert_eq!(found[0], freezing, "{typo}");
    assert!(
        found.contains(&cash),
        "the corrected word still matches: {typo}"
    );
    let exact = q("q=crashes&exact=true&mode=keyword");
    assert_eq!(
        exact["total"], 0,
        "exact=true turns correction off: {exact}"
    );
    // Similar feedback: the other card-delivery ticket is the courier ticket's nearest.
    let item = q("q=courier&mode=keyword")["hits"][0]["id"]
        .as_i64()
        .unwrap();
    let similar = s.get(&format!("/api/v1/items/{item}/similar?limit=3"), &token);
    assert_eq!(similar.status, 200, "{:?}", similar.body);
    assert_eq!(ids(&similar.body)[0], post_card, "{:?}", similar.body);
    assert!(!ids(&similar.body).contains(&courier), "not itself");
    assert_eq!(s.get("/api/v1/items/999999/similar", &token).status, 404);
    assert_eq!(s.get("/api/v1/themes/999999/similar", &token).status, 404);
    assert_eq!(
        s.get(&format!("/api/v1/items/{item}/similar"), "").status,
        401
    );

    let bad = s.get("/api/v1/search?q=x&mode=fuzzy", &token);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["field"], "mode");
}
