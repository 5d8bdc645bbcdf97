//! Process metrics in the Prometheus/OpenMetrics text format (`GET /metrics`).
//!
//! One [`Metrics`] per process, created by `serve` or `worker` and handed to what records
//! into it (the HTTP layer, the embedding worker, the theme rebuild job, webhook
//! delivery) — no global registry. Two kinds of figures:
//!
//! * counted as they happen, in this process: requests by route and status with their
//!   latency, items embedded, theme rebuild durations, webhook deliveries;
//! * read from the database when scraped ([`Metrics::set_outbox`] and friends, called by
//!   `http::metrics` just before rendering): outbox depth and age, mail by state, pool
//!   usage. Those are shared state, so every replica reports the same figures for them.
//!
//! Label values are bounded: routes are the router's templates (`/api/v1/themes/{id}`),
//! never a raw path, so ids and query strings (which can hold personal data) never become
//! series.
//!
//! Written on `prometheus-client` rather than the `metrics` facade because the facade
//! needs a process-global recorder; this crate keeps its registry in a value.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    result: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RequestLabels, Histogram>,
    embedded: Counter,
    rebuild_seconds: Histogram,
    outbox_depth: Family<TopicLabels, Gauge>,
    outbox_age: Family<TopicLabels, FloatGauge>,
    mail: Family<StateLabels, Gauge>,
    pool: Family<StateLabels, Gauge>,
    deliveries: Family<DeliveryLabels, Counter>,
}

fn request_histogram() -> Histogram {
    // 1 ms to ~33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("triage");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let request_seconds = Family::<RequestLabels, Histogram>::new_with_constructor(
            request_histogram as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response's headers",
            request_seconds.clone(),
        );
        let embedded = Counter::default();
        registry.register(
            "items_embedded",
            "Items embedded by this process (rate() of it is embedding throughput)",
            embedded.clone(),
        );
        // 1 s to ~4.5 hours.
        let rebuild_seconds = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        registry.register(
            "theme_rebuild_duration_seconds",
            "Full theme rebuilds run by this process",
            rebuild_seconds.clone(),
        );
        let outbox_depth = Family::<TopicLabels, Gauge>::default();
        registry.register(
            "outbox_depth",
            "Jobs waiting per outbox topic (index: behind this replica's cursor)",
            outbox_depth.clone(),
        );
        let outbox_age = Family::<TopicLabels, FloatGauge>::default();
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest job waiting per outbox topic (0 when none waits)",
            outbox_age.clone(),
        );
        let mail = Family::<StateLabels, Gauge>::default();
        registry.register(
            "mail_messages",
            "Messages in the mail log by state (pending, sent, failed)",
            mail.clone(),
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (in_use, idle, max)",
            pool.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by this process, by result (delivered, failed)",
            deliveries.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            embedded,
            rebuild_seconds,
            outbox_depth,
            outbox_age,
            mail,
            pool,
            deliveries,
        }
    }

    /// One answered request; `route` must be a route template (or a fixed word such as
    /// `unmatched`), never the raw path.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let labels = RequestLabels {
            method: method.to_string(),
            route: route.to_string(),
            status: status.to_string(),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds.get_or_create(&labels).observe(seconds);
    }

    pub fn embedded(&self, items: u64) {
        self.embedded.inc_by(items);
    }

    pub fn theme_rebuild(&self, seconds: f64) {
        self.rebuild_seconds.observe(seconds);
    }

    pub fn delivery(&self, delivered: bool) {
        let result = if delivered { "delivered" } else { "failed" };
        self.deliveries
            .get_or_create(&DeliveryLabels {
                result: result.into(),
            })
            .inc();
    }

    pub fn set_outbox(&self, topic: &str, depth: u64, oldest_age_seconds: f64) {
        let labels = TopicLabels {
            topic: topic.into(),
        };
        self.outbox_depth.get_or_create(&labels).set(depth as i64);
        self.outbox_age
            .get_or_create(&labels)
            .set(oldest_age_seconds.max(0.0));
    }

    pub fn set_mail(&self, state: &str, messages: u64) {
        self.mail
            .get_or_create(&StateLabels {
                state: state.into(),
            })
            .set(messages as i64);
    }

    pub fn set_pool(&self, state: &str, connections: u64) {
        self.pool
            .get_or_create(&StateLabels {
                state: state.into(),
            })
            .set(connections as i64);
    }

    /// Everything recorded, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_recorded_figures_with_bounded_labels() {
        let m = Metrics::new();
        m.observe_request("GET", "/api/v1/themes/{id}", 200, 0.004);
        m.observe_request("BREW", "/api/v1/themes/{id}", 200, 0.004);
        m.embedded(3);
        m.set_outbox("embed", 7, 12.5);
        let text = m.render();
        assert!(text.contains(
            "triage_http_requests_total{method=\"GET\",route=\"/api/v1/themes/{id}\",status=\"200\"} 1"
        ));
        assert!(text.contains("method=\"other\""), "{text}");
        assert!(text.contains("triage_items_embedded_total 3"), "{text}");
        assert!(
            text.contains("triage_outbox_depth{topic=\"embed\"} 7"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
