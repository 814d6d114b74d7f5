"""The demo's own pieces: the traffic CLI's limits, reading the alert/run/email, the pcap summary, the live
display, and the app settings it passes to the devstack."""

from __future__ import annotations

import pytest

from core.webhook_auth import WebhookAuthMode
from devstack.demo.prepare import stack_settings


@pytest.mark.parametrize("args", [["--connections", "0"], ["--messages", "20000"], ["--deadline", "0"]])
def test_traffic_cli_rejects_unbounded_bursts(args, capsys):
    from devstack.demo.traffic import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--host", "127.0.0.1", "--port", "9", *args])
    assert exit_info.value.code == 2
    assert "must be between" in capsys.readouterr().err


def test_email_facts_find_the_sas_link():
    from devstack.demo.observe import email_facts

    facts = email_facts({
        "subject": "[alertcap] Packet capture ready: vm-demo",
        "to": [{"address": "oncall@alertcap.localhost", "display_name": ""}],
        "plain_text": "Blob: https://127.0.0.1:1/acct/c/x.cap\nDownload link: https://127.0.0.1:1/acct/c/x.cap?sv=1&sig=abc",
        "html": '<a href="https://127.0.0.1:1/acct/c/x.cap?sv=1&amp;sig=abc">download</a>',
    })
    assert facts.recipients == ["oncall@alertcap.localhost"]
    assert facts.pcap_link == "https://127.0.0.1:1/acct/c/x.cap?sv=1&sig=abc"
    assert facts.links == ["https://127.0.0.1:1/acct/c/x.cap", "https://127.0.0.1:1/acct/c/x.cap?sv=1&sig=abc"]


def test_run_ids_from_the_webhook_answer():
    from devstack.demo.observe import run_ids

    runs = [{"instanceId": "alertcap-1", "target": "/x", "outcome": "started"},
            {"instanceId": "alertcap-1", "outcome": "duplicate"}]
    answer = {"status": "accepted", "runs": runs}
    assert run_ids(answer) == ["alertcap-1"]
    assert run_ids({"status": "ignored", "reason": "alert is Resolved"}) == []


def test_summarise_pcap_counts_the_burst(tmp_path):
    import socket

    import dpkt

    from devstack.demo.observe import summarise_pcap

    def frame(sport: int, dport: int, payload: bytes) -> bytes:
        tcp = dpkt.tcp.TCP(sport=sport, dport=dport, flags=dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, data=payload)
        ip = dpkt.ip.IP(src=socket.inet_aton("10.231.0.2"), dst=socket.inet_aton("10.231.0.1"),
                        p=dpkt.ip.IP_PROTO_TCP, data=tcp)
        return bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP, data=ip))

    path = tmp_path / "burst.cap"
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for seq in range(5):
            writer.writepkt(frame(50000 + seq, 40000, b"alertcap demo burst"), ts=1.0 + seq)
        writer.writepkt(frame(50100, 22, b"ssh"), ts=9.0)
        writer.writepkt(b"\x00" * 20, ts=10.0)  # not IP
    summary = summarise_pcap(path, sink_port=40000)
    assert (summary.packets, summary.tcp_segments, summary.ports) == (7, 6, [40000])
    assert set(summary.hosts) == {"10.231.0.2", "10.231.0.1"}
    assert summary.line().startswith("7 packets, 6 TCP segments, ")


def test_demo_progress_shows_brackets_verbatim():
    """Alert names and email subjects are text: `[/]` in them must not be read as rich markup."""
    import io
    import re

    from devstack.demo.progress import DemoProgress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with DemoProgress({"alert": "alert"}, stream=stream) as progress:
        progress.note("[/]fired: [bold]rule")
        progress.done("alert", "[/]delivered")
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())
    assert "[/]fired: [bold]rule" in out and "[/]delivered" in out


def test_the_demo_passes_its_mode_to_the_devstack() -> None:
    for mode in WebhookAuthMode:
        args = stack_settings(20, mode.value)
        assert f"WEBHOOK_AUTH={mode.value}" in args and "CAPTURE_TIME_LIMIT_SECONDS=20" in args
        assert args[args.index(f"WEBHOOK_AUTH={mode.value}") - 1] == "--setting"
