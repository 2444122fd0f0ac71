//! Delivers outbox rows over SMTP (lettre), with a timeout around every send.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
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
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        if !s.username.is_empty() {
            b = b.credentials(Credentials::new(s.username.clone(), s.secret.expose().to_string()));
        }
        Ok(Smtp {
            transport: b.build(),
            timeout: s.timeout,
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
        match tokio::time::timeout(self.timeout, self.transport.send_raw(&env, raw)).await {
            Err(_) => Err(SendError::Temporary(format!("no answer within {:?}", self.timeout))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() && refuses_the_message(&e.to_string()) => {
                Err(SendError::Permanent(e.to_string()))
            }
            Ok(Err(e)) => Err(SendError::Temporary(e.to_string())),
        }
    }

    /// Connects and says hello (for `check-config --connect`).
    pub async fn check(&self) -> anyhow::Result<()> {
        match tokio::time::timeout(self.timeout, self.transport.test_connection()).await {
            Err(_) => anyhow::bail!("no answer within {:?}", self.timeout),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => anyhow::bail!("server did not accept the connection"),
            Ok(Err(e)) => Err(e.into()),
        }
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
