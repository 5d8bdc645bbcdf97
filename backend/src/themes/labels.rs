//! Readable labels for themes: the words that set a theme apart (class-based TF-IDF) and the
//! item that sits closest to its centre.
//!
//! c-TF-IDF treats each theme as one document: a word scores high when it is frequent in
//! the theme and rare across all themes, `tf(w, theme) × ln(1 + A / f(w))`, where `A` is the
//! average number of words per theme and `f(w)` the word's count over all themes (the
//! BERTopic formulation). Stop words and words under three letters are dropped.

use std::collections::HashMap;

/// Keywords per theme, most distinctive first. `docs` holds each theme's texts.
pub fn keywords(docs: &[Vec<&str>], top: usize) -> Vec<Vec<String>> {
    let counts: Vec<HashMap<String, f64>> = docs
        .iter()
        .map(|texts| {
            let mut m = HashMap::new();
            for t in texts {
                for w in words(t) {
                    *m.entry(w).or_insert(0.0) += 1.0;
                }
            }
            m
        })
        .collect();
    let mut overall: HashMap<&str, f64> = HashMap::new();
    let mut total_words = 0.0;
    for m in &counts {
        for (w, c) in m {
            *overall.entry(w.as_str()).or_insert(0.0) += c;
            total_words += c;
        }
    }
    let avg = total_words / counts.len().max(1) as f64;
    counts
        .iter()
        .map(|m| {
            let size: f64 = m.values().sum::<f64>().max(1.0);
            let mut scored: Vec<(&String, f64)> = m
                .iter()
                .map(|(w, c)| (w, (c / size) * (1.0 + avg / overall[w.as_str()]).ln()))
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            scored
                .into_iter()
                .take(top)
                .map(|(w, _)| w.clone())
                .collect()
        })
        .collect()
}

/// A label from keywords: the first three, joined.
pub fn label(keywords: &[String]) -> String {
    if keywords.is_empty() {
        return "(no words)".into();
    }
    keywords
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join(" · ")
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| {
            w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()) && !is_stop_word(w)
        })
}

fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// English stop words (sorted, for binary search), including the chatty filler of support
/// messages ("please", "help", "thanks") that every theme shares.
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "also",
    "and",
    "any",
    "are",
    "aren't",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "can",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "few",
    "for",
    "from",
    "further",
    "get",
    "getting",
    "got",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "hello",
    "help",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "into",
    "isn't",
    "it's",
    "its",
    "itself",
    "just",
    "know",
    "let",
    "let's",
    "like",
    "made",
    "make",
    "may",
    "might",
    "more",
    "most",
    "much",
    "must",
    "mustn't",
    "myself",
    "need",
    "never",
    "nor",
    "not",
    "now",
    "off",
    "once",
    "one",
    "only",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "please",
    "same",
    "shan't",
    "she",
    "should",
    "shouldn't",
    "since",
    "some",
    "still",
    "such",
    "sure",
    "than",
    "thank",
    "thanks",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they're",
    "this",
    "those",
    "through",
    "too",
    "under",
    "until",
    "very",
    "want",
    "was",
    "wasn't",
    "way",
    "we'd",
    "we're",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "wouldn't",
    "yet",
    "you",
    "you're",
    "your",
    "yours",
    "yourself",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted() {
        assert!(
            STOP_WORDS.windows(2).all(|w| w[0] < w[1]),
            "binary search needs a sorted list"
        );
    }

    #[test]
    fn keywords_set_themes_apart() {
        let docs = vec![
            vec![
                "My card has not arrived yet",
                "When will my new card arrive?",
                "card delivery is slow",
            ],
            vec![
                "The exchange rate was wrong",
                "Wrong exchange rate on my payment",
                "why this rate",
            ],
        ];
        let k = keywords(&docs, 3);
        assert_eq!(k[0][0], "card");
        assert!(
            k[1].contains(&"exchange".to_string()) && k[1].contains(&"rate".to_string()),
            "{k:?}"
        );
        assert!(!k
            .concat()
            .iter()
            .any(|w| w == "the" || w == "my" || w == "why"));
        assert_eq!(label(&k[1][..2]), format!("{} · {}", k[1][0], k[1][1]));
    }
}
