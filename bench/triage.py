"""Triage speed and memory: our summary against tshark and capinfos on the same files, in one run.

Generates a synthetic classic pcap (default 1 GiB) in a temp dir: many TCP and UDP flows between a few
hundred hosts, plus anomalies (a SYN flood from one source to 10.0.0.5:443, resets, retransmitted segments,
zero-window advertisements). Also uses the demo's real captures when present (``.devstack/captures/*.pcap``).
For each file it times, each in its own process:

- ours: ``core.triage.summarize_file`` (what the activity and ``alertcap pcap summary`` run), peak RSS read
  with ``resource.getrusage(RUSAGE_CHILDREN)`` after the child exits;
- ``tshark -q -z conv,tcp -z conv,udp -z endpoints,ip -z io,stat,1`` (the same questions answered by tshark);
- ``capinfos`` (record counting, no dissection; its default output also hashes the file) and ``capinfos -c``.

It prints a calibration line (a fixed pure-Python workload's time on this machine) and the ratios.
Targets: tshark/ours >= 5, ours/capinfos <= 2, our peak RSS < 100 MB on the 1 GiB file.
Usage: ``python bench/triage.py [--size-mib 1024] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout importable
from devstack.paths import REPO_ROOT

SERVER_PORTS = (443, 80, 22, 5432, 3306, 6379, 8080)
UDP_PORTS = (53, 123, 514, 4789)
ETH = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
PAYLOAD = bytes(1500)


def _ip(proto: int, src: bytes, dst: bytes, length: int) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 0, 0x4000, 64, proto, 0, src, dst)


def _tcp(sport: int, dport: int, seq: int, flags: int, window: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 0x50, flags, window, 0, 0)


class Synthetic:
    """Writes a pcap of roughly ``size`` bytes: mixed flows with anomalies, 1 ms apart on average."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.clients = [bytes([10, 1, i // 250, i % 250 + 1]) for i in range(600)]
        self.servers = [bytes([10, 0, 0, i]) for i in range(1, 40)]
        self.tcp_flows = [(self.rng.choice(self.clients), self.rng.choice(self.servers),
                           self.rng.randrange(20000, 60000), self.rng.choice(SERVER_PORTS))
                          for _ in range(20000)]
        self.udp_flows = [(self.rng.choice(self.clients), self.rng.choice(self.servers),
                           self.rng.randrange(20000, 60000), self.rng.choice(UDP_PORTS)) for _ in range(5000)]
        self.seqs = [self.rng.randrange(1 << 31) for _ in self.tcp_flows]
        self.now = 1_700_000_000.0

    def _record(self, frame: bytes) -> bytes:
        self.now += self.rng.expovariate(5000.0)
        sec = int(self.now)
        return struct.pack("<IIII", sec, int((self.now - sec) * 1e6), len(frame), len(frame)) + frame

    def _tcp_packet(self) -> bytes:
        index = self.rng.randrange(len(self.tcp_flows))
        client, server, cport, sport = self.tcp_flows[index]
        size = self.rng.choice((0, 0, 100, 512, 1200, 1460, 1460))
        roll = self.rng.random()
        flags, window, seq = 0x18 if size else 0x10, 65535, self.seqs[index]
        if roll < 0.01:
            flags = 0x14  # RST
        elif roll < 0.02:
            window, size = 0, 0  # zero window
        elif roll < 0.03 and size:
            seq -= size  # a retransmission of the previous segment
        else:
            self.seqs[index] = (seq + size) & 0xFFFFFFFF
        src, dst, sp, dp = (client, server, cport, sport) if self.rng.random() < 0.6 else (server, client,
                                                                                         sport, cport)
        header = _tcp(sp, dp, seq & 0xFFFFFFFF, flags, window)
        return ETH + _ip(6, src, dst, 40 + size) + header + PAYLOAD[:size]

    def _udp_packet(self) -> bytes:
        client, server, cport, sport = self.rng.choice(self.udp_flows)
        size = self.rng.choice((40, 80, 200, 512))
        return (ETH + _ip(17, client, server, 28 + size) + struct.pack("!HHHH", cport, sport, 8 + size, 0)
                + PAYLOAD[:size])

    def _syn(self) -> bytes:
        return ETH + _ip(6, b"\xcb\x00\x71\x07", b"\x0a\x00\x00\x05", 40) + _tcp(
            self.rng.randrange(1024, 65535), 443, self.rng.randrange(1 << 32), 0x02, 1024)

    def write(self, path: Path, size: int) -> int:
        """Write the file; returns the number of packets."""
        packets, written, batch = 0, 24, []
        with open(path, "wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            while written < size:
                roll = self.rng.random()
                frame = (self._syn() if roll < 0.08 else self._udp_packet() if roll < 0.3
                         else self._tcp_packet())
                record = self._record(frame)
                batch.append(record)
                written += len(record)
                packets += 1
                if len(batch) >= 4096:
                    out.write(b"".join(batch))
                    batch.clear()
            out.write(b"".join(batch))
        return packets


def calibration() -> float:
    """Seconds for a fixed pure-Python workload (compare machines and runs)."""
    start = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.perf_counter() - start


@dataclass
class Timing:
    """One child process: wall time, CPU time (user + system) and the children's peak RSS so far."""

    wall: float
    cpu: float
    rss: int


def timed(argv: list[str]) -> Timing:
    """Run ``argv`` in a child process. CPU time is what the ratios use: on a shared machine wall time
    mostly measures waiting for a core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO_ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(wall, cpu, after.ru_maxrss * 1024)


OURS = ("import sys, time; from core.triage import summarize_file; s = summarize_file(sys.argv[1]); "
        "print(s.packets, s.verdict)")


APPROACH_DPKT = """
import sys, collections, dpkt
conv = collections.Counter()
with open(sys.argv[1], "rb") as fh:
    for ts, frame in dpkt.pcap.Reader(fh):
        ip = dpkt.ethernet.Ethernet(frame).data
        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, (dpkt.tcp.TCP, dpkt.udp.UDP)):
            conv[(ip.src, ip.data.sport, ip.dst, ip.data.dport)] += len(frame)
print(len(conv))
"""
APPROACH_STRUCT = """
import sys, struct, collections
conv = collections.Counter()
rec, eth = struct.Struct("<IIII"), struct.Struct("!H")
ip4, ports = struct.Struct("!BxHxxxxxB"), struct.Struct("!HH")
with open(sys.argv[1], "rb") as fh:
    data = fh.read(24)
    while True:
        head = fh.read(16)
        if len(head) < 16:
            break
        _, _, caplen, wirelen = rec.unpack(head)
        frame = fh.read(caplen)
        if eth.unpack_from(frame, 12)[0] == 0x0800:
            vihl, total, proto = ip4.unpack_from(frame, 14)
            if proto in (6, 17):
                sport, dport = ports.unpack_from(frame, 14 + (vihl & 15) * 4)
                conv[(frame[26:30], sport, frame[30:34], dport)] += wirelen
print(len(conv))
"""


def approaches(path: Path) -> None:
    """How the parsing approaches compare on ``path`` (what chose the design; see docs/triage.md)."""
    size = path.stat().st_size / 2**20
    for name, argv in (("dpkt per packet (conversations only)", [sys.executable, "-c", APPROACH_DPKT]),
                       ("pure-Python struct per packet (conversations only)",
                        [sys.executable, "-c", APPROACH_STRUCT]),
                       ("ours: record walk + numpy decode, full summary", [sys.executable, "-c", OURS])):
        took = timed([*argv, str(path)])
        print(f"  approach {name}: CPU {took.cpu:.2f} s ({size / took.cpu:.0f} MiB/s), "
              f"wall {took.wall:.2f} s")


def measure(path: Path) -> None:
    """Print ours vs tshark vs capinfos for ``path`` (ratios of CPU time; wall times alongside)."""
    size = path.stat().st_size / 2**20
    ours = timed([sys.executable, "-c", OURS, str(path)])  # first: RUSAGE_CHILDREN's RSS is a running max
    summary = subprocess.run([sys.executable, "-c", OURS, str(path)], check=True, capture_output=True,
                             text=True, cwd=REPO_ROOT).stdout.strip()
    tshark = timed(["tshark", "-r", str(path), "-q", "-z", "conv,tcp", "-z", "conv,udp",
                    "-z", "endpoints,ip", "-z", "io,stat,1"])
    capinfos = timed(["capinfos", str(path)])
    count_only = timed(["capinfos", "-c", str(path)])
    print(f"{path.name}: {size:.1f} MiB; ours CPU {ours.cpu:.2f} s ({size / ours.cpu:.0f} MiB/s), "
          f"wall {ours.wall:.2f} s, peak RSS {ours.rss / 1e6:.0f} MB (target < 100)")
    print(f"  tshark CPU {tshark.cpu:.2f} s, wall {tshark.wall:.2f} s -> tshark/ours = "
          f"{tshark.cpu / ours.cpu:.1f}x CPU, {tshark.wall / ours.wall:.1f}x wall (target >= 5)")
    print(f"  capinfos CPU {capinfos.cpu:.2f} s, wall {capinfos.wall:.2f} s -> ours/capinfos = "
          f"{ours.cpu / capinfos.cpu:.2f} CPU, {ours.wall / capinfos.wall:.2f} wall (target <= 2)")
    print(f"  capinfos -c (count only) CPU {count_only.cpu:.2f} s -> ours/capinfos-c = "
          f"{ours.cpu / count_only.cpu:.1f} CPU")
    print(f"  summary: {summary[:200]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--keep", type=Path, help="write the synthetic file here and keep it")
    parser.add_argument("--approaches-mib", type=int, default=64,
                        help="size of the file that compares parsing approaches (0: skip)")
    args = parser.parse_args()
    for tool in ("tshark", "capinfos"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: run `make setup`", file=sys.stderr)
            return 1
    print(f"calibration: fixed pure-Python loop {calibration():.3f} s")
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        path = (args.keep or Path(tmp)) / "synthetic.pcap"
        path.parent.mkdir(parents=True, exist_ok=True)
        if args.approaches_mib:
            small = Path(tmp) / "approaches.pcap"
            Synthetic().write(small, args.approaches_mib * 2**20)
            print(f"parsing approaches on {args.approaches_mib} MiB of the same synthetic traffic:")
            approaches(small)
            small.unlink()
        start = time.perf_counter()
        packets = Synthetic().write(path, args.size_mib * 2**20)
        print(f"generated {path.name}: {packets} packets, {path.stat().st_size / 2**20:.0f} MiB "
              f"in {time.perf_counter() - start:.1f} s")
        measure(path)
    captures = REPO_ROOT / ".devstack" / "captures"
    real = sorted(captures.glob("*.pcap")) if captures.exists() else []
    for capture in real[:5]:
        measure(capture)
    if not real:
        print("no demo captures in .devstack/captures (run `make demo` first to include real ones)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
