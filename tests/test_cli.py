"""The command line as a whole: every command documented, shared options, exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from enrich.cli import COMMANDS, main
from tests.conftest import run_enrich

CONTRACT = {"scan", "analyze", "genres", "playlists", "runs", "cache"}


def test_every_contract_command_exists():
    assert set(COMMANDS) >= CONTRACT


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_every_command_has_useful_help_and_the_shared_options(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    command = main.get_command(None, name)
    assert command.help and len(command.help.split()) >= 5
    if not getattr(command, "commands", None):  # groups carry the options on their subcommands
        for option in ("--db", "--config", "--cache-dir", "--json", "--verbose", "--quiet"):
            assert option in result.output, f"{name} lacks {option}"


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in CONTRACT:
        assert name in result.output


@pytest.mark.slow
def test_runs_json_is_one_document_on_stdout(tmp_path):
    result = run_enrich("runs", "--json", "--db", str(tmp_path / "lib.db"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.slow
def test_bad_config_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[sources.lastfm]\nrate = 0\n")
    result = run_enrich("runs", "--config", str(bad), "--db", str(tmp_path / "lib.db"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "sources.lastfm.rate" in result.stderr and str(bad) in result.stderr


@pytest.mark.slow
def test_unknown_run_is_a_usage_error(tmp_path):
    result = run_enrich("runs", "show", "99", "--db", str(tmp_path / "lib.db"))
    assert result.returncode == 2 and "no run 99" in result.stderr


def test_item_lists_show_the_first_ones_and_say_where_the_rest_are():
    from enrich.cli.listing import item_lines

    items = [{"item": f"/music/{i}.mp3", "error": "truncated file"} for i in range(3)]
    assert item_lines("failed", items, shown=2, more="`enrich runs show 7` lists all") == [
        "failed (3):", "  /music/0.mp3: truncated file", "  /music/1.mp3: truncated file",
        "  ... and 1 more (`enrich runs show 7` lists all)"]
    assert item_lines("failed", items[:1], total=1500, more="m")[-1] == "  ... and 1499 more (m)"
    assert item_lines("failed", []) == []
