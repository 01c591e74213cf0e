//! The write path both transports share: admit the caller (client address, token, allow
//! list, tenant mapping), then for each batch: size limits, decompress, [`scan`] without
//! allocating per label, the token's rate limit, [`forward::prepare`] and send (small
//! batches in groups, [`crate::batcher`]), answering only after the store did. Refusals are counted and logged with the client's address here.

use super::AppState;
use super::decoded::Decoded;
use super::error::IngestError;
use crate::auth::Credential;
use crate::config::Limits;
use crate::forward::{self, ForwardError};
use crate::metrics::{KindLabels, TenantLabels};
use crate::scan::{self, Summary};
use bytes::Bytes;
use peeper_proto::codec::{self, CodecError, Encoding};
use peeper_proto::names;
use peeper_proto::status::Answer;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A body that passed every check: the decoded protobuf, what it holds, and where the
/// series that liveness tracking watches are ([`peeper_proto::names::WATCHED`]).
#[derive(Debug)]
pub struct Validated {
    pub decoded: Decoded,
    pub summary: Summary,
    pub watched: Vec<Range<usize>>,
    /// Each series' label hash, when `limits.max_series_per_tenant` is on.
    pub hashes: Vec<u64>,
}

/// Checks one compressed remote-write body against `limits` without forwarding it: the
/// body size, the decoded size (from the snappy header, before allocating), decompression
/// and the [`scan`]. `now_ms` is the server's clock for `limits.max_future_secs`.
pub fn validate(
    original: &[u8],
    encoding: Encoding,
    limits: &Limits,
    now_ms: i64,
) -> Result<Validated, IngestError> {
    if original.len() > limits.max_body_bytes {
        return Err(IngestError::BodyTooLarge {
            limit: limits.max_body_bytes,
        });
    }
    if encoding == Encoding::Snappy {
        let declared = codec::snappy_declared_len(original).map_err(IngestError::Decompress)?;
        if declared > limits.max_decoded_bytes {
            return Err(IngestError::DecodedTooLarge {
                declared: declared as u64,
                limit: limits.max_decoded_bytes,
            });
        }
    }
    let limit = limits.max_decoded_bytes;
    let decoded = match encoding {
        Encoding::Snappy => Decoded::snappy(original, limit),
        Encoding::Zstd => codec::zstd_decompress(original, limit).map(Decoded::from),
    }
    .map_err(|e| match e {
        CodecError::TooLarge { declared, limit } => {
            IngestError::DecodedTooLarge { declared, limit }
        }
        other => IngestError::Decompress(other),
    })?;
    let mut out = scan::ScanOutput {
        watched: Vec::new(),
        hashes: (limits.max_series_per_tenant > 0).then(Vec::new),
    };
    let summary = scan::scan_into(&decoded, limits, now_ms, &names::WATCHED, &mut out)?;
    Ok(Validated {
        decoded,
        summary,
        watched: out.watched,
        hashes: out.hashes.unwrap_or_default(),
    })
}

/// Bodies that decode to at most this are checked on the async worker (a few hundred
/// microseconds); larger ones on the blocking pool.
const INLINE_DECODE_BYTES: usize = 256 * 1024;

/// Samples charged to a token for a batch refused after work was spent on it: about one
/// sample per 16 bytes decompressed, so a stream of decompression bombs runs into the token's
/// rate limit and is then refused before any work.
fn refused_work(error: &IngestError, encoding: Encoding, body_len: usize) -> u64 {
    let decoded = match error {
        // Snappy's is refused from its header, before any work; zstd's after decompressing.
        IngestError::DecodedTooLarge { limit, .. } if encoding == Encoding::Zstd => *limit,
        IngestError::Decompress(_) | IngestError::Scan(_) => body_len.saturating_mul(4),
        _ => 0,
    };
    (decoded / 16) as u64
}

/// The TCP peer of a request, set on every request by the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// An admitted caller: whose token, from where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credential: Arc<Credential>,
    pub client: IpAddr,
}

impl AppState {
    /// The client's address: the peer, or `X-Forwarded-For` behind a trusted proxy.
    pub fn client_addr<'a>(
        &self,
        peer: Option<PeerAddr>,
        forwarded_for: impl IntoIterator<Item = &'a [u8]>,
    ) -> IpAddr {
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.ip());
        self.trusted_proxies.client(peer, forwarded_for)
    }

    /// Authenticates the `Authorization` value and checks the allow list and the tenant's
    /// store mapping. Refusals are counted and logged.
    pub fn admit(
        &self,
        authorization: Option<&[u8]>,
        client: IpAddr,
    ) -> Result<Caller, IngestError> {
        let result = self
            .tokens
            .authenticate(authorization)
            .and_then(|credential| {
                credential.check_address(client)?;
                Ok(credential)
            });
        let admitted = result.map_err(IngestError::from).and_then(|credential| {
            self.store
                .url_for(&credential.tenant)
                .map_err(IngestError::Tenant)?;
            Ok(Caller { credential, client })
        });
        admitted.map_err(|e| self.refuse(e, client, None))
    }

    /// Validates and forwards one batch; counts and logs a refusal.
    pub async fn ingest(
        &self,
        caller: &Caller,
        body: Bytes,
        encoding: Encoding,
    ) -> Result<Summary, IngestError> {
        self.ingest_inner(caller, body, encoding)
            .await
            .map_err(|e| self.refuse(e, caller.client, Some(caller)))
    }

    async fn ingest_inner(
        &self,
        caller: &Caller,
        original: Bytes,
        encoding: Encoding,
    ) -> Result<Summary, IngestError> {
        // An empty body is an empty WriteRequest: nothing to store.
        if original.is_empty() {
            return Ok(Summary::default());
        }
        let credential = &caller.credential;
        // A token that owes (over its rate, or charged for refused work) is refused before
        // any work is spent on it.
        credential.limiter.check_debt()?;
        let Validated {
            decoded,
            summary,
            watched,
            hashes,
        } = self.validate(&original, encoding).await.inspect_err(|e| {
            credential
                .limiter
                .charge(refused_work(e, encoding, original.len()));
        })?;
        if summary.series == 0 {
            return Ok(summary);
        }
        self.series.admit(&credential.tenant, &hashes)?;
        credential.limiter.take(summary.samples as u64)?;
        let url = self
            .store
            .url_for(&credential.tenant)
            .map_err(IngestError::Tenant)?;
        let prepared = forward::prepare(
            self.forward_mode,
            url,
            &credential.tenant,
            original,
            encoding,
            &decoded,
            &summary,
        )?;
        let observed = self
            .liveness
            .observe(&credential.tenant, &decoded, &watched);
        drop(decoded);

        let started = Instant::now();
        let result = self.batcher.send(prepared).await;
        self.metrics
            .forward_duration
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = result {
            // Not stored, so not spent: the batch comes again. Bad data stays charged.
            if !matches!(e, ForwardError::Rejected { .. } | ForwardError::Decode(_)) {
                credential.limiter.refund(summary.samples as u64);
            }
            return Err(e.into());
        }
        self.liveness.record(observed);
        self.stored.mark();
        let tenant = TenantLabels {
            tenant: credential.tenant.to_string(),
        };
        self.metrics
            .samples
            .get_or_create(&tenant)
            .inc_by(summary.samples as u64);
        self.metrics
            .series
            .get_or_create(&tenant)
            .inc_by(summary.series as u64);
        tracing::trace!(client = %caller.client, token = %credential.id, samples = summary.samples, "batch accepted");
        Ok(summary)
    }

    /// [`validate`], on the blocking pool (a few at a time) when the body is large or its
    /// decoded size unknown, so decompressing a bomb never stalls the async workers that
    /// answer other agents.
    async fn validate(
        &self,
        original: &Bytes,
        encoding: Encoding,
    ) -> Result<Validated, IngestError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let small = encoding == Encoding::Snappy
            && codec::snappy_declared_len(original).is_ok_and(|n| n <= INLINE_DECODE_BYTES);
        if small {
            return validate(original, encoding, &self.limits, now_ms);
        }
        let _slot = self
            .decode_slots
            .acquire()
            .await
            .map_err(|_| IngestError::ShuttingDown)?;
        let (body, limits) = (original.clone(), self.limits);
        tokio::task::spawn_blocking(move || validate(&body, encoding, &limits, now_ms))
            .await
            .map_err(|_| IngestError::ShuttingDown)?
    }

    /// Counts a refusal and logs it with the client's address (and token id, never the
    /// token): auth failures and store outages loudly, bad data quietly.
    pub(super) fn refuse(
        &self,
        e: IngestError,
        client: IpAddr,
        caller: Option<&Caller>,
    ) -> IngestError {
        if let Some(reason) = e.reject_reason() {
            self.metrics.reject(reason);
        }
        if let IngestError::Forward(f) = &e {
            self.metrics
                .forward_errors
                .get_or_create(&KindLabels { kind: f.kind() })
                .inc();
        }
        let token = caller.map_or("-", |c| c.credential.id.as_str());
        // Every refusal is counted; a client gets at most one log line per interval.
        let Some(unsaid) = self.refusals.allow(client) else {
            return e;
        };
        match e.answer() {
            Answer::Forbidden | Answer::Unavailable(_) => {
                tracing::warn!(%client, token, more_since_last_line = unsaid, "write refused: {e}")
            }
            Answer::Unauthenticated => {
                tracing::info!(%client, more_since_last_line = unsaid, "write refused: {e}")
            }
            _ => {
                tracing::debug!(%client, token, more_since_last_line = unsaid, "write refused: {e}")
            }
        }
        e
    }
}
