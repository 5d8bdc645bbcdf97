//! The index crate on its own: documents in, searches out, damage detected.

use chrono::{TimeZone, Utc};
use triage_index::{FeedbackIndex, IndexDoc, OpenState, SearchRequest, SortOrder};

fn doc(id: u64, subject: &str, text: &str, day: u32) -> IndexDoc {
    IndexDoc {
        id,
        source_id: id * 10,
        kind: if id % 2 == 0 { "ticket" } else { "rating" }.into(),
        subject: Some(subject.into()),
        text: text.into(),
        segment: Some(if id < 3 { "enterprise" } else { "smb" }.into()),
        theme: Some(id % 2),
        score: (id % 2 == 1).then_some(id as f64 / 10.0),
        created_at: Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap(),
    }
}

fn search(index: &FeedbackIndex, q: &str) -> Vec<u64> {
    let req = SearchRequest {
        query: q.into(),
        limit: 10,
        ..Default::default()
    };
    index
        .search(&req)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.id)
        .collect()
}

fn filled() -> (tempfile::TempDir, FeedbackIndex) {
    let dir = tempfile::tempdir().unwrap();
    let (index, state) = FeedbackIndex::open(&dir.path().join("idx")).unwrap();
    assert_eq!(state, OpenState::Created);
    let mut w = index.writer(20_000_000).unwrap();
    w.upsert(&doc(1, "Refund delayed", "My refund has not arrived", 1))
        .unwrap();
    w.upsert(&doc(2, "Card declined", "The card was declined abroad", 2))
        .unwrap();
    w.upsert(&doc(3, "Refunding twice", "They are refunding me twice", 3))
        .unwrap();
    w.upsert(&doc(4, "Dark mode", "Please add a dark theme", 4))
        .unwrap();
    w.finish().unwrap();
    (dir, index)
}

#[test]
fn upsert_replaces_and_delete_removes() {
    let (_dir, index) = filled();
    let mut w = index.writer(20_000_000).unwrap();
    w.upsert(&doc(4, "Dark mode", "Night theme wanted", 4))
        .unwrap();
    w.delete(2);
    w.commit().unwrap();
    assert_eq!(index.num_docs(), 3);
    assert_eq!(search(&index, "night"), vec![4]);
    assert!(
        search(&index, "please").is_empty(),
        "the old version of 4 is gone"
    );
    assert!(search(&index, "declined").is_empty());
}

#[test]
fn stems_requires_every_word_and_forgives_one_typo() {
    let (_dir, index) = filled();
    let mut hits = search(&index, "refunds");
    hits.sort();
    assert_eq!(hits, vec![1, 3]);
    assert_eq!(search(&index, "refund arrived"), vec![1]);
    assert!(search(&index, "refund dark").is_empty());
    let r = index
        .search(&SearchRequest {
            query: "declnied".into(),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![2]);
    assert_eq!(
        r.corrections,
        vec![("declnied".to_string(), vec!["declined".to_string()])],
        "the correction reads as the hits' word, not its stem"
    );
    assert!(
        search(&index, "zzzz").is_empty(),
        "no near word: nothing, not everything"
    );
}

#[test]
fn filters_sort_and_page() {
    let (_dir, index) = filled();
    let all = |f: &dyn Fn(&mut SearchRequest)| {
        let mut req = SearchRequest {
            limit: 10,
            ..Default::default()
        };
        f(&mut req);
        index.search(&req).unwrap()
    };
    assert_eq!(all(&|_| {}).total, 4);
    assert_eq!(all(&|r| r.kinds = vec!["rating".into()]).total, 2);
    assert_eq!(all(&|r| r.segment = Some("enterprise".into())).total, 2);
    assert_eq!(
        all(&|r| r.theme = Some(1))
            .hits
            .iter()
            .map(|h| h.id)
            .collect::<Vec<_>>()
            .len(),
        2
    );
    assert_eq!(
        all(&|r| r.min_score = Some(0.2))
            .hits
            .iter()
            .map(|h| h.id)
            .collect::<Vec<_>>(),
        vec![3]
    );
    let from = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 11, 4, 0, 0, 0).unwrap();
    assert_eq!(
        all(&|r| {
            r.from = Some(from);
            r.to = Some(to)
        })
        .total,
        2
    );
    let newest = all(&|r| {
        r.sort = SortOrder::Newest;
        r.limit = 2
    });
    assert_eq!(
        newest.hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![4, 3]
    );
    assert_eq!(newest.total, 4);
    let page2 = all(&|r| {
        r.sort = SortOrder::Newest;
        r.limit = 2;
        r.offset = 2
    });
    assert_eq!(
        page2.hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![2, 1]
    );
}

#[test]
fn reopens_what_was_committed_and_recreates_what_is_damaged() {
    let (dir, index) = filled();
    drop(index);
    let path = dir.path().join("idx");
    let (again, state) = FeedbackIndex::open(&path).unwrap();
    assert_eq!(state, OpenState::Existing);
    assert_eq!(again.num_docs(), 4);
    drop(again);
    std::fs::write(path.join("meta.json"), "garbage").unwrap();
    let (fresh, state) = FeedbackIndex::open(&path).unwrap();
    assert_eq!(state, OpenState::Recreated);
    assert_eq!(fresh.num_docs(), 0);
}

#[test]
fn one_writer_at_a_time() {
    let (_dir, index) = filled();
    let _w = index.writer(20_000_000).unwrap();
    assert!(matches!(
        index.writer(20_000_000),
        Err(triage_index::Error::Locked)
    ));
}

#[test]
fn match_any_ranks_partial_matches_for_drafts() {
    let (_dir, index) = filled();
    let req = SearchRequest {
        query: "my refund still has not arrived, and a dark screen".into(),
        match_any: true,
        limit: 10,
        ..Default::default()
    };
    let ids: Vec<u64> = index
        .search(&req)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(
        ids.first(),
        Some(&1),
        "most words in common ranks first: {ids:?}"
    );
    assert!(ids.contains(&4), "one shared word is enough: {ids:?}");
    assert!(!ids.contains(&2), "no shared word, no match: {ids:?}");
    assert!(
        search(&index, "refund dark").is_empty(),
        "without match_any every word is still required"
    );
}

#[test]
fn hits_found_by_meaning_are_checked_against_filters_and_deletions() {
    let (_dir, index) = filled();
    let smb = SearchRequest {
        query: "refund".into(),
        segment: Some("smb".into()),
        limit: 10,
        ..Default::default()
    };
    // Ranked by some other signal: 4, 1, 3, 99 (99 is not indexed: a deleted item).
    let ranked = [(4, 0.9), (1, 0.8), (3, 0.7), (99, 0.6)];
    let hits = index.hits_for(&smb, &ranked).unwrap();
    let ids: Vec<u64> = hits.iter().map(|h| h.id).collect();
    assert_eq!(
        ids,
        vec![4, 3],
        "segment filter and order kept, unknown id dropped"
    );
    assert!(hits[1].snippet.contains("<b>"), "{}", hits[1].snippet);
    assert!(
        !hits[0].snippet.contains("<b>"),
        "no word of the query in item 4"
    );
    assert_eq!(hits[0].relevance, 0.9);

    let words: Vec<u64> = index
        .matching_among(&smb, &[1, 3, 4])
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(words, vec![3], "words and filters both apply");
    let all = SearchRequest::default();
    assert_eq!(index.filtered_ids(&all).unwrap(), None);
    let smb_ids: Vec<u64> = index
        .filtered_ids(&smb)
        .unwrap()
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(smb_ids, vec![3, 4]);
}

#[test]
fn rank_orders_like_search_and_filters_give_the_ids_that_pass() {
    let (_dir, index) = filled();
    let req = SearchRequest {
        query: "refund".into(),
        limit: 10,
        ..Default::default()
    };
    let full = index.search(&req).unwrap();
    let ranked = index.rank(&req).unwrap();
    assert_eq!(ranked.total, full.total);
    assert_eq!(
        ranked.ids,
        full.hits
            .iter()
            .map(|h| (h.id, h.relevance))
            .collect::<Vec<_>>()
    );
    assert!(index
        .filtered_ids(&SearchRequest::default())
        .unwrap()
        .is_none());
    let enterprise = SearchRequest {
        segment: Some("enterprise".into()),
        ..Default::default()
    };
    let ids = index.filtered_ids(&enterprise).unwrap().unwrap();
    assert_eq!(ids.iter().collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(
        index
            .passing_among(&enterprise, &[1, 3, 4, 99])
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![1],
        "3 and 4 are smb, 99 is not indexed"
    );
}

#[test]
fn a_correction_reads_as_a_word_even_when_no_hit_shown_has_it() {
    let (_dir, index) = filled();
    let corrections = vec![("arived".to_string(), vec!["arriv".to_string()])];
    assert_eq!(
        index.readable_corrections(corrections, &[]).unwrap(),
        vec![("arived".to_string(), vec!["arrived".to_string()])]
    );
}
