//! Prometheus metrics: every name in one place, and the optional loopback exporter.

use std::net::SocketAddr;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

pub const INGESTED: &str = "secintake_messages_ingested_total";
pub const CASES_OPENED: &str = "secintake_cases_opened_total";
pub const MAILS_SENT: &str = "secintake_mails_sent_total";
pub const MAILS_FAILED: &str = "secintake_mails_failed_total";
pub const MAILS_RETRIED: &str = "secintake_mail_send_retries_total";
pub const IMAP_RECONNECTS: &str = "secintake_imap_reconnects_total";
pub const OUTBOX_BACKLOG: &str = "secintake_outbox_backlog";
pub const OVERDUE: &str = "secintake_overdue_deadlines";
pub const INGEST_LATENCY: &str = "secintake_ingest_latency_seconds";

/// Starts the exporter on `listen` (a loopback address:port).
pub fn serve(listen: &str) -> anyhow::Result<()> {
    let addr: SocketAddr = listen.parse()?;
    if !addr.ip().is_loopback() {
        anyhow::bail!("metrics.listen {addr} is not a loopback address");
    }
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            Matcher::Full(INGEST_LATENCY.into()),
            &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0],
        )?
        .install()?;
    for name in [
        INGESTED,
        CASES_OPENED,
        MAILS_SENT,
        MAILS_FAILED,
        MAILS_RETRIED,
        IMAP_RECONNECTS,
    ] {
        counter!(name).absolute(0);
    }
    tracing::info!(%addr, "serving Prometheus metrics");
    Ok(())
}

pub fn ingested(kind: &'static str) {
    counter!(INGESTED, "kind" => kind).increment(1);
}
pub fn case_opened() {
    counter!(CASES_OPENED).increment(1);
}
pub fn mail_sent(kind: &str) {
    counter!(MAILS_SENT, "kind" => kind.to_string()).increment(1);
}
pub fn mail_failed() {
    counter!(MAILS_FAILED).increment(1);
}
pub fn mail_retried() {
    counter!(MAILS_RETRIED).increment(1);
}
pub fn imap_reconnect() {
    counter!(IMAP_RECONNECTS).increment(1);
}
pub fn outbox_backlog(n: i64) {
    gauge!(OUTBOX_BACKLOG).set(n as f64);
}
pub fn overdue(n: usize) {
    gauge!(OVERDUE).set(n as f64);
}
pub fn ingest_latency(secs: f64) {
    histogram!(INGEST_LATENCY).record(secs);
}
