//! A small HTTP(S) client for channel deliveries (hyper + rustls with ring), with a
//! timeout over the whole exchange, that says what became of each attempt.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::{Method, Outgoing};

/// Default limit on one attempt (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of an answer's body we read, to quote it in a failure.
const ANSWER_LIMIT: usize = 4096;

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver took it (2xx).
    Delivered { status: u16 },
    /// Worth another try later: 5xx, 408, 429, a timeout, a refused or broken connection.
    Retry { reason: String },
    /// Will never work as it is: any other 4xx, a redirect, a bad URL.
    Failed { reason: String },
}

impl Outcome {
    /// What an HTTP status means for a delivery (`answer`: the start of the body, quoted).
    pub fn of_status(status: u16, answer: &str) -> Outcome {
        let said = if answer.is_empty() {
            String::new()
        } else {
            format!(": {answer}")
        };
        match status {
            200..=299 => Outcome::Delivered { status },
            408 | 429 | 500..=599 => Outcome::Retry {
                reason: format!("HTTP {status}{said}"),
            },
            300..=399 => Outcome::Failed {
                reason: format!("HTTP {status}: redirects are not followed; configure the final URL"),
            },
            _ => Outcome::Failed {
                reason: format!("HTTP {status}{said}"),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("TLS setup: {0}")]
    Tls(String),
}

/// The client; cheap to clone, keeps connections alive between deliveries.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client trusting the public roots, plus the CA in `ca_file` if given (a private
    /// relay, the tests).
    pub fn new(ca_file: Option<&Path>, timeout: Duration) -> Result<HttpClient, ClientError> {
        let tls = crate::intake::tls::client_config(ca_file).map_err(|e| ClientError::Tls(e.to_string()))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(HttpClient { inner, timeout })
    }

    /// Makes one attempt; never returns an error, only an [`Outcome`]. No URL, header or
    /// body is logged (a Slack URL and a Matrix token are secrets).
    #[tracing::instrument(skip_all, fields(method = ?req.method, body_len = req.body.len()))]
    pub async fn send(&self, req: &Outgoing) -> Outcome {
        let request = match build(req) {
            Ok(r) => r,
            Err(reason) => return Outcome::Failed { reason },
        };
        let exchange = async {
            let resp = self.inner.request(request).await.map_err(|e| describe(&e))?;
            let status = resp.status().as_u16();
            // Read a little of the answer, for the failure's reason; never more.
            let body = Limited::new(resp.into_body(), ANSWER_LIMIT).collect().await;
            let answer = body.map(|b| summary(&b.to_bytes())).unwrap_or_default();
            Ok::<_, String>(Outcome::of_status(status, &answer))
        };
        let outcome = match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Outcome::Retry {
                reason: format!("no answer within {}s", self.timeout.as_secs_f32()),
            },
            Ok(Err(reason)) => Outcome::Retry { reason },
            Ok(Ok(o)) => o,
        };
        match &outcome {
            Outcome::Delivered { status } => tracing::debug!(status, "delivered"),
            Outcome::Retry { reason } => tracing::info!(%reason, "delivery will be retried"),
            Outcome::Failed { reason } => tracing::warn!(%reason, "delivery failed"),
        }
        outcome
    }
}

fn build(req: &Outgoing) -> Result<hyper::Request<Full<Bytes>>, String> {
    let uri: hyper::Uri = req.url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let method = match req.method {
        Method::Post => hyper::Method::POST,
        Method::Put => hyper::Method::PUT,
    };
    let mut b = hyper::Request::builder().method(method).uri(uri);
    let headers = b.headers_mut().ok_or("bad request")?;
    for (k, v) in &req.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| format!("bad header name {k}"))?;
        let value = HeaderValue::from_str(v).map_err(|_| format!("bad value for header {k}"))?;
        headers.insert(name, value);
    }
    headers.insert(
        hyper::header::USER_AGENT,
        HeaderValue::from_static(concat!("secintake/", env!("CARGO_PKG_VERSION"))),
    );
    b.body(Full::new(Bytes::from(req.body.clone())))
        .map_err(|e| format!("bad request: {e}"))
}

/// The cause of a failed exchange in a line (connection refused, TLS, reset), no URL.
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut msg = if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "connection failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    let mut depth = 0;
    while let Some(s) = src {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        src = s.source();
        depth += 1;
        if depth == 4 {
            break;
        }
    }
    crate::sanitize::header_text(&msg)
}

/// The first 160 characters of an answer, as one printable line.
fn summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = crate::sanitize::header_text(&text);
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(Outcome::of_status(200, ""), Outcome::Delivered { status: 200 });
        assert_eq!(Outcome::of_status(204, "x"), Outcome::Delivered { status: 204 });
        assert!(matches!(Outcome::of_status(500, ""), Outcome::Retry { .. }));
        assert!(matches!(Outcome::of_status(503, ""), Outcome::Retry { .. }));
        assert!(matches!(Outcome::of_status(429, ""), Outcome::Retry { .. }));
        assert!(matches!(Outcome::of_status(408, ""), Outcome::Retry { .. }));
        assert_eq!(
            Outcome::of_status(400, "invalid_payload"),
            Outcome::Failed {
                reason: "HTTP 400: invalid_payload".into()
            }
        );
        assert!(matches!(Outcome::of_status(404, ""), Outcome::Failed { .. }));
        assert!(matches!(Outcome::of_status(301, ""), Outcome::Failed { .. }));
    }

    #[test]
    fn answers_are_quoted_short_and_on_one_line() {
        assert_eq!(summary(b"line one\r\nline two"), "line one line two");
        let long = "x".repeat(500);
        assert_eq!(summary(long.as_bytes()).chars().count(), 161);
    }
}
