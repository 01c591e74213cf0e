//! The status contract: every answer the server gives a batch, with its HTTP status, its
//! gRPC code and what the sender does next (ARCHITECTURE.md, "The status contract").
//!
//! The server picks an [`Answer`] for each outcome; a sender reads an HTTP status with
//! [`classify_http`] and a gRPC code with [`classify_grpc`]. Both readings look the code up
//! in the same table ([`Answer::http_status`], [`Answer::grpc_code`], [`Answer::action`]),
//! so the two transports cannot come to disagree.

use std::time::Duration;
use tonic::Code;

/// The HTTP header and the gRPC metadata key carrying the seconds to wait before a resend.
pub const RETRY_AFTER: &str = "retry-after";

/// An answer the server gives a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The store has the batch (204 / OK).
    Accepted,
    /// Permanent: the data itself is bad (400 / INVALID_ARGUMENT).
    BadData,
    /// An encoding the server does not speak (415 / INVALID_ARGUMENT).
    UnsupportedEncoding,
    /// The token is missing, malformed, unknown or revoked (401 / UNAUTHENTICATED).
    Unauthenticated,
    /// The token may not write from this address, or to this tenant (403 / PERMISSION_DENIED).
    Forbidden,
    /// The batch is over a size limit (413 / OUT_OF_RANGE).
    TooLarge,
    /// Over a rate or series limit, or the store throttles: retry after the given seconds
    /// (429 / RESOURCE_EXHAUSTED).
    Throttled(u32),
    /// The store or the server cannot take it now: retry after the given seconds
    /// (503 / UNAVAILABLE).
    Unavailable(u32),
    /// The body did not arrive in time; the data is fine (408 / DEADLINE_EXCEEDED).
    Timeout,
}

/// What a sender does with a batch after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderAction {
    /// The store has it: forget the batch.
    Delivered,
    /// Resending cannot help: drop the batch and count it.
    Drop,
    /// The credentials were refused: keep the data, retry slowly, tell the operator.
    RetryAuth,
    /// Split the batch in halves and send each.
    Split,
    /// Keep the data and retry with backoff, not before `after` when the server said.
    Retry {
        reason: RetryReason,
        after: Option<Duration>,
    },
}

/// Why a sender retries, as far as the answer tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// The server or the store asked the sender to slow down.
    Throttled,
    /// Anything else: the store is down, a body timed out, an unexpected answer.
    ServerError,
}

impl Answer {
    /// One answer of each kind, for looking codes up; the seconds of the retry kinds take no
    /// part in a lookup. The first kind with a code wins (BadData before UnsupportedEncoding,
    /// which share INVALID_ARGUMENT and the action).
    const KINDS: [Answer; 9] = [
        Answer::Accepted,
        Answer::BadData,
        Answer::UnsupportedEncoding,
        Answer::Unauthenticated,
        Answer::Forbidden,
        Answer::TooLarge,
        Answer::Throttled(0),
        Answer::Unavailable(0),
        Answer::Timeout,
    ];

    pub fn http_status(self) -> u16 {
        match self {
            Answer::Accepted => 204,
            Answer::BadData => 400,
            Answer::UnsupportedEncoding => 415,
            Answer::Unauthenticated => 401,
            Answer::Forbidden => 403,
            Answer::TooLarge => 413,
            Answer::Throttled(_) => 429,
            Answer::Unavailable(_) => 503,
            Answer::Timeout => 408,
        }
    }

    pub fn grpc_code(self) -> Code {
        match self {
            Answer::Accepted => Code::Ok,
            Answer::BadData | Answer::UnsupportedEncoding => Code::InvalidArgument,
            Answer::Unauthenticated => Code::Unauthenticated,
            Answer::Forbidden => Code::PermissionDenied,
            Answer::TooLarge => Code::OutOfRange,
            Answer::Throttled(_) => Code::ResourceExhausted,
            Answer::Unavailable(_) => Code::Unavailable,
            Answer::Timeout => Code::DeadlineExceeded,
        }
    }

    /// The seconds the server sends as `Retry-After` / `retry-after`, when it knows them.
    pub fn retry_after(self) -> Option<u32> {
        match self {
            Answer::Throttled(secs) | Answer::Unavailable(secs) => Some(secs),
            _ => None,
        }
    }

    /// What the sender does on this answer; `retry_after` is what the answer carried.
    pub fn action(self, retry_after: Option<Duration>) -> SenderAction {
        let retry = |reason| SenderAction::Retry {
            reason,
            after: retry_after,
        };
        match self {
            Answer::Accepted => SenderAction::Delivered,
            Answer::BadData | Answer::UnsupportedEncoding => SenderAction::Drop,
            Answer::Unauthenticated | Answer::Forbidden => SenderAction::RetryAuth,
            Answer::TooLarge => SenderAction::Split,
            Answer::Throttled(_) => retry(RetryReason::Throttled),
            Answer::Unavailable(_) | Answer::Timeout => retry(RetryReason::ServerError),
        }
    }
}

/// What a sender does on an HTTP status. Statuses outside the table: other 2xx deliver,
/// other 4xx drop (the request itself is wrong), anything else is retried.
pub fn classify_http(status: u16, retry_after: Option<Duration>) -> SenderAction {
    if let Some(answer) = Answer::KINDS.iter().find(|a| a.http_status() == status) {
        return answer.action(retry_after);
    }
    match status {
        200..=299 => SenderAction::Delivered,
        400..=499 => SenderAction::Drop,
        _ => SenderAction::Retry {
            reason: RetryReason::ServerError,
            after: retry_after,
        },
    }
}

/// What a sender does on a gRPC code. Codes outside the table (INTERNAL, UNKNOWN, ABORTED,
/// ...) are retried.
pub fn classify_grpc(code: Code, retry_after: Option<Duration>) -> SenderAction {
    match Answer::KINDS.iter().find(|a| a.grpc_code() == code) {
        Some(answer) => answer.action(retry_after),
        None => SenderAction::Retry {
            reason: RetryReason::ServerError,
            after: retry_after,
        },
    }
}

/// Reads a `Retry-After` / `retry-after` value: whole seconds (the only form Peeper sends).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails to compile when a kind is added, until it is listed in [`Answer::KINDS`].
    fn listed(answer: Answer) -> bool {
        match answer {
            Answer::Accepted
            | Answer::BadData
            | Answer::UnsupportedEncoding
            | Answer::Unauthenticated
            | Answer::Forbidden
            | Answer::TooLarge
            | Answer::Throttled(_)
            | Answer::Unavailable(_)
            | Answer::Timeout => Answer::KINDS
                .iter()
                .any(|k| std::mem::discriminant(k) == std::mem::discriminant(&answer)),
        }
    }

    #[test]
    fn the_table() {
        let after = Some(Duration::from_secs(5));
        let retry = |reason| SenderAction::Retry { reason, after };
        let table = [
            (Answer::Accepted, 204, Code::Ok, SenderAction::Delivered),
            (
                Answer::BadData,
                400,
                Code::InvalidArgument,
                SenderAction::Drop,
            ),
            (
                Answer::UnsupportedEncoding,
                415,
                Code::InvalidArgument,
                SenderAction::Drop,
            ),
            (
                Answer::Unauthenticated,
                401,
                Code::Unauthenticated,
                SenderAction::RetryAuth,
            ),
            (
                Answer::Forbidden,
                403,
                Code::PermissionDenied,
                SenderAction::RetryAuth,
            ),
            (Answer::TooLarge, 413, Code::OutOfRange, SenderAction::Split),
            (
                Answer::Throttled(5),
                429,
                Code::ResourceExhausted,
                retry(RetryReason::Throttled),
            ),
            (
                Answer::Unavailable(5),
                503,
                Code::Unavailable,
                retry(RetryReason::ServerError),
            ),
            (
                Answer::Timeout,
                408,
                Code::DeadlineExceeded,
                retry(RetryReason::ServerError),
            ),
        ];
        assert_eq!(table.len(), Answer::KINDS.len());
        for (answer, http, grpc, action) in table {
            assert!(listed(answer), "{answer:?}");
            assert_eq!(answer.http_status(), http, "{answer:?}");
            assert_eq!(answer.grpc_code(), grpc, "{answer:?}");
            assert_eq!(answer.action(after), action, "{answer:?}");
        }
    }

    #[test]
    fn both_transports_agree_on_every_answer() {
        let after = Some(Duration::from_secs(7));
        for answer in Answer::KINDS {
            let action = answer.action(after);
            assert_eq!(
                classify_http(answer.http_status(), after),
                action,
                "{answer:?}"
            );
            assert_eq!(
                classify_grpc(answer.grpc_code(), after),
                action,
                "{answer:?}"
            );
        }
    }

    #[test]
    fn only_retry_kinds_carry_seconds() {
        assert_eq!(Answer::Throttled(3).retry_after(), Some(3));
        assert_eq!(Answer::Unavailable(5).retry_after(), Some(5));
        for answer in [Answer::Accepted, Answer::BadData, Answer::Timeout] {
            assert_eq!(answer.retry_after(), None);
        }
    }

    #[test]
    fn codes_outside_the_table() {
        let server_error = SenderAction::Retry {
            reason: RetryReason::ServerError,
            after: None,
        };
        assert_eq!(classify_http(200, None), SenderAction::Delivered);
        assert_eq!(classify_http(404, None), SenderAction::Drop);
        assert_eq!(classify_http(500, None), server_error);
        assert_eq!(classify_http(302, None), server_error);
        for code in [Code::Internal, Code::Unknown, Code::Aborted] {
            assert_eq!(classify_grpc(code, None), server_error);
        }
    }

    #[test]
    fn reads_retry_after_seconds() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
