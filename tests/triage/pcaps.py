"""Build frames with dpkt and write them as classic pcap (both byte orders, micro/nanosecond) or pcapng."""

from __future__ import annotations

import io
import socket
import struct
from pathlib import Path

import dpkt

Frame = tuple[float, bytes]  # (timestamp, frame bytes)
MAC_A, MAC_B = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"


def _inet(address: str) -> bytes:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return socket.inet_pton(family, address)


def tcp(src: str, dst: str, sport: int, dport: int, *, flags: int = dpkt.tcp.TH_ACK, seq: int = 1000,
        payload: bytes = b"", window: int = 65535) -> dpkt.Packet:
    """An IPv4 or IPv6 packet carrying one TCP segment."""
    segment = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq, ack=1, flags=flags, win=window, data=payload)
    return ip_packet(src, dst, dpkt.ip.IP_PROTO_TCP, segment)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x" * 20) -> dpkt.Packet:
    """An IPv4 or IPv6 packet carrying one UDP datagram."""
    datagram = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    datagram.ulen = len(datagram)
    return ip_packet(src, dst, dpkt.ip.IP_PROTO_UDP, datagram)


def icmp_echo(src: str, dst: str) -> dpkt.Packet:
    """An ICMP (or ICMPv6) echo request."""
    if ":" in src:
        echo6 = dpkt.icmp6.ICMP6(type=128, data=b"\x00\x01\x00\x01ping")
        return ip_packet(src, dst, dpkt.ip.IP_PROTO_ICMP6, echo6)
    echo = dpkt.icmp.ICMP(type=8, data=dpkt.icmp.ICMP.Echo(id=1, seq=1, data=b"ping"))
    return ip_packet(src, dst, dpkt.ip.IP_PROTO_ICMP, echo)


def ip_packet(src: str, dst: str, proto: int, payload: dpkt.Packet) -> dpkt.Packet:
    if ":" in src:
        packet = dpkt.ip6.IP6(src=_inet(src), dst=_inet(dst), nxt=proto, hlim=64, data=payload)
        packet.plen = len(bytes(payload))
        return packet
    return dpkt.ip.IP(src=_inet(src), dst=_inet(dst), p=proto, ttl=64, data=payload)


def ethernet(packet: dpkt.Packet, vlan: int | None = None) -> bytes:
    """An Ethernet frame, 802.1Q-tagged when ``vlan`` is given."""
    kind = dpkt.ethernet.ETH_TYPE_IP6 if isinstance(packet, dpkt.ip6.IP6) else dpkt.ethernet.ETH_TYPE_IP
    if vlan is None:
        return bytes(dpkt.ethernet.Ethernet(src=MAC_A, dst=MAC_B, type=kind, data=packet))
    return MAC_B + MAC_A + struct.pack("!HHH", 0x8100, vlan, kind) + bytes(packet)


def arp() -> bytes:
    """An Ethernet ARP request (not IP)."""
    body = dpkt.arp.ARP(sha=MAC_A, spa=_inet("10.0.0.1"), tha=b"\x00" * 6, tpa=_inet("10.0.0.2"))
    kind = dpkt.ethernet.ETH_TYPE_ARP
    return bytes(dpkt.ethernet.Ethernet(src=MAC_A, dst=b"\xff" * 6, type=kind, data=body))


def sll(packet: dpkt.Packet) -> bytes:
    """A Linux cooked capture v1 frame."""
    kind = 0x86DD if isinstance(packet, dpkt.ip6.IP6) else 0x0800
    return struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\x00\x00", kind) + bytes(packet)


def sll2(packet: dpkt.Packet) -> bytes:
    """A Linux cooked capture v2 frame."""
    kind = 0x86DD if isinstance(packet, dpkt.ip6.IP6) else 0x0800
    return struct.pack("!HHIHBB8s", kind, 0, 2, 1, 0, 6, MAC_A + b"\x00\x00") + bytes(packet)


def write_pcap(path: Path, frames: list[Frame], *, linktype: int = dpkt.pcap.DLT_EN10MB, nano: bool = False,
               big_endian: bool = False) -> Path:
    """A classic pcap file."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    scale = 1_000_000_000 if nano else 1_000_000
    out = io.BytesIO()
    out.write(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype))
    for ts, frame in frames:
        sec = int(ts)
        out.write(struct.pack(order + "IIII", sec, round((ts - sec) * scale), len(frame), len(frame)) + frame)
    path.write_bytes(out.getvalue())
    return path


def unknown_block(body: bytes = b"mystery!") -> bytes:
    """A pcapng block of a type no reader knows (little-endian)."""
    padded = body + b"\x00" * (-len(body) % 4)
    return struct.pack("<II", 0x0000_0F0F, 12 + len(padded)) + padded + struct.pack("<I", 12 + len(padded))


def write_pcapng(path: Path, frames: list[Frame], *, linktype: int = dpkt.pcap.DLT_EN10MB,
                 unknown_every: int = 0) -> Path:
    """A pcapng file written by dpkt; with ``unknown_every``, an unknown block after every so many packets."""
    out = io.BytesIO()
    writer = dpkt.pcapng.Writer(out, snaplen=65535, linktype=linktype)
    for index, (ts, frame) in enumerate(frames):
        writer.writepkt(frame, ts=ts)
        if unknown_every and index % unknown_every == 0:
            out.write(unknown_block())  # between two blocks of the writer's
    path.write_bytes(out.getvalue())
    return path
