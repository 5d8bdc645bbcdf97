//! Searching: what a person types into a feedback search box.
//!
//! * Every word must match (AND), in the subject or the text; subject matches weigh double.
//! * Words are stemmed, so "refunds" finds "refunded".
//! * Typo tolerance: a word that occurs nowhere in the index is replaced by the indexed words
//!   within one edit (insertion, deletion, substitution or transposition), which are then
//!   scored with BM25 like any other word. Expanding to real terms, rather than running a
//!   constant-score fuzzy query, keeps ranking meaningful and lets snippets highlight them.
//! * Filters (kind, segment, date range, score range) narrow without changing relevance.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use chrono::{DateTime, TimeZone, Utc};
use roaring::RoaringTreemap;
use tantivy::collector::{Collector, Count, DocSetCollector, SegmentCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use crate::schema::Fields;
use crate::{FeedbackIndex, Result};

/// Words shorter than this are never typo-corrected: too many short words are one edit apart.
const MIN_FUZZY_CHARS: usize = 4;
/// At most this many corrections per misspelt word, the most frequent first.
const MAX_CORRECTIONS: usize = 8;
const SNIPPET_CHARS: usize = 200;
const SUBJECT_BOOST: f32 = 2.0;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// Best BM25 match first (the default).
    #[default]
    Relevance,
    /// Most recent first.
    Newest,
    /// Oldest first.
    Oldest,
}

#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Free text; empty means "everything that passes the filters".
    pub query: String,
    /// Restrict to these kinds (any of them); empty means all kinds.
    pub kinds: Vec<String>,
    pub segment: Option<String>,
    /// Only items in this theme.
    pub theme: Option<u64>,
    /// Only items in any of these themes (an area); `Some(empty)` matches nothing.
    pub themes_any: Option<Vec<u64>>,
    /// Inclusive lower bound on the creation time.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on the creation time.
    pub to: Option<DateTime<Utc>>,
    /// Inclusive bounds on the normalised 0..=1 score; items without a score never match.
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub sort: SortOrder,
    /// Match items with *any* of the words, best first ("more like this" for a draft),
    /// instead of requiring all of them.
    pub match_any: bool,
    /// No typo correction: a word the index has never seen matches nothing.
    pub exact_words: bool,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: u64,
    pub source_id: u64,
    pub kind: String,
    /// Relevance (BM25); 0 for searches without words.
    pub relevance: f32,
    /// HTML-escaped excerpt with matches wrapped in `<b>…</b>`.
    pub snippet: String,
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The item's own normalised score (NPS/CSAT/stars), if it has one.
    pub item_score: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    /// Number of matching items, beyond the page.
    pub total: usize,
    pub hits: Vec<SearchHit>,
    /// Typo corrections that were applied: (word as typed, indexed words used instead).
    pub corrections: Vec<(String, Vec<String>)>,
}

/// What [`FeedbackIndex::rank`] returns: a page of ids, no documents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranked {
    /// Number of matching items, beyond the page.
    pub total: usize,
    /// (item id, relevance), best first.
    pub ids: Vec<(u64, f32)>,
    /// Typo corrections that were applied: (word as typed, indexed words used instead).
    pub corrections: Vec<(String, Vec<String>)>,
}

impl FeedbackIndex {
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let Top {
            built,
            total,
            addrs,
        } = self.top(&searcher, req)?;
        let snippets = Snippets::new(&searcher, &*built.query, self.fields)?;
        let mut hits = Vec::with_capacity(addrs.len());
        for (relevance, addr) in addrs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            hits.push(self.hit(&doc, relevance, &snippets));
        }
        let corrections = self.readable_corrections(built.corrections, &hits)?;
        Ok(SearchResults {
            total,
            hits,
            corrections,
        })
    }

    /// Corrections as people read them: each indexed word (a stem such as "declin")
    /// replaced by a form the hits' snippets highlight ("declined"), where one does.
    pub fn readable_corrections(
        &self,
        corrections: Vec<(String, Vec<String>)>,
        hits: &[SearchHit],
    ) -> Result<Vec<(String, Vec<String>)>> {
        if corrections.is_empty() {
            return Ok(corrections);
        }
        let searcher = self.reader.searcher();
        let builder = self.builder(&searcher);
        let mut forms: HashMap<String, String> = HashMap::new();
        let learn = |forms: &mut HashMap<String, String>, snippet: &str| -> Result<()> {
            for word in highlighted(snippet) {
                let word = word.to_lowercase();
                for (_, stem) in builder.tokens(&word)? {
                    forms.entry(stem).or_insert_with(|| word.clone());
                }
            }
            Ok(())
        };
        for hit in hits {
            learn(&mut forms, &hit.snippet)?;
        }
        // A word no hit on the page shows (the page is led by meaning): its form in the
        // best-matching item that has it.
        let unseen: Vec<String> = corrections
            .iter()
            .flat_map(|(_, used)| used.iter())
            .filter(|stem| !forms.contains_key(*stem))
            .cloned()
            .collect();
        for stem in unseen {
            let f = self.fields;
            let query = BooleanQuery::new(vec![
                (Occur::Should, term_query(f.text, &stem, 1.0)),
                (Occur::Should, term_query(f.subject, &stem, 1.0)),
            ]);
            let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
            if let Some((_, addr)) = top.first() {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                learn(
                    &mut forms,
                    &Snippets::new(&searcher, &query, f)?.for_doc(&doc),
                )?;
            }
        }
        Ok(corrections
            .into_iter()
            .map(|(typed, used)| {
                let mut seen = BTreeSet::new();
                let used = used
                    .into_iter()
                    .map(|stem| forms.get(&stem).cloned().unwrap_or(stem))
                    .filter(|w| seen.insert(w.clone()))
                    .collect();
                (typed, used)
            })
            .collect())
    }

    /// Like [`FeedbackIndex::search`], but ids and relevance only: no document is read and
    /// no snippet made. Fusion ranks a wide window this way and then reads documents for
    /// the one page it shows ([`FeedbackIndex::hits_for`]).
    pub fn rank(&self, req: &SearchRequest) -> Result<Ranked> {
        let searcher = self.reader.searcher();
        let Top {
            built,
            total,
            addrs,
        } = self.top(&searcher, req)?;
        let scores: HashMap<DocAddress, f32> = addrs.iter().map(|(s, a)| (*a, *s)).collect();
        let ids = self
            .ids_of(&searcher, addrs.iter().map(|(_, a)| *a))?
            .into_iter()
            .map(|(id, addr)| (id, scores[&addr]))
            .collect();
        Ok(Ranked {
            total,
            ids,
            corrections: built.corrections,
        })
    }

    /// The page of `req`: its query, the number of matches and the page's documents.
    fn top(&self, searcher: &Searcher, req: &SearchRequest) -> Result<Top> {
        let built = self.build(searcher, req)?;
        let limit = req.limit.max(1);
        let page = TopDocs::with_limit(limit).and_offset(req.offset);
        let (total, addrs) = match req.sort {
            SortOrder::Relevance => {
                searcher.search(&built.query, &(Count, page.order_by_score()))?
            }
            SortOrder::Newest | SortOrder::Oldest => {
                let order = if req.sort == SortOrder::Newest {
                    Order::Desc
                } else {
                    Order::Asc
                };
                let (n, docs) = searcher.search(
                    &built.query,
                    &(Count, page.order_by_fast_field::<i64>("created", order)),
                )?;
                (n, docs.into_iter().map(|(_, a)| (0.0, a)).collect())
            }
        };
        Ok(Top {
            built,
            total,
            addrs,
        })
    }

    /// The ids among `ids` that match `req` (its words, unless `words` is false, and its
    /// filters), each with its document. Ids the index does not hold (deleted items) are
    /// left out: this is how hits found by meaning are checked against filters.
    fn docs_among(
        &self,
        searcher: &Searcher,
        req: &SearchRequest,
        ids: &[u64],
        words: bool,
    ) -> Result<HashMap<u64, DocAddress>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let without_words;
        let req = if words {
            req
        } else {
            without_words = SearchRequest {
                query: String::new(),
                ..req.clone()
            };
            &without_words
        };
        let built = self.build(searcher, req)?;
        // One term query per id, OR-ed: for the few hundred ids a search checks, this is
        // several times faster than a `TermSetQuery`, whose automaton walks each segment's
        // term dictionary (measured in `triage bench search`: 0.9 → 0.2 ms per check).
        let among = BooleanQuery::new(
            ids.iter()
                .map(|&id| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_u64(self.fields.id, id),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect(),
        );
        let query = BooleanQuery::new(vec![
            (Occur::Must, built.query),
            (Occur::Must, Box::new(among)),
        ]);
        let found = searcher.search(&query, &DocSetCollector)?;
        Ok(self.ids_of(searcher, found)?.into_iter().collect())
    }

    /// The query's words as typed, one per word the index would look up.
    pub fn words(&self, query: &str) -> Result<Vec<String>> {
        let searcher = self.reader.searcher();
        Ok(self
            .builder(&searcher)
            .tokens(query)?
            .into_iter()
            .map(|(typed, _)| typed)
            .collect())
    }

    /// The ids among `ids` that match `req`'s words and filters.
    pub fn matching_among(&self, req: &SearchRequest, ids: &[u64]) -> Result<BTreeSet<u64>> {
        let searcher = self.reader.searcher();
        Ok(self
            .docs_among(&searcher, req, ids, true)?
            .into_keys()
            .collect())
    }

    /// The ids among `ids` that the index holds and that pass `req`'s filters (its words
    /// are not looked at).
    pub fn passing_among(&self, req: &SearchRequest, ids: &[u64]) -> Result<BTreeSet<u64>> {
        let filters_only = SearchRequest {
            query: String::new(),
            ..req.clone()
        };
        self.matching_among(&filters_only, ids)
    }

    /// Every id that passes `req`'s filters, or `None` when it has none (everything passes).
    /// A compressed bitmap filled straight from the id column, so even a filter that a
    /// million items pass costs milliseconds, and membership tests stay cheap for the
    /// graph search that consults it at every step.
    pub fn filtered_ids(&self, req: &SearchRequest) -> Result<Option<RoaringTreemap>> {
        let searcher = self.reader.searcher();
        let filters = self.builder(&searcher).filters(req);
        if filters.is_empty() {
            return Ok(None);
        }
        let query = BooleanQuery::new(filters.into_iter().map(|q| (Occur::Must, q)).collect());
        Ok(Some(searcher.search(&query, &IdSet)?))
    }

    /// Hits for these ids, in the given order with the given relevance, for the ones that
    /// pass `req`'s filters; snippets highlight `req`'s words where the item has them.
    pub fn hits_for(&self, req: &SearchRequest, ranked: &[(u64, f32)]) -> Result<Vec<SearchHit>> {
        let searcher = self.reader.searcher();
        let ids: Vec<u64> = ranked.iter().map(|(id, _)| *id).collect();
        let docs = self.docs_among(&searcher, req, &ids, false)?;
        let built = self.build(&searcher, req)?;
        let snippets = Snippets::new(&searcher, &*built.query, self.fields)?;
        let mut hits = Vec::with_capacity(docs.len());
        for (id, relevance) in ranked {
            if let Some(addr) = docs.get(id) {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                hits.push(self.hit(&doc, *relevance, &snippets));
            }
        }
        Ok(hits)
    }

    fn build(&self, searcher: &Searcher, req: &SearchRequest) -> Result<BuiltQuery> {
        self.builder(searcher).build(req)
    }

    fn builder<'a>(&'a self, searcher: &'a Searcher) -> QueryBuilder<'a> {
        QueryBuilder {
            searcher,
            fields: self.fields,
            index: &self.index,
        }
    }

    /// The item id of each document, in the order given (documents without one left out).
    fn ids_of(
        &self,
        searcher: &Searcher,
        docs: impl IntoIterator<Item = DocAddress>,
    ) -> Result<Vec<(u64, DocAddress)>> {
        let mut columns = HashMap::new();
        let mut out = Vec::new();
        for addr in docs {
            let column = match columns.entry(addr.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    searcher
                        .segment_reader(addr.segment_ord)
                        .fast_fields()
                        .u64("id")?,
                ),
            };
            if let Some(id) = column.first(addr.doc_id) {
                out.push((id, addr));
            }
        }
        Ok(out)
    }

    fn hit(&self, doc: &TantivyDocument, relevance: f32, snippets: &Snippets) -> SearchHit {
        let f = &self.fields;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let created = doc
            .get_first(f.created)
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        SearchHit {
            id: doc.get_first(f.id).and_then(|v| v.as_u64()).unwrap_or(0),
            source_id: doc
                .get_first(f.source_id)
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            kind: text(f.kind).unwrap_or_default(),
            relevance,
            snippet: snippets.for_doc(doc),
            subject: text(f.subject),
            created_at: Utc.timestamp_opt(created, 0).single().unwrap_or_default(),
            item_score: doc.get_first(f.score).and_then(|v| v.as_f64()),
        }
    }
}

/// One page of a search: the query that ran, how many matched, (relevance, document).
struct Top {
    built: BuiltQuery,
    total: usize,
    addrs: Vec<(f32, DocAddress)>,
}

struct BuiltQuery {
    query: Box<dyn Query>,
    corrections: Vec<(String, Vec<String>)>,
}

struct QueryBuilder<'a> {
    searcher: &'a Searcher,
    fields: Fields,
    index: &'a tantivy::Index,
}

impl QueryBuilder<'_> {
    fn build(&self, req: &SearchRequest) -> Result<BuiltQuery> {
        let f = self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut corrections = Vec::new();
        let mut words: Vec<Box<dyn Query>> = Vec::new();
        for (typed, token) in self.tokens(&req.query)? {
            let mut alternatives = vec![token.clone()];
            if !req.exact_words
                && self.doc_freq(&token)? == 0
                && typed.chars().count() >= MIN_FUZZY_CHARS
            {
                alternatives = self.corrections(&token)?;
                corrections.push((typed, alternatives.clone()));
            }
            let mut any_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for word in &alternatives {
                any_field.push((Occur::Should, term_query(f.text, word, 1.0)));
                any_field.push((Occur::Should, term_query(f.subject, word, SUBJECT_BOOST)));
            }
            words.push(Box::new(BooleanQuery::new(any_field)));
        }
        let has_words = !words.is_empty();
        if req.match_any && has_words {
            let any = words.into_iter().map(|q| (Occur::Should, q)).collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        } else {
            // An empty Should list matches nothing, which is right: AND with an unknown word.
            must.extend(words.into_iter().map(|q| (Occur::Must, q)));
        }
        for filter in self.filters(req) {
            // Boost 0: filters narrow the result set without adding to relevance.
            must.push((Occur::Must, Box::new(BoostQuery::new(filter, 0.0))));
        }
        let query: Box<dyn Query> = if must.is_empty() {
            Box::new(AllQuery)
        } else if has_words {
            Box::new(BooleanQuery::new(must))
        } else {
            must.push((
                Occur::Must,
                Box::new(BoostQuery::new(Box::new(AllQuery), 0.0)),
            ));
            Box::new(BooleanQuery::new(must))
        };
        Ok(BuiltQuery { query, corrections })
    }

    /// The query's words, as typed and as analyzed, without duplicates.
    fn tokens(&self, text: &str) -> Result<Vec<(String, String)>> {
        let mut analyzer = self.index.tokenizer_for_field(self.fields.text)?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while let Some(tok) = stream.next() {
            let typed = text
                .get(tok.offset_from..tok.offset_to)
                .unwrap_or(&tok.text)
                .to_string();
            if seen.insert(tok.text.clone()) {
                out.push((typed, tok.text.clone()));
            }
        }
        Ok(out)
    }

    fn doc_freq(&self, word: &str) -> Result<u64> {
        let f = self.fields;
        Ok(self
            .searcher
            .doc_freq(&Term::from_field_text(f.text, word))?
            + self
                .searcher
                .doc_freq(&Term::from_field_text(f.subject, word))?)
    }

    /// Indexed words within one edit of `word`, most frequent first.
    fn corrections(&self, word: &str) -> Result<Vec<String>> {
        let mut found: HashMap<String, u64> = HashMap::new();
        for field in [self.fields.text, self.fields.subject] {
            let fuzzy = FuzzyTermQuery::new(Term::from_field_text(field, word), 1, true);
            for segment in self.searcher.segment_readers() {
                let inverted = segment.inverted_index(field)?;
                let mut stream = inverted
                    .terms()
                    .search(fuzzy.automaton()?)
                    .into_stream()
                    .map_err(tantivy::TantivyError::from)?;
                while stream.advance() {
                    let key = String::from_utf8_lossy(stream.key()).into_owned();
                    *found.entry(key).or_default() += u64::from(stream.value().doc_freq);
                }
            }
        }
        let mut ranked: Vec<(String, u64)> = found.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(ranked
            .into_iter()
            .take(MAX_CORRECTIONS)
            .map(|(w, _)| w)
            .collect())
    }

    fn filters(&self, req: &SearchRequest) -> Vec<Box<dyn Query>> {
        let f = self.fields;
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        if !req.kinds.is_empty() {
            let kinds = req
                .kinds
                .iter()
                .map(|k| (Occur::Should, exact(f.kind, k)))
                .collect();
            out.push(Box::new(BooleanQuery::new(kinds)));
        }
        if let Some(segment) = &req.segment {
            out.push(exact(f.segment, segment));
        }
        if let Some(theme) = req.theme {
            out.push(Box::new(TermQuery::new(
                Term::from_field_u64(f.theme, theme),
                IndexRecordOption::Basic,
            )));
        }
        if let Some(themes) = &req.themes_any {
            let any = themes
                .iter()
                .map(|&t| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_u64(f.theme, t),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect::<Vec<_>>();
            // No themes: a clause that nothing satisfies (an empty Should matches all).
            let none: Vec<(Occur, Box<dyn Query>)> = vec![(
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(f.theme, u64::MAX),
                    IndexRecordOption::Basic,
                )),
            )];
            out.push(Box::new(BooleanQuery::new(if any.is_empty() {
                none
            } else {
                any
            })));
        }
        if req.from.is_some() || req.to.is_some() {
            let lo = req
                .from
                .map(|d| Term::from_field_i64(f.created, d.timestamp()));
            let hi = req
                .to
                .map(|d| Term::from_field_i64(f.created, d.timestamp()));
            out.push(Box::new(RangeQuery::new(
                lo.map_or(Bound::Unbounded, Bound::Included),
                hi.map_or(Bound::Unbounded, Bound::Excluded),
            )));
        }
        if req.min_score.is_some() || req.max_score.is_some() {
            let term = |v: f64| Term::from_field_f64(f.score, v);
            out.push(Box::new(RangeQuery::new(
                req.min_score
                    .map_or(Bound::Unbounded, |v| Bound::Included(term(v))),
                req.max_score
                    .map_or(Bound::Unbounded, |v| Bound::Included(term(v))),
            )));
        }
        out
    }
}

fn term_query(field: Field, word: &str, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(
        Term::from_field_text(field, word),
        IndexRecordOption::WithFreqs,
    );
    if (boost - 1.0).abs() < f32::EPSILON {
        Box::new(q)
    } else {
        Box::new(BoostQuery::new(Box::new(q), boost))
    }
}

fn exact(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// Snippets from the text, falling back to the subject when only the subject matched.
struct Snippets {
    text: SnippetGenerator,
    subject: SnippetGenerator,
    fields: Fields,
}

impl Snippets {
    fn new(searcher: &Searcher, query: &dyn Query, fields: Fields) -> Result<Self> {
        let make = |field| -> Result<SnippetGenerator> {
            let mut g = SnippetGenerator::create(searcher, query, field)?;
            g.set_max_num_chars(SNIPPET_CHARS);
            Ok(g)
        };
        Ok(Self {
            text: make(fields.text)?,
            subject: make(fields.subject)?,
            fields,
        })
    }

    fn for_doc(&self, doc: &TantivyDocument) -> String {
        let text = self.text.snippet_from_doc(doc);
        if !text.highlighted().is_empty() {
            return text.to_html();
        }
        let subject = self.subject.snippet_from_doc(doc);
        if !subject.highlighted().is_empty() {
            return subject.to_html();
        }
        // No word matched here (filter-only search): the start of the text, escaped.
        let raw = doc
            .get_first(self.fields.text)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        plain_excerpt(raw, SNIPPET_CHARS)
    }
}

/// The words a snippet highlights (`<b>…</b>`), leaving out any with an HTML entity.
fn highlighted(snippet: &str) -> impl Iterator<Item = &str> {
    snippet
        .split("<b>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</b>").map(|(word, _)| word))
        .filter(|word| !word.contains('&'))
}

/// The first `max_chars` characters of `text`, cut at a word boundary and HTML-escaped.
fn plain_excerpt(text: &str, max_chars: usize) -> String {
    let mut end = text.len();
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        end = text[..cut].rfind(char::is_whitespace).unwrap_or(cut);
    }
    let mut out = String::with_capacity(end + 8);
    for c in text[..end].chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if end < text.len() {
        out.push('…');
    }
    out
}

/// Collects the item ids of matching documents into a bitmap, reading the id column.
struct IdSet;

struct SegmentIds {
    column: tantivy::columnar::Column<u64>,
    found: RoaringTreemap,
}

impl Collector for IdSet {
    type Fruit = RoaringTreemap;
    type Child = SegmentIds;

    fn for_segment(
        &self,
        _segment: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<SegmentIds> {
        Ok(SegmentIds {
            column: reader.fast_fields().u64("id")?,
            found: RoaringTreemap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<RoaringTreemap>) -> tantivy::Result<RoaringTreemap> {
        Ok(fruits.into_iter().fold(RoaringTreemap::new(), |a, b| a | b))
    }
}

impl SegmentCollector for SegmentIds {
    type Fruit = RoaringTreemap;

    fn collect(&mut self, doc: tantivy::DocId, _score: tantivy::Score) {
        if let Some(id) = self.column.first(doc) {
            self.found.insert(id);
        }
    }

    fn harvest(self) -> RoaringTreemap {
        self.found
    }
}

impl FeedbackIndex {
    /// Plain tantivy, for benchmarks only: QueryParser over subject and text with every word
    /// required, top `limit` by BM25 plus the count — no typo tolerance, no snippets, no
    /// stored fields. Returns the total.
    pub fn reference_search(&self, query: &str, limit: usize) -> Result<usize> {
        let searcher = self.reader.searcher();
        let parser = tantivy::query::QueryParser::for_index(
            &self.index,
            vec![self.fields.subject, self.fields.text],
        );
        let required: Vec<String> = query.split_whitespace().map(|w| format!("+{w}")).collect();
        let q = parser.parse_query(&required.join(" "))?;
        let (total, _top) =
            searcher.search(&q, &(Count, TopDocs::with_limit(limit).order_by_score()))?;
        Ok(total)
    }
}
