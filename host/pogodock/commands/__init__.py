"""The ``pogodock`` commands, one module each; ``cli`` builds the parser from them.

A command's module is named as the command and says what it does in its docstring: the
first line is its help in ``pogodock --help``, the paragraph after it the description
``pogodock COMMAND --help`` shows; any paragraph after that is for whoever reads the code.
It has ``add_arguments(parser)`` and ``run(args) -> int``, the exit status. A module
imports what its command needs when the command runs: the parser is built for every
command, and a ``pogodock ports`` must not wait for Textual or matplotlib to load.
"""

from __future__ import annotations

from types import ModuleType


def name(command: ModuleType) -> str:
    return command.__name__.rpartition(".")[2]


def _paragraphs(command: ModuleType) -> list[str]:
    return [p.strip() for p in (command.__doc__ or "").split("\n\n")]


def help_line(command: ModuleType) -> str:
    return _paragraphs(command)[0]


def description(command: ModuleType) -> str:
    # argparse fills the text again, so the docstring's line breaks do not show.
    return _paragraphs(command)[1]
