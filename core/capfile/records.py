"""Walk the records of a capture file (classic pcap or pcapng) from a stream of byte chunks.

The walk is the only per-packet Python loop of the reader: it finds where each frame starts and how long it
is; the fields inside the frames are decoded for a whole batch at once (``core.capfile.decode``). A record
split across two chunks is carried over to the next one, so memory stays at about one chunk whatever the
file size. Damage (a bad magic number, an impossible length, a file cut short) ends the walk with a warning:
everything read before it still counts.

Formats: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html (classic pcap, both byte orders,
microsecond and nanosecond variants) and https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
(section header, interface description, enhanced/simple/obsolete packet blocks; other blocks are skipped).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

MAX_FRAME = 262144  # Wireshark's largest standard frame; a bigger record length means a damaged file
PCAP_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BOM = 0x1A2B3C4D
IDB, OPB, SPB, EPB = 1, 2, 3, 6
PACKET_BLOCKS = {OPB, SPB, EPB}
KNOWN_BLOCKS = {IDB, OPB, SPB, EPB, 4, 5, 0x0BAD, 0x40000BAD}  # NRB, ISB and custom blocks: legal, skipped


@dataclass
class Batch:
    """The frames found in one buffer: where each starts, its captured and wire length, time and link type."""

    data: np.ndarray  # uint8 view of the buffer holding the frames
    offsets: np.ndarray  # int64: start of each frame in ``data``
    caplens: np.ndarray  # int64: bytes present in the file
    wirelens: np.ndarray  # int64: bytes on the wire (what tshark and capinfos count)
    times: np.ndarray  # float64: seconds since the epoch
    linktypes: np.ndarray  # int64: the LINKTYPE_* of each frame

    def __len__(self) -> int:
        return len(self.offsets)


@dataclass
class WalkState:
    """What the walk learnt besides the frames: bytes consumed, format, and why it stopped early."""

    bytes_read: int = 0
    file_format: str = ""
    warnings: list[str] | None = None
    unknown_blocks: int = 0
    stopped: bool = False

    def warn(self, message: str) -> None:
        """Record a problem with the file (shown with the summary)."""
        if self.warnings is None:
            self.warnings = []
        if message not in self.warnings:
            self.warnings.append(message)


class _Walker:
    """Base: holds the byte order and turns per-record lists into a :class:`Batch`."""

    def __init__(self, state: WalkState) -> None:
        self.state = state

    def walk(self, buf: bytes, base: int) -> tuple[Batch | None, int]:
        """Frames found in ``buf`` (which starts at file offset ``base``) and how many bytes were consumed."""
        raise NotImplementedError


def _batch(buf: bytes, offsets: list[int], caplens: list[int], wirelens: list[int], times: np.ndarray,
           linktypes: np.ndarray) -> Batch | None:
    if not offsets:
        return None
    return Batch(np.frombuffer(buf, dtype=np.uint8), np.array(offsets, dtype=np.int64),
                 np.array(caplens, dtype=np.int64), np.array(wirelens, dtype=np.int64), times, linktypes)


class PcapWalker(_Walker):
    """Classic pcap: a 24-byte file header, then 16-byte record headers each followed by its frame."""

    def __init__(self, state: WalkState, header: bytes) -> None:
        super().__init__(state)
        order, self.resolution = PCAP_MAGIC[header[:4]]
        self.caplen = struct.Struct(order + "I")
        self.words = np.dtype(order + "u4")
        self.linktype = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
        state.file_format = "pcap" + (" (nanosecond)" if self.resolution < 1e-6 else "")

    def walk(self, buf: bytes, base: int) -> tuple[Batch | None, int]:
        unpack, end = self.caplen.unpack_from, len(buf) - 16
        offsets: list[int] = []
        append = offsets.append
        off = 0
        while off <= end:  # the only per-record Python work: follow the record lengths (checked below)
            append(off)
            off += 16 + unpack(buf, off + 8)[0]
        offsets, off = self._valid(buf, offsets, base)
        if not offsets:
            return None, off
        data = np.frombuffer(buf, dtype=np.uint8)
        starts = np.array(offsets, dtype=np.int64)
        heads = np.ascontiguousarray(data[starts[:, None] + np.arange(16)]).view(self.words).astype(np.int64)
        times = heads[:, 0] + heads[:, 1] * self.resolution
        batch = Batch(data, starts + 16, heads[:, 2], heads[:, 3], times,
                      np.full(len(starts), self.linktype, dtype=np.int64))
        return batch, off


    def _valid(self, buf: bytes, offsets: list[int], base: int) -> tuple[list[int], int]:
        """The records that are whole and sane, and where the next record starts."""
        ends = np.array([*offsets[1:], self._end(buf, offsets)], dtype=np.int64)
        lengths = ends - np.array(offsets, dtype=np.int64) - 16
        bad = np.flatnonzero(lengths > MAX_FRAME)
        if len(bad):
            at = offsets[int(bad[0])]
            self.state.warn(f"damaged record at byte {base + at}: length {int(lengths[bad[0]])}; "
                            "the rest is not read")
            self.state.stopped = True
            return offsets[: int(bad[0])], at
        if offsets and ends[-1] > len(buf):  # the last record continues in the next chunk
            return offsets[:-1], offsets[-1]
        return offsets, self._end(buf, offsets)

    def _end(self, buf: bytes, offsets: list[int]) -> int:
        if not offsets:
            return 0
        return offsets[-1] + 16 + self.caplen.unpack_from(buf, offsets[-1] + 8)[0]


class PcapngWalker(_Walker):
    """pcapng: blocks of (type, length, body, length); interfaces give the link type and time resolution."""

    def __init__(self, state: WalkState) -> None:
        super().__init__(state)
        state.file_format = "pcapng"
        self.order = "<"
        self.interfaces: list[tuple[int, float, int]] = []  # (linktype, seconds per tick, snaplen)
        self.head = struct.Struct("<II")

    def _section(self, buf: bytes, off: int) -> None:
        bom = buf[off + 8:off + 12]
        self.order = "<" if struct.unpack("<I", bom)[0] == PCAPNG_BOM else ">"
        self.head = struct.Struct(self.order + "II")
        self.interfaces = []

    def _interface(self, buf: bytes, off: int, length: int) -> None:
        linktype, _, snaplen = struct.unpack_from(self.order + "HHI", buf, off + 8)
        resolution = 1e-6
        pos, end = off + 16, off + length - 4
        while pos + 4 <= end:
            code, size = struct.unpack_from(self.order + "HH", buf, pos)
            if code == 0:
                break
            if code == 9 and size >= 1:  # if_tsresol: a power of 10, or of 2 when the top bit is set
                value = buf[pos + 4]
                resolution = 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0 ** -value
            pos += 4 + ((size + 3) & ~3)
        self.interfaces.append((linktype, resolution, snaplen))

    def walk(self, buf: bytes, base: int) -> tuple[Batch | None, int]:
        size, off = len(buf), 0
        offsets: list[int] = []
        caplens: list[int] = []
        wirelens: list[int] = []
        ticks: list[int] = []
        ifaces: list[int] = []
        while off + 12 <= size:
            if struct.unpack_from("<I", buf, off)[0] == PCAPNG_SHB:
                if off + 12 > size:
                    break
                self._section(buf, off)
            kind, length = self.head.unpack_from(buf, off)
            if length < 12 or length % 4 or (length > MAX_FRAME + 4096 and kind in PACKET_BLOCKS):
                self.state.warn(f"damaged pcapng block at byte {base + off}: length {length}; "
                                "the rest is not read")
                self.state.stopped = True
                break
            if off + length > size:
                if length > 64 * 1024 * 1024:
                    self.state.warn(f"pcapng block at byte {base + off} claims {length} bytes; "
                                    "the rest is not read")
                    self.state.stopped = True
                break
            if kind in (EPB, OPB):
                iface, hi, lo, caplen, wirelen = struct.unpack_from(self.order + "IIIII", buf, off + 8)
                if kind == OPB:
                    iface &= 0xFFFF
                if iface < len(self.interfaces) and caplen <= length - 28:
                    offsets.append(off + 28)
                    caplens.append(caplen)
                    wirelens.append(wirelen)
                    ticks.append((hi << 32) | lo)
                    ifaces.append(iface)
                else:
                    self.state.warn("packets that name an undeclared interface or overrun their block were "
                                    "skipped")
            elif kind == SPB:
                if self.interfaces:
                    wirelen = struct.unpack_from(self.order + "I", buf, off + 8)[0]
                    snap = self.interfaces[0][2] or MAX_FRAME
                    offsets.append(off + 12)
                    caplens.append(min(wirelen, snap, length - 16))
                    wirelens.append(wirelen)
                    ticks.append(-1)
                    ifaces.append(0)
            elif kind == IDB:
                self._interface(buf, off, length)
            elif kind != PCAPNG_SHB and kind not in KNOWN_BLOCKS:
                self.state.unknown_blocks += 1
            off += length
        if not offsets:
            return None, off
        return self._batch(buf, offsets, caplens, wirelens, ticks, ifaces), off

    def _batch(self, buf: bytes, offsets: list[int], caplens: list[int], wirelens: list[int],
               ticks: list[int], ifaces: list[int]) -> Batch | None:
        iface = np.array(ifaces, dtype=np.int64)
        table = np.array(self.interfaces, dtype=np.float64)
        raw = np.array(ticks, dtype=np.float64)
        times = raw * table[iface, 1]
        times[raw < 0] = np.nan  # simple packet blocks carry no time
        return _batch(buf, offsets, caplens, wirelens, times, table[iface, 0].astype(np.int64))


def _walker(header: bytes, state: WalkState) -> _Walker | None:
    if header[:4] in PCAP_MAGIC:
        return PcapWalker(state, header)
    if len(header) >= 12 and struct.unpack("<I", header[:4])[0] == PCAPNG_SHB:
        bom = header[8:12]
        if bom in (struct.pack("<I", PCAPNG_BOM), struct.pack(">I", PCAPNG_BOM)):
            return PcapngWalker(state)
    return None


def walk(chunks: Iterable[bytes], state: WalkState) -> Iterator[Batch]:
    """Yield the frames of the capture whose bytes ``chunks`` produces, one batch per chunk.

    ``state`` collects the bytes read, the format and the warnings. Stopping the iteration early (a budget)
    is allowed: ``state.bytes_read`` then says how far the summary went.
    """
    pending = b""
    walker: _Walker | None = None
    consumed = 0  # file offset of pending[0]
    for chunk in chunks:
        if not chunk:
            continue
        pending = pending + chunk if pending else bytes(chunk)
        if walker is None:
            if len(pending) < 24:
                continue
            walker = _walker(pending[:24], state)
            if walker is None:
                state.warn("not a pcap or pcapng file (unknown magic number); nothing was read")
                state.stopped = True
                return
            if isinstance(walker, PcapWalker):
                pending, consumed = pending[24:], 24
        batch, used = walker.walk(pending, consumed)
        state.bytes_read = consumed + used
        if batch is not None:
            yield batch
        if state.stopped:
            return
        pending, consumed = pending[used:], consumed + used
    if walker is None:
        if pending:
            state.warn(f"file too short to be a capture ({len(pending)} bytes); nothing was read")
        else:
            state.warn("the capture file is empty")
        state.stopped = True
        return
    if pending:
        state.warn(f"the file ends inside a record ({len(pending)} bytes at byte {consumed} not read): "
                   "it was cut short")
    if state.unknown_blocks:
        state.warn(f"{state.unknown_blocks} pcapng blocks of unknown types were skipped")
