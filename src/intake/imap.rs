//! One IMAP connection to the list mailbox (async-imap), with a timeout on every step.

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::Session;
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::{ImapSettings, TlsMode};

/// UID, raw bytes, INTERNALDATE.
pub type FetchedRaw = (u32, Vec<u8>, Option<chrono::DateTime<chrono::Utc>>);

/// Any byte stream async-imap can talk over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}
type Stream = Box<dyn Io>;

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("IMAP {step}: no answer within {secs}s")]
    Timeout { step: &'static str, secs: u64 },
    #[error("IMAP {step}: {message}")]
    Failed { step: &'static str, message: String },
    #[error("IMAP {addr}: login refused for {user}: {message}")]
    Login {
        addr: String,
        user: String,
        message: String,
    },
    /// Connecting or securing the connection failed: `host:port`, what happened, and the
    /// likely fix when a second look at the port found one.
    #[error("IMAP {addr}: {message}{}", hint.as_ref().map(|h| format!(": {h}")).unwrap_or_default())]
    Connect {
        addr: String,
        message: String,
        hint: Option<String>,
    },
}

impl ImapError {
    /// The same error, with the server's `host:port` in its words.
    fn at(self, addr: &str) -> ImapError {
        match self {
            ImapError::Login { .. } | ImapError::Connect { .. } => self,
            other => ImapError::Connect {
                addr: addr.to_string(),
                message: other.to_string().trim_start_matches("IMAP ").to_string(),
                hint: None,
            },
        }
    }
}

async fn step<T, E: std::fmt::Display>(
    name: &'static str,
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(limit, f).await {
        Err(_) => Err(ImapError::Timeout {
            step: name,
            secs: limit.as_secs(),
        }),
        Ok(Err(e)) => Err(ImapError::Failed {
            step: name,
            message: crate::netdiag::tidy(&e.to_string()),
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

/// A logged-in session with the mailbox selected.
pub struct Connection {
    session: Session<Stream>,
    timeout: Duration,
    pub uidvalidity: u32,
    pub uid_next: Option<u32>,
    pub idle: bool,
    mailbox: String,
    /// Stored-but-unseen messages were reconciled on this connection.
    pub reconciled: bool,
}

impl Connection {
    /// Connects, secures, logs in and selects the mailbox. Every error names `host:port`; a
    /// TLS mode that does not fit the port is found within seconds and named with its fix.
    #[tracing::instrument(skip_all, fields(host = %s.host, port = s.port, tls = ?s.tls))]
    pub async fn open(s: &ImapSettings) -> Result<Connection, ImapError> {
        let addr = format!("{}:{}", s.host, s.port);
        Self::open_inner(s, &addr).await.map_err(|e| e.at(&addr))
    }

    async fn open_inner(s: &ImapSettings, addr: &str) -> Result<Connection, ImapError> {
        let t = s.timeout;
        let tcp = step("connect", t, TcpStream::connect(addr)).await?;
        tcp.set_nodelay(true).ok();
        let tls_cfg = || {
            super::tls::client_config(s.ca_file.as_deref()).map_err(|e| ImapError::Failed {
                step: "tls setup",
                message: e.to_string(),
            })
        };
        let stream: Stream = match s.tls {
            TlsMode::None => Box::new(tcp),
            TlsMode::Implicit => Box::new(handshake(s, addr, tcp, tls_cfg()?).await?),
            TlsMode::Starttls => {
                let mut plain = async_imap::Client::new(tcp);
                greeting(&mut plain, s, addr).await?;
                step("starttls", t, plain.run_command_and_check_ok("STARTTLS", None)).await?;
                let tcp = plain.into_inner();
                Box::new(handshake(s, addr, tcp, tls_cfg()?).await?)
            }
        };
        let mut client = async_imap::Client::new(stream);
        if s.tls != TlsMode::Starttls {
            greeting(&mut client, s, addr).await?;
        }
        let mut session = match tokio::time::timeout(t, client.login(&s.username, s.secret.expose())).await {
            Err(_) => {
                return Err(ImapError::Timeout {
                    step: "login",
                    secs: t.as_secs(),
                })
            }
            Ok(Err((e, _))) => {
                return Err(ImapError::Login {
                    addr: addr.to_string(),
                    user: s.username.clone(),
                    message: crate::netdiag::tidy(&e.to_string()),
                })
            }
            Ok(Ok(sess)) => sess,
        };
        let caps = step("capability", t, session.capabilities()).await?;
        let idle = caps.has_str("IDLE");
        let mb = step("select", t, session.select(&s.mailbox)).await?;
        let uidvalidity = mb.uid_validity.ok_or_else(|| ImapError::Failed {
            step: "select",
            message: "server gave no UIDVALIDITY".into(),
        })?;
        Ok(Connection {
            session,
            timeout: t,
            uidvalidity,
            uid_next: mb.uid_next,
            idle,
            mailbox: s.mailbox.clone(),
            reconciled: false,
        })
    }

    pub fn mailbox(&self) -> &str {
        &self.mailbox
    }

    fn drain_unsolicited(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    /// Unseen UIDs at or below `upto`.
    pub async fn unseen_upto(&mut self, upto: u32) -> Result<Vec<u32>, ImapError> {
        if upto == 0 {
            return Ok(vec![]);
        }
        let q = format!("UID 1:{upto} UNSEEN");
        let set = step("uid search unseen", self.timeout, self.session.uid_search(&q)).await?;
        self.drain_unsolicited();
        let mut v: Vec<u32> = set.into_iter().filter(|u| *u <= upto).collect();
        v.sort_unstable();
        Ok(v)
    }

    /// UIDs above `after`, ascending (`UID SEARCH UID n:*` also returns the highest UID).
    pub async fn uids_after(&mut self, after: u32) -> Result<Vec<u32>, ImapError> {
        let q = format!("UID {}:*", after.saturating_add(1));
        let set = step("uid search", self.timeout, self.session.uid_search(&q)).await?;
        self.drain_unsolicited();
        let mut v: Vec<u32> = set.into_iter().filter(|u| *u > after).collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Sizes of the given messages.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<HashMap<u32, u64>, ImapError> {
        let set = uid_set(uids);
        let t = self.timeout;
        let fetches: Vec<_> = step("fetch sizes", t, async {
            self.session
                .uid_fetch(&set, "(UID RFC822.SIZE)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        self.drain_unsolicited();
        Ok(fetches
            .iter()
            .filter_map(|f| Some((f.uid?, u64::from(f.size.unwrap_or(0)))))
            .collect())
    }

    /// Whole messages (`BODY.PEEK[]`, so nothing is marked on the server yet).
    /// A fetched message: UID, bytes, and when the server received it (INTERNALDATE).
    pub async fn fetch(&mut self, uids: &[u32], header_only: bool) -> Result<Vec<FetchedRaw>, ImapError> {
        let set = uid_set(uids);
        let what = if header_only {
            "(UID INTERNALDATE BODY.PEEK[HEADER])"
        } else {
            "(UID INTERNALDATE BODY.PEEK[])"
        };
        let t = self.timeout * (1 + uids.len() as u32 / 10);
        let fetches: Vec<_> = step("fetch", t, async {
            self.session.uid_fetch(&set, what).await?.try_collect::<Vec<_>>().await
        })
        .await?;
        self.drain_unsolicited();
        let items = fetches.iter().map(|f| FetchItem {
            uid: f.uid,
            bytes: if header_only { f.header() } else { f.body() },
            arrived: f.internal_date().map(|d| d.with_timezone(&chrono::Utc)),
        });
        let (out, missing) = collect_fetched(uids, items)?;
        if !missing.is_empty() {
            tracing::warn!(uids = %uid_set(&missing), "the server returned no FETCH for these UIDs (expunged?); they are not marked \\Seen");
        }
        Ok(out)
    }

    /// One large message fetched in pieces (`BODY.PEEK[]<offset.length>`) into a buffer of
    /// its announced size, so it is never held whole in the client's read buffer as well.
    /// `None` when the message is gone (expunged since it was listed).
    pub async fn fetch_in_pieces(
        &mut self,
        uid: u32,
        size: u64,
        piece: usize,
    ) -> Result<Option<FetchedRaw>, ImapError> {
        let mut raw: Vec<u8> = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let mut arrived = None;
        loop {
            let what = format!(
                "(UID{} BODY.PEEK[]<{}.{piece}>)",
                if raw.is_empty() { " INTERNALDATE" } else { "" },
                raw.len()
            );
            let t = self.timeout;
            let fetches: Vec<_> = step("fetch piece", t, async {
                self.session
                    .uid_fetch(uid.to_string(), &what)
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            self.drain_unsolicited();
            let first = raw.is_empty();
            let items = fetches.iter().map(|f| FetchItem {
                uid: f.uid,
                bytes: f.body(),
                arrived: f.internal_date().map(|d| d.with_timezone(&chrono::Utc)),
            });
            let (mut got, missing) = match collect_fetched(&[uid], items) {
                // Asked past the end of a message of exactly k pieces: a server may answer
                // without a body. The announced size is complete, so that is the end.
                Err(_) if !first && raw.len() as u64 >= size => return Ok(Some((uid, raw, arrived))),
                r => r?,
            };
            let Some((_, got, at)) = got.pop() else {
                if first && !missing.is_empty() {
                    return Ok(None); // gone before its first piece: expunged
                }
                // Gone half-way: an error, so the message is fetched again next pass.
                tracing::warn!(uid, offset = raw.len(), "a piece of a large message is missing");
                return Err(ImapError::Failed {
                    step: "fetch piece",
                    message: format!("no piece at offset {} of UID {uid}", raw.len()),
                });
            };
            if first {
                arrived = at;
            }
            raw.extend_from_slice(&got);
            if got.len() < piece {
                return Ok(Some((uid, raw, arrived)));
            }
        }
    }

    /// When the server received message `uid` (INTERNALDATE).
    pub async fn arrival(&mut self, uid: u32) -> Result<Option<chrono::DateTime<chrono::Utc>>, ImapError> {
        let t = self.timeout;
        let fetches: Vec<_> = step("fetch internaldate", t, async {
            self.session
                .uid_fetch(uid.to_string(), "(UID INTERNALDATE)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        self.drain_unsolicited();
        Ok(fetches
            .iter()
            .find_map(|f| f.internal_date())
            .map(|d| d.with_timezone(&chrono::Utc)))
    }

    /// Marks messages `\Seen` (after their transaction committed).
    pub async fn mark_seen(&mut self, uids: &[u32]) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        let t = self.timeout;
        step("store \\Seen", t, async {
            self.session
                .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        self.drain_unsolicited();
        Ok(())
    }

    /// IDLE until the server reports news, `renew` passes, or `stop` fires. Returns the
    /// connection for reuse and whether the server reported anything.
    pub async fn idle(
        self,
        renew: Duration,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(Connection, bool), ImapError> {
        let Connection {
            session,
            timeout,
            uidvalidity,
            uid_next,
            idle,
            mailbox,
            reconciled,
        } = self;
        let mut handle = session.idle();
        step("idle", timeout, handle.init()).await?;
        let news = {
            // async-imap's own timeout restarts on every response, and servers send
            // keepalives (`* OK Still here`, Dovecot every 2 minutes): only an absolute
            // deadline makes IDLE end after `renew` in a quiet mailbox.
            let (wait, interrupt) = handle.wait_with_timeout(renew);
            tokio::pin!(wait);
            tokio::select! {
                r = &mut wait => match r {
                    Ok(IdleResponse::NewData(_)) => true,
                    Ok(_) => false,
                    Err(e) => return Err(ImapError::Failed { step: "idle wait", message: e.to_string() }),
                },
                _ = tokio::time::sleep(renew) => { drop(interrupt); false }
                _ = stop.changed() => { drop(interrupt); false }
            }
        };
        let session = step("idle done", timeout, handle.done()).await?;
        let mut c = Connection {
            session,
            timeout,
            uidvalidity,
            uid_next,
            idle,
            mailbox,
            reconciled,
        };
        c.drain_unsolicited();
        Ok((c, news))
    }

    /// NOOP: proves the connection is alive.
    pub async fn noop(&mut self) -> Result<(), ImapError> {
        step("noop", self.timeout, self.session.noop()).await?;
        self.drain_unsolicited();
        Ok(())
    }

    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(self.timeout.min(Duration::from_secs(5)), self.session.logout()).await;
    }
}

/// async-imap does not read the server greeting itself.
/// The TLS handshake; when it fails, a second look at the port says whether it speaks plain
/// IMAP (then `tls = "starttls"` is the fix) or what the certificate's trouble is.
async fn handshake(
    s: &ImapSettings,
    addr: &str,
    tcp: TcpStream,
    cfg: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
    let e = match tokio::time::timeout(s.timeout, super::tls::wrap(tcp, &s.host, cfg)).await {
        Ok(Ok(tls)) => return Ok(tls),
        Ok(Err(e)) => format!("TLS handshake failed ({e})"),
        Err(_) => format!("TLS handshake: no answer within {}s", s.timeout.as_secs()),
    };
    let hint = match crate::netdiag::certificate_hint("imap", &s.host, &e) {
        Some(h) => Some(h),
        None => crate::netdiag::plain_greeting(&s.host, s.port)
            .await
            .map(|g| crate::netdiag::plain_port_hint(crate::netdiag::Protocol::Imap, s.port, &g)),
    };
    Err(ImapError::Connect {
        addr: addr.to_string(),
        message: e,
        hint,
    })
}

/// The server's first line. A server silent for [`crate::netdiag::GREETING_PATIENCE`] is
/// checked at once: a port that answers a TLS handshake waits for our ClientHello, so the
/// fix is `tls = "implicit"`. Otherwise the greeting is awaited up to `imap.timeout`.
async fn greeting<T: Io>(c: &mut async_imap::Client<T>, s: &ImapSettings, addr: &str) -> Result<(), ImapError> {
    let t = s.timeout;
    let patience = t.min(crate::netdiag::GREETING_PATIENCE);
    let read = c.read_response();
    tokio::pin!(read);
    let first = match tokio::time::timeout(patience, read.as_mut()).await {
        Ok(r) => r,
        Err(_) => {
            // Look at the port on a second connection while still waiting for this one's
            // greeting, up to `imap.timeout` in all.
            let cfg = super::tls::client_config(s.ca_file.as_deref()).ok();
            let probe = async {
                match cfg {
                    Some(cfg) => crate::netdiag::speaks_tls(&s.host, s.port, cfg).await,
                    None => false,
                }
            };
            tokio::pin!(probe);
            let deadline = tokio::time::sleep(t.saturating_sub(patience));
            tokio::pin!(deadline);
            let mut probing = true;
            loop {
                tokio::select! {
                    r = read.as_mut() => break r,
                    tls = probe.as_mut(), if probing => {
                        if tls {
                            return Err(ImapError::Connect {
                                addr: addr.to_string(),
                                message: format!("no greeting within {} s", patience.as_secs()),
                                hint: Some(crate::netdiag::tls_port_hint(s.port)),
                            });
                        }
                        probing = false;
                    }
                    _ = deadline.as_mut() => {
                        return Err(ImapError::Timeout {
                            step: "greeting",
                            secs: t.as_secs(),
                        })
                    }
                }
            }
        }
    };
    match first {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ImapError::Failed {
            step: "greeting",
            message: "connection closed".into(),
        }),
        Err(e) => Err(ImapError::Failed {
            step: "greeting",
            message: e.to_string(),
        }),
    }
}

/// One FETCH response item, as far as intake cares.
#[derive(Debug, Clone)]
pub struct FetchItem<'a> {
    pub uid: Option<u32>,
    pub bytes: Option<&'a [u8]>,
    pub arrived: Option<chrono::DateTime<chrono::Utc>>,
}

/// The messages for the `requested` UIDs out of a FETCH answer, sorted by UID, and the
/// requested UIDs the server did not return at all (expunged: not stored, not marked).
/// A requested UID whose items all lack the body is an error (the batch is fetched again
/// next pass) rather than an empty message. Items for UIDs not asked for (unsolicited flag
/// updates) are ignored.
pub fn collect_fetched<'a>(
    requested: &[u32],
    items: impl IntoIterator<Item = FetchItem<'a>>,
) -> Result<(Vec<FetchedRaw>, Vec<u32>), ImapError> {
    let mut found: HashMap<u32, Option<FetchedRaw>> = HashMap::new();
    for it in items {
        let Some(uid) = it.uid.filter(|u| requested.contains(u)) else {
            continue;
        };
        let slot = found.entry(uid).or_insert(None);
        if let (None, Some(b)) = (&slot, it.bytes) {
            *slot = Some((uid, b.to_vec(), it.arrived));
        }
    }
    let mut out = Vec::new();
    let mut missing = Vec::new();
    let mut bodiless = Vec::new();
    let mut want = requested.to_vec();
    want.sort_unstable();
    want.dedup();
    for u in want {
        match found.remove(&u) {
            None => missing.push(u),
            Some(None) => bodiless.push(u),
            Some(Some(m)) => out.push(m),
        }
    }
    if !bodiless.is_empty() {
        tracing::warn!(uids = %uid_set(&bodiless), "the server answered FETCH without the message body; retrying next pass");
        return Err(ImapError::Failed {
            step: "fetch",
            message: format!("no body for UID {}", uid_set(&bodiless)),
        });
    }
    Ok((out, missing))
}

/// `1:3,7,9:10` from sorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && v[i + 1] == end + 1 {
            i += 1;
            end = v[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(uid: Option<u32>, bytes: Option<&[u8]>) -> FetchItem<'_> {
        FetchItem {
            uid,
            bytes,
            arrived: None,
        }
    }

    #[test]
    fn fetched_messages_are_only_those_returned_with_a_body() {
        let (out, missing) = collect_fetched(
            &[3, 1, 2],
            [
                item(Some(2), Some(b"two")),
                item(Some(9), None),    // unsolicited flag update for another message
                item(Some(2), None),    // and one for a requested message
                item(None, Some(b"x")), // no UID: not ours
                item(Some(1), Some(b"one")),
            ],
        )
        .unwrap();
        let uids: Vec<u32> = out.iter().map(|m| m.0).collect();
        assert_eq!(uids, vec![1, 2]);
        assert_eq!(out[1].1, b"two");
        assert_eq!(missing, vec![3], "asked for but not returned: not stored, not marked");
    }

    #[test]
    fn a_fetch_item_without_body_is_an_error_not_an_empty_message() {
        let e = collect_fetched(&[1, 2], [item(Some(1), Some(b"one")), item(Some(2), None)]).unwrap_err();
        assert!(e.to_string().contains("no body for UID 2"), "{e}");
    }

    #[test]
    fn uid_sets() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
    }
}
