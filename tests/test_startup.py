"""Start-up stays light: help and the analysis parent never load the numeric stack.

Each check runs a real `python -X importtime` process and reads the modules it
imported from its report, so an import hidden anywhere in the chain is caught.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from enrich.cli import COMMANDS, SUMMARIES
from tests.conftest import REPO, run_enrich

HEAVY = ("numpy", "scipy", "soundfile", "soxr", "av", "librosa")


def imported(stderr: str) -> set[str]:
    """Top-level packages named in a `-X importtime` report."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def help_imports(*words: str) -> set[str]:
    result = run_enrich(*words, "--help", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage:" in result.stdout
    return imported(result.stderr)


def test_the_report_parser_sees_numpy_when_it_is_imported():
    # The checks below are worth something only if the parser finds what is there.
    report = subprocess.run([sys.executable, "-X", "importtime", "-c", "import numpy"],
                            capture_output=True, text=True, check=True).stderr
    assert "numpy" in imported(report)


def test_enrich_help_imports_no_numeric_module():
    found = help_imports()
    assert "click" in found  # the report was read
    assert not found & set(HEAVY), f"`enrich --help` imported {sorted(found & set(HEAVY))}"


@pytest.mark.parametrize("command", sorted(COMMANDS))  # every command, including ones added later
def test_command_help_imports_no_numeric_or_network_module(command):
    found = help_imports(command)
    heavy = found & {*HEAVY, "aiohttp", "mutagen"}
    assert not heavy, f"`enrich {command} --help` imported {sorted(heavy)}"


def loaded_by(modules: str, packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` a fresh Python holds after ``import modules``."""
    code = (f"import sys, {modules}; print(sorted(m for m in sys.modules "
            f"if any(m == p or m.startswith(p + '.') for p in {packages!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return ast.literal_eval(out.stdout.strip())


def test_the_loaded_module_check_sees_a_module_that_is_loaded():
    assert loaded_by("enrich.pipeline.genres", ("aiohttp",))


def test_the_analysis_parent_imports_no_signal_processing():
    # The pipeline that feeds the workers needs the feature names, never numpy or scipy.
    assert loaded_by("enrich.pipeline.analyze, enrich.analysis.pool", HEAVY) == []


def test_the_genres_pipeline_loads_mutagen_only_to_write_tags():
    # A nightly genres run that writes no tags sends its first request sooner without it.
    assert loaded_by("enrich.api, enrich.pipeline.genres", ("mutagen",)) == []


def test_a_genres_run_loads_no_query_report_or_results_module():
    # Their dataclasses and parsers are about 30 ms of a genres run's start, before its first request.
    assert loaded_by("enrich.api, enrich.cli.genres, enrich.pipeline.genres",
                     ("enrich.browse", "enrich.results", "enrich.store.browse", "enrich.store.stats",
                      "enrich.store.readonly")) == []


def test_replies_from_real_workers_load_no_numpy_in_the_parent():
    # A worker's reply is unpickled in the parent: it must hold plain data, or
    # unpickling imports numpy and scipy there (seconds of a small nightly run).
    code = """
import asyncio, sys
from enrich.analysis.pool import AnalysisPool, Job
from enrich.analysis.settings import AnalysisConfig

async def jobs():
    yield Job(1, sys.argv[1])

got = []

async def handle(outcome):
    got.append(outcome)

async def main():
    await AnalysisPool(1, AnalysisConfig(), timeout=60, max_tasks=10).run(jobs(), handle)

if __name__ == "__main__":
    asyncio.run(main())
    print(got[0].error, got[0].features is not None and got[0].features.tempo is not None,
          sorted(m for m in sys.modules if m.split(".")[0] in HEAVY))
"""
    audio = next(p for p in sorted((REPO / "fixtures" / "library").rglob("*.flac")))
    code = code.replace("sys.argv[1]", repr(str(audio))).replace("HEAVY", repr(HEAVY))
    out = subprocess.run([sys.executable, "-c", code],
                         capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["None", "True", "[]"], out.stdout


def test_the_command_list_of_enrich_help_is_each_commands_own_short_help():
    # `enrich --help` lists commands from a table, so it imports none of them: the table must say what they say.
    import importlib

    assert set(SUMMARIES) == set(COMMANDS)
    for name, module in COMMANDS.items():
        assert SUMMARIES[name] == importlib.import_module(module).command.get_short_help_str(), name
    listed = run_enrich("--help").stdout
    width = max(len(name) for name in SUMMARIES)  # click pads every name to the longest
    for name, summary in SUMMARIES.items():
        assert f"  {name:<{width}}  {summary}\n" in listed


def test_enrich_config_reads_the_settings_without_the_network_client(tmp_path):
    # It hides URL secrets with the network policy's helpers; those must not pull in aiohttp.
    result = run_enrich("config", "--db", str(tmp_path / "lib.db"), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    found = imported(result.stderr)
    assert "enrich" in found and not found & {*HEAVY, "aiohttp"}, sorted(found & {*HEAVY, "aiohttp"})


def test_the_command_skips_the_collectors_last_pass_at_exit():
    # Exit handlers run after the command's own end: by then its objects are parked
    # out of the collector's reach, so the interpreter's exit does not walk them all.
    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
             "sys.argv = ['enrich', '--help']\n"
             "from enrich.__main__ import run\n"
             "run()\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    frozen = int(result.stdout.rsplit("frozen", 1)[1])
    assert frozen > 1000, result.stdout[-500:]
