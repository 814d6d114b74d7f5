"""The one renderer: json/table/tsv/none, 80-column tables off a terminal."""

import io
import json
import re

from alertcap_cli.models import Run
from alertcap_cli.render import Column, Message, OutputFormat, Record, Renderer, Rendering, Table, plain_text
from alertcap_cli.views import list_rendering, show_rendering

LONG_TARGET = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-with-a-long-name/"
               "providers/Microsoft.Compute/virtualMachines/a-virtual-machine-with-a-very-long-name")


def make_run(index: int, **extra) -> Run:
    raw = {
        "instanceId": f"alertcap-{index:024x}",
        "name": "capture_orchestrator",
        "runtimeStatus": "Running",
        "createdTime": "2026-11-25T21:00:00Z",
        "lastUpdatedTime": "2026-11-25T21:01:00Z",
        "customStatus": {"phase": "capturing until about 21:10"},
        "input": json.dumps({"target": LONG_TARGET}),
        **extra,
    }
    return Run.from_api(raw)


def render(fmt: OutputFormat, rendering: Rendering) -> str:
    stream = io.StringIO()
    Renderer(fmt, stream=stream, width=80).render(rendering)
    return stream.getvalue()


def test_json_is_the_stable_data_and_parses():
    out = render(OutputFormat.JSON, list_rendering([make_run(1), make_run(2)]))
    data = json.loads(out)
    assert [r["id"] for r in data] == [f"alertcap-{1:024x}", f"alertcap-{2:024x}"]
    assert set(data[0]) == {"id", "name", "status", "notification", "phase", "target", "vm", "createdTime",
                            "lastUpdatedTime"}
    assert data[0]["target"] == LONG_TARGET
    assert data[0]["vm"] == "a-virtual-machine-with-a-very-long-name"


def test_table_fits_80_columns_and_keeps_full_ids():
    out = render(OutputFormat.TABLE, list_rendering([make_run(i) for i in range(3)]))
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "PHASE", "VM", "AGE"]
    assert all(len(line) <= 80 for line in lines), lines
    assert f"alertcap-{2:024x}" in out
    assert "…" in out  # the long VM name or phase was shortened, not wrapped


def test_tsv_has_no_header_and_one_line_per_run():
    out = render(OutputFormat.TSV, list_rendering([make_run(1), make_run(2)]))
    rows = [line.split("\t") for line in out.splitlines()]
    assert len(rows) == 2
    assert rows[0][0] == f"alertcap-{1:024x}" and rows[0][1] == "Running"
    assert rows[0][3] == "a-virtual-machine-with-a-very-long-name"


def test_none_prints_nothing():
    assert render(OutputFormat.NONE, list_rendering([make_run(1)])) == ""


def test_empty_list_says_so_in_table_and_is_empty_json():
    assert "No runs match." in render(OutputFormat.TABLE, list_rendering([]))
    assert json.loads(render(OutputFormat.JSON, list_rendering([]))) == []


def test_show_record_wraps_long_values_within_80_columns():
    run = make_run(1, output={"captureName": "alertcap-x", "storagePath": "https://acct.blob/" + "p" * 150})
    out = render(OutputFormat.TABLE, show_rendering(run))
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "Capture" in out and "captureName:" in out
    assert "p" * 40 in out.replace("\n", "").replace(" ", "")


def test_plain_text_joins_views_with_blank_lines():
    text = plain_text([Message("hello"), Record([("A", "1")], title="T"),
                       Table([Column("X")], [["y"]])])
    assert text == "hello\n\nT\nA: 1\n\nX\ny\n"


def test_rich_table_used_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    Renderer(OutputFormat.TABLE, stream=stream, width=80).render(list_rendering([make_run(1)]))
    out = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())
    assert f"alertcap-{1:024x}" in out
    assert "AGE" in out.splitlines()[0]
    assert all(len(line) <= 80 for line in out.splitlines())


def test_terminal_output_shows_brackets_from_alert_text_verbatim():
    """Rule names and reasons come from alert payloads: `[/]` or `[bold]` in them is text, not rich markup."""

    class Tty(io.StringIO):
        def isatty(self):
            return True

    views = [
        Table([Column("RULE"), Column("REASON", flex=True)], [["[/]rule", "[bold]loud[/bold]"]]),
        Record([("reason", "[/] stopped [red]x")], title="[b]run"),
        Message("[/]done"),
    ]
    stream = Tty()
    Renderer(OutputFormat.TABLE, stream=stream, width=80).render(Rendering(None, views))
    out = re.sub(r"\x1b\[[0-9;]*m", "", stream.getvalue())
    for text in ("[/]rule", "[bold]loud[/bold]", "[/] stopped [red]x", "[b]run", "[/]done"):
        assert text in out


def test_long_values_break_after_slashes():
    from alertcap_cli.render import wrap_long

    lines = wrap_long(LONG_TARGET, 40)
    assert "".join(lines) == LONG_TARGET
    assert all(len(line) <= 40 for line in lines)
    assert all(line.endswith("/") for line in lines[:-1])
    assert wrap_long("x" * 50, 20) == ["x" * 20, "x" * 20, "x" * 10]


def test_capture_facts_skip_empty_and_headline_values():
    from alertcap_cli.views import capture_record

    run = make_run(1, runtimeStatus="Completed", output={
        "instance_id": "alertcap-1", "target": LONG_TARGET, "status": "succeeded", "reason": "",
        "capture_name": "alertcap-1-c", "alert": {"rule": "high-traffic"}, "timings": {"a": "b"},
        "capture_errors": [], "size_bytes": 1024})
    assert capture_record(run).fields == [("status", "succeeded"), ("capture_name", "alertcap-1-c"),
                                          ("alert_rule", "high-traffic"), ("size_bytes", 1024)]
