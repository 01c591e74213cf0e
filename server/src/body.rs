//! Request bodies under a bound: time (a body must arrive within `limits.body_timeout_secs`,
//! so a sender stalling at 1 byte a second holds nothing for long) and memory (body bytes in
//! flight are charged to a global budget and to the token's own, so a tenant stalling many
//! large bodies fills its own share, not the server's memory).
//!
//! gRPC streams are framed: the time bound applies to each message while it is incomplete,
//! and a completed message's bytes are released as the next one starts.

use crate::ratelimit::RateLimiter;
use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Why a body was cut short.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("cannot read the request body: {0}")]
    Read(String),
    #[error(
        "the request body did not arrive within {0:?} (limits.body_timeout_secs): send it \
         faster or in smaller batches"
    )]
    Timeout(Duration),
    #[error(
        "the server holds {limit} bytes of request bodies in flight already \
         (limits.max_inflight_body_bytes): retry shortly"
    )]
    ServerBusy { limit: usize },
    #[error(
        "this token has {limit} bytes of request bodies in flight already \
         (limits.max_inflight_body_bytes_per_token): wait for answers before sending more"
    )]
    TokenBusy { limit: usize },
}

/// Body bytes in flight, server-wide; a token's share is counted in its [`RateLimiter`].
#[derive(Debug)]
pub struct BodyBudget {
    used: AtomicUsize,
    limit: usize,
    per_token: usize,
}

impl BodyBudget {
    pub fn new(limit: usize, per_token: usize) -> Arc<Self> {
        Arc::new(BodyBudget {
            used: AtomicUsize::new(0),
            limit,
            per_token,
        })
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether a new request should be refused at once: the budget is all but spent.
    pub fn exhausted(&self) -> bool {
        self.used() >= self.limit
    }

    /// A charge for one body of `token`.
    pub fn charge(self: &Arc<Self>, token: Arc<RateLimiter>) -> Charge {
        Charge {
            budget: Arc::clone(self),
            token,
            bytes: 0,
        }
    }
}

/// The bytes one body holds; released when dropped.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<BodyBudget>,
    token: Arc<RateLimiter>,
    bytes: usize,
}

impl Charge {
    /// Adds `n` bytes, or refuses if the server's or the token's budget would overflow.
    pub fn add(&mut self, n: usize) -> Result<(), BodyError> {
        let budget = &self.budget;
        if budget.used.fetch_add(n, Ordering::AcqRel) + n > budget.limit {
            budget.used.fetch_sub(n, Ordering::AcqRel);
            return Err(BodyError::ServerBusy {
                limit: budget.limit,
            });
        }
        let inflight = self.token.inflight_bytes();
        if inflight.fetch_add(n, Ordering::AcqRel) + n > budget.per_token {
            inflight.fetch_sub(n, Ordering::AcqRel);
            budget.used.fetch_sub(n, Ordering::AcqRel);
            return Err(BodyError::TokenBusy {
                limit: budget.per_token,
            });
        }
        self.bytes += n;
        Ok(())
    }

    /// Releases `n` of the bytes held (a completed gRPC message).
    pub fn release(&mut self, n: usize) {
        let n = n.min(self.bytes);
        self.bytes -= n;
        self.budget.used.fetch_sub(n, Ordering::AcqRel);
        self.token.inflight_bytes().fetch_sub(n, Ordering::AcqRel);
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.release(self.bytes);
    }
}

/// How the time bound applies.
#[derive(Debug)]
enum Framing {
    /// The whole body within the timeout (a remote-write request, a unary gRPC call).
    Whole,
    /// gRPC messages (5-byte header: flag, u32 length): each within the timeout once it has
    /// started; between messages the stream may wait up to `idle`.
    Messages {
        idle: Duration,
        /// Bytes of the current message's header seen (0-5), and the rest of it to come.
        header: [u8; 5],
        header_seen: usize,
        remaining: usize,
        /// Bytes of the current message charged so far.
        charged: usize,
    },
}

/// A body read under [`BodyError`]'s bounds.
#[derive(Debug)]
pub struct GuardedBody<B> {
    inner: B,
    charge: Charge,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    framing: Framing,
}

impl<B> GuardedBody<B> {
    /// A body that must arrive whole within `timeout`.
    pub fn whole(inner: B, charge: Charge, timeout: Duration) -> Self {
        GuardedBody {
            inner,
            charge,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            framing: Framing::Whole,
        }
    }

    /// A gRPC stream: each message within `timeout`, at most `idle` between messages.
    pub fn messages(inner: B, charge: Charge, timeout: Duration, idle: Duration) -> Self {
        GuardedBody {
            inner,
            charge,
            timeout,
            deadline: Box::pin(tokio::time::sleep(idle)),
            framing: Framing::Messages {
                idle,
                header: [0; 5],
                header_seen: 0,
                remaining: 0,
                charged: 0,
            },
        }
    }

    /// Follows the gRPC framing through `data`: resets the deadline as messages start and
    /// end, and releases the bytes of each completed message.
    fn track(&mut self, mut data: &[u8]) {
        let Framing::Messages {
            idle,
            header,
            header_seen,
            remaining,
            charged,
        } = &mut self.framing
        else {
            return;
        };
        *charged += data.len();
        while !data.is_empty() {
            if *remaining == 0 && *header_seen == 0 {
                // A message starts: it has `timeout` to arrive whole.
                self.deadline.as_mut().reset(Instant::now() + self.timeout);
            }
            if *header_seen < 5 {
                let take = (5 - *header_seen).min(data.len());
                header[*header_seen..*header_seen + take].copy_from_slice(&data[..take]);
                *header_seen += take;
                data = &data[take..];
                if *header_seen == 5 {
                    *remaining =
                        u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
                }
            } else {
                let take = (*remaining).min(data.len());
                *remaining -= take;
                data = &data[take..];
            }
            if *header_seen == 5 && *remaining == 0 {
                // Complete: what it held now lives in the decoded message, bounded elsewhere.
                *header_seen = 0;
                let done = std::mem::take(charged) - data.len();
                *charged = data.len();
                self.charge.release(done);
                self.deadline.as_mut().reset(Instant::now() + *idle);
            }
        }
    }
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyError::Timeout(this.timeout))));
        }
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        let frame = match frame {
            None => return Poll::Ready(None),
            Some(Err(e)) => return Poll::Ready(Some(Err(BodyError::Read(e.to_string())))),
            Some(Ok(frame)) => frame,
        };
        if let Some(data) = frame.data_ref() {
            this.charge.add(data.remaining())?;
            let bytes = data.clone();
            this.track(&bytes);
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::RateSource;

    fn token() -> Arc<RateLimiter> {
        Arc::new(RateLimiter::new("tok00001", 0, 0, RateSource::Default))
    }

    #[test]
    fn charges_stop_at_the_server_and_token_budgets_and_release_on_drop() {
        let budget = BodyBudget::new(100, 60);
        let (a, b) = (token(), token());
        let mut first = budget.charge(Arc::clone(&a));
        first.add(50).unwrap();
        assert!(matches!(
            first.add(20),
            Err(BodyError::TokenBusy { limit: 60 })
        ));
        let mut other = budget.charge(Arc::clone(&b));
        other.add(50).unwrap();
        assert!(matches!(
            other.add(10),
            Err(BodyError::ServerBusy { limit: 100 })
        ));
        assert!(budget.exhausted() || budget.used() == 100);
        drop(first);
        assert_eq!(budget.used(), 50);
        assert_eq!(a.inflight_bytes().load(Ordering::Relaxed), 0);
        other.add(10).unwrap();
    }

    fn grpc_message(len: usize) -> Vec<u8> {
        let mut out = vec![0u8];
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend(std::iter::repeat_n(7u8, len));
        out
    }

    #[tokio::test]
    async fn completed_grpc_messages_release_their_bytes() {
        let budget = BodyBudget::new(1000, 1000);
        let mut body = GuardedBody::messages(
            http_body_util::Empty::<Bytes>::new(),
            budget.charge(token()),
            Duration::from_secs(5),
            Duration::from_secs(60),
        );
        let mut stream = grpc_message(100);
        stream.extend(grpc_message(50));
        let (first, rest) = stream.split_at(30);
        body.charge.add(first.len()).unwrap();
        body.track(first);
        assert_eq!(budget.used(), 30, "a message in progress holds its bytes");
        body.charge.add(rest.len()).unwrap();
        body.track(rest);
        assert_eq!(budget.used(), 0, "both messages complete");
    }
}
