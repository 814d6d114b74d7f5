"""A streaming capture-file reader: classic pcap and pcapng from byte chunks, decoded in vectorised batches.

``records.walk`` finds the frames chunk by chunk (constant memory); ``decode.decode`` reads their headers.
"""

from core.capfile.decode import Packets, decode
from core.capfile.records import Batch, WalkState, walk

__all__ = ["Batch", "Packets", "WalkState", "decode", "walk"]
