//! `POST /api/v1/write`: Prometheus remote-write 1.0 over HTTP/1.1 or HTTP/2.

use super::AppState;
use super::error::IngestError;
use super::pipeline::PeerAddr;
use crate::body::{BodyError, GuardedBody};
use crate::metrics::CodeLabels;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Version, header};
use axum::response::{IntoResponse, Response};
use peeper_proto::codec::Encoding;
use peeper_proto::status::Answer;
use std::sync::Arc;
use std::time::Duration;

pub(super) async fn write(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let response = match handle(&state, &parts, body).await {
        Ok(()) => super::error::http_status(Answer::Accepted).into_response(),
        Err(Refused { error, body_left }) => {
            let mut response = error.into_response();
            // HTTP/1.1 cannot reuse a connection whose request body was not read: say so,
            // rather than closing it under a client that expects to send again.
            if body_left && parts.version < Version::HTTP_2 {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    };
    state
        .metrics
        .requests
        .get_or_create(&CodeLabels {
            code: response.status().as_u16(),
        })
        .inc();
    response
}

/// A refusal, and whether the request body may still be unread.
struct Refused {
    error: IngestError,
    body_left: bool,
}

async fn handle(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: Body,
) -> Result<(), Refused> {
    let headers = &parts.headers;
    let early = |error| Refused {
        error,
        body_left: true,
    };
    let client = state.client_addr(
        parts.extensions.get::<PeerAddr>().copied(),
        headers
            .get_all("x-forwarded-for")
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let caller = state
        .admit(
            headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
            client,
        )
        .map_err(early)?;
    let encoding_header = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let encoding = Encoding::from_header(encoding_header).map_err(|e| {
        early(state.refuse(IngestError::UnsupportedEncoding(e), client, Some(&caller)))
    })?;
    if state.budget.exhausted() {
        let busy = IngestError::Body(BodyError::ServerBusy {
            limit: state.limits.max_inflight_body_bytes,
        });
        return Err(early(state.refuse(busy, client, Some(&caller))));
    }
    // The body's bytes stay charged to the budgets until the batch is answered.
    let mut guarded = GuardedBody::whole(
        body,
        state.budget.charge(Arc::clone(&caller.credential.limiter)),
        Duration::from_secs(state.limits.body_timeout_secs),
    );
    let body = read_body(&mut guarded, headers, state.limits.max_body_bytes)
        .await
        .map_err(|e| early(state.refuse(e, client, Some(&caller))))?;
    let result = state.ingest(&caller, body, encoding).await;
    drop(guarded);
    result.map(drop).map_err(|error| Refused {
        error,
        body_left: false,
    })
}

/// Reads the whole body, refusing as soon as it passes `limit` bytes.
async fn read_body(
    body: &mut GuardedBody<Body>,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, IngestError> {
    let too_large = IngestError::BodyTooLarge { limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    // One frame (the usual case over h2 and for small bodies) is kept without copying.
    let mut first: Option<Bytes> = None;
    let mut rest: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await
    {
        let frame = frame?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        total += data.len();
        if total > limit {
            return Err(too_large);
        }
        if first.is_none() && rest.is_empty() {
            first = Some(data);
            continue;
        }
        if let Some(head) = first.take() {
            let expected = declared.map_or(0, |n| n as usize);
            rest.reserve(expected.max(total));
            rest.extend_from_slice(&head);
        }
        rest.extend_from_slice(&data);
    }
    Ok(first.unwrap_or_else(|| Bytes::from(rest)))
}
