//! A user's search query (words, "phrases", prefixes `foo*`, AND/OR/NOT, parentheses) turned
//! into a safe SQLite FTS5 MATCH expression, or a clear error.
//!
//! Every word and phrase is emitted as an FTS5 string (`"..."`, inner quotes doubled), so
//! nothing the user types is FTS5 syntax except the operators and parentheses we recognise:
//! `basic-auth`, `res.redirect` or `NEAR` are searched as text. Operators are upper case, as in
//! FTS5 (`or` is a word); words side by side mean AND. FTS5's NOT is binary (`a NOT b`), so
//! a query cannot start with NOT. The output is fully parenthesised, so its meaning does not
//! depend on FTS5's operator precedence.

use std::fmt;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Most words and phrases in one query.
pub const MAX_TERMS: usize = 64;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 16;

/// Why a query cannot be searched; the message is meant for the user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("empty query: give at least one word")]
    Empty,
    #[error("query too long (over {MAX_QUERY_CHARS} characters)")]
    TooLong,
    #[error("too many words (over {MAX_TERMS})")]
    TooManyTerms,
    #[error("parentheses nested too deep (over {MAX_DEPTH})")]
    TooDeep,
    #[error("unterminated quote: the phrase starting at character {0} has no closing \"")]
    UnterminatedQuote(usize),
    #[error("unbalanced parentheses: {0}")]
    Unbalanced(&'static str),
    #[error("{op} at character {at} needs a word or phrase on both sides")]
    DanglingOperator { op: &'static str, at: usize },
    #[error("NOT at character {0} needs something before it: write `a NOT b` (FTS5 has no NOT on its own)")]
    LeadingNot(usize),
    #[error("`{0}` has no letters or digits to search for")]
    NoWords(String),
    #[error("empty parentheses at character {0}")]
    EmptyGroup(usize),
}

/// A parsed query: its FTS5 MATCH text comes from [`Display`](fmt::Display) or [`Query::fts5`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// One word or phrase; `prefix` is `foo*`.
    Term {
        text: String,
        prefix: bool,
    },
    And(Box<Query>, Box<Query>),
    Or(Box<Query>, Box<Query>),
    /// Rows matching the first and not the second.
    Not(Box<Query>, Box<Query>),
}

impl Query {
    /// Parses a user's query.
    pub fn parse(input: &str) -> Result<Query, QueryError> {
        if input.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong);
        }
        let tokens = lex(input)?;
        let terms = tokens.iter().filter(|t| matches!(t.kind, Tok::Term { .. })).count();
        if terms == 0 {
            return Err(QueryError::Empty);
        }
        if terms > MAX_TERMS {
            return Err(QueryError::TooManyTerms);
        }
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let q = p.or()?;
        match p.peek() {
            None => Ok(q),
            Some(t) => Err(match t.kind {
                Tok::Close => QueryError::Unbalanced("a `)` without its `(`"),
                Tok::Op(op) => QueryError::DanglingOperator {
                    op: op.name(),
                    at: t.at,
                },
                // `or` only stops before `)`, an operator, or the end.
                _ => QueryError::Unbalanced("unexpected text"),
            }),
        }
    }

    /// The FTS5 MATCH expression.
    pub fn fts5(&self) -> String {
        self.to_string()
    }

    /// The words and phrases of the query, in order, operators left out (for marking hits
    /// outside FTS5, e.g. in a subject).
    pub fn terms(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_terms(&mut out);
        out
    }

    fn collect_terms<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Query::Term { text, .. } => out.push(text),
            Query::And(a, b) | Query::Or(a, b) | Query::Not(a, b) => {
                a.collect_terms(out);
                b.collect_terms(out);
            }
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Term { text, prefix } => {
                write!(f, "\"{}\"", clean(text).replace('"', "\"\""))?;
                if *prefix {
                    f.write_str("*")?;
                }
                Ok(())
            }
            Query::And(a, b) => write!(f, "({a} AND {b})"),
            Query::Or(a, b) => write!(f, "({a} OR {b})"),
            Query::Not(a, b) => write!(f, "({a} NOT {b})"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
    Not,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::And => "AND",
            Op::Or => "OR",
            Op::Not => "NOT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Term { text: String, prefix: bool },
    Op(Op),
    Open,
    Close,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    /// Character position (1-based) in the input, for error messages.
    at: usize,
}

/// A term is searchable when the FTS5 tokenizer (unicode61) finds a token in it: a letter or
/// digit.
fn searchable(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// Control characters (NUL included) become spaces: they are never part of a token and some
/// would end the string early on the way to SQLite.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn lex(input: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c.is_whitespace() || c.is_control() {
            i += 1;
        } else if c == '(' {
            out.push(Token { kind: Tok::Open, at });
            i += 1;
        } else if c == ')' {
            out.push(Token { kind: Tok::Close, at });
            i += 1;
        } else if c == '"' {
            let start = i + 1;
            let end = (start..chars.len())
                .find(|&j| chars[j] == '"')
                .ok_or(QueryError::UnterminatedQuote(at))?;
            let text: String = chars[start..end].iter().collect();
            i = end + 1;
            let mut prefix = false;
            while i < chars.len() && chars[i] == '*' {
                prefix = true;
                i += 1;
            }
            let text = clean(&text).trim().to_string();
            if !searchable(&text) {
                return Err(QueryError::NoWords(format!("\"{text}\"")));
            }
            out.push(Token {
                kind: Tok::Term { text, prefix },
                at,
            });
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && !chars[i].is_control() && !"()\"".contains(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let kind = match word.as_str() {
                "AND" => Tok::Op(Op::And),
                "OR" => Tok::Op(Op::Or),
                "NOT" => Tok::Op(Op::Not),
                _ => {
                    let stem = word.trim_end_matches('*');
                    let prefix = stem.len() < word.len();
                    if !searchable(stem) {
                        return Err(QueryError::NoWords(word));
                    }
                    Tok::Term {
                        text: stem.to_string(),
                        prefix,
                    }
                }
            };
            out.push(Token { kind, at });
        }
    }
    Ok(out)
}

/// Recursive descent: `or := and (OR and)*`, `and := not ([AND] not)*`,
/// `not := atom (NOT atom)*`, `atom := term | ( or )`.
struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_op(&self) -> Option<Op> {
        match self.peek()?.kind {
            Tok::Op(op) => Some(op),
            _ => None,
        }
    }

    /// Something that can start an operand (a term or `(`).
    fn starts_operand(&self) -> bool {
        matches!(self.peek().map(|t| &t.kind), Some(Tok::Term { .. } | Tok::Open))
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut left = self.and()?;
        while self.peek_op() == Some(Op::Or) {
            let at = self.tokens[self.pos].at;
            self.pos += 1;
            if !self.starts_operand() {
                return Err(self.dangling(Op::Or, at));
            }
            let right = self.and()?;
            left = Query::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut left = self.not()?;
        loop {
            if self.peek_op() == Some(Op::And) {
                let at = self.tokens[self.pos].at;
                self.pos += 1;
                if !self.starts_operand() {
                    return Err(self.dangling(Op::And, at));
                }
            } else if !self.starts_operand() {
                return Ok(left);
            }
            let right = self.not()?;
            left = Query::And(Box::new(left), Box::new(right));
        }
    }

    fn not(&mut self) -> Result<Query, QueryError> {
        let mut left = self.atom()?;
        while self.peek_op() == Some(Op::Not) {
            let at = self.tokens[self.pos].at;
            self.pos += 1;
            if !self.starts_operand() {
                return Err(self.dangling(Op::Not, at));
            }
            let right = self.atom()?;
            left = Query::Not(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Query, QueryError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(QueryError::Empty);
        };
        match tok.kind {
            Tok::Term { text, prefix } => {
                self.pos += 1;
                Ok(Query::Term { text, prefix })
            }
            Tok::Open => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(QueryError::TooDeep);
                }
                if matches!(self.peek().map(|t| &t.kind), Some(Tok::Close)) {
                    return Err(QueryError::EmptyGroup(tok.at));
                }
                let inner = self.or()?;
                match self.peek().map(|t| &t.kind) {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        self.depth -= 1;
                        Ok(inner)
                    }
                    Some(Tok::Op(op)) => Err(self.dangling(*op, self.tokens[self.pos].at)),
                    _ => Err(QueryError::Unbalanced("a `(` without its `)`")),
                }
            }
            Tok::Close => Err(QueryError::Unbalanced("a `)` without its `(`")),
            Tok::Op(Op::Not) => Err(QueryError::LeadingNot(tok.at)),
            Tok::Op(op) => Err(QueryError::DanglingOperator {
                op: op.name(),
                at: tok.at,
            }),
        }
    }

    fn dangling(&self, op: Op, at: usize) -> QueryError {
        if op == Op::Not && matches!(self.peek().map(|t| &t.kind), Some(Tok::Op(Op::Not))) {
            return QueryError::LeadingNot(self.tokens[self.pos].at);
        }
        QueryError::DanglingOperator { op: op.name(), at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(q: &str) -> String {
        Query::parse(q).unwrap().fts5()
    }

    #[test]
    fn words_side_by_side_mean_and() {
        assert_eq!(fts("redirect express"), r#"("redirect" AND "express")"#);
        assert_eq!(fts("a b c"), r#"(("a" AND "b") AND "c")"#);
    }

    #[test]
    fn hyphens_and_dots_are_text_not_syntax() {
        assert_eq!(fts("basic-auth"), r#""basic-auth""#);
        assert_eq!(fts("res.redirect"), r#""res.redirect""#);
        assert_eq!(fts("-x"), r#""-x""#);
        assert_eq!(fts("NEAR(a b)"), r#"("NEAR" AND ("a" AND "b"))"#);
        assert_eq!(fts("col:value"), r#""col:value""#);
    }

    #[test]
    fn phrases_prefixes_and_quotes() {
        assert_eq!(fts(r#""open redirect""#), r#""open redirect""#);
        assert_eq!(fts("redir*"), r#""redir"*"#);
        assert_eq!(fts(r#""path to"*"#), r#""path to"*"#);
        assert_eq!(fts(r#"it's"#), r#""it's""#);
        assert_eq!(fts(r#"say"hi""#), r#"("say" AND "hi")"#);
    }

    #[test]
    fn operators_and_parentheses() {
        assert_eq!(fts("a OR b c"), r#"("a" OR ("b" AND "c"))"#);
        assert_eq!(fts("a AND (b OR c)"), r#"("a" AND ("b" OR "c"))"#);
        assert_eq!(fts("a NOT b"), r#"("a" NOT "b")"#);
        assert_eq!(fts("a b NOT c"), r#"("a" AND ("b" NOT "c"))"#);
        // Lower case operators are words.
        assert_eq!(fts("this or that"), r#"(("this" AND "or") AND "that")"#);
    }

    #[test]
    fn malformed_queries_get_clear_errors() {
        use QueryError::*;
        let err = |q: &str| Query::parse(q).unwrap_err();
        assert_eq!(err(""), Empty);
        assert_eq!(err("   "), Empty);
        assert_eq!(err("\"unterminated"), UnterminatedQuote(1));
        assert_eq!(err("(a"), Unbalanced("a `(` without its `)`"));
        assert_eq!(err("a)"), Unbalanced("a `)` without its `(`"));
        assert_eq!(err("a OR"), DanglingOperator { op: "OR", at: 3 });
        assert_eq!(err("AND a"), DanglingOperator { op: "AND", at: 1 });
        assert_eq!(err("NOT a"), LeadingNot(1));
        assert_eq!(err("a NOT NOT b"), LeadingNot(7));
        assert_eq!(err("a ()"), EmptyGroup(3));
        assert_eq!(err("a --"), NoWords("--".into()));
        assert_eq!(err("\"  \""), NoWords("\"\"".into()));
        assert_eq!(err("*"), NoWords("*".into()));
        assert_eq!(err(&"x ".repeat(600)), TooLong);
        assert_eq!(err(&"x ".repeat(65)), TooManyTerms);
        assert_eq!(err(&format!("{}a{}", "(".repeat(17), ")".repeat(17))), TooDeep);
        assert!(err("a OR").to_string().contains("needs a word or phrase on both sides"));
    }

    #[test]
    fn terms_lists_words_and_phrases() {
        let q = Query::parse(r#"qs.parse OR ("proto pollution" NOT cookie*)"#).unwrap();
        assert_eq!(q.terms(), vec!["qs.parse", "proto pollution", "cookie"]);
    }

    #[test]
    fn control_characters_never_reach_sqlite() {
        let q = Query::parse("\"a\u{0}b\"").unwrap();
        assert_eq!(q.fts5(), r#""a b""#);
        assert_eq!(fts("a\u{0}b"), r#"("a" AND "b")"#);
    }
}
