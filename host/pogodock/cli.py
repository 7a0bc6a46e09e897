"""The ``pogodock`` command line. Errors are one sentence on stderr, never a traceback.

Each command is a module of ``pogodock.commands`` (its help is its docstring); this one
builds the parser from them and turns what a command raises into an exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType

from dockfw.board import BoardError

from pogodock import commands
from pogodock.commands import (
    cleaned,
    clear,
    config,
    export,
    info,
    monitor,
    plot,
    ports,
    reboot,
    replay,
    sim,
    vboard,
)
from pogodock.commands.usage import UsageError

# In the order ``pogodock --help`` lists them.
COMMANDS: tuple[ModuleType, ...] = (
    ports,
    monitor,
    sim,
    vboard,
    config,
    cleaned,
    clear,
    reboot,
    info,
    replay,
    export,
    plot,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pogodock", description="Watch the contacts of a pogo-pin charging dock."
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the host's version, and the firmware's when a dock answers",
    )
    parser.add_argument(
        "--port",
        dest="version_port",
        metavar="P",
        help="with --version: the dock's serial port (default: auto-detect)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(
            commands.name(command),
            help=commands.help_line(command),
            description=commands.description(command),
        )
        command.add_arguments(p)
        p.set_defaults(func=command.run)
    return parser


def _known_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(errors of the command line: status 2, errors of what it met: status 1)."""
    from docksim.scenario import ScenarioError

    from pogodock.link.dockcmd import DockError
    from pogodock.link.ports import PortError
    from pogodock.recordings.plot import PlotError
    from pogodock.recordings.replay import RecordingError
    from pogodock.virtual.ptylink import LinkError

    usage = (UsageError, LinkError)
    return usage, (BoardError, ScenarioError, PortError, RecordingError, PlotError, DockError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from pogodock.commands import version

        # Through the same error handling as a command (a Ctrl-C, a port that fails
        # in a way the version check does not expect).
        args.command = "--version"
        args.func = lambda a: version.run(a.version_port)
    elif args.version_port:
        parser.error("--port before the command goes with --version; put it after the command")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    usage_errors, failures = _known_errors()
    known = usage_errors + failures
    try:
        return args.func(args)
    except known as e:
        print("pogodock %s: %s" % (args.command, e), file=sys.stderr)
        return 2 if isinstance(e, usage_errors) else 1
    except BrokenPipeError:
        try:  # stdout went away (| head): quietly stop
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        where = " (%s)" % e.filename if getattr(e, "filename", None) else ""
        print("pogodock %s: %s%s" % (args.command, e.strerror or e, where), file=sys.stderr)
        return 1
    except Exception as e:
        print(
            "pogodock %s: unexpected error: %s: %s" % (args.command, type(e).__name__, e),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
