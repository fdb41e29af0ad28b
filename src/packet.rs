//! The packet layer: an IPv4/IPv6 datagram as NFQUEUE hands it over (no
//! link-layer header), reduced to the few facts the policy needs.
//!
//! Parsing is done by etherparse's zero-copy slices; a malformed or
//! truncated packet is an `Err`, which the caller turns into a verdict
//! (never a panic).

use std::net::IpAddr;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};

/// Which way the packet travels relative to the protected PBX. The daemon
/// knows it from the queue the packet arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From a remote source towards the PBX: a request to judge.
    ToPbx,
    /// From the PBX towards a remote source: an answer to learn from.
    FromPbx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// What the policy needs to know about one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub transport: Transport,
    pub direction: Direction,
    /// UDP payload, or the TCP segment's payload (the first request of a
    /// TCP connection is expected in the first data segment).
    pub payload: &'a [u8],
    /// The kernel already let this flow bypass userspace (its conntrack
    /// mark carries `MARK_INSPECTED`, copied into the packet mark by the
    /// answer rules). Only meaningful for answers: requests of such a flow
    /// never reach us, so a failed-auth answer on it has nothing to be
    /// correlated with. `parse` cannot see the mark; the daemon sets it.
    pub flow_inspected: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketError {
    /// Not a well-formed IPv4/IPv6 packet.
    Malformed,
    /// IP, but neither UDP nor TCP (or a fragment without ports).
    NotUdpOrTcp,
}

impl std::fmt::Display for PacketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PacketError::Malformed => f.write_str("malformed IP packet"),
            PacketError::NotUdpOrTcp => f.write_str("IP packet without UDP or TCP header"),
        }
    }
}

impl std::error::Error for PacketError {}

impl<'a> Packet<'a> {
    /// Reads an IP packet (starting at the IP header).
    pub fn parse(bytes: &'a [u8], direction: Direction) -> Result<Packet<'a>, PacketError> {
        let sliced = SlicedPacket::from_ip(bytes).map_err(|_| PacketError::Malformed)?;
        let (src, dst) = match &sliced.net {
            Some(NetSlice::Ipv4(v4)) => (
                IpAddr::V4(v4.header().source_addr()),
                IpAddr::V4(v4.header().destination_addr()),
            ),
            Some(NetSlice::Ipv6(v6)) => (
                IpAddr::V6(v6.header().source_addr()),
                IpAddr::V6(v6.header().destination_addr()),
            ),
            _ => return Err(PacketError::Malformed),
        };
        let (src_port, dst_port, transport, payload) = match &sliced.transport {
            Some(TransportSlice::Udp(u)) => (
                u.source_port(),
                u.destination_port(),
                Transport::Udp,
                u.payload(),
            ),
            Some(TransportSlice::Tcp(t)) => (
                t.source_port(),
                t.destination_port(),
                Transport::Tcp,
                t.payload(),
            ),
            _ => return Err(PacketError::NotUdpOrTcp),
        };
        Ok(Packet {
            src,
            dst,
            src_port,
            dst_port,
            transport,
            direction,
            payload,
            flow_inspected: false,
        })
    }
}
