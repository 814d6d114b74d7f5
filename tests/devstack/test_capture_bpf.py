"""Network Watcher filters -> BPF: the translation, what is rejected, and that tcpdump compiles the result."""

from __future__ import annotations

import struct
import subprocess

import pytest

from devstack.capture.bpf import FilterError, filters_to_bpf
from devstack.capture.pcap import trim_to_limit


def compiles(expression: str) -> bool:
    """Whether libpcap accepts the expression (tcpdump -d only compiles, it captures nothing)."""
    proc = subprocess.run(["tcpdump", "-d", "-i", "lo", expression], capture_output=True, text=True)
    return proc.returncode == 0


def test_no_filters_capture_everything():
    assert filters_to_bpf([]) == ""
    assert filters_to_bpf([{"protocol": "Any"}]) == ""


def test_local_port_matches_both_directions():
    bpf = filters_to_bpf([{"protocol": "TCP", "localPort": "8080"}])
    assert bpf == "tcp and ((src port 8080) or (dst port 8080))"
    assert compiles(bpf)


def test_local_and_remote_fields_pair_up_by_direction():
    bpf = filters_to_bpf(
        [{"protocol": "UDP", "localIPAddress": "10.0.0.4", "remoteIPAddress": "10.0.0.9", "remotePort": "53"}]
    )
    assert "(src host 10.0.0.4 and dst host 10.0.0.9 and dst port 53)" in bpf
    assert "(dst host 10.0.0.4 and src host 10.0.0.9 and src port 53)" in bpf
    assert bpf.startswith("udp and ")
    assert compiles(bpf)


def test_ranges_and_lists():
    bpf = filters_to_bpf([{"localIPAddress": "10.0.0.1-10.0.0.6", "localPort": "80;443;"}])
    assert "src net 10.0.0.2/31" in bpf and "src host 10.0.0.6" in bpf
    assert "(src port 80 or src port 443)" in bpf
    assert "(tcp or udp)" in bpf  # ports need a transport protocol when protocol is Any
    assert compiles(bpf)
    assert "portrange 1000-2000" in filters_to_bpf([{"protocol": "TCP", "remotePort": "1000-2000"}])


def test_several_filters_are_ored_and_ipv6_works():
    bpf = filters_to_bpf(
        [{"protocol": "TCP", "localPort": "80"}, {"protocol": "UDP", "remoteIPAddress": "::1"}]
    )
    assert bpf.startswith("(tcp and") and ") or (udp and" in bpf
    assert compiles(bpf)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ([{"protocol": "ICMP"}], "filters[0].protocol"),
        ([{"localPort": "70000"}], "filters[0].localPort"),
        ([{"localPort": "http"}], "filters[0].localPort"),
        ([{"remotePort": "90-80"}], "filters[0].remotePort"),
        ([{"localIPAddress": "10.0.0.300"}], "filters[0].localIPAddress"),
        ([{"localIPAddress": "10.0.0.1-10.0.0.5;10.0.0.9"}], "filters[0].localIPAddress"),
        ([{"remoteIPAddress": "10.0.0.9-10.0.0.1"}], "filters[0].remoteIPAddress"),
        ([{"remoteIPAddress": "10.0.0.1-::1"}], "filters[0].remoteIPAddress"),
        ([{"remoteIPAddress": "::1-ffff::fffe"}], "filters[0].remoteIPAddress"),
        ([{"protocol": "TCP"}, {"localPort": 80}], "filters[1].localPort"),
        ([{"direction": "in"}], "filters[0].direction"),
    ],
)
def test_rejected_filters_name_the_field(filters, field):
    with pytest.raises(FilterError) as err:
        filters_to_bpf(filters)
    assert err.value.field == field
    assert str(err.value)


def _pcap(path, packets: list[bytes]) -> None:
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    records = b"".join(struct.pack("<IIII", 0, 0, len(p), len(p)) + p for p in packets)
    path.write_bytes(header + records)


def test_trim_cuts_after_the_last_whole_packet(tmp_path):
    path = tmp_path / "a.cap"
    _pcap(path, [b"x" * 100, b"y" * 100, b"z" * 100])  # 24 + 3 * 116 = 372 bytes
    assert trim_to_limit(path, 1000) == 372
    assert trim_to_limit(path, 300) == 24 + 2 * 116
    assert path.read_bytes().endswith(b"y" * 100)
    assert trim_to_limit(path, 30) == 24  # header only: still a valid, empty pcap
