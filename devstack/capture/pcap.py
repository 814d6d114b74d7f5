"""Small facts about classic libpcap files that the agent needs without parsing packets."""

from __future__ import annotations

import struct
from pathlib import Path

GLOBAL_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
MAGICS = {  # micro- and nanosecond variants, both byte orders -> struct endianness
    b"\xd4\xc3\xb2\xa1": "<",
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",
    b"\xa1\xb2\x3c\x4d": ">",
}


def trim_to_limit(path: Path, max_bytes: int) -> int:
    """Cut a pcap file after the last whole packet that fits in `max_bytes`; returns the new size.

    tcpdump writes whole records, but it keeps writing between two size checks, so a capture stopped for
    `totalBytesPerSession` can overshoot; trimming keeps the uploaded file within the session limit.
    A file that is not a classic pcap (or already fits) is left as it is.
    """
    size = path.stat().st_size
    if size <= max_bytes:
        return size
    with path.open("rb+") as fh:
        header = fh.read(GLOBAL_HEADER_LEN)
        endian = MAGICS.get(header[:4])
        if endian is None or len(header) < GLOBAL_HEADER_LEN:
            return size
        end = GLOBAL_HEADER_LEN
        while True:
            record = fh.read(RECORD_HEADER_LEN)
            if len(record) < RECORD_HEADER_LEN:
                break
            incl_len = struct.unpack(endian + "IIII", record)[2]
            next_end = end + RECORD_HEADER_LEN + incl_len
            if next_end > max_bytes or next_end > size:
                break
            fh.seek(incl_len, 1)
            end = next_end
        fh.truncate(max(end, GLOBAL_HEADER_LEN))
    return path.stat().st_size
