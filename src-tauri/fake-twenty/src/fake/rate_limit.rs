//! Per-workspace token bucket for API-key requests, and the two 429 shapes Twenty has used.
//!
//! Legacy (tokens are whole numbers, refill floored, state written only on success):
//! - packages/twenty-server/src/engine/core-modules/throttler/throttler.service.ts
//!   (`tokenBucketThrottleOrThrow`, `getAvailableTokensCount`, message
//!   `Limit reached (${maxTokens} tokens per ${timeWindow} ms)`)
//! - packages/twenty-server/src/engine/api/common/common-query-runners/common-base-query-runner.service.ts
//!   (`throttleQueryExecution`: only API-key requests, keys `api:throttler:${workspaceId}-short-limit`
//!   and `-long-limit`, i.e. per workspace, shared by every key)
//! - packages/twenty-server/src/engine/core-modules/throttler/utils/throttler-to-rest-api-exception-handler.util.ts
//!   (`new HttpException(message, 429)` -> `"error":"HttpException"`, no Retry-After)
//!
//! Modern (fractional refill, `retryAfterMs = ceil((cost - refilled) * windowMs / refill)`):
//! - packages/twenty-server/src/engine/core-modules/usage-limit/constants/try-consume-token-buckets-script.constant.ts
//! - packages/twenty-server/src/engine/core-modules/usage-limit/services/usage-limit-speed.service.ts
//!   (message `Rate limit exceeded for apiKey: 100 requests per 60s.`, code RATE_LIMITED)
//! - packages/twenty-server/src/engine/core-modules/usage-limit/utils/usage-limit-to-rest-api-exception-handler.util.ts
//!   (body) and .../usage-limit/utils/build-rate-limit-response-headers.util.ts (headers)

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::errors::{ordered, TwentyError};

/// Milliseconds since the Unix epoch. The fake reads time only through this trait, so a
/// simulation can drive the rate limiter and `updatedAt` stamps.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(start_ms: u64) -> Self {
        ManualClock(AtomicU64::new(start_ms))
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Which 429 Twenty answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitStyle {
    /// `{"statusCode":429,"error":"HttpException","messages":["Limit reached (100 tokens per 60000 ms)"]}`, no headers.
    #[default]
    Legacy,
    /// `"error":"RATE_LIMITED"` body plus Retry-After and X-RateLimit-* headers.
    Modern,
}

/// The bucket: `limit` tokens refilled over `window_ms`.
#[derive(Clone)]
pub struct TokenBucket {
    pub limit: u32,
    pub window_ms: u64,
    pub style: RateLimitStyle,
    tokens: f64,
    last_refill_ms: Option<u64>,
}

impl fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBucket")
            .field("limit", &self.limit)
            .field("window_ms", &self.window_ms)
            .field("tokens", &self.tokens)
            .finish()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModernScope<'a> {
    spender_type: &'a str,
    spender_id: &'a str,
    operation_type: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModernBody<'a> {
    status_code: u16,
    error: &'a str,
    messages: [&'a str; 1],
    limit_kind: &'a str,
    exhausted_kind: &'a str,
    scope: ModernScope<'a>,
    limit: u32,
    remaining: u32,
    period_count: u64,
    period_unit: &'a str,
    retry_after_seconds: u64,
}

impl TokenBucket {
    pub fn new(limit: u32, window_ms: u64, style: RateLimitStyle) -> Self {
        TokenBucket {
            limit,
            window_ms: window_ms.max(1),
            style,
            tokens: f64::from(limit),
            last_refill_ms: None,
        }
    }

    /// Take one token at `now_ms`, or return the 429 Twenty would send.
    /// `workspace_id` fills the modern body's `scope.spenderId`.
    pub fn consume(&mut self, now_ms: u64, workspace_id: &str) -> Result<(), TwentyError> {
        let max = f64::from(self.limit);
        let (tokens, last) = match self.last_refill_ms {
            Some(last) => (self.tokens, last),
            None => (max, now_ms),
        };
        let elapsed = now_ms.saturating_sub(last) as f64;
        let rate = max / self.window_ms as f64;
        let available = match self.style {
            RateLimitStyle::Legacy => (tokens + (elapsed * rate).floor()).min(max),
            RateLimitStyle::Modern => (tokens + elapsed * rate).min(max),
        };
        if available >= 1.0 {
            self.tokens = available - 1.0;
            self.last_refill_ms = Some(now_ms);
            return Ok(());
        }
        Err(self.rejection(available, now_ms, workspace_id))
    }

    fn rejection(&self, available: f64, now_ms: u64, workspace_id: &str) -> TwentyError {
        match self.style {
            RateLimitStyle::Legacy => TwentyError::new(
                429,
                "HttpException",
                &format!(
                    "Limit reached ({} tokens per {} ms)",
                    self.limit, self.window_ms
                ),
            ),
            RateLimitStyle::Modern => {
                let retry_ms = ((1.0 - available) * self.window_ms as f64 / f64::from(self.limit))
                    .ceil()
                    .max(0.0) as u64;
                // get-retry-after-seconds.util.ts: at least one second, rounded up.
                let retry_s = retry_ms.div_ceil(1000).max(1);
                let window_s = self.window_ms.div_ceil(1000);
                let message = format!(
                    "Rate limit exceeded for apiKey: {} requests per {}s.",
                    self.limit,
                    self.window_ms as f64 / 1000.0
                );
                let body = ordered(&ModernBody {
                    status_code: 429,
                    error: "RATE_LIMITED",
                    messages: [&message],
                    limit_kind: "speed",
                    exhausted_kind: "limit",
                    scope: ModernScope {
                        spender_type: "apiKey",
                        spender_id: workspace_id,
                        operation_type: "API_REQUEST",
                    },
                    limit: self.limit,
                    remaining: 0,
                    period_count: window_s,
                    period_unit: "second",
                    retry_after_seconds: retry_s,
                });
                let reset = now_ms.div_ceil(1000) + retry_s;
                TwentyError {
                    status: 429,
                    body,
                    headers: Vec::new(),
                }
                .with_header("Retry-After", retry_s.to_string())
                .with_header("X-RateLimit-Limit", self.limit.to_string())
                .with_header("X-RateLimit-Remaining", "0".to_string())
                .with_header("X-RateLimit-Reset", reset.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_bucket_refills_whole_tokens() {
        let mut b = TokenBucket::new(2, 1000, RateLimitStyle::Legacy);
        assert!(b.consume(0, "w").is_ok());
        assert!(b.consume(0, "w").is_ok());
        let e = b.consume(499, "w").unwrap_err();
        assert_eq!(e.status, 429);
        assert_eq!(
            e.body,
            r#"{"statusCode":429,"error":"HttpException","messages":["Limit reached (2 tokens per 1000 ms)"]}"#
        );
        assert!(e.headers.is_empty());
        assert!(
            b.consume(500, "w").is_ok(),
            "500 ms refills one of two tokens per second"
        );
    }

    #[test]
    fn modern_bucket_reports_retry_after() {
        let mut b = TokenBucket::new(100, 60_000, RateLimitStyle::Modern);
        for _ in 0..100 {
            assert!(b.consume(1_000_000, "w").is_ok());
        }
        let e = b.consume(1_000_000, "w").unwrap_err();
        assert_eq!(e.status, 429);
        assert!(e.body.contains(r#""error":"RATE_LIMITED""#));
        assert!(e
            .body
            .contains("Rate limit exceeded for apiKey: 100 requests per 60s."));
        let retry = e
            .headers
            .iter()
            .find(|(k, _)| k == "Retry-After")
            .map(|(_, v)| v.clone());
        assert_eq!(retry.as_deref(), Some("1"), "one token refills in 600 ms");
    }
}
