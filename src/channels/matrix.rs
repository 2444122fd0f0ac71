//! Matrix: `PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}` as a bot
//! account. The transaction id is the delivery's id, so a retry never posts twice (the
//! homeserver answers a repeated txnId with the first event).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{Method, Outgoing};

/// Everything but the unreserved characters of RFC 3986 is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The request that posts `text` as a notice (`m.notice`: bots' messages) to `room`.
pub fn request(homeserver: &str, room: &str, token: &str, delivery_id: &str, text: &str) -> Outgoing {
    let url = format!(
        "{}/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
        homeserver.trim_end_matches('/'),
        utf8_percent_encode(room, SEGMENT),
        utf8_percent_encode(delivery_id, SEGMENT),
    );
    let body = serde_json::json!({
        "msgtype": "m.notice",
        "body": text,
        // Intentional mentions: none, so "@room" in a subject pings nobody.
        "m.mentions": {},
    });
    Outgoing {
        method: Method::Put,
        url,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {token}")),
        ],
        body: serde_json::to_vec(&body).expect("JSON of strings"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_and_txn_are_path_segments() {
        let r = request(
            "https://matrix.example.org/",
            "!abc:example.org",
            "tok",
            "chd-7/1",
            "hello @room",
        );
        assert_eq!(r.method, Method::Put);
        assert_eq!(
            r.url,
            "https://matrix.example.org/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message/chd-7%2F1"
        );
        assert!(r
            .headers
            .contains(&("authorization".to_string(), "Bearer tok".to_string())));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["msgtype"], "m.notice");
        assert_eq!(v["body"], "hello @room");
        assert_eq!(v["m.mentions"], serde_json::json!({}));
    }
}
