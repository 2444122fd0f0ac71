//! Delivers outbox rows over SMTP (lettre), with a timeout around every send.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{SmtpSettings, TlsMode};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (connection, 4xx, timeout).
    #[error("temporary: {0}")]
    Temporary(String),
    /// The server refused the message for good (5xx).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Is a 5xx answer about this message or its recipient (give up), rather than about our
/// credentials, policy or configuration (fixable: keep retrying)? Only 550-554 without an
/// enhanced 5.7.x (security/policy) status count as a refusal of the message.
pub fn refuses_the_message(error: &str) -> bool {
    let code = error
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 3)
        .and_then(|w| w.parse::<u16>().ok());
    matches!(code, Some(550..=554)) && !error.contains(" 5.7.")
}

/// An SMTP connection factory.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
    host: String,
    port: u16,
    tls: TlsMode,
    /// Plain and STARTTLS sessions are opened here, on a socket with TCP_NODELAY: lettre
    /// writes the message and the final `.` separately, and without NODELAY that `.` waits
    /// for the server's delayed ACK (about 40 ms per mail, measured: 18 mail/s instead of
    /// the 121 of a raw client against the same server).
    direct: Option<Direct>,
}

#[derive(Clone)]
struct Direct {
    host: String,
    port: u16,
    ca_file: Option<std::path::PathBuf>,
    starttls: Option<TlsParameters>,
    credentials: Option<Credentials>,
}

/// A lettre error as one line with the server's `host:port` (lettre's Display already holds
/// its source once; the chain is not repeated).
fn lettre_error(addr: &str, e: lettre::transport::smtp::Error) -> SendError {
    let words = crate::netdiag::tidy(&e.to_string());
    if e.is_permanent() && refuses_the_message(&words) {
        SendError::Permanent(format!("SMTP {addr}: {words}"))
    } else {
        SendError::Temporary(format!("SMTP {addr}: {words}"))
    }
}

impl SendError {
    /// The message without the temporary/permanent label.
    pub fn text(&self) -> &str {
        match self {
            SendError::Temporary(t) | SendError::Permanent(t) => t,
        }
    }
}

fn tls_params(s: &SmtpSettings) -> anyhow::Result<TlsParameters> {
    let mut b = TlsParameters::builder(s.host.clone());
    if let Some(ca) = &s.ca_file {
        let pem = std::fs::read(ca).map_err(|e| anyhow::anyhow!("smtp.ca_file {}: {e}", ca.display()))?;
        b = b.add_root_certificate(Certificate::from_pem(&pem)?);
    }
    Ok(b.build_rustls()?)
}

impl Smtp {
    pub fn new(s: &SmtpSettings) -> anyhow::Result<Smtp> {
        let tls = match s.tls {
            TlsMode::None => Tls::None,
            TlsMode::Starttls => Tls::Required(tls_params(s)?),
            TlsMode::Implicit => Tls::Wrapper(tls_params(s)?),
        };
        let credentials =
            (!s.username.is_empty()).then(|| Credentials::new(s.username.clone(), s.secret.expose().to_string()));
        let direct = match s.tls {
            TlsMode::Implicit => None,
            TlsMode::Starttls => Some(Some(tls_params(s)?)),
            TlsMode::None => Some(None),
        }
        .map(|starttls| Direct {
            host: s.host.clone(),
            port: s.port,
            ca_file: s.ca_file.clone(),
            starttls,
            credentials: credentials.clone(),
        });
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        if let Some(c) = credentials {
            b = b.credentials(c);
        }
        Ok(Smtp {
            transport: b.build(),
            timeout: s.timeout,
            host: s.host.clone(),
            port: s.port,
            tls: s.tls,
            direct,
        })
    }

    /// Sends exact bytes to the given envelope.
    #[tracing::instrument(skip_all, fields(recipients = recipients.len()))]
    pub async fn send_raw(&self, from: &str, recipients: &[String], raw: &[u8]) -> Result<(), SendError> {
        let from = from
            .parse()
            .map_err(|e| SendError::Permanent(format!("bad sender: {e}")))?;
        let to = recipients
            .iter()
            .map(|r| r.parse())
            .collect::<Result<Vec<lettre::Address>, _>>()
            .map_err(|e| SendError::Permanent(format!("bad recipient: {e}")))?;
        let env = Envelope::new(Some(from), to).map_err(|e| SendError::Permanent(e.to_string()))?;
        let addr = self.addr();
        let sent = match &self.direct {
            Some(d) => tokio::time::timeout(self.timeout, d.send(&env, raw)).await,
            None => {
                tokio::time::timeout(self.timeout, async {
                    match self.transport.send_raw(&env, raw).await {
                        Ok(_) => Ok(()),
                        Err(e) => Err(self.diagnose_implicit(lettre_error(&addr, e)).await),
                    }
                })
                .await
            }
        };
        match sent {
            Err(_) => Err(SendError::Temporary(format!(
                "SMTP {addr}: no answer within {}s",
                self.timeout.as_secs()
            ))),
            Ok(r) => r,
        }
    }

    fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// An implicit-TLS connection failed before the server's words: a second look at the
    /// port says whether it greets in plain text (then `tls = "starttls"` is the fix).
    async fn diagnose_implicit(&self, e: SendError) -> SendError {
        let SendError::Temporary(text) = &e else {
            return e;
        };
        let is_response = text.contains("transient error (") || text.contains("permanent error (");
        if self.tls != TlsMode::Implicit || is_response {
            return e;
        }
        if let Some(h) = crate::netdiag::certificate_hint("smtp", &self.host, text) {
            return SendError::Temporary(format!("{text}: {h}"));
        }
        match crate::netdiag::plain_greeting(&self.host, self.port).await {
            Some(g) => SendError::Temporary(format!(
                "{text}: {}",
                crate::netdiag::plain_port_hint(crate::netdiag::Protocol::Smtp, self.port, &g)
            )),
            None => e,
        }
    }

    /// Connects and says hello (for `check-config --connect`). The error is one line with
    /// `host:port` and, for a TLS mode that does not fit the port, the fix.
    pub async fn check(&self) -> Result<(), SendError> {
        let addr = self.addr();
        if let Some(d) = &self.direct {
            let tcp = d.connect().await?;
            drop(tcp);
        }
        match tokio::time::timeout(self.timeout, self.transport.test_connection()).await {
            Err(_) => Err(SendError::Temporary(format!(
                "SMTP {addr}: no answer within {}s",
                self.timeout.as_secs()
            ))),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(SendError::Temporary(format!(
                "SMTP {addr}: the server did not accept the connection"
            ))),
            Ok(Err(e)) => Err(self.diagnose_implicit(lettre_error(&addr, e)).await),
        }
    }
}

impl Direct {
    /// One SMTP session for one mail: connect (TCP_NODELAY), EHLO, STARTTLS when
    /// configured (required then), AUTH when configured, MAIL/RCPT/DATA, QUIT.
    async fn send(&self, env: &Envelope, raw: &[u8]) -> Result<(), SendError> {
        let addr = format!("{}:{}", self.host, self.port);
        let tcp = self.connect().await?;
        let hello = ClientId::default();
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
            .await
            .map_err(|e| lettre_error(&addr, e))?;
        if let Some(params) = &self.starttls {
            conn.starttls(params.clone(), &hello)
                .await
                .map_err(|e| lettre_error(&addr, e))?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, c)
                .await
                .map_err(|e| lettre_error(&addr, e))?;
        }
        conn.send(env, raw).await.map_err(|e| lettre_error(&addr, e))?;
        let _ = conn.quit().await;
        Ok(())
    }

    /// A plain TCP connection whose server has spoken (its greeting waits unread). A server
    /// silent for [`crate::netdiag::GREETING_PATIENCE`] that answers a TLS handshake wants
    /// implicit TLS: that is named at once instead of waiting out `smtp.timeout`.
    async fn connect(&self) -> Result<tokio::net::TcpStream, SendError> {
        let addr = format!("{}:{}", self.host, self.port);
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| SendError::Temporary(format!("SMTP {addr}: connect: {e}")))?;
        tcp.set_nodelay(true)
            .map_err(|e| SendError::Temporary(format!("SMTP {addr}: TCP_NODELAY: {e}")))?;
        let patience = crate::netdiag::GREETING_PATIENCE;
        let mut one = [0u8; 1];
        if tokio::time::timeout(patience, tcp.peek(&mut one)).await.is_err() {
            let cfg = crate::intake::tls::client_config(self.ca_file.as_deref())
                .map_err(|e| SendError::Temporary(format!("SMTP {addr}: TLS setup: {e}")))?;
            if crate::netdiag::speaks_tls(&self.host, self.port, cfg).await {
                return Err(SendError::Temporary(format!(
                    "SMTP {addr}: no greeting within {} s: {}",
                    patience.as_secs(),
                    crate::netdiag::tls_port_hint(self.port)
                )));
            }
        }
        Ok(tcp)
    }
}

#[cfg(test)]
mod tests {
    use super::refuses_the_message;

    #[test]
    fn only_recipient_refusals_are_permanent() {
        assert!(refuses_the_message(
            "permanent error (550): 5.1.1 <x@example.com>: Recipient address rejected"
        ));
        assert!(!refuses_the_message(
            "permanent error (535): 5.7.8 Authentication credentials invalid"
        ));
        assert!(!refuses_the_message("permanent error (554): 5.7.1 Relay access denied"));
        assert!(!refuses_the_message(
            "permanent error (530): 5.7.0 Must issue a STARTTLS command first"
        ));
    }
}
