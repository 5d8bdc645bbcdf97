//! Readable labels for themes: a short phrase taken from the theme's own members, the words
//! that set it apart (class-based TF-IDF), and the item that sits closest to its centre.
//!
//! **Keywords** — c-TF-IDF treats each theme as one document: a word scores high when it is
//! frequent in the theme and rare across all themes, `tf(w, theme) × ln(1 + A / f(w))`, where
//! `A` is the average number of words per theme and `f(w)` the word's count over all themes
//! (the BERTopic formulation). Stop words and words under three letters are dropped.
//!
//! **Label** — a product manager reads a title, not a keyword list, so the label is a phrase
//! of 2–5 words that occurs in the members' texts (KeyBERT-style): candidates are the word
//! n-grams inside one clause that neither start nor end with a stop word; each is scored by
//! how specific it is to the theme (the same c-TF-IDF, over phrases, counting members) and,
//! among the most specific, by how close its own embedding is to the theme's centroid (the
//! same model as the items). Themes pick in order of their best score and never take a
//! phrase another theme already has, so no two themes share a name. Without an embedder
//! (benchmarks on synthetic vectors) specificity alone decides.
use std::collections::HashMap;

/// Keywords per theme, most distinctive first. `docs` holds each theme's texts.
pub fn keywords(docs: &[Vec<&str>], top: usize) -> Vec<Vec<String>> {
    word_scores(docs)
        .into_iter()
        .map(|m| {
            let mut scored: Vec<(String, f64)> = m.into_iter().collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            scored.into_iter().take(top).map(|(w, _)| w).collect()
        })
        .collect()
}

/// The c-TF-IDF score of every word of every theme.
fn word_scores(docs: &[Vec<&str>]) -> Vec<HashMap<String, f64>> {
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
            m.iter()
                .map(|(w, c)| {
                    let score = (c / size) * (1.0 + avg / overall[w.as_str()]).ln();
                    (w.clone(), score)
                })
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

/// Embeds phrases with the items' model, in order.
pub type EmbedPhrases<'a> = dyn Fn(&[&str]) -> crate::Result<Vec<Vec<f32>>> + 'a;

/// Keywords per theme kept for display beside the label.
pub const KEYWORDS: usize = 8;

/// What a theme is called: its phrase label (or, failing a phrase, its top keywords) and
/// its keywords, most distinctive first.
#[derive(Debug, Clone, PartialEq)]
pub struct Naming {
    pub label: String,
    pub keywords: Vec<String>,
}

/// Names every theme from its members' texts (`docs`) and unit centroid (same order); the
/// one entry point for rebuilds and `triage eval`.
pub fn name_themes(
    docs: &[Vec<&str>],
    centroids: &[Vec<f32>],
    embed: Option<&EmbedPhrases<'_>>,
) -> crate::Result<Vec<Naming>> {
    let keywords = keywords(docs, KEYWORDS);
    let phrases = phrase_labels(docs, centroids, embed)?;
    Ok(keywords
        .into_iter()
        .zip(phrases)
        .map(|(keywords, phrase)| Naming {
            label: phrase.unwrap_or_else(|| label(&keywords)),
            keywords,
        })
        .collect())
}

/// Candidate phrases scored per theme, before the embedding decides among the best.
const SHORTLIST: usize = 12;
/// A label contains one of the theme's this many most distinctive words (when any phrase
/// does): the three words of the old keyword label.
const LABEL_KEYWORDS: usize = 3;
/// Phrases are 2 to 5 words long.
const MIN_WORDS: usize = 2;
const MAX_WORDS: usize = 5;

/// A phrase label for every theme (see the module doc), distinct across themes; `None` for a
/// theme whose members hold no candidate phrase (the caller falls back to [`label`]).
///
/// `docs` holds each theme's texts and `centroids` its unit centroid, in the same order;
/// `embed` embeds phrases with the items' model (`None`: specificity alone decides).
pub fn phrase_labels(
    docs: &[Vec<&str>],
    centroids: &[Vec<f32>],
    embed: Option<&EmbedPhrases<'_>>,
) -> crate::Result<Vec<Option<String>>> {
    // Members of each theme that contain each phrase (a member counts once).
    let counts: Vec<HashMap<String, f64>> = docs
        .iter()
        .map(|texts| {
            let mut m: HashMap<String, f64> = HashMap::new();
            for t in texts {
                let mut seen = std::collections::HashSet::new();
                for p in candidates(t) {
                    if seen.insert(p.clone()) {
                        *m.entry(p).or_insert(0.0) += 1.0;
                    }
                }
            }
            m
        })
        .collect();
    let mut overall: HashMap<&str, f64> = HashMap::new();
    for m in &counts {
        for (p, c) in m {
            *overall.entry(p.as_str()).or_insert(0.0) += c;
        }
    }
    let avg = docs.iter().map(Vec::len).sum::<usize>() as f64 / docs.len().max(1) as f64;
    // Shortlist per theme: the most specific phrases, preferring those that more than one
    // member says. A phrase is specific when it is (c-TF-IDF over phrases) and when its most
    // distinctive word is (c-TF-IDF over words): "try to use" may be frequent in a theme,
    // but "contactless" is what sets it apart.
    let words = word_scores(docs);
    let shortlists: Vec<Vec<(String, f64)>> = counts
        .iter()
        .zip(docs)
        .zip(&words)
        .map(|((m, texts), words)| {
            let size = texts.len().max(1) as f64;
            let top_word = words
                .values()
                .copied()
                .fold(0.0, f64::max)
                .max(f64::MIN_POSITIVE);
            let word_part = |p: &str| {
                p.split(' ')
                    .filter_map(|w| words.get(w))
                    .copied()
                    .fold(0.0, f64::max)
                    / top_word
            };
            // A title names what the theme is about: phrases with one of its top keywords
            // in them, when there are any ("try to use" loses to "contactless payment").
            let mut top_words: Vec<(&String, f64)> = words.iter().map(|(w, s)| (w, *s)).collect();
            top_words.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            top_words.truncate(LABEL_KEYWORDS);
            let names_topic = |p: &str| {
                p.split(' ')
                    .any(|w| top_words.iter().any(|(t, _)| t.as_str() == w))
            };
            let on_topic = m.keys().any(|p| names_topic(p));
            let said_twice = m
                .iter()
                .any(|(p, &c)| c >= 2.0 && (!on_topic || names_topic(p)));
            let min_count = if said_twice { 2.0 } else { 1.0 };
            let mut scored: Vec<(String, f64)> = m
                .iter()
                .filter(|(p, &c)| c >= min_count && (!on_topic || names_topic(p)))
                .map(|(p, c)| {
                    let phrase = (c / size) * (1.0 + avg / overall[p.as_str()]).ln();
                    (p.clone(), phrase * word_part(p))
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            scored.truncate(SHORTLIST);
            let top = scored.first().map_or(1.0, |s| s.1).max(f64::MIN_POSITIVE);
            scored.iter_mut().for_each(|s| s.1 /= top);
            scored
        })
        .collect();
    // Final score: closeness to the centroid × √(relative specificity).
    let mut ranked: Vec<Vec<(String, f64)>> = shortlists;
    if let Some(embed) = embed {
        let mut distinct: Vec<&str> = ranked
            .iter()
            .flat_map(|s| s.iter().map(|(p, _)| p.as_str()))
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        let vectors: HashMap<String, Vec<f32>> = distinct
            .iter()
            .map(|p| p.to_string())
            .zip(embed(&distinct)?)
            .collect();
        for (list, centroid) in ranked.iter_mut().zip(centroids) {
            for (p, s) in list.iter_mut() {
                let closeness =
                    f64::from(crate::embed::vectors::dot(&vectors[p.as_str()], centroid));
                *s = closeness.max(0.0) * s.sqrt();
            }
            list.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
    }
    // Themes choose in order of their best score; a phrase goes to one theme only.
    let mut order: Vec<usize> = (0..ranked.len()).collect();
    let best = |t: usize| ranked[t].first().map_or(f64::MIN, |s| s.1);
    // Ties (always, without an embedder): larger themes choose first.
    order.sort_by(|&a, &b| {
        best(b)
            .total_cmp(&best(a))
            .then_with(|| docs[b].len().cmp(&docs[a].len()))
            .then_with(|| a.cmp(&b))
    });
    let mut taken = std::collections::HashSet::new();
    let mut out = vec![None; ranked.len()];
    for t in order {
        if let Some((p, _)) = ranked[t]
            .iter()
            .find(|(p, _)| !taken.contains(&singular(p)))
        {
            taken.insert(singular(p));
            out[t] = Some(title(p));
        }
    }
    Ok(out)
}

/// A phrase with every word's plural `s` dropped: "exchange rates" and "exchange rate" are
/// one name to a reader, so two themes may not take them both.
fn singular(phrase: &str) -> String {
    phrase
        .split(' ')
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem,
            _ => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A phrase as a title: its first letter in upper case.
fn title(phrase: &str) -> String {
    let mut c = phrase.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Word n-grams of `text` (lower case) that stay inside one clause and neither start nor
/// end with a stop word or a number.
fn candidates(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for clause in text.split(['.', ',', ';', ':', '!', '?', '(', ')', '"', '\n']) {
        let words: Vec<String> = clause
            .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-')
            .map(|w| w.trim_matches(['\'', '-']).to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        for start in 0..words.len() {
            if !edge_word(&words[start]) {
                continue;
            }
            for len in MIN_WORDS..=MAX_WORDS {
                let end = start + len;
                if end > words.len() {
                    break;
                }
                if edge_word(&words[end - 1]) {
                    out.push(words[start..end].join(" "));
                }
            }
        }
    }
    out
}

/// A word that may start or end a phrase: not a stop word, not a number, not one letter.
fn edge_word(w: &str) -> bool {
    w.chars().count() >= 2
        && !w.chars().all(|c| c.is_ascii_digit())
        && !is_stop_word(w)
        && SHORT_STOP_WORDS.binary_search(&w).is_err()
}

/// Stop words under three letters (the keyword list drops those by length), sorted.
const SHORT_STOP_WORDS: &[&str] = &[
    "am", "an", "as", "at", "be", "by", "do", "he", "hi", "if", "in", "is", "it", "me", "my", "no",
    "of", "ok", "on", "or", "so", "to", "us", "we",
];

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

    #[test]
    fn phrase_labels_are_phrases_of_the_members_and_distinct() {
        let docs = vec![
            vec![
                "My card has not arrived yet",
                "The new card has not arrived, what now?",
                "new card has not arrived after two weeks",
            ],
            vec![
                "What is the exchange rate for euros?",
                "The exchange rate was wrong on my payment",
                "exchange rate seems off",
            ],
            // The same texts as the first theme: it must get another name.
            vec![
                "My card has not arrived yet",
                "The new card has not arrived, what now?",
                "new card has not arrived after two weeks",
            ],
        ];
        let centroids = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]];
        let names = phrase_labels(&docs, &centroids, None).unwrap();
        let names: Vec<String> = names.into_iter().map(Option::unwrap).collect();
        assert_eq!(names[1], "Exchange rate");
        for (name, texts) in names.iter().zip(&docs) {
            let words = name.split(' ').count();
            assert!((2..=5).contains(&words), "{name}");
            let lower = name.to_lowercase();
            assert!(
                texts.iter().any(|t| t.to_lowercase().contains(&lower)),
                "{name} is not in the members' texts"
            );
        }
        assert_ne!(names[0], names[2], "two themes share a name");
        assert_eq!(singular("exchange rates"), singular("exchange rate"));
        assert_eq!(singular("access"), "access");
    }

    #[test]
    fn the_embedding_breaks_ties_towards_the_centroid() {
        // Both phrases are equally specific; the one whose embedding is nearer the centroid
        // wins.
        let docs = vec![vec![
            "lost card report",
            "lost card report",
            "stolen phone report",
            "stolen phone report",
        ]];
        let embed = |p: &[&str]| -> crate::Result<Vec<Vec<f32>>> {
            Ok(p.iter()
                .map(|p| {
                    if p.contains("phone") {
                        vec![1.0, 0.0]
                    } else {
                        vec![0.0, 1.0]
                    }
                })
                .collect())
        };
        let names = phrase_labels(&docs, &[vec![1.0, 0.0]], Some(&embed)).unwrap();
        assert!(
            names[0]
                .as_deref()
                .unwrap()
                .to_lowercase()
                .contains("phone"),
            "{names:?}"
        );
    }

    #[test]
    fn phrases_stay_inside_a_clause_and_skip_stop_word_edges() {
        let c = candidates("Hello, my card is blocked. Why?");
        assert!(c.contains(&"card is blocked".to_string()), "{c:?}");
        assert!(!c.iter().any(|p| p.starts_with("my ") || p.ends_with(" is")));
        assert!(
            !c.iter().any(|p| p.contains("hello")),
            "crossed a comma: {c:?}"
        );
    }
}
