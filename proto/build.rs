//! Generates the remote-write messages and the peeper.v1 service with protox (pure Rust),
//! so building needs no `protoc` binary and downloads nothing.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/prometheus/remote.proto",
        "proto/peeper/v1/ingest.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        // The batch body stays a `Bytes` view of the received buffer: no copy on decode.
        .bytes(".peeper.v1.WriteBatch.body")
        .compile_fds(descriptors)?;
    Ok(())
}
