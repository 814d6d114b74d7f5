"""Decode link, network and transport headers of a whole :class:`Batch` at once with numpy.

Every field is gathered for all frames in one vectorised step (``data[offsets + k]``), guarded by the frame's
captured length, so a short or damaged frame yields "not IP" or "no ports" rather than an error. Addresses
are two unsigned 64-bit halves; IPv4 addresses are IPv4-mapped (``::ffff:a.b.c.d``) so that both families
share one key space.

Link types (https://www.tcpdump.org/linktypes.html): Ethernet with 802.1Q/802.1ad tags (1), Linux cooked
capture v1 (113) and v2 (276), raw IP (101, and 12/14 on some systems), IPv4 (228), IPv6 (229).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

from core.capfile.records import Batch

ETHERNET, SLL, SLL2, RAW, RAW_BSD, RAW_OPENBSD, IPV4_LINK, IPV6_LINK = 1, 113, 276, 101, 12, 14, 228, 229
ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
IPV6_EXTENSIONS = (0, 43, 60)  # hop-by-hop, routing, destination options: (length + 1) * 8 bytes
IPV6_FRAGMENT = 44
V4_MAPPED = np.uint64(0xFFFF00000000)


@dataclass
class Packets:
    """Per-frame header fields of one batch (arrays of equal length)."""

    ethertype: np.ndarray  # int64, -1 when the link layer is unknown or cut short
    ip: np.ndarray  # int64: 4, 6 or 0
    proto: np.ndarray  # int64: IP protocol / IPv6 upper-layer header, -1 when not IP
    src_hi: np.ndarray  # uint64
    src_lo: np.ndarray
    dst_hi: np.ndarray
    dst_lo: np.ndarray
    sport: np.ndarray  # int64, -1 without a TCP/UDP header
    dport: np.ndarray
    flags: np.ndarray  # int64 TCP flags (0 when not TCP)
    window: np.ndarray  # int64 TCP window (-1 when not TCP)
    seq: np.ndarray  # int64 TCP sequence number
    payload: np.ndarray  # int64 TCP payload bytes (from the IP lengths, not the captured bytes)


class _Frames:
    """Bounded byte gathers over the frames of a batch."""

    def __init__(self, batch: Batch) -> None:
        self.data = batch.data
        self.end = batch.offsets + batch.caplens

    def u8(self, idx: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return np.where(ok, self.data[np.where(ok, idx, 0)], 0).astype(np.int64)

    def u16(self, idx: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return (self.u8(idx, ok) << 8) | self.u8(idx + 1, ok)

    def u32(self, idx: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return (self.u16(idx, ok) << 16) | self.u16(idx + 2, ok)

    def has(self, idx: np.ndarray, size: int) -> np.ndarray:
        return idx + size <= self.end

    def block(self, idx: np.ndarray, size: int) -> np.ndarray:
        """``size`` bytes at each ``idx`` (callers pass only rows where they are present)."""
        return np.ascontiguousarray(self.data[idx[:, None] + np.arange(size)])


def _link(frames: _Frames, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Ethertype and network-header offset of each frame."""
    off, link = batch.offsets, batch.linktypes
    ethertype = np.full(len(off), -1, dtype=np.int64)
    l3 = off.copy()
    eth = (link == ETHERNET) & frames.has(off, 14)
    ethertype = np.where(eth, frames.u16(off + 12, eth), ethertype)
    l3 = np.where(eth, off + 14, l3)
    for _ in range(2):  # 802.1Q, 802.1ad and QinQ tags
        tagged = eth & np.isin(ethertype, VLAN_TAGS) & frames.has(l3, 4)
        ethertype = np.where(tagged, frames.u16(l3 + 2, tagged), ethertype)
        l3 = np.where(tagged, l3 + 4, l3)
    sll = (link == SLL) & frames.has(off, 16)
    ethertype = np.where(sll, frames.u16(off + 14, sll), ethertype)
    l3 = np.where(sll, off + 16, l3)
    sll2 = (link == SLL2) & frames.has(off, 20)
    ethertype = np.where(sll2, frames.u16(off, sll2), ethertype)
    l3 = np.where(sll2, off + 20, l3)
    raw = np.isin(link, (RAW, RAW_BSD, RAW_OPENBSD)) & frames.has(off, 1)
    version = frames.u8(off, raw) >> 4
    ethertype = np.where(raw & (version == 4), ETH_IPV4, ethertype)
    ethertype = np.where(raw & (version == 6), ETH_IPV6, ethertype)
    ethertype = np.where(link == IPV4_LINK, ETH_IPV4, ethertype)
    ethertype = np.where(link == IPV6_LINK, ETH_IPV6, ethertype)
    return ethertype, l3


def _addresses(frames: _Frames, l3: np.ndarray, v4: np.ndarray, v6: np.ndarray) -> list[np.ndarray]:
    """src_hi, src_lo, dst_hi, dst_lo (zeros where not IP)."""
    n = len(l3)
    halves = [np.zeros(n, dtype=np.uint64) for _ in range(4)]
    if v4.any():
        rows = np.flatnonzero(v4)
        quads = frames.block(l3[rows] + 12, 8).view(">u4").astype(np.uint64)
        halves[1][rows] = V4_MAPPED | quads[:, 0]
        halves[3][rows] = V4_MAPPED | quads[:, 1]
    if v6.any():
        rows = np.flatnonzero(v6)
        words = frames.block(l3[rows] + 8, 32).view(">u8").astype(np.uint64)
        for column in range(4):
            halves[column][rows] = words[:, column]
    return halves


def _network(frames: _Frames, ethertype: np.ndarray, l3: np.ndarray) -> tuple[np.ndarray, ...]:
    """IP version, protocol, transport offset, IP end (from the IP lengths) and "has a transport header"."""
    first = frames.u8(l3, frames.has(l3, 1)) >> 4
    v4 = (ethertype == ETH_IPV4) & frames.has(l3, 20) & (first == 4)
    v6 = (ethertype == ETH_IPV6) & frames.has(l3, 40) & (first == 6)
    ihl = (frames.u8(l3, v4) & 0x0F) * 4
    v4 &= ihl >= 20  # a bogus header length: not dissected as IP (tshark neither)
    proto = np.where(v4, frames.u8(l3 + 9, v4), -1)
    whole = v4 & ((frames.u16(l3 + 6, v4) & 0x1FFF) == 0)  # not a later fragment: the L4 header is here
    l4 = np.where(v4, l3 + ihl, l3 + 40)
    ip_end = np.where(v4, l3 + frames.u16(l3 + 2, v4), l3 + 40 + frames.u16(l3 + 4, v6))
    proto = np.where(v6, frames.u8(l3 + 6, v6), proto)
    whole |= v6
    for _ in range(4):
        ext = v6 & np.isin(proto, IPV6_EXTENSIONS) & frames.has(l4, 2)
        frag = v6 & (proto == IPV6_FRAGMENT) & frames.has(l4, 8)
        if not (ext.any() or frag.any()):
            break
        size = np.where(frag, 8, (frames.u8(l4 + 1, ext) + 1) * 8)
        whole &= ~frag | ((frames.u16(l4 + 2, frag) >> 3) == 0)
        proto = np.where(ext | frag, frames.u8(l4, ext | frag), proto)
        l4 = np.where(ext | frag, l4 + size, l4)
    ip = np.where(v4, 4, np.where(v6, 6, 0))
    return ip, proto, l4, ip_end, whole, v4, v6


def decode(batch: Batch) -> Packets:
    """Header fields of every frame in ``batch``."""
    frames = _Frames(batch)
    ethertype, l3 = _link(frames, batch)
    ip, proto, l4, ip_end, whole, v4, v6 = _network(frames, ethertype, l3)
    ported = whole & ((proto == TCP) | (proto == UDP)) & frames.has(l4, 4)
    sport = np.where(ported, frames.u16(l4, ported), -1)
    dport = np.where(ported, frames.u16(l4 + 2, ported), -1)
    tcp = ported & (proto == TCP) & frames.has(l4, 16)
    header = (frames.u8(l4 + 12, tcp) >> 4) * 4
    tcp &= header >= 20  # a bogus data offset: tshark does not dissect (or count) the segment either
    unusable = ported & (proto == TCP) & ~tcp  # cut short or bogus: no usable ports
    sport = np.where(unusable, -1, sport)
    dport = np.where(unusable, -1, dport)
    flags = frames.u8(l4 + 13, tcp)
    window = np.where(tcp, frames.u16(l4 + 14, tcp), -1)
    seq = frames.u32(l4 + 4, tcp)
    payload = np.where(tcp, np.maximum(ip_end - l4 - header, 0), 0)
    src_hi, src_lo, dst_hi, dst_lo = _addresses(frames, l3, v4, v6)
    return Packets(ethertype, ip, proto, src_hi, src_lo, dst_hi, dst_lo, sport, dport, flags, window, seq,
                   payload)


def address_text(hi: int, lo: int) -> str:
    """An address key (two 64-bit halves, IPv4 mapped) as text."""
    if hi == 0 and lo >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(lo & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address((hi << 64) | lo))
