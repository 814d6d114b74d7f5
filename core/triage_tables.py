"""Bounded tables that accumulate a capture's statistics batch by batch, all in numpy.

Conversations, endpoints and SYN targets live in :class:`core.counttable.CountTable` (no per-key Python
work). Each is capped: past its cap the entries with the fewest bytes (or SYNs) are evicted down to half the
cap (their packets stay in the totals) and the summary says that small entries may be missing. Heavy hitters,
which are what the top-N lists show, survive eviction; their counts are exact unless they were themselves
evicted once, which takes more than ``cap / 2`` bigger entries. Retransmission detection keeps the highest
sequence end per flow direction, forgotten wholesale past ``FLOW_STATE_CAP`` directions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.capfile.decode import ETH_ARP, ICMP, ICMPV6, TCP, UDP, Packets
from core.counttable import CountTable, hash_columns

CONVERSATION_CAP = 40_000
ENDPOINT_CAP = 40_000
SERVICE_CAP = 20_000
FLOW_STATE_CAP = 100_000
SECONDS_CAP = 4096
SYN, RST, ACK = 0x02, 0x04, 0x10
_MIX = {TCP: "TCP", UDP: "UDP", ICMP: "ICMP", ICMPV6: "ICMPv6"}


def _groups(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort order and group start positions for the rows of ``keys`` (first key most significant)."""
    order = np.lexsort(keys[::-1])
    if len(order) == 0:
        return order, np.zeros(0, dtype=np.int64)
    change = np.zeros(len(order), dtype=bool)
    change[0] = True
    for key in keys:
        ordered = key[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    return order, np.flatnonzero(change)


def _sums(values: np.ndarray, order: np.ndarray, starts: np.ndarray) -> list[int]:
    return np.add.reduceat(values[order], starts).tolist() if len(starts) else []


CONVERSATION_FIELDS = ("proto", "a_hi", "a_lo", "a_port", "b_hi", "b_lo", "b_port")
# conversation counters: packets a->b, bytes a->b, packets b->a, bytes b->a, SYNs to b, SYNs to a, bytes,
# and whether the first packet went a->b (kept from the first packet, not summed)
(CONV_PACKETS_AB, CONV_BYTES_AB, CONV_PACKETS_BA, CONV_BYTES_BA, CONV_SYN_TO_B, CONV_SYN_TO_A,
 CONV_BYTES, CONV_FIRST_TO_B) = range(8)
# endpoint counters: tx packets, tx bytes, rx packets, rx bytes, bytes, packets
EP_TX_PACKETS, EP_TX_BYTES, EP_RX_PACKETS, EP_RX_BYTES, EP_BYTES, EP_PACKETS = range(6)


def _column_stack(*columns: np.ndarray) -> np.ndarray:
    return np.column_stack([c.astype(np.int64) for c in columns])


@dataclass
class Tables:
    """Everything the summary needs, kept bounded."""

    packets: int = 0
    bytes: int = 0
    first_time: float = math.inf
    last_time: float = -math.inf
    seconds: dict[int, list[int]] = field(default_factory=dict)
    peak_pps: int = 0
    peak_bps: int = 0
    conversations: CountTable = field(
        default_factory=lambda: CountTable(CONVERSATION_FIELDS, 8, CONVERSATION_CAP, CONV_BYTES,
                                           first_columns=(CONV_FIRST_TO_B,)))
    endpoints: CountTable = field(default_factory=lambda: CountTable(("hi", "lo"), 6, ENDPOINT_CAP, EP_BYTES))
    services: CountTable = field(  # counters: SYNs to the service, SYN-ACKs from it
        default_factory=lambda: CountTable(("hi", "lo", "port"), 2, SERVICE_CAP, 0))
    syn_sources: CountTable = field(  # one row per (service, source) pair that sent SYNs
        default_factory=lambda: CountTable(("service",), 1, SERVICE_CAP * 4, 0))
    protocols: dict[str, list[int]] = field(default_factory=dict)
    flow_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    flow_ends: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tcp_segments: int = 0
    syns: int = 0
    syn_acks: int = 0
    resets: int = 0
    retransmissions: int = 0
    zero_windows: int = 0
    dropped_flow_state: bool = False

    @property
    def evicted(self) -> set[str]:
        """Names of the tables that dropped entries at their cap."""
        names = {"conversations": self.conversations.evicted, "endpoints": self.endpoints.evicted,
                 "SYN services": self.services.evicted, "retransmission state": self.dropped_flow_state}
        return {name for name, dropped in names.items() if dropped}

    # --- per batch -------------------------------------------------------------------------------------

    def add(self, pk: Packets, wirelens: np.ndarray, times: np.ndarray) -> None:
        """Account one decoded batch."""
        self.packets += len(wirelens)
        self.bytes += int(wirelens.sum())
        self._times(wirelens, times)
        self._protocols(pk, wirelens)
        ip = pk.ip > 0
        if ip.any():
            self._endpoints(pk, wirelens, ip)
        ported = pk.sport >= 0
        if ported.any():
            self._conversations(pk, wirelens, ported)
        tcp = ported & (pk.proto == TCP)
        if tcp.any():
            self._tcp(pk, tcp)

    def _times(self, wirelens: np.ndarray, times: np.ndarray) -> None:
        known = ~np.isnan(times)
        if not known.any():
            return
        stamps = times[known]
        self.first_time = min(self.first_time, float(stamps.min()))
        self.last_time = max(self.last_time, float(stamps.max()))
        seconds = np.floor(stamps).astype(np.int64)
        order, starts = _groups(seconds)
        keys = seconds[order][starts].tolist()
        for key, count, size in zip(keys, np.diff(np.append(starts, len(order))).tolist(),
                                    _sums(wirelens[known], order, starts), strict=True):
            slot = self.seconds.setdefault(key, [0, 0])
            slot[0] += count
            slot[1] += size
        if len(self.seconds) > SECONDS_CAP:  # captures are in time order: settle the oldest seconds
            for key in sorted(self.seconds)[: len(self.seconds) - SECONDS_CAP // 2]:
                self._settle(self.seconds.pop(key))

    def _settle(self, slot: list[int]) -> None:
        self.peak_pps = max(self.peak_pps, slot[0])
        self.peak_bps = max(self.peak_bps, slot[1] * 8)

    def _protocols(self, pk: Packets, wirelens: np.ndarray) -> None:
        code = np.where(pk.ip == 4, 1000, np.where(pk.ip == 6, 2000, 0)) + np.where(pk.ip > 0, pk.proto, 0)
        code = np.where((pk.ip == 0) & (pk.ethertype == ETH_ARP), -1, code)
        order, starts = _groups(code)
        for value, count, size in zip(code[order][starts].tolist(),
                                      np.diff(np.append(starts, len(order))).tolist(),
                                      _sums(wirelens, order, starts), strict=True):
            label = _protocol_label(value)
            slot = self.protocols.setdefault(label, [0, 0])
            slot[0] += count
            slot[1] += size

    def _endpoints(self, pk: Packets, wirelens: np.ndarray, ip: np.ndarray) -> None:
        hi = np.concatenate([pk.src_hi[ip], pk.dst_hi[ip]])
        lo = np.concatenate([pk.src_lo[ip], pk.dst_lo[ip]])
        size = wirelens[ip]
        zero, one = np.zeros(len(size), dtype=np.int64), np.ones(len(size), dtype=np.int64)
        tx = np.concatenate([one, zero])
        sizes = np.concatenate([size, size])
        counters = _column_stack(tx, sizes * tx, 1 - tx, sizes * (1 - tx), sizes, np.ones(len(tx)))
        self.endpoints.add(hash_columns(hi, lo), {"hi": hi, "lo": lo}, counters)

    def _conversations(self, pk: Packets, wirelens: np.ndarray, ported: np.ndarray) -> None:
        proto, size = pk.proto[ported], wirelens[ported]
        sh, sl, sp = pk.src_hi[ported], pk.src_lo[ported], pk.sport[ported]
        dh, dl, dp = pk.dst_hi[ported], pk.dst_lo[ported], pk.dport[ported]
        src_first = (sh < dh) | ((sh == dh) & ((sl < dl) | ((sl == dl) & (sp <= dp))))
        ah, al, ap = np.where(src_first, sh, dh), np.where(src_first, sl, dl), np.where(src_first, sp, dp)
        bh, bl, bp = np.where(src_first, dh, sh), np.where(src_first, dl, sl), np.where(src_first, dp, sp)
        syn = (proto == TCP) & ((pk.flags[ported] & (SYN | ACK)) == SYN)
        ab = src_first.astype(np.int64)
        ba = 1 - ab
        counters = _column_stack(ab, size * ab, ba, size * ba, syn & (ab == 1), syn & (ab == 0), size, ab)
        columns = (proto, ah, al, ap, bh, bl, bp)
        fields: dict[str, np.ndarray] = dict(zip(CONVERSATION_FIELDS, columns, strict=True))
        self.conversations.add(hash_columns(proto, ah, al, ap, bh, bl, bp), fields, counters)

    def _tcp(self, pk: Packets, tcp: np.ndarray) -> None:
        flags, window = pk.flags[tcp], pk.window[tcp]
        syn = (flags & (SYN | ACK)) == SYN
        syn_ack = (flags & (SYN | ACK)) == (SYN | ACK)
        rst = (flags & RST) != 0
        self.tcp_segments += int(tcp.sum())
        self.syns += int(syn.sum())
        self.syn_acks += int(syn_ack.sum())
        self.resets += int(rst.sum())
        self.zero_windows += int(((window == 0) & ((flags & (SYN | RST | 0x01)) == 0)).sum())
        self._services(pk, tcp, syn, syn_ack)
        self._retransmissions(pk, tcp, flags)

    def _services(self, pk: Packets, tcp: np.ndarray, syn: np.ndarray, syn_ack: np.ndarray) -> None:
        """SYNs per service (where the SYN went), SYN-ACKs from it, and which sources sent the SYNs."""
        either = syn | syn_ack
        if not either.any():
            return
        rows = np.flatnonzero(tcp)[either]
        is_syn = syn[either]
        hi = np.where(is_syn, pk.dst_hi[rows], pk.src_hi[rows])
        lo = np.where(is_syn, pk.dst_lo[rows], pk.src_lo[rows])
        port = np.where(is_syn, pk.dport[rows], pk.sport[rows])
        service = hash_columns(hi, lo, port)
        self.services.add(service, {"hi": hi, "lo": lo, "port": port}, _column_stack(is_syn, ~is_syn))
        if is_syn.any():
            rows, service = rows[is_syn], service[is_syn]
            pair = hash_columns(service, pk.src_hi[rows], pk.src_lo[rows])
            self.syn_sources.add(pair, {"service": service}, np.ones((len(rows), 1), dtype=np.int64))

    def _retransmissions(self, pk: Packets, tcp: np.ndarray, flags: np.ndarray) -> None:
        """Segments whose data ends at or before the highest sequence end already seen in their direction."""
        data = (pk.payload[tcp] > 0) & ((flags & SYN) == 0)
        if not data.any():
            return
        rows = np.flatnonzero(tcp)[data]
        direction = hash_columns(pk.src_hi[rows], pk.src_lo[rows], pk.sport[rows], pk.dst_hi[rows],
                                 pk.dst_lo[rows], pk.dport[rows])
        ends = pk.seq[rows] + pk.payload[rows]
        order = np.argsort(direction, kind="stable")
        direction, ends = direction[order], ends[order]
        first = np.ones(len(direction), dtype=bool)
        first[1:] = direction[1:] != direction[:-1]
        group = np.cumsum(first) - 1
        keys = direction[first]
        carried = self._flow_state(keys)
        shift = group * (1 << 34)
        running = np.maximum.accumulate(ends + 1 + shift) - shift - 1  # highest end so far within the group
        before = np.empty_like(running)
        before[0] = -1
        before[1:] = running[:-1]
        before[first] = -1
        before = np.maximum(before, carried[group])
        self.retransmissions += int((ends <= before).sum())
        last = np.append(np.flatnonzero(first)[1:] - 1, len(direction) - 1)
        self._store_flow_state(keys, np.maximum(running[last], carried))

    def _flow_state(self, keys: np.ndarray) -> np.ndarray:
        place = np.searchsorted(self.flow_keys, keys)
        found = place < len(self.flow_keys)
        found[found] = self.flow_keys[place[found]] == keys[found]
        carried = np.full(len(keys), -1, dtype=np.int64)
        carried[found] = self.flow_ends[place[found]]
        return carried

    def _store_flow_state(self, keys: np.ndarray, ends: np.ndarray) -> None:
        merged_keys = np.concatenate([keys, self.flow_keys])
        merged_ends = np.concatenate([ends, self.flow_ends])
        unique, first = np.unique(merged_keys, return_index=True)  # the batch's value wins (it is newer)
        self.flow_keys, self.flow_ends = unique, merged_ends[first]
        if len(self.flow_keys) > FLOW_STATE_CAP:  # forget; a later retransmission of an old flow goes unseen
            self.flow_keys, self.flow_ends = keys, ends
            self.dropped_flow_state = True

    # --- merging and results ---------------------------------------------------------------------------

    def merge(self, other: Tables) -> None:
        """Add ``other`` (another file of the same run) into these tables."""
        self.packets += other.packets
        self.bytes += other.bytes
        self.first_time = min(self.first_time, other.first_time)
        self.last_time = max(self.last_time, other.last_time)
        for key, slot in other.seconds.items():
            mine = self.seconds.setdefault(key, [0, 0])
            mine[0] += slot[0]
            mine[1] += slot[1]
        self.peak_pps = max(self.peak_pps, other.peak_pps)
        self.peak_bps = max(self.peak_bps, other.peak_bps)
        for key, slot in other.protocols.items():
            mine = self.protocols.setdefault(key, [0, 0])
            mine[0] += slot[0]
            mine[1] += slot[1]
        for table in ("conversations", "endpoints", "services", "syn_sources"):
            getattr(self, table).merge(getattr(other, table))
        for name in ("tcp_segments", "syns", "syn_acks", "resets", "retransmissions", "zero_windows"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dropped_flow_state |= other.dropped_flow_state

    def peaks(self) -> tuple[int, int]:
        """Peak packets and bits per second over the capture."""
        pps, bps = self.peak_pps, self.peak_bps
        for count, size in self.seconds.values():
            pps, bps = max(pps, count), max(bps, size * 8)
        return pps, bps

    def unanswered_syns(self) -> int:
        """SYNs beyond the SYN-ACKs their service sent back, summed over services."""
        counters = self.services.counters
        return int(np.maximum(counters[:, 0] - counters[:, 1], 0).sum()) if len(counters) else 0

    def syn_source_count(self, service_key: int) -> int:
        """How many distinct sources sent SYNs to the service whose key is ``service_key``."""
        return int((self.syn_sources.fields["service"] == np.uint64(service_key)).sum())


def _protocol_label(code: int) -> str:
    if code == -1:
        return "ARP"
    if code == 0:
        return "non-IP"
    family, proto = divmod(code, 1000)
    name = _MIX.get(proto)
    if name:
        return name
    return f"other {'IPv4' if family == 1 else 'IPv6'} (protocol {proto})"
