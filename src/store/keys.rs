//! Reporters' OpenPGP public keys learned from their mail, and the decrypted copies of
//! encrypted messages: stored and read back, never judged here.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{Result, Store, WriteTx};
use crate::clock::stamp;
use crate::pgp::{KeySource, PublicKey};

/// Most learned keys read back for signature checks of one batch.
const MAX_KNOWN: i64 = 5000;

/// Stores the keys a message offered for `address` (a key seen again keeps its first source).
pub fn learn(
    tx: &WriteTx,
    address: &str,
    keys: &[(PublicKey, KeySource)],
    message: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO pgp_keys (fingerprint, address, key, source, learned_at, message_id)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (fingerprint, address) DO UPDATE SET key = excluded.key",
    )?;
    for (key, source) in keys {
        insert.execute(params![
            key.fingerprint(),
            address.trim().to_ascii_lowercase(),
            key.to_bytes(),
            source.as_str(),
            stamp(now),
            message,
        ])?;
    }
    Ok(())
}

/// The learned keys of `address`, newest first (unparsable or expired ones left out).
pub fn for_address(tx: &WriteTx, address: &str, now: DateTime<Utc>) -> Result<Vec<PublicKey>> {
    let rows: Vec<Vec<u8>> = tx
        .prepare_cached("SELECT key FROM pgp_keys WHERE address = ? ORDER BY learned_at DESC, rowid DESC")?
        .query_map([address.trim().to_ascii_lowercase()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|b| PublicKey::parse(&b, now).ok())
        .collect())
}

/// Whether anything of case `id` arrived encrypted.
pub fn case_encrypted(tx: &WriteTx, id: &str) -> Result<bool> {
    let r: Option<String> = tx
        .prepare_cached("SELECT encryption FROM cases WHERE id = ?")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(r.is_some_and(|e| e != "none"))
}

/// What a report decrypted on a second try says, written over the first verdict.
#[derive(Debug, Clone)]
pub struct Reread<'a> {
    pub case_id: &'a str,
    pub message_id: i64,
    pub mime: &'a [u8],
    pub subject: &'a str,
    pub facts: &'a crate::analysis::Facts,
    pub signature: Option<&'a str>,
}

/// Stores a report decrypted again (`case ID decrypt`) and the analysis of its text.
pub fn save_reread(tx: &WriteTx, r: &Reread<'_>, now: DateTime<Utc>) -> Result<()> {
    save_decrypted(tx, r.message_id, r.mime, now)?;
    let f = r.facts;
    let missing: Vec<&str> = f.missing.iter().map(|m| m.as_str()).collect();
    let evidence: std::collections::BTreeMap<&str, &String> = f.evidence.iter().map(|(k, v)| (k.as_str(), v)).collect();
    tx.execute(
        "UPDATE cases SET body_check = ?, missing = ?, evidence = ?, hints = ?, subject = ?, signature = ?,
            updated_at = ? WHERE id = ?",
        params![
            f.body_check.as_str(),
            super::cases::json_text(&missing),
            super::cases::json_text(&evidence),
            super::cases::json_text(&f.hints),
            r.subject,
            r.signature,
            stamp(now),
            r.case_id,
        ],
    )?;
    tx.execute(
        "UPDATE messages SET analysis = ?, signature = ? WHERE id = ?",
        params![super::cases::json_text(f), r.signature, r.message_id],
    )?;
    Ok(())
}

/// Stores the decrypted copy of message `id` beside its raw bytes (a large one piece by
/// piece, like the raw bytes: see [`super::blob`]).
pub fn save_decrypted(tx: &WriteTx, id: i64, mime: &[u8], now: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached("DELETE FROM decrypted WHERE message_id = ?")?
        .execute([id])?;
    let mut insert = tx.prepare_cached("INSERT INTO decrypted (message_id, decrypted_at, mime) VALUES (?, ?, ?)")?;
    if mime.len() > super::blob::PIECEWISE_ABOVE {
        insert.execute(params![id, stamp(now), super::blob::placeholder(mime.len())?])?;
        // `message_id` is the INTEGER PRIMARY KEY: the rowid.
        super::blob::fill(tx, "decrypted", "mime", id, mime)?;
    } else {
        insert.execute(params![id, stamp(now), mime])?;
    }
    Ok(())
}

/// One learned key as listed (`case ID --json` does not show keys; the CLI may).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct LearnedKey {
    pub fingerprint: String,
    pub address: String,
    pub source: String,
    pub learned_at: String,
}

impl Store {
    /// Every learned key (bounded), for judging signatures of the next batch.
    pub async fn learned_keys(&self, now: DateTime<Utc>) -> Result<Vec<PublicKey>> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT key FROM pgp_keys ORDER BY learned_at DESC LIMIT ?")
            .bind(MAX_KNOWN)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(b,)| PublicKey::parse(&b, now).ok())
            .collect())
    }

    /// The keys learned for `address`, as listed.
    pub async fn learned_key_list(&self, address: &str) -> Result<Vec<LearnedKey>> {
        Ok(sqlx::query_as(
            "SELECT fingerprint, address, source, learned_at FROM pgp_keys WHERE address = ? ORDER BY learned_at",
        )
        .bind(address.trim().to_ascii_lowercase())
        .fetch_all(&self.pool)
        .await?)
    }

    /// A case's messages that arrived encrypted: (id, kind), oldest first.
    pub async fn encrypted_messages(&self, case_id: &str) -> Result<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT id, kind FROM messages WHERE case_id = ? AND encryption != 'none' ORDER BY id")
                .bind(case_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The bytes of message `id` exactly as received.
    pub async fn message_raw(&self, id: i64) -> Result<Vec<u8>> {
        let (raw,): (Vec<u8>,) = sqlx::query_as(
            "SELECT COALESCE(l.raw, m.raw) FROM messages m LEFT JOIN large_raw l ON l.message_id = m.id WHERE m.id = ?",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(raw)
    }

    /// The decrypted copy of the case's report, when it has one.
    pub async fn decrypted_report(&self, case_id: &str) -> Result<Option<Vec<u8>>> {
        let r: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT d.mime FROM decrypted d JOIN messages m ON m.id = d.message_id
             WHERE m.case_id = ? AND m.kind = 'report' ORDER BY m.id LIMIT 1",
        )
        .bind(case_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|(b,)| b))
    }
}
