//! Admin sessions for the pages: sign-in cookies and CSRF tokens.
//!
//! Takes: the admin token in force (`FEEDSIFT_ADMIN_TOKEN` or `[service] admin_token`, the one
//! the JSON API's bearer auth checks) and the request's cookies. Gives: [`Sessions`], which
//! creates, checks and ends admin sessions, and the CSRF token of any cookie.
//!
//! Design:
//! - The session cookie holds a random 256-bit id and nothing else (never the admin token).
//!   The server keeps only the SHA-256 of each live id, with its expiry and the SHA-256 of the
//!   admin token it was opened with: a configuration reload that changes or removes the token
//!   ends every session opened with the old one.
//! - Cookies are `HttpOnly; SameSite=Strict; Path=/` (and `Secure` when `public_url` is
//!   https), so no script reads them and no other site's page sends them.
//! - Every form carries a CSRF token in a hidden field: HMAC-SHA-256, under a random key made at
//!   start-up, of the cookie's id. It is per session (a new sign-in gets a new one), cannot be
//!   forged without the key, and is checked in constant time on every POST. The sign-in form
//!   itself is protected the same way, by a short-lived anonymous `feedsift_signin` cookie.
//! - Sessions are in memory: a restart signs everyone out. At most [`MAX_SESSIONS`] live at
//!   once (the oldest are dropped), each for [`SESSION_TTL`].

use axum::http::{header, HeaderMap};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The admin session cookie.
pub const SESSION_COOKIE: &str = "feedsift_session";
/// The anonymous cookie that carries the sign-in form's CSRF token.
pub const SIGNIN_COOKIE: &str = "feedsift_signin";
/// How long an admin session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// How long the sign-in form's cookie lasts.
pub const SIGNIN_TTL: Duration = Duration::from_secs(3600);
/// The most sessions kept at once.
pub const MAX_SESSIONS: usize = 256;

/// One live admin session.
struct Session {
    expires: Instant,
    /// SHA-256 of the admin token it was opened with.
    token: [u8; 32],
}

/// Live admin sessions and the CSRF key. Cheap to share behind an `Arc`.
pub struct Sessions {
    /// HMAC key of the CSRF tokens.
    key: [u8; 32],
    /// SHA-256 of the session id → the session.
    live: Mutex<HashMap<[u8; 32], Session>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            key: random_bytes(),
            live: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

/// 32 bytes from the operating system's generator.
fn random_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the operating system's random generator");
    b
}

/// A new random id for a cookie: 64 hex digits.
pub fn new_id() -> String {
    crate::model::hex(&random_bytes())
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Equal, in a time that does not depend on where they differ.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether two secrets are equal, compared as SHA-256 digests without an early exit: the time
/// taken says nothing about how much matched, nor how long either is.
pub fn same_secret(a: &str, b: &str) -> bool {
    same_bytes(&digest(a), &digest(b))
}

impl Sessions {
    /// The CSRF token of the forms shown to the holder of cookie id `id`.
    pub fn csrf_token(&self, id: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(b"feedsift csrf\0");
        mac.update(id.as_bytes());
        crate::model::hex(&mac.finalize().into_bytes())
    }

    /// Whether `given` is the CSRF token for cookie id `id`.
    pub fn csrf_ok(&self, id: &str, given: &str) -> bool {
        !id.is_empty() && same_bytes(self.csrf_token(id).as_bytes(), given.as_bytes())
    }

    /// Opens a session for someone who gave `admin_token`; gives the new id for the cookie.
    pub fn open(&self, admin_token: &str) -> String {
        let id = new_id();
        let now = Instant::now();
        if let Ok(mut live) = self.live.lock() {
            live.retain(|_, s| s.expires > now);
            while live.len() >= MAX_SESSIONS {
                let Some(oldest) = live.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
                else {
                    break;
                };
                live.remove(&oldest);
            }
            live.insert(
                digest(&id),
                Session {
                    expires: now + SESSION_TTL,
                    token: digest(admin_token),
                },
            );
        }
        id
    }

    /// Whether `id` is a live session opened with the admin token now in force.
    pub fn is_admin(&self, id: &str, admin_token: Option<&str>) -> bool {
        let Some(token) = admin_token else {
            return false;
        };
        let Ok(live) = self.live.lock() else {
            return false;
        };
        live.get(&digest(id))
            .is_some_and(|s| s.expires > Instant::now() && same_bytes(&s.token, &digest(token)))
    }

    /// Ends the session `id`.
    pub fn close(&self, id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(&digest(id));
        }
    }
}

/// The value of cookie `name` in the request, if it is there and looks like one of our ids.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A `Set-Cookie` value for `name=value`, lasting `max_age` (zero: delete it).
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_follow_the_admin_token_and_end() {
        let s = Sessions::default();
        let id = s.open("secret");
        assert!(s.is_admin(&id, Some("secret")));
        assert!(!s.is_admin(&id, Some("changed")), "a new token ends it");
        assert!(!s.is_admin(&id, None), "no token: no admin");
        assert!(!s.is_admin(&new_id(), Some("secret")));
        s.close(&id);
        assert!(!s.is_admin(&id, Some("secret")));
    }

    #[test]
    fn csrf_tokens_are_per_cookie_and_keyed() {
        let (a, b) = (Sessions::default(), Sessions::default());
        let id = new_id();
        let t = a.csrf_token(&id);
        assert!(a.csrf_ok(&id, &t));
        assert!(!a.csrf_ok(&new_id(), &t), "another session's token");
        assert!(!b.csrf_ok(&id, &t), "another key");
        assert!(!a.csrf_ok(&id, ""));
        assert!(!a.csrf_ok("", &a.csrf_token("")));
    }

    #[test]
    fn the_session_table_is_bounded() {
        let s = Sessions::default();
        let first = s.open("t");
        for _ in 0..MAX_SESSIONS {
            s.open("t");
        }
        assert!(!s.is_admin(&first, Some("t")), "the oldest was dropped");
        assert!(s.live.lock().unwrap().len() <= MAX_SESSIONS);
    }

    #[test]
    fn cookies_are_read_strictly() {
        let id = new_id();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=1; {SESSION_COOKIE}={id}; b=2").parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some(id));
        h.insert(header::COOKIE, "feedsift_session=short".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
        let c = set_cookie("n", "v", SESSION_TTL, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(set_cookie("n", "", Duration::ZERO, true).ends_with("Max-Age=0; Secure"));
    }
}
