//! Links in a report, and which of them are public issues or pull requests of the project.

use regex::Regex;
use std::sync::LazyLock;

static URL: LazyLock<Regex> =
    LazyLock::new(|| super::re(r#"(?i)\b(?:https?://|www\.|github\.com/|gist\.github\.com/)[^\s<>"'`\])}]+"#));

/// Longest list of links kept per message.
pub const MAX_LINKS: usize = 200;

/// Every URL in `text`, in order, without duplicates or trailing punctuation.
pub fn extract(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in URL.find_iter(text) {
        let url = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '>']);
        if url.len() > 2000 {
            continue;
        }
        if !out.iter().any(|u| u == url) {
            out.push(url.to_string());
        }
        if out.len() == MAX_LINKS {
            break;
        }
    }
    out
}

/// `https://www.GitHub.com/expressjs/` -> `github.com/expressjs`.
pub fn normalise_repo(r: &str) -> String {
    let r = r.trim().to_ascii_lowercase();
    let r = r
        .strip_prefix("https://")
        .or_else(|| r.strip_prefix("http://"))
        .unwrap_or(&r);
    let r = r.strip_prefix("www.").unwrap_or(r);
    r.trim_end_matches('/').to_string()
}

/// True when `url` is an issue, pull request, discussion or commit comment on one of the
/// project's public repositories (`repos` are normalised `host/org` or `host/org/repo`).
pub fn is_public_tracker_item(url: &str, repos: &[String]) -> bool {
    let u = normalise_repo(url);
    repos.iter().any(|r| {
        let Some(rest) = u.strip_prefix(r.as_str()) else {
            return false;
        };
        if !rest.starts_with('/') {
            return false; // github.com/expressjs-fake is not github.com/expressjs
        }
        let segs: Vec<&str> = rest.trim_start_matches('/').split(['/', '#', '?']).collect();
        // org/<repo>/issues/N or <repo>/issues/N when the configured prefix already names the repo
        segs.windows(2).any(|w| {
            matches!(w[0], "issues" | "pull" | "pulls" | "discussions")
                && w[1].chars().next().is_some_and(|c| c.is_ascii_digit())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_urls() {
        let l = extract("See https://gist.github.com/x/abc. Also (http://example.com/a?b=1), and www.example.net/x!");
        assert_eq!(
            l,
            vec![
                "https://gist.github.com/x/abc",
                "http://example.com/a?b=1",
                "www.example.net/x"
            ]
        );
    }

    #[test]
    fn public_issue_of_the_project() {
        let repos = vec![normalise_repo("github.com/expressjs")];
        assert!(is_public_tracker_item(
            "https://github.com/expressjs/express/issues/6001",
            &repos
        ));
        assert!(is_public_tracker_item(
            "github.com/expressjs/body-parser/pull/12#discussion",
            &repos
        ));
        assert!(!is_public_tracker_item(
            "https://github.com/expressjs/express/blob/master/lib/x.js",
            &repos
        ));
        assert!(!is_public_tracker_item(
            "https://github.com/someoneelse/express/issues/1",
            &repos
        ));
        assert!(!is_public_tracker_item(
            "https://github.com/expressjs-fake/x/issues/1",
            &repos
        ));
        let one = vec![normalise_repo("https://github.com/expressjs/express")];
        assert!(is_public_tracker_item(
            "https://github.com/expressjs/express/issues/1",
            &one
        ));
        assert!(!is_public_tracker_item(
            "https://github.com/expressjs/cors/issues/1",
            &one
        ));
    }
}
