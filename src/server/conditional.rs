//! The conditional-GET decision (RFC 9110 §13): may a request be answered `304 Not Modified`?
//!
//! Takes: the request's method, `If-None-Match` and `If-Modified-Since` values, and the
//! representation's `ETag` and `Last-Modified`. Gives: [`not_modified`], a pure function.
//! Guarantees: the precedence of RFC 9110 §13.2.2 (`If-None-Match` decides when present;
//! `If-Modified-Since` only without it), weak comparison of entity tags (§8.8.3.2), `*`
//! (§13.1.2), an unparseable date ignored (§13.1.3), and only GET and HEAD are ever answered
//! 304 (§13.1.2, §13.1.3).

use axum::http::Method;

/// The request's preconditions: header values as sent (`None` when absent or not text).
#[derive(Debug, Clone, Copy, Default)]
pub struct Preconditions<'a> {
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a str>,
}

/// The representation's validators.
#[derive(Debug, Clone, Copy)]
pub struct Validators<'a> {
    /// `ETag`, quoted, e.g. `"3a7f…"`.
    pub etag: &'a str,
    /// `Last-Modified`, an IMF-fixdate, when known.
    pub last_modified: Option<&'a str>,
}

/// Whether a `method` request with `pre` is answered `304 Not Modified` for a representation
/// with validators `current`.
pub fn not_modified(method: &Method, pre: Preconditions<'_>, current: Validators<'_>) -> bool {
    // §13.1.2 (a false If-None-Match is a 304 only for GET and HEAD; others get 412) and
    // §13.1.3 (If-Modified-Since is ignored for other methods).
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    // §13.2.2 steps 3–4: If-None-Match decides when present; If-Modified-Since only without it.
    match pre.if_none_match {
        Some(inm) => none_match_fails(inm, current.etag),
        None => match (pre.if_modified_since, current.last_modified) {
            (Some(ims), Some(lm)) => not_modified_since(ims, lm),
            _ => false,
        },
    }
}

/// §13.1.2: the `If-None-Match` condition is false (so: not modified) when the list is `*` or
/// holds a tag that weakly matches `etag` (§8.8.3.2: the opaque tags are equal, `W/` ignored).
fn none_match_fails(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.strip_prefix("W/").unwrap_or(t).to_owned();
    let current = opaque(etag);
    if_none_match.split(',').any(|t| {
        let t = t.trim();
        t == "*" || opaque(t) == current
    })
}

/// §13.1.3: not modified when the representation changed no later than the date given; a
/// date that cannot be parsed is ignored (so: modified).
fn not_modified_since(if_modified_since: &str, last_modified: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc2822(if_modified_since.trim()),
        chrono::DateTime::parse_from_rfc2822(last_modified),
    ) {
        (Ok(ims), Ok(lm)) => lm <= ims,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"abc123\"";
    const LM: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

    struct Case {
        name: &'static str,
        method: Method,
        inm: Option<&'static str>,
        ims: Option<&'static str>,
        last_modified: Option<&'static str>,
        want: bool,
    }

    fn case(name: &'static str, inm: Option<&'static str>, ims: Option<&'static str>) -> Case {
        Case {
            name,
            method: Method::GET,
            inm,
            ims,
            last_modified: Some(LM),
            want: false,
        }
    }

    impl Case {
        fn want(mut self, want: bool) -> Case {
            self.want = want;
            self
        }
        fn method(mut self, m: Method) -> Case {
            self.method = m;
            self
        }
        fn no_last_modified(mut self) -> Case {
            self.last_modified = None;
            self
        }
    }

    #[test]
    fn the_conditional_get_decision() {
        let cases = [
            case("no preconditions: a full response", None, None),
            case("§13.1.2: the same strong tag", Some(ETAG), None).want(true),
            case("§13.1.2: another tag", Some("\"other\""), None),
            case(
                "§13.1.2: the tag among several",
                Some("\"x\", \"abc123\" ,\"y\""),
                None,
            )
            .want(true),
            case(
                "§13.1.2: `*` matches any current representation",
                Some("*"),
                None,
            )
            .want(true),
            case("§13.1.2: `*` in a list", Some("\"x\", *"), None).want(true),
            case(
                "§8.8.3.2: weak comparison, W/ on the request's tag",
                Some("W/\"abc123\""),
                None,
            )
            .want(true),
            case(
                "§8.8.3.2: weak comparison is of the opaque tag",
                Some("W/\"abc12\""),
                None,
            ),
            case(
                "§8.8.3.2: an unquoted tag is not the tag",
                Some("abc123"),
                None,
            ),
            case(
                "§13.1.3: not modified since a later date",
                None,
                Some("Thu, 22 Oct 2015 00:00:00 GMT"),
            )
            .want(true),
            case("§13.1.3: not modified since the same date", None, Some(LM)).want(true),
            case(
                "§13.1.3: modified since an earlier date",
                None,
                Some("Tue, 20 Oct 2015 00:00:00 GMT"),
            ),
            case(
                "§13.1.3: an invalid date is ignored",
                None,
                Some("yesterday"),
            ),
            case(
                "§13.1.3: surrounding spaces are allowed",
                None,
                Some("  Thu, 22 Oct 2015 00:00:00 GMT "),
            )
            .want(true),
            case(
                "§13.1.3: without Last-Modified there is nothing to compare",
                None,
                Some(LM),
            )
            .no_last_modified(),
            case(
                "§13.2.2: If-None-Match decides over a matching If-Modified-Since",
                Some("\"other\""),
                Some(LM),
            ),
            case(
                "§13.2.2: If-None-Match decides over a failing If-Modified-Since",
                Some(ETAG),
                Some("Tue, 20 Oct 2015 00:00:00 GMT"),
            )
            .want(true),
            case("§13.1.2: HEAD is answered like GET", Some(ETAG), None)
                .method(Method::HEAD)
                .want(true),
            case("§13.1.3: HEAD is answered like GET", None, Some(LM))
                .method(Method::HEAD)
                .want(true),
            case(
                "§13.1.2: never 304 for POST (412 territory)",
                Some(ETAG),
                None,
            )
            .method(Method::POST),
            case("§13.1.3: If-Modified-Since ignored for PUT", None, Some(LM)).method(Method::PUT),
        ];
        for c in cases {
            let got = not_modified(
                &c.method,
                Preconditions {
                    if_none_match: c.inm,
                    if_modified_since: c.ims,
                },
                Validators {
                    etag: ETAG,
                    last_modified: c.last_modified,
                },
            );
            assert_eq!(got, c.want, "{}", c.name);
        }
    }
}
