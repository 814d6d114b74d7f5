"""Progress goes to stderr only on a terminal, never under CI; output format from the environment."""

import io

from typer.testing import CliRunner

from alertcap_cli.main import app
from alertcap_cli.progress import Progress, progress_enabled

runner = CliRunner()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_not_under_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert progress_enabled(Terminal()) is True
    assert progress_enabled(io.StringIO()) is False
    monkeypatch.setenv("CI", "true")
    assert progress_enabled(Terminal()) is False
    monkeypatch.setenv("CI", "0")
    assert progress_enabled(Terminal()) is True


def test_notes_are_written_on_a_terminal_without_colour_when_no_color(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    progress = Progress(stream)
    progress.note("21:00:00 Running · capturing")
    assert stream.getvalue() == "21:00:00 Running · capturing\n"
    quiet = io.StringIO()
    Progress(quiet).note("hidden")
    assert quiet.getvalue() == ""


def test_output_format_from_the_environment_and_flags(tmp_path, monkeypatch):
    down = ["--state-dir", str(tmp_path), "dev", "down"]  # renders a message without any server
    assert runner.invoke(app, down).stdout == "No devstack is running.\n"
    monkeypatch.setenv("ALERTCAP_OUTPUT", "json")
    assert runner.invoke(app, down).stdout == '{\n  "message": "No devstack is running."\n}\n'
    assert runner.invoke(app, [*down, "-o", "none"]).stdout == ""  # the command's -o wins
    monkeypatch.setenv("ALERTCAP_OUTPUT", "bogus")  # ignored: falls back to table
    assert runner.invoke(app, down).stdout == "No devstack is running.\n"
    bad_flag = runner.invoke(app, ["-o", "yaml", *down])
    assert bad_flag.exit_code == 2 and "yaml" in bad_flag.stderr


def test_spinner_and_notes_show_brackets_from_run_text_verbatim(monkeypatch):
    """A phase or reason holding `[/]` is text: rich markup would raise MarkupError or swallow it."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    progress = Progress(stream)
    with progress.spinner("[/]waiting") as status:
        status.update("[bold]capturing[/bold]")
    progress.note("[/] reason [red]x")
    assert "[/] reason [red]x" in stream.getvalue()
