//! Client addresses: CIDR blocks ([`Cidr`]), the trusted proxies ([`TrustedProxies`]) and
//! the rule that picks the client's address from the TCP peer and `X-Forwarded-For`.
//!
//! The peer is the client unless the peer is a trusted proxy. Then `X-Forwarded-For` is
//! read from the right (the entry the nearest proxy appended) to the left, skipping trusted
//! proxies; the first untrusted address is the client. Entries a client wrote itself sit to
//! the left of that and are never reached, so a client cannot choose its address. A
//! direct, untrusted client's `X-Forwarded-For` is ignored.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error(
        "{0:?} is not an IP address or CIDR block: write it like 10.0.0.0/8, 192.0.2.7 or \
         2001:db8::/32"
    )]
    InvalidCidr(String),
}

/// An address block: an address and a prefix length (a single address when written
/// without `/n`). IPv4-mapped IPv6 addresses match the IPv4 blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl From<IpAddr> for Cidr {
    /// The block of exactly this address.
    fn from(addr: IpAddr) -> Self {
        let addr = addr.to_canonical();
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Cidr { addr, prefix }
    }
}

impl FromStr for Cidr {
    type Err = NetError;
    fn from_str(text: &str) -> Result<Self, NetError> {
        let bad = || NetError::InvalidCidr(text.to_owned());
        let trimmed = text.trim();
        let (addr, prefix) = match trimmed.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (trimmed, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses a list of CIDR blocks, naming the first bad one.
pub fn parse_cidrs<S: AsRef<str>>(items: &[S]) -> Result<Vec<Cidr>, NetError> {
    items.iter().map(|s| s.as_ref().parse()).collect()
}

/// Whether any block of `list` contains `ip`.
pub fn any_contains(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|c| c.contains(ip))
}

/// The proxies whose `X-Forwarded-For` is believed (`--trusted-proxy`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn new(blocks: Vec<Cidr>) -> Self {
        TrustedProxies(blocks)
    }

    pub fn blocks(&self) -> &[Cidr] {
        &self.0
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        any_contains(&self.0, ip)
    }

    /// The client's address for a request from `peer` carrying the given
    /// `X-Forwarded-For` header values (in the order they arrived).
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a [u8]>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if self.0.is_empty() || !self.is_trusted(peer) {
            return peer;
        }
        // Later header lines were appended by nearer proxies: walk them last to first.
        let lines: Vec<&[u8]> = forwarded_for.into_iter().collect();
        let mut nearest = peer;
        for line in lines.iter().rev() {
            let Ok(line) = std::str::from_utf8(line) else {
                return nearest;
            };
            for entry in line.rsplit(',') {
                let Some(ip) = parse_forwarded(entry) else {
                    // A hop wrote something that is not an address: stop at the last
                    // address a trusted hop vouched for.
                    return nearest;
                };
                if !self.is_trusted(ip) {
                    return ip;
                }
                nearest = ip;
            }
        }
        nearest
    }
}

/// One `X-Forwarded-For` entry: an address, optionally `[v6]:port` or `v4:port`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    let (v4, port) = entry.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_match() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.200.1.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped matches");
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")) && !all.contains(ip("::1")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:1::5")) && !v6.contains(ip("2001:db9::1")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "10.0.0/8",
            "x",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "::/129",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        let err = parse_cidrs(&["10.0.0.0/8", "nope"]).unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
    }

    #[test]
    fn client_address_follows_trusted_proxies_only() {
        let none = TrustedProxies::default();
        let xff: [&[u8]; 1] = [b"10.1.1.1"];
        assert_eq!(none.client(ip("127.0.0.1"), xff), ip("127.0.0.1"));

        let proxies = TrustedProxies::new(parse_cidrs(&["127.0.0.2/32", "172.16.0.0/12"]).unwrap());
        // An untrusted peer's header is ignored.
        assert_eq!(proxies.client(ip("127.0.0.1"), xff), ip("127.0.0.1"));
        // The right-most untrusted entry wins; spoofed entries to its left are not reached.
        let xff: [&[u8]; 2] = [b"6.6.6.6, 203.0.113.9", b"172.16.0.5"];
        assert_eq!(proxies.client(ip("127.0.0.2"), xff), ip("203.0.113.9"));
        // Only trusted hops: the left-most of them.
        let xff: [&[u8]; 1] = [b"172.16.0.9,172.16.0.5"];
        assert_eq!(proxies.client(ip("127.0.0.2"), xff), ip("172.16.0.9"));
        // No header: the proxy itself.
        assert_eq!(proxies.client(ip("127.0.0.2"), []), ip("127.0.0.2"));
        // Garbage stops at the last vouched-for hop; ports and brackets are understood.
        let xff: [&[u8]; 1] = [b"junk, 172.16.0.5"];
        assert_eq!(proxies.client(ip("127.0.0.2"), xff), ip("172.16.0.5"));
        let xff: [&[u8]; 1] = [b"[2001:db8::1]:443"];
        assert_eq!(proxies.client(ip("127.0.0.2"), xff), ip("2001:db8::1"));
        let xff: [&[u8]; 1] = [b"198.51.100.1:5000"];
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.2"), xff),
            ip("198.51.100.1")
        );
    }
}
