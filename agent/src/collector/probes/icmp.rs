//! The `icmp` prober: one echo request, as blackbox_exporter's prober/icmp.go. It tries an
//! unprivileged ping socket first (`SOCK_DGRAM`, allowed when the process's group is in
//! `net.ipv4.ping_group_range`), then a raw socket (root or `CAP_NET_RAW`).

use super::ProbesError;
use super::config::Module;
use super::net::{icmp_host, resolve};
use super::samples::{Samples, names};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

const PAYLOAD: &[u8] = b"Peeper Agent probe (blackbox_exporter compatible)";

/// The echo sequence, shared by all probes of the process.
static SEQUENCE: AtomicU16 = AtomicU16::new(0);

/// Opens an ICMP socket for `ip`'s family: (socket, raw?).
fn open(ip: IpAddr) -> Result<(Socket, bool), ProbesError> {
    let (domain, protocol) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
    };
    let dgram = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(socket) => return Ok((socket, false)),
        Err(e) => e,
    };
    match Socket::new(domain, Type::RAW, Some(protocol)) {
        Ok(socket) => Ok((socket, true)),
        Err(raw) => Err(ProbesError::IcmpSocket {
            message: format!("ping socket: {dgram}; raw socket: {raw}"),
        }),
    }
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An echo request: type, code, checksum, identifier, sequence, payload.
fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut packet = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    packet.extend_from_slice(&id.to_be_bytes());
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(PAYLOAD);
    if !v6 {
        // The kernel fills the ICMPv6 checksum itself (it covers a pseudo-header).
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// Whether `packet` (as read from the socket) is the reply to our request; with the
/// reply's TTL when the IPv4 header came with it.
fn match_reply(packet: &[u8], v6: bool, raw: bool, id: u16, seq: u16) -> Option<Option<u8>> {
    let (icmp, ttl) = if raw && !v6 {
        let header = usize::from(packet.first()? & 0x0f) * 4;
        (packet.get(header..)?, Some(*packet.get(8)?))
    } else {
        (packet, None)
    };
    let reply_type = if v6 { 129 } else { 0 };
    if icmp.len() < 8 || icmp[0] != reply_type || icmp[1] != 0 {
        return None;
    }
    // A ping socket's identifier is chosen by the kernel, which routes replies by it.
    let id_ok = !raw || u16::from_be_bytes([icmp[4], icmp[5]]) == id;
    let seq_ok = u16::from_be_bytes([icmp[6], icmp[7]]) == seq;
    (id_ok && seq_ok && &icmp[8..] == PAYLOAD).then_some(ttl)
}

/// Probes one target; `Ok` is success.
pub async fn probe(target: &str, module: &Module, out: &mut Samples) -> Result<(), ProbesError> {
    for phase in ["resolve", "setup", "rtt"] {
        out.add_phase(names::ICMP_DURATION, phase, 0.0);
    }
    let host = icmp_host(target)?;
    let start = Instant::now();
    let ip = resolve(&host, module, out).await?;
    out.add_phase(
        names::ICMP_DURATION,
        "resolve",
        start.elapsed().as_secs_f64(),
    );

    let setup = Instant::now();
    let v6 = ip.is_ipv6();
    let (socket, raw) = open(ip)?;
    let io = |e: std::io::Error| ProbesError::Icmp {
        ip: ip.to_string(),
        message: e.to_string(),
    };
    socket.set_nonblocking(true).map_err(io)?;
    // Connecting makes the kernel deliver only packets from the target.
    socket
        .connect(&SockAddr::from(SocketAddr::new(ip, 0)))
        .map_err(io)?;
    // A datagram socket to tokio: `send` and `recv` are the same system calls for ICMP.
    let socket = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(io)?;
    let id = (std::process::id() & 0xffff) as u16;
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let request = echo_request(v6, id, seq);
    out.add_phase(names::ICMP_DURATION, "setup", setup.elapsed().as_secs_f64());

    let rtt = Instant::now();
    socket.send(&request).await.map_err(io)?;
    let mut buf = vec![0u8; 1500];
    loop {
        let n = socket.recv(&mut buf).await.map_err(io)?;
        if let Some(ttl) = match_reply(&buf[..n], v6, raw, id, seq) {
            out.add_phase(names::ICMP_DURATION, "rtt", rtt.elapsed().as_secs_f64());
            if let Some(ttl) = ttl {
                out.set(names::ICMP_HOP_LIMIT, f64::from(ttl));
            }
            return Ok(());
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn checksum_of_a_request_verifies_to_zero() {
        let packet = echo_request(false, 0x1234, 7);
        assert_eq!(checksum(&packet), 0);
    }

    #[test]
    fn replies_are_matched_by_type_id_sequence_and_payload() {
        let mut reply = echo_request(false, 9, 5);
        reply[0] = 0;
        assert_eq!(match_reply(&reply, false, false, 1, 5), Some(None));
        assert_eq!(
            match_reply(&reply, false, true, 1, 5),
            None,
            "raw: the id must match"
        );
        assert_eq!(match_reply(&reply, false, false, 9, 6), None);
        let request = echo_request(false, 9, 5);
        assert_eq!(
            match_reply(&request, false, true, 9, 5),
            None,
            "our own request is no reply"
        );
        let mut with_ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 63, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        with_ip.extend_from_slice(&reply);
        assert_eq!(match_reply(&with_ip, false, true, 9, 5), Some(Some(63)));
    }
}
