//! The gate in front of the gRPC service: tonic reads a whole message before its handler
//! runs, so the token (from the `authorization` header), the client's allow list and the
//! body budget are checked here, before one byte of the message is read; the body is then
//! read under the time and memory bounds of `crate::body`. An undecodable `WriteBatch`,
//! which tonic answers INTERNAL (senders retry those), becomes INVALID_ARGUMENT and is
//! counted as malformed.

use super::AppState;
use super::error::IngestError;
use super::pipeline::PeerAddr;
use crate::body::{BodyError, GuardedBody};
use crate::metrics::GrpcCodeLabels;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::response::Response;
use http_body_util::BodyExt;
use peeper_proto::status::Answer;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The gRPC service behind its gate.
#[derive(Clone)]
pub struct GrpcGate<S> {
    inner: S,
    state: Arc<AppState>,
}

impl<S> GrpcGate<S> {
    pub fn new(inner: S, state: Arc<AppState>) -> Self {
        GrpcGate { inner, state }
    }
}

impl<S, B> tower_service::Service<Request<Body>> for GrpcGate<S>
where
    S: tower_service::Service<
            Request<Body>,
            Response = axum::http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this call; a fresh clone waits for the next.
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let state = Arc::clone(&self.state);
        Box::pin(async move { Ok(gate(state, inner, request).await) })
    }
}

async fn gate<S, B>(state: Arc<AppState>, mut inner: S, request: Request<Body>) -> Response
where
    S: tower_service::Service<
            Request<Body>,
            Response = axum::http::Response<B>,
            Error = Infallible,
        >,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let (mut parts, body) = request.into_parts();
    let client = state.client_addr(
        parts.extensions.get::<PeerAddr>().copied(),
        parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let caller = match state.admit(authorization, client) {
        Ok(caller) => caller,
        Err(e) => return refusal(&state, &e),
    };
    if state.budget.exhausted() {
        let busy = IngestError::Body(BodyError::ServerBusy {
            limit: state.limits.max_inflight_body_bytes,
        });
        return refusal(&state, &state.refuse(busy, client, Some(&caller)));
    }
    let timeout = Duration::from_secs(state.limits.body_timeout_secs);
    let charge = state.budget.charge(Arc::clone(&caller.credential.limiter));
    let guarded = if parts.uri.path().ends_with("/WriteStream") {
        let idle = Duration::from_secs(state.limits.idle_timeout_secs);
        GuardedBody::messages(body, charge, timeout, idle)
    } else {
        GuardedBody::whole(body, charge, timeout)
    };
    let counted = Arc::clone(&state);
    let body = guarded.map_err(move |e| {
        // tonic answers with the status it finds in the body error's chain.
        let e = counted.refuse(IngestError::Body(e), client, None);
        e.to_grpc_status()
    });
    parts.extensions.insert(caller);
    let response = match inner
        .call(Request::from_parts(parts, Body::new(body)))
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    invalid_argument_for_decode_errors(&state, response)
}

/// A refusal as a trailers-only gRPC answer, counted.
fn refusal(state: &AppState, error: &IngestError) -> Response {
    let status = error.to_grpc_status();
    state
        .metrics
        .grpc_batches
        .get_or_create(&GrpcCodeLabels {
            code: status.code() as i32,
        })
        .inc();
    status.into_http()
}

/// tonic answers a `WriteBatch` it cannot decode with INTERNAL; it is the sender's bad data.
fn invalid_argument_for_decode_errors(state: &AppState, mut response: Response) -> Response {
    let headers = response.headers();
    let internal = headers.get("grpc-status").is_some_and(|s| s == "13");
    let decode = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| m.contains("decode%20Protobuf") || m.contains("decode Protobuf"));
    if internal && decode {
        state.metrics.reject("malformed");
        response.headers_mut().insert(
            "grpc-status",
            HeaderValue::from(Answer::BadData.grpc_code() as i32),
        );
    }
    response
}
