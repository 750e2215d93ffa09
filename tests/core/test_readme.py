"""Keep the README honest: its two commands are the ones `.ci/run` executes."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_readme_has_exactly_two_commands():
    cmds = _commands()
    assert len(cmds) == 2
    assert "immunome demo" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    test_cmd = _commands()[1]
    tail = test_cmd.split("&& pip install", 1)[1]
    tail = "pip install" + tail.replace(
        "IMMUNOME_DATA=../shared/data", 'IMMUNOME_DATA="$IMMUNOME_DATA"'
    )
    assert tail in ci


def test_ci_runs_the_readme_main_job():
    ci = (REPO / ".ci" / "run").read_text()
    main_cmd = _commands()[0]
    assert "pip install -e ." in main_cmd
    assert re.search(r"immunome demo --store", ci)
    assert 'IMMUNOME_DATA="$IMMUNOME_DATA" immunome demo' in ci
