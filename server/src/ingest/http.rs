//! `POST /api/v1/write`: Prometheus remote-write 1.0 over HTTP/1.1 or HTTP/2.

use super::AppState;
use super::error::IngestError;
use super::pipeline::PeerAddr;
use crate::metrics::CodeLabels;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use peeper_proto::codec::Encoding;
use std::sync::Arc;

pub(super) async fn write(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let response = match handle(&state, &parts, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
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

async fn handle(
    state: &AppState,
    parts: &axum::http::request::Parts,
    body: Body,
) -> Result<(), IngestError> {
    let headers = &parts.headers;
    let client = state.client_addr(
        parts.extensions.get::<PeerAddr>().copied(),
        headers
            .get_all("x-forwarded-for")
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let caller = state.admit(
        headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
        client,
    )?;
    let read = async {
        let encoding_header = headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("(not text)"));
        let encoding =
            Encoding::from_header(encoding_header).map_err(IngestError::UnsupportedEncoding)?;
        let body = read_body(body, headers, state.limits.max_body_bytes).await?;
        Ok((encoding, body))
    };
    let (encoding, body) = read
        .await
        .map_err(|e| state.refuse(e, client, Some(&caller)))?;
    state.ingest(&caller, body, encoding).await.map(drop)
}

/// Reads the whole body, refusing as soon as it passes `limit` bytes.
async fn read_body(
    mut body: Body,
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
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| IngestError::BodyRead(e.to_string()))?;
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
