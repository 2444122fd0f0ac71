//! Connection errors an operator can act on. When a connection to the IMAP or SMTP server
//! fails (a TLS handshake that breaks, a server that says nothing), a second, short look at
//! the port finds out within seconds whether it speaks plain text or TLS, so the one-line
//! error names `host:port`, the server's own words, and the likely fix (`tls = "starttls"`
//! or `tls = "implicit"`).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig};

/// How long a server may stay silent before its first line is taken for "this port waits
/// for a TLS ClientHello" (and checked): far above a real server's greeting delay, far
/// below the `timeout` of a whole step.
pub const GREETING_PATIENCE: Duration = Duration::from_secs(5);

/// Which protocol a port was expected to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Imap,
    Smtp,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Imap => "IMAP",
            Protocol::Smtp => "SMTP",
        }
    }
    fn tls_port(self) -> u16 {
        match self {
            Protocol::Imap => 993,
            Protocol::Smtp => 465,
        }
    }
}

/// A server's words, fit for one log line: control characters out, at most 200 characters,
/// in quotes.
pub fn quote(words: &str) -> String {
    let clean: String = words
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cut: String = clean.chars().take(200).collect();
    if cut.len() < clean.len() {
        format!("\"{cut}…\"")
    } else {
        format!("\"{cut}\"")
    }
}

/// Library errors sometimes carry a Rust debug struct (`Outcome { code: None, information:
/// Some("...") }`): keep only the server's words from it, quoted once.
pub fn tidy(message: &str) -> String {
    if let Some(start) = message.find("information: Some(\"") {
        let rest = &message[start + "information: Some(\"".len()..];
        if let Some(end) = rest.find("\")") {
            let prefix = message[..start]
                .split(['{', '('])
                .next()
                .unwrap_or("")
                .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == ' ' || c == ':')
                .trim_end();
            let words = quote(&rest[..end].replace("\\\"", "\""));
            return if prefix.is_empty() {
                format!("the server said {words}")
            } else {
                format!("{prefix}: the server said {words}")
            };
        }
    }
    without_repeats(message)
}

/// `a: a: b` -> `a: b`: error chains that print their source inside their own words (lettre
/// wraps a connection error in a connection error) say each part once.
fn without_repeats(message: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in message.split(": ") {
        if parts.last() != Some(&p) {
            parts.push(p);
        }
    }
    parts.join(": ")
}

/// The first line the server sends on a fresh plain connection, within
/// [`GREETING_PATIENCE`]; `None` when it stays silent, closes, or cannot be reached.
pub async fn plain_greeting(host: &str, port: u16) -> Option<String> {
    let look = async {
        let mut tcp = TcpStream::connect((host, port)).await.ok()?;
        let mut buf = vec![0u8; 512];
        let mut got = 0;
        while got < buf.len() {
            let n = tcp.read(&mut buf[got..]).await.ok()?;
            if n == 0 {
                break;
            }
            got += n;
            if buf[..got].contains(&b'\n') {
                break;
            }
        }
        let line = buf[..got].split(|b| *b == b'\n').next()?;
        // Plain text: printable ASCII (a TLS record starts with 0x15/0x16 and binary).
        (!line.is_empty()
            && line
                .iter()
                .all(|b| b.is_ascii() && (*b >= 0x20 || *b == b'\r' || *b == b'\t')))
        .then(|| String::from_utf8_lossy(line).trim().to_string())
    };
    tokio::time::timeout(GREETING_PATIENCE, look).await.ok().flatten()
}

/// Whether the port answers a TLS ClientHello: the handshake completes, or fails over the
/// certificate or an alert (the server spoke TLS). Within [`GREETING_PATIENCE`].
pub async fn speaks_tls(host: &str, port: u16, cfg: Arc<ClientConfig>) -> bool {
    let probe = async {
        let Ok(tcp) = TcpStream::connect((host, port)).await else {
            return false;
        };
        match crate::intake::tls::wrap(tcp, host, cfg).await {
            Ok(_) => true,
            Err(e) => answered_in_tls(&e),
        }
    };
    tokio::time::timeout(GREETING_PATIENCE, probe).await.unwrap_or(false)
}

/// A failed handshake in which the server did speak TLS (its certificate or its alert).
fn answered_in_tls(e: &anyhow::Error) -> bool {
    let Some(rustls_error) = e
        .chain()
        .find_map(|c| c.downcast_ref::<std::io::Error>())
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return false;
    };
    matches!(
        rustls_error,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::AlertReceived(_)
            | rustls::Error::PeerIncompatible(_)
            | rustls::Error::NoCertificatesPresented
    )
}

/// The fix for a TLS handshake on a port that greeted in plain text.
pub fn plain_port_hint(proto: Protocol, port: u16, greeting: &str) -> String {
    let starttls_offered = match proto {
        // A greeting that lists capabilities without STARTTLS offers none.
        Protocol::Imap if greeting.contains("[CAPABILITY") => greeting.to_ascii_uppercase().contains("STARTTLS"),
        _ => true,
    };
    if starttls_offered {
        format!(
            "port {port} speaks plain {}: use tls = \"starttls\"; the server said {}",
            proto.name(),
            quote(greeting)
        )
    } else {
        format!(
            "port {port} speaks plain {} and offers no STARTTLS: use the server's TLS port (usually {}) with tls = \"implicit\"; the server said {}",
            proto.name(),
            proto.tls_port(),
            quote(greeting)
        )
    }
}

/// The fix for a port that said nothing but answers a TLS handshake.
pub fn tls_port_hint(port: u16) -> String {
    format!("port {port} expects TLS at once: use tls = \"implicit\" (it answers a TLS handshake)")
}

/// The fix for a certificate the handshake refused, if the words say which.
pub fn certificate_hint(section: &str, host: &str, message: &str) -> Option<String> {
    if message.contains("UnknownIssuer") {
        Some(format!(
            "the server's certificate is not signed by a known CA: set {section}.ca_file to the CA that signed it"
        ))
    } else if message.contains("NotValidForName") {
        Some(format!(
            "the server's certificate is not valid for {host}: set {section}.host to a name the certificate names"
        ))
    } else if message.contains("Expired") {
        Some("the server's certificate has expired: renew it on the server".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_structs_become_the_servers_words() {
        let m = r#"encountered unexpected parsed response: Done { tag: RequestId("A0001"), status: No, code: None, information: Some("[AUTHENTICATIONFAILED] Authentication failed.") }"#;
        let t = tidy(m);
        assert!(!t.contains("Some("), "{t}");
        assert!(t.contains("\"[AUTHENTICATIONFAILED] Authentication failed.\""), "{t}");
        assert_eq!(tidy("connection refused"), "connection refused");
        assert_eq!(
            tidy("Connection error: Connection error: received corrupt message"),
            "Connection error: received corrupt message"
        );
    }

    #[test]
    fn hints_name_the_other_mode() {
        let h = plain_port_hint(
            Protocol::Imap,
            143,
            "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.",
        );
        assert!(
            h.contains("port 143 speaks plain IMAP") && h.contains("tls = \"starttls\""),
            "{h}"
        );
        let h = plain_port_hint(Protocol::Imap, 143, "* OK [CAPABILITY IMAP4rev1] ready");
        assert!(h.contains("no STARTTLS") && h.contains("993"), "{h}");
        let h = plain_port_hint(Protocol::Smtp, 587, "220 mail.example.org ESMTP");
        assert!(
            h.contains("plain SMTP") && h.contains("\"220 mail.example.org ESMTP\""),
            "{h}"
        );
        let h = tls_port_hint(993);
        assert!(
            h.contains("port 993 expects TLS at once: use tls = \"implicit\""),
            "{h}"
        );
    }

    #[test]
    fn long_words_are_cut() {
        let q = quote(&"x".repeat(500));
        assert!(q.chars().count() < 210);
        assert_eq!(quote("a\r\nb"), "\"a  b\"");
    }
}
