//! Per-client rate limits for the public endpoints that create state without a login: the
//! portal's login challenge, the browser pairing's start, and the card application. Each
//! client address has a token bucket of `per_minute` requests that refills continuously
//! (`per_minute / 60` a second); an empty bucket is answered 429 `rate.limited` with
//! `Retry-After`. Time comes from the injected clock, so tests need no sleeping.
//!
//! The address is the TCP peer's: behind a reverse proxy every client shares the proxy's
//! address, so raise `server.public_rate_per_minute` there (or set it to 0, no limit) and let
//! the proxy limit per client. The buckets live in this server's memory (several servers
//! each limit on their own); at most [`MAX_CLIENTS`] are kept, full ones dropped first.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use openmyna_core::Timestamp;

use crate::error::ApiError;

/// Buckets kept before the full ones are swept.
pub const MAX_CLIENTS: usize = 100_000;

/// The TCP peer of a request, put on every request by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The client's address, if the listener recorded it (a router driven without the
/// listener, as in unit tests, has none and is not limited).
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(parts.extensions.get::<Peer>().map(|p| p.0.ip())))
    }
}

struct Bucket {
    tokens: f64,
    at: Timestamp,
}

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute per client, as a burst or spread; 0: no limit.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Timestamp) {
        let capacity = f64::from(self.per_minute);
        let elapsed = (now - b.at).num_milliseconds().max(0) as f64 / 1000.0;
        b.tokens = (b.tokens + elapsed * capacity / 60.0).min(capacity);
        b.at = now;
    }

    /// Admits one request of `client` at `now`, or refuses it with the seconds to wait.
    pub fn admit(&self, client: Option<IpAddr>, now: Timestamp) -> Result<(), ApiError> {
        let (Some(ip), true) = (client, self.per_minute > 0) else {
            return Ok(());
        };
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&ip) {
            let capacity = f64::from(self.per_minute);
            buckets.retain(|_, b| {
                let elapsed = (now - b.at).num_milliseconds().max(0) as f64 / 1000.0;
                b.tokens + elapsed * capacity / 60.0 < capacity
            });
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: f64::from(self.per_minute),
            at: now,
        });
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let rate = f64::from(self.per_minute) / 60.0;
        let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64;
        Err(ApiError::rate_limited(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t0() -> Timestamp {
        chrono::DateTime::parse_from_rfc3339("2026-12-03T09:00:00+09:00").unwrap()
    }

    #[test]
    fn a_burst_then_the_refill_rate() {
        let l = RateLimiter::new(60);
        let a = Some("192.0.2.1".parse().unwrap());
        let b = Some("192.0.2.2".parse().unwrap());
        for _ in 0..60 {
            l.admit(a, t0()).unwrap();
        }
        let refused = l.admit(a, t0()).unwrap_err();
        assert_eq!(refused.retry_after(), Some(1));
        // Another client is not affected.
        l.admit(b, t0()).unwrap();
        // One a second comes back.
        l.admit(a, t0() + Duration::seconds(1)).unwrap();
        assert!(l.admit(a, t0() + Duration::seconds(1)).is_err());
        l.admit(a, t0() + Duration::seconds(3)).unwrap();
        l.admit(a, t0() + Duration::seconds(3)).unwrap();
        assert!(l.admit(a, t0() + Duration::seconds(3)).is_err());
    }

    #[test]
    fn zero_or_no_address_is_no_limit() {
        let l = RateLimiter::new(0);
        let a = Some("192.0.2.1".parse().unwrap());
        for _ in 0..1000 {
            l.admit(a, t0()).unwrap();
        }
        let l = RateLimiter::new(1);
        for _ in 0..10 {
            l.admit(None, t0()).unwrap();
        }
    }

    #[test]
    fn full_buckets_are_swept_when_there_are_too_many() {
        let l = RateLimiter::new(10);
        for i in 0..MAX_CLIENTS as u32 {
            l.admit(Some(IpAddr::from(i.to_be_bytes())), t0()).unwrap();
        }
        // A minute later every bucket is full again: the next new client sweeps them.
        l.admit(
            Some("198.51.100.1".parse().unwrap()),
            t0() + Duration::minutes(1),
        )
        .unwrap();
        assert_eq!(l.buckets.lock().unwrap().len(), 1);
    }
}
