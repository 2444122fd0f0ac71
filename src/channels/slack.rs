//! Slack incoming webhooks: `POST {"text": ...}` to the webhook URL (the URL is the secret).

use super::{Method, Outgoing};

/// Slack's three control characters in message text (`<`, `>`, `&`), escaped, so text
/// from a report can neither ping `<!channel>` nor forge a link.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The request that posts `text` to the incoming webhook `url`.
pub fn request(url: &str, text: &str) -> Outgoing {
    let body = serde_json::json!({
        "text": escape(text),
        "unfurl_links": false,
        "unfurl_media": false,
    });
    Outgoing {
        method: Method::Post,
        url: url.to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).expect("JSON of strings"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_json() {
        let r = request("https://hooks.slack.com/services/T/B/X", "a <!channel> & <http://x|y>");
        assert_eq!(r.method, Method::Post);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["text"], "a &lt;!channel&gt; &amp; &lt;http://x|y&gt;");
        assert_eq!(
            r.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
    }
}
