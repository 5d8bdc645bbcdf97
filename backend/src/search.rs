//! Search over all feedback, by words and by meaning: the one service behind
//! `GET /api/v1/search` and the search page.
//!
//! * **keyword**: BM25 over the text index (every word must match, stemming, one-edit typo
//!   correction for words the index has never seen) — what [`triage_index::search`] does.
//! * **semantic**: the query embedded with the model that embedded the items, then its
//!   nearest items in the vector graph ([`triage_index::vectors`]), those below
//!   [`MIN_SIMILARITY`] dropped.
//! * **hybrid** (the default): both lists fused by weighted reciprocal rank fusion,
//!   `Σ weight / (RRF_K + rank)` (Cormack, Clarke & Büttcher 2009): no score calibration
//!   between BM25 and cosine is needed, only ranks. The weights ([`KEYWORD_WEIGHT`]) were
//!   chosen on labelled queries and checked on others. When the keyword list rests on a
//!   typo correction its weight is halved, and items found *only* through the guessed word (none of the typed words, not
//!   close in meaning) come after all the others: a correction never outranks what was
//!   typed.
//!
//! Filters (kind, segment, theme, area, dates, score) apply to both halves: the graph search
//! only walks to items that pass them, and every hit found by meaning is looked up in the
//! text index, which also drops items deleted since the graph last saw them.
//!
//! **No dead ends.** When no item has every word, the keyword half relaxes to items with
//! any of them (best first), and in hybrid mode the meaning half fills in; [`Found::relaxed`]
//! says which happened so the page can say so.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use triage_index::{
    FeedbackIndex, Ranked, SearchHit, SearchRequest, SearchResults, SortOrder, VectorIndex,
};

use crate::embed::Embedder;
use crate::{Error, Result};

/// Reciprocal rank fusion's constant; 60 is the value of the original paper and of most
/// engines that fuse this way (Elasticsearch, OpenSearch, Vespa).
pub const RRF_K: f32 = 60.0;
/// Weight of the keyword list in the fusion (the meaning list weighs 1), and of the keyword
/// list when it was relaxed to "some of the words". Chosen on one labelled query set and
/// checked on another (`triage bench relevance`, docs/benchmarks.md): on held-out messages
/// as queries, equal weights (plain RRF) put hybrid *below* meaning alone (nDCG@10 0.848
/// against 0.875), because the keyword list there is mostly "some of the words" matches;
/// (0.25, 0.1) was best of the 18 pairs tried on that set (0.877) and, unchanged, also beats
/// meaning alone on the 100 short queries (0.887 against 0.884). Words still decide among
/// items equally close in meaning, and an exact match of rare words (a name, an error code)
/// found by both lists rises to the top.
pub const KEYWORD_WEIGHT: f32 = 0.25;
pub const RELAXED_KEYWORD_WEIGHT: f32 = 0.1;
/// Below this cosine similarity an item is not "about" the query. For all-MiniLM-L6-v2,
/// unrelated sentences score about 0–0.2 and paraphrases 0.5 and up.
pub const MIN_SIMILARITY: f32 = 0.3;
/// Items fused from each half at least (more when the page asked for is deeper).
const WINDOW: usize = 100;
/// The meaning half never returns more than this many items.
const SEMANTIC_DEPTH: usize = 1000;

/// How to search.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Keyword,
    Semantic,
    #[default]
    Hybrid,
}

/// What was shown because no item had every word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relaxed {
    /// Items with some of the words, best first.
    SomeWords,
    /// No item has any of the words: the closest items by meaning.
    Meaning,
}

/// What a search found.
#[derive(Debug, Clone)]
pub struct Found {
    /// Matching items beyond the page.
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// Typo corrections applied: (word as typed, indexed words used instead).
    pub corrections: Vec<(String, Vec<String>)>,
    pub relaxed: Option<Relaxed>,
    /// The mode that ran: semantic and hybrid become keyword when the model is off.
    pub mode: Mode,
    /// The query's words as the index reads them (for "no item has all of …").
    pub words: Vec<String>,
}

/// What search needs: the text index, and the graph and model when they are on.
#[derive(Clone)]
pub struct Engines {
    pub text: Arc<FeedbackIndex>,
    pub vectors: Option<Arc<VectorIndex>>,
    pub embedder: Option<Arc<dyn Embedder + Sync>>,
}

impl Engines {
    /// Runs `req` in `mode`.
    pub async fn search(&self, req: SearchRequest, mode: Mode) -> Result<Found> {
        let by_meaning = match (&self.vectors, &self.embedder) {
            (Some(v), Some(e))
                if mode != Mode::Keyword
                    && !req.query.trim().is_empty()
                    && req.sort == SortOrder::Relevance =>
            {
                Some((v.clone(), e.clone()))
            }
            _ => None,
        };
        let started = std::time::Instant::now();
        let query_vector = match &by_meaning {
            Some((_, embedder)) => Some(embed_query(embedder.clone(), &req.query).await?),
            None => None,
        };
        let embedded = started.elapsed();
        let text = self.text.clone();
        let run_mode = match (&by_meaning, mode) {
            (None, _) => Mode::Keyword,
            (Some(_), m) => m,
        };
        let graph = by_meaning.map(|(v, _)| v);
        let found = tokio::task::spawn_blocking(move || {
            run_blocking(
                &text,
                graph.as_deref(),
                query_vector.as_deref(),
                req,
                run_mode,
            )
        })
        .await
        .map_err(Error::failed("search task failed"))?;
        tracing::debug!(
            embed_ms = embedded.as_secs_f64() * 1000.0,
            total_ms = started.elapsed().as_secs_f64() * 1000.0,
            "searched"
        );
        found
    }
}

/// Items like a given item or theme ("similar feedback"): nearest in meaning, best first.
impl Engines {
    /// The items nearest item `id` in meaning (itself left out). Empty while the item is
    /// not embedded yet or the model is off; 404 for an unknown item.
    pub async fn similar_to_item<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        id: i64,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        if crate::db::items::by_ids(db, &[id]).await?.is_empty() {
            return Err(Error::not_found("item", id));
        }
        let Some(graph) = &self.vectors else {
            return Ok(Vec::new());
        };
        let own = crate::db::embeddings::for_items(db, graph.model(), &[id]).await?;
        let Some((_, vector)) = own.into_iter().next() else {
            return Ok(Vec::new());
        };
        self.nearest_hits(vector, limit, HashSet::from([id as u64]))
            .await
    }

    /// The items nearest theme `id`'s centre that are not in it: feedback that may belong.
    pub async fn similar_to_theme<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        id: i64,
        limit: usize,
    ) -> Result<Vec<SearchHit>> {
        let theme = crate::themes::edits::live(db, id).await?;
        // No graph, or one that holds nothing yet: nothing to find, and no reason to read
        // the theme's members (tens of thousands in a large theme).
        if self.vectors.as_ref().is_none_or(|g| g.is_empty()) || theme.centroid.is_empty() {
            return Ok(Vec::new());
        }
        let members = crate::themes::edits::members(db, id).await?;
        let centre = crate::db::embeddings::from_bytes(&theme.centroid);
        self.nearest_hits(
            centre,
            limit,
            members.into_iter().map(|m| m as u64).collect(),
        )
        .await
    }

    async fn nearest_hits(
        &self,
        vector: Vec<f32>,
        limit: usize,
        exclude: HashSet<u64>,
    ) -> Result<Vec<SearchHit>> {
        let Some(graph) = self.vectors.clone() else {
            return Ok(Vec::new());
        };
        let text = self.text.clone();
        tokio::task::spawn_blocking(move || {
            let near: Vec<(u64, f32)> = graph
                .nearest(&vector, limit, |id| !exclude.contains(&id))?
                .into_iter()
                .filter(|(_, sim)| *sim >= MIN_SIMILARITY)
                .collect();
            Ok(text.hits_for(&SearchRequest::default(), &near)?)
        })
        .await
        .map_err(Error::failed("search task failed"))?
    }
}

async fn embed_query(embedder: Arc<dyn Embedder + Sync>, query: &str) -> Result<Vec<f32>> {
    let query = query.to_string();
    tokio::task::spawn_blocking(move || embedder.embed_batch(&[query.as_str()]))
        .await
        .map_err(Error::failed("embedding task failed"))??
        .pop()
        .ok_or_else(|| Error::Internal("the model returned no vector".into()))
}

/// The search itself, with the query already embedded (blocking: tantivy and the graph
/// are synchronous). [`Engines::search`] calls it off the async threads; `triage bench
/// relevance` calls it directly.
///
/// Both halves rank ids only; documents and snippets are read for the one page shown.
pub fn run_blocking(
    text: &FeedbackIndex,
    graph: Option<&VectorIndex>,
    query_vector: Option<&[f32]>,
    req: SearchRequest,
    mode: Mode,
) -> Result<Found> {
    let words = text.words(&req.query)?;
    let shown = req.limit.max(1);
    let window = (req.offset + shown).max(WINDOW);

    if mode == Mode::Keyword {
        let (found, _, relaxed) = every_then_some_words(
            &req,
            words.len(),
            |f: &SearchResults| f.total,
            |r| Ok(text.search(r)?),
        )?;
        return Ok(Found {
            total: found.total,
            hits: found.hits,
            corrections: found.corrections,
            relaxed,
            mode,
            words,
        });
    }

    // The meaning half: nearest items that pass the filters and that the text index still
    // holds (an item deleted since the graph last saw it is dropped here).
    let (Some(graph), Some(qv)) = (graph, query_vector) else {
        return Err(Error::Internal(
            "search by meaning without its graph".into(),
        ));
    };
    let allowed = text.filtered_ids(&req)?;
    let mut near: Vec<(u64, f32)> = graph
        .nearest(qv, window.min(SEMANTIC_DEPTH), |id| {
            allowed.as_ref().is_none_or(|a| a.contains(id))
        })?
        .into_iter()
        .filter(|(_, sim)| *sim >= MIN_SIMILARITY)
        .collect();
    let held = text.passing_among(&req, &near.iter().map(|(id, _)| *id).collect::<Vec<_>>())?;
    near.retain(|(id, _)| held.contains(id));

    if mode == Mode::Semantic {
        return Ok(Found {
            total: near.len(),
            hits: text.hits_for(&req, page_of(&near, &req))?,
            corrections: Vec::new(),
            relaxed: None,
            mode,
            words,
        });
    }

    // Hybrid: the keyword half's window, fused with the meaning half by rank.
    let window_req = SearchRequest {
        offset: 0,
        limit: window,
        ..req.clone()
    };
    let (keyword, keyword_req, mut relaxed) = every_then_some_words(
        &window_req,
        words.len(),
        |r: &Ranked| r.total,
        |r| Ok(text.rank(r)?),
    )?;
    if keyword.total == 0 && !near.is_empty() {
        relaxed = Some(Relaxed::Meaning);
    }
    let base = if relaxed == Some(Relaxed::SomeWords) {
        RELAXED_KEYWORD_WEIGHT
    } else {
        KEYWORD_WEIGHT
    };
    let keyword_weight = if keyword.corrections.is_empty() {
        base
    } else {
        0.5 * base
    };
    let mut fused: HashMap<u64, f32> = HashMap::new();
    for (rank, (id, _)) in keyword.ids.iter().enumerate() {
        *fused.entry(*id).or_default() += keyword_weight / (RRF_K + rank as f32 + 1.0);
    }
    for (rank, (id, _)) in near.iter().enumerate() {
        *fused.entry(*id).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
    }
    // Items found only by meaning: those that do match the words (beyond the keyword
    // window) are already counted in the keyword total.
    let in_keyword: HashSet<u64> = keyword.ids.iter().map(|(id, _)| *id).collect();
    let only_near: Vec<u64> = near
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !in_keyword.contains(id))
        .collect();
    let also_words = if keyword.total > keyword.ids.len() {
        text.matching_among(&keyword_req, &only_near)?
    } else {
        Default::default()
    };
    let extra = only_near
        .iter()
        .filter(|id| !also_words.contains(id))
        .count();
    // A typo correction never outranks what was typed: items found only through a guessed
    // word (none of the typed words, not close in meaning) come after all the others.
    let guessed_only: HashSet<u64> = if keyword.corrections.is_empty() {
        HashSet::new()
    } else {
        let typed = SearchRequest {
            exact_words: true,
            match_any: true,
            ..req.clone()
        };
        let ids: Vec<u64> = keyword.ids.iter().map(|(id, _)| *id).collect();
        let exact = text.matching_among(&typed, &ids)?;
        let near_ids: HashSet<u64> = near.iter().map(|(id, _)| *id).collect();
        ids.into_iter()
            .filter(|id| !exact.contains(id) && !near_ids.contains(id))
            .collect()
    };
    let mut ranked: Vec<(u64, f32)> = fused.into_iter().collect();
    ranked.sort_by(|a, b| {
        let tier = |id: &u64| guessed_only.contains(id);
        tier(&a.0)
            .cmp(&tier(&b.0))
            .then(b.1.total_cmp(&a.1))
            .then(a.0.cmp(&b.0))
    });
    let hits = text.hits_for(&req, page_of(&ranked, &req))?;
    Ok(Found {
        total: keyword.total + extra,
        corrections: text.readable_corrections(keyword.corrections, &hits)?,
        hits,
        relaxed,
        mode,
        words,
    })
}

/// The part of a ranked list that `req`'s page shows.
fn page_of<'a>(ranked: &'a [(u64, f32)], req: &SearchRequest) -> &'a [(u64, f32)] {
    let start = req.offset.min(ranked.len());
    let end = (req.offset + req.limit.max(1)).min(ranked.len());
    &ranked[start..end]
}

/// Runs `req` with every word required and, when no item has them all (and there is more
/// than one word), again with any of them: the request that ran and whether it relaxed.
fn every_then_some_words<T>(
    req: &SearchRequest,
    words: usize,
    total: impl Fn(&T) -> usize,
    run: impl Fn(&SearchRequest) -> Result<T>,
) -> Result<(T, SearchRequest, Option<Relaxed>)> {
    let mut req = req.clone();
    let found = run(&req)?;
    if total(&found) > 0 || words < 2 {
        return Ok((found, req, None));
    }
    req.match_any = true;
    let some = run(&req)?;
    let relaxed = (total(&some) > 0).then_some(Relaxed::SomeWords);
    Ok((some, req, relaxed))
}

#[cfg(test)]
mod tests {
    //! The fusion rules on a real text index and a real graph, with hand-made vectors
    //! standing in for the model's (the model itself is tested end to end).
    use super::*;
    use chrono::{TimeZone, Utc};
    use triage_index::IndexDoc;

    /// Items 1–5 and a unit vector for each: 1 and 2 point one way (a "delivery" topic),
    /// 3 another ("app crash"), 4 and 5 elsewhere.
    fn engines() -> (tempfile::TempDir, FeedbackIndex, VectorIndex) {
        let dir = tempfile::tempdir().unwrap();
        let (text, _) = FeedbackIndex::open(&dir.path().join("index")).unwrap();
        let items = [
            (1, "The courier never delivered my bank card", "smb"),
            (
                2,
                "My new card still has not shown up in the post",
                "enterprise",
            ),
            (
                3,
                "The app keeps freezing and then shuts down",
                "enterprise",
            ),
            (4, "I withdrew cash from an ATM yesterday", "smb"),
            (5, "Dark mode please, the screen is too bright", "smb"),
        ];
        let mut w = text.writer(20_000_000).unwrap();
        for (id, body, segment) in items {
            w.upsert(&IndexDoc {
                id,
                source_id: id,
                kind: "ticket".into(),
                subject: None,
                text: body.into(),
                segment: Some(segment.into()),
                theme: None,
                score: None,
                created_at: Utc.with_ymd_and_hms(2026, 11, id as u32, 0, 0, 0).unwrap(),
            })
            .unwrap();
        }
        w.finish().unwrap();
        let (graph, _) = VectorIndex::open(&dir.path().join("vectors"), "test", 4).unwrap();
        let v = |a: f32, b: f32, c: f32, d: f32| vec![a, b, c, d];
        let rows = [
            (1, v(1.0, 0.1, 0.0, 0.0)),
            (2, v(0.9, 0.3, 0.0, 0.0)),
            (3, v(0.0, 0.0, 1.0, 0.0)),
            (4, v(0.0, 0.2, 0.0, 1.0)),
            (5, v(0.0, 1.0, 0.0, -1.0)),
        ];
        let refs: Vec<(u64, &[f32])> = rows.iter().map(|(i, v)| (*i, v.as_slice())).collect();
        graph.upsert(&refs).unwrap();
        (dir, text, graph)
    }

    fn ask(text: &FeedbackIndex, graph: &VectorIndex, q: &str, v: &[f32], mode: Mode) -> Found {
        let req = SearchRequest {
            query: q.into(),
            limit: 10,
            ..Default::default()
        };
        run_blocking(text, Some(graph), Some(v), req, mode).unwrap()
    }

    fn ids(f: &Found) -> Vec<u64> {
        f.hits.iter().map(|h| h.id).collect()
    }

    #[test]
    fn meaning_fills_in_when_no_item_has_the_words() {
        let (_d, text, graph) = engines();
        let delivery = [1.0, 0.2, 0.0, 0.0];
        let keyword = ask(&text, &graph, "parcel arrive", &delivery, Mode::Keyword);
        assert_eq!(keyword.total, 0);
        let hybrid = ask(&text, &graph, "parcel arrive", &delivery, Mode::Hybrid);
        assert_eq!(ids(&hybrid)[..2], [1, 2]);
        assert_eq!(hybrid.relaxed, Some(Relaxed::Meaning));
        assert!(!ids(&hybrid).contains(&3), "cosine 0 is below the floor");
        assert_eq!(hybrid.total, hybrid.hits.len());
    }

    #[test]
    fn items_in_both_lists_come_first_and_totals_count_each_item_once() {
        let (_d, text, graph) = engines();
        // "card" is in items 1 and 2; by meaning the vector is nearest 5, then 2, then 1.
        let v = [0.5, 0.6, 0.0, -0.6];
        let hybrid = ask(&text, &graph, "card", &v, Mode::Hybrid);
        let found = ids(&hybrid);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[2], 5, "in one list only: after the two in both");
        assert_eq!(
            hybrid.total, 3,
            "two keyword matches and one more by meaning"
        );
        assert_eq!(hybrid.relaxed, None);
        let semantic = ask(&text, &graph, "card", &v, Mode::Semantic);
        assert_eq!(ids(&semantic), vec![5, 2, 1]);
    }

    #[test]
    fn filters_apply_to_the_meaning_half() {
        let (_d, text, graph) = engines();
        let delivery = [1.0, 0.2, 0.0, 0.0];
        let req = SearchRequest {
            query: "parcel arrive".into(),
            segment: Some("enterprise".into()),
            limit: 10,
            ..Default::default()
        };
        for mode in [Mode::Hybrid, Mode::Semantic] {
            let found =
                run_blocking(&text, Some(&graph), Some(&delivery), req.clone(), mode).unwrap();
            assert_eq!(ids(&found), vec![2], "{mode:?}");
        }
    }

    #[test]
    fn a_guessed_word_never_outranks_what_was_typed() {
        let (_d, text, graph) = engines();
        // "crashes" is in no item: corrected to "cash" (item 4). Item 3 is the closest by
        // meaning; item 4 is far in meaning, so it comes last however BM25 liked it.
        let crash = [0.0, 0.0, 1.0, 0.05];
        let found = ask(&text, &graph, "crashes", &crash, Mode::Hybrid);
        assert_eq!(found.corrections[0].0, "crashes");
        assert_eq!(ids(&found).first(), Some(&3));
        assert_eq!(ids(&found).last(), Some(&4));
    }

    #[test]
    fn pages_do_not_overlap() {
        let (_d, text, graph) = engines();
        let v = [0.5, 0.5, 0.5, 0.5];
        let page = |offset| {
            let req = SearchRequest {
                query: "the".into(),
                limit: 2,
                offset,
                ..Default::default()
            };
            ids(&run_blocking(&text, Some(&graph), Some(&v), req, Mode::Hybrid).unwrap())
        };
        let (a, b) = (page(0), page(2));
        assert_eq!(a.len(), 2);
        assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
    }
}
