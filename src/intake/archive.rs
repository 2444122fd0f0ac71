//! Archives for `import --history`: `.eml` files, Maildir folders and mbox files (the format
//! list servers export), read into messages with the time each one reached a mailbox.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// One message read from an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Archived {
    /// Where it came from: the file, or `FILE#N` for the N-th message of an mbox.
    pub origin: String,
    pub raw: Vec<u8>,
    /// The mbox `From ` line's date, when there is one.
    pub envelope_date: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{0}: neither an .eml file, an mbox file nor a Maildir folder")]
    Unknown(String),
}

fn read_err(p: &Path, e: std::io::Error) -> ArchiveError {
    ArchiveError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    }
}

/// Is this an mbox separator: `From SENDER DATE` with an asctime date (as `mailbox`, mutt
/// and list servers write it)? A body line "From here..." that a writer failed to quote is
/// not taken for one.
fn is_from_line(line: &[u8]) -> bool {
    line.starts_with(b"From ") && from_line_date(&String::from_utf8_lossy(line)).is_some()
}

/// The date of an mbox `From sender DATE` line (asctime, as `mailbox` and list servers
/// write it: `Mon Nov 21 10:00:00 2026`), if it parses.
pub fn from_line_date(line: &str) -> Option<DateTime<Utc>> {
    let rest = line.strip_prefix("From ")?;
    let mut it = rest.splitn(2, ' ');
    it.next()?;
    let date = it.next()?.trim();
    // `Www Mmm dd hh:mm:ss yyyy` (a zone, if any, after it is ignored; so is the weekday,
    // which some writers get wrong).
    let words: Vec<&str> = date.split_whitespace().take(5).collect();
    let text = words.get(1..)?.join(" ");
    chrono::NaiveDateTime::parse_from_str(&text, "%b %d %H:%M:%S %Y")
        .ok()
        .map(|t| t.and_utc())
}

/// Splits an mbox into its messages: a message starts at a `From ` line at the start of the
/// file or after an empty line; `>From ` (mboxrd/mboxo quoting, any number of `>`) loses one
/// `>`. Line endings are kept as they are.
pub fn split_mbox(bytes: &[u8], origin: &str) -> Vec<Archived> {
    let mut out = Vec::new();
    let mut current: Option<(Option<DateTime<Utc>>, Vec<u8>)> = None;
    let mut previous_blank = true;
    let mut n = 0;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if previous_blank && is_from_line(content) {
            if let Some((date, raw)) = current.take() {
                n += 1;
                out.push(finish(origin, n, date, raw));
            }
            let date = from_line_date(&String::from_utf8_lossy(content));
            current = Some((date, Vec::new()));
            previous_blank = false;
            continue;
        }
        previous_blank = content.is_empty();
        let Some((_, raw)) = current.as_mut() else {
            continue; // text before the first `From ` line is not a message
        };
        let quoted = content.iter().take_while(|b| **b == b'>').count();
        if quoted > 0 && content[quoted..].starts_with(b"From ") {
            raw.extend_from_slice(&line[1..]);
        } else {
            raw.extend_from_slice(line);
        }
    }
    if let Some((date, raw)) = current.take() {
        n += 1;
        out.push(finish(origin, n, date, raw));
    }
    out
}

/// The message without the empty line mbox puts before the next `From `.
fn finish(origin: &str, n: usize, envelope_date: Option<DateTime<Utc>>, mut raw: Vec<u8>) -> Archived {
    if raw.ends_with(b"\r\n\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n\n") {
        raw.truncate(raw.len() - 1);
    }
    Archived {
        origin: format!("{origin}#{n}"),
        raw,
        envelope_date,
    }
}

fn files_in(dir: &Path) -> Result<Vec<PathBuf>, ArchiveError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    Ok(v)
}

/// Reads every message under `path`: an `.eml` file, a Maildir (`cur/` and `new/`), a
/// directory of `.eml` files, or an mbox file.
pub fn read(path: &Path) -> Result<Vec<Archived>, ArchiveError> {
    let name = path.display().to_string();
    if path.is_dir() {
        if path.join("cur").is_dir() || path.join("new").is_dir() {
            let mut out = Vec::new();
            for sub in ["cur", "new"] {
                let d = path.join(sub);
                if d.is_dir() {
                    for f in files_in(&d)? {
                        let raw = std::fs::read(&f).map_err(|e| read_err(&f, e))?;
                        out.push(Archived {
                            origin: f.display().to_string(),
                            raw,
                            envelope_date: None,
                        });
                    }
                }
            }
            return Ok(out);
        }
        let mut out = Vec::new();
        for f in files_in(path)? {
            if f.extension().is_some_and(|e| e == "eml") {
                out.extend(read(&f)?);
            }
        }
        return Ok(out);
    }
    let bytes = std::fs::read(path).map_err(|e| read_err(path, e))?;
    if bytes.starts_with(b"From ") {
        return Ok(split_mbox(&bytes, &name));
    }
    if path.extension().is_some_and(|e| e == "eml") || looks_like_mail(&bytes) {
        return Ok(vec![Archived {
            origin: name,
            raw: bytes,
            envelope_date: None,
        }]);
    }
    Err(ArchiveError::Unknown(name))
}

/// Does the text start with a header field (`Name: value`)?
fn looks_like_mail(bytes: &[u8]) -> bool {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let colon = first.iter().position(|b| *b == b':');
    colon.is_some_and(|i| i > 0 && first[..i].iter().all(|b| b.is_ascii_graphic() && *b != b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mbox_splits_at_from_lines_and_unquotes() {
        let mbox = b"From jane@example.com Mon Nov 21 10:00:00 2022\n\
Subject: one\n\n>From the start\n>>From two\nbody\n\n\
From MAILER-DAEMON Tue Nov 22 11:30:00 2022\nSubject: two\n\nFrom here is not a separator\n";
        let v = split_mbox(mbox, "a.mbox");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].origin, "a.mbox#1");
        assert_eq!(
            String::from_utf8_lossy(&v[0].raw),
            "Subject: one\n\nFrom the start\n>From two\nbody\n"
        );
        assert_eq!(
            v[0].envelope_date,
            Some(
                DateTime::parse_from_rfc3339("2022-11-21T10:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc)
            )
        );
        assert_eq!(
            String::from_utf8_lossy(&v[1].raw),
            "Subject: two\n\nFrom here is not a separator\n"
        );
    }

    #[test]
    fn from_line_dates() {
        let d = |s: &str| from_line_date(s).map(|t| t.to_rfc3339());
        assert_eq!(
            d("From a@b Sat Jan  3 01:05:34 1996"),
            Some("1996-01-03T01:05:34+00:00".into())
        );
        assert_eq!(
            d("From a@b Sat Jan 13 01:05:34 1996"),
            Some("1996-01-13T01:05:34+00:00".into())
        );
        assert_eq!(d("From a@b garbage"), None);
    }
}
