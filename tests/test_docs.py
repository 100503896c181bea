"""Documentation stays in step with the code: every setting and every CLI option is documented."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from chaintrack import cli, config

DOCS = Path(__file__).resolve().parents[1] / "docs"
REGENERATE = (
    "regenerate it with: python -c 'from chaintrack.config import render_markdown as r; "
    'print(r(), end="")\' > docs/configuration.md'
)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _documented_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """Option strings (``--project``, ``-p``) and positionals (as ``TASK``), without --help."""
    names: list[str] = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            names.extend(action.option_strings)
        else:
            names.append(str(action.metavar or action.dest).upper())
    return names


def test_configuration_doc_is_generated_from_the_settings() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert text == config.render_markdown(), f"docs/configuration.md is stale; {REGENERATE}"
    for setting in config.SETTINGS:
        assert f"`{setting.name}`" in text, f"{setting.name} is not documented; {REGENERATE}"


def test_every_setting_has_a_doc_and_a_unique_name() -> None:
    names = [s.name for s in config.SETTINGS]
    assert len(names) == len(set(names))
    for setting in config.SETTINGS:
        assert setting.name.startswith("CHAINTRACK_")
        assert setting.doc.strip()


def test_the_argument_walk_sees_every_option() -> None:
    # Guards the test below against passing vacuously if argparse internals change.
    commands = _subcommands(cli.build_parser())
    assert set(commands) >= {"tasks", "show", "demo"}
    assert {"--project", "-p", "--limit", "-n"} <= set(_documented_arguments(commands["tasks"]))
    assert {"TASK", "--rows"} <= set(_documented_arguments(commands["show"]))


def _commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every command and nested command (``clearml push``) with its parser."""
    found: dict[str, argparse.ArgumentParser] = {}
    for name, sub in _subcommands(parser).items():
        found[prefix + name] = sub
        found.update(_commands(sub, prefix + name + " "))
    return found


def test_nested_commands_are_walked() -> None:
    assert "clearml push" in _commands(cli.build_parser())


@pytest.mark.parametrize(
    "command", sorted(_commands(cli.build_parser())), ids=lambda c: f"chaintrack {c}"
)
def test_every_cli_option_is_in_the_cli_doc(command: str) -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert f"## `chaintrack {command}" in text, f"docs/cli.md has no section for {command!r}"
    parser = _commands(cli.build_parser())[command]
    missing = [name for name in _documented_arguments(parser) if f"`{name}" not in text]
    assert not missing, f"docs/cli.md does not document {missing} of `chaintrack {command}`"


def test_top_level_options_are_in_the_cli_doc() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in _documented_arguments(cli.build_parser()):
        assert f"`chaintrack {name}`" in text or f"`{name}`" in text, name
