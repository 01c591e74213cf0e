//! The `peeper.v1.Ingest` gRPC service. A `WriteBatch` carries the same compressed
//! remote-write body as HTTPS, so it runs through the same pipeline without decoding the
//! timeseries with prost. The token comes from `authorization: Bearer <token>` metadata.
//!
//! `WriteStream` answers every batch in order, in-band (`code`, `message`,
//! `retry_after_seconds`), so one batch's failure does not end the stream. The token and
//! the client address are checked when the stream opens (a refusal fails the call) and the
//! token again for every batch, so a revocation reaches long-lived streams. When the server
//! shuts down, the batch in progress is answered and the stream ends with UNAVAILABLE: the
//! sender reconnects (to another replica) and resends what was not answered.

use super::AppState;
use super::error::IngestError;
use super::pipeline::{Caller, PeerAddr};
use crate::metrics::GrpcCodeLabels;
use peeper_proto::codec::Encoding;
use peeper_proto::v1::ingest_server::Ingest;
use peeper_proto::v1::{Compression, WriteBatch, WriteResponse};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

/// Batches answered ahead of the sender reading the answers.
const STREAM_BUFFER: usize = 16;

/// The gRPC service over the shared [`AppState`].
#[derive(Debug, Clone)]
pub struct GrpcIngest {
    state: Arc<AppState>,
}

impl GrpcIngest {
    pub fn new(state: Arc<AppState>) -> Self {
        GrpcIngest { state }
    }

    fn client(&self, metadata: &MetadataMap, peer: Option<PeerAddr>) -> IpAddr {
        self.state.client_addr(
            peer,
            metadata
                .get_all("x-forwarded-for")
                .iter()
                .map(|v| v.as_bytes()),
        )
    }

    fn admit(&self, metadata: &MetadataMap, client: IpAddr) -> Result<Caller, IngestError> {
        self.state
            .admit(metadata.get("authorization").map(|v| v.as_bytes()), client)
    }

    fn count(&self, code: tonic::Code) {
        self.state
            .metrics
            .grpc_batches
            .get_or_create(&GrpcCodeLabels { code: code as i32 })
            .inc();
    }
}

/// Resolves once the server shuts down.
async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

fn encoding(batch: &WriteBatch) -> Encoding {
    match Compression::try_from(batch.compression) {
        Ok(Compression::Zstd) => Encoding::Zstd,
        // Unknown values are treated as snappy: a wrong guess fails as bad snappy data.
        Ok(Compression::Snappy) | Err(_) => Encoding::Snappy,
    }
}

/// One batch's answer on a stream.
fn answer(sequence: u64, result: Result<u64, IngestError>) -> WriteResponse {
    match result {
        Ok(samples) => WriteResponse {
            sequence,
            samples_accepted: samples,
            ..WriteResponse::default()
        },
        Err(e) => {
            let answer = e.answer();
            WriteResponse {
                sequence,
                samples_accepted: 0,
                code: answer.grpc_code() as i32,
                message: e.to_string(),
                retry_after_seconds: answer.retry_after().unwrap_or(0),
            }
        }
    }
}

#[tonic::async_trait]
impl Ingest for GrpcIngest {
    async fn write(&self, request: Request<WriteBatch>) -> Result<Response<WriteResponse>, Status> {
        let client = self.client(
            request.metadata(),
            request.extensions().get::<PeerAddr>().copied(),
        );
        let result = match self.admit(request.metadata(), client) {
            Ok(caller) => {
                let batch = request.into_inner();
                let encoding = encoding(&batch);
                self.state
                    .ingest(&caller, batch.body, encoding)
                    .await
                    .map(|summary| WriteResponse {
                        sequence: batch.sequence,
                        samples_accepted: summary.samples as u64,
                        ..WriteResponse::default()
                    })
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(response) => {
                self.count(tonic::Code::Ok);
                Ok(Response::new(response))
            }
            Err(e) => {
                let status = e.to_grpc_status();
                self.count(status.code());
                Err(status)
            }
        }
    }

    type WriteStreamStream = ReceiverStream<Result<WriteResponse, Status>>;

    async fn write_stream(
        &self,
        request: Request<Streaming<WriteBatch>>,
    ) -> Result<Response<Self::WriteStreamStream>, Status> {
        let client = self.client(
            request.metadata(),
            request.extensions().get::<PeerAddr>().copied(),
        );
        self.admit(request.metadata(), client).map_err(|e| {
            let status = e.to_grpc_status();
            self.count(status.code());
            status
        })?;
        let authorization = request.metadata().get("authorization").cloned();
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let service = self.clone();
        tokio::spawn(async move {
            let mut shutdown = service.state.shutdown.clone();
            loop {
                let next = tokio::select! {
                    biased;
                    _ = stopped(&mut shutdown) => {
                        let _ = tx.send(Err(IngestError::ShuttingDown.to_grpc_status())).await;
                        break;
                    }
                    next = inbound.message() => next,
                };
                let batch = match next {
                    Ok(Some(batch)) => batch,
                    // The sender closed its side: end the stream with OK.
                    Ok(None) => break,
                    Err(status) => {
                        tracing::debug!(%client, "gRPC stream ended by the client: {status}");
                        break;
                    }
                };
                // Re-check the token, so a revocation reaches a long-lived stream.
                let result = match service
                    .state
                    .admit(authorization.as_ref().map(|v| v.as_bytes()), client)
                {
                    Ok(caller) => {
                        let encoding = encoding(&batch);
                        service
                            .state
                            .ingest(&caller, batch.body, encoding)
                            .await
                            .map(|s| s.samples as u64)
                    }
                    Err(e) => Err(e),
                };
                let response = answer(batch.sequence, result);
                service.count(tonic::Code::from_i32(response.code));
                if tx.send(Ok(response)).await.is_err() {
                    break; // the sender went away
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
