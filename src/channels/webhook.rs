//! A generic JSON webhook signed the Standard Webhooks way: `webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
//! The id is the delivery's, fixed across retries, so a receiver can drop a repeat.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};
use chrono::{DateTime, Utc};

use super::{Method, Outgoing};

/// Standard base64; the padding may be left off (as in many `whsec_` secrets).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Shortest signing secret we accept, in bytes (the specification asks for 24 to 64).
pub const MIN_SECRET: usize = 16;

/// The signing key from its text form: base64, with or without the `whsec_` prefix.
pub fn parse_secret(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    let b64 = t.strip_prefix("whsec_").unwrap_or(t);
    let key = LENIENT
        .decode(b64)
        .map_err(|e| format!("the secret is not base64 (whsec_... form accepted): {e}"))?;
    if key.len() < MIN_SECRET {
        return Err(format!(
            "the secret is {} bytes; use at least {MIN_SECRET} random bytes (24 to 64 recommended)",
            key.len()
        ));
    }
    Ok(key)
}

/// `v1,<base64>`: the signature of `id.timestamp.body` with `key`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let mut ctx = ring::hmac::Context::with_key(&k);
    ctx.update(id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(ctx.sign().as_ref())
    )
}

/// The signed request posting `payload` for delivery `id` at `now`.
pub fn request(url: &str, key: &[u8], id: &str, payload: &serde_json::Value, now: DateTime<Utc>) -> Outgoing {
    let body = serde_json::to_vec(payload).expect("JSON value");
    let ts = now.timestamp();
    Outgoing {
        method: Method::Post,
        url: url.to_string(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), id.to_string()),
            ("webhook-timestamp".into(), ts.to_string()),
            ("webhook-signature".into(), signature(key, id, ts, &body)),
        ],
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_both_forms() {
        let a = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let b = parse_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 24);
        assert!(parse_secret("whsec_not base64!").unwrap_err().contains("not base64"));
        assert!(parse_secret("whsec_c2hvcnQ=").unwrap_err().contains("at least 16"));
    }

    #[test]
    fn signature_matches_the_specifications_example() {
        // The example of the Standard Webhooks specification (and its reference libraries).
        let key = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
