//! Index schema: one document per feedback item, keyed by the item's database id.
//!
//! Subject and text go through tantivy's English analyzer (lower-casing + Porter stemmer)
//! so "charged", "charges" and "charging" meet. Filters (kind, segment, created, score)
//! are indexed for range/term queries and fast for sorting.

use chrono::{DateTime, Utc};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};
use tantivy::Index;

/// Analyzer name registered on every index this crate opens.
pub(crate) const ANALYZER: &str = "en_stem";

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub source_id: Field,
    pub kind: Field,
    pub segment: Field,
    pub theme: Field,
    pub subject: Field,
    pub text: Field,
    pub created: Field,
    pub score: Field,
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let stemmed = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | STORED | FAST),
        source_id: b.add_u64_field("source_id", STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        segment: b.add_text_field("segment", STRING),
        theme: b.add_u64_field("theme", INDEXED),
        subject: b.add_text_field("subject", stemmed.clone()),
        text: b.add_text_field("text", stemmed),
        created: b.add_i64_field("created", INDEXED | STORED | FAST),
        score: b.add_f64_field("score", INDEXED | STORED | FAST),
    };
    (b.build(), fields)
}

/// `en_stem` ships with tantivy's default tokenizer manager; registering it explicitly
/// keeps the schema independent of tantivy's defaults changing.
pub(crate) fn register_tokenizers(index: &Index) {
    use tantivy::tokenizer::{
        Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer,
    };
    let analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build();
    index.tokenizers().register(ANALYZER, analyzer);
}

/// What the index stores about one feedback item.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    /// The feedback item id.
    pub id: u64,
    /// The id of the ticket, rating or survey response the item was made from.
    pub source_id: u64,
    /// `ticket`, `rating` or `survey_response`.
    pub kind: String,
    pub subject: Option<String>,
    pub text: String,
    /// The customer's segment at indexing time (re-indexed when it changes).
    pub segment: Option<String>,
    /// The item's theme, if it has one (re-indexed when it changes).
    pub theme: Option<u64>,
    /// Score normalised to 0..=1, when the item has one.
    pub score: Option<f64>,
    pub created_at: DateTime<Utc>,
}
