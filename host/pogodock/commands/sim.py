"""run the real firmware against a simulated dock

Run the firmware's own modules against a simulated dock described by a scenario file; the
device's serial stream goes to stdout, host commands are read from stdin. With --pty the
dock is served on a pseudo-terminal whose path is the first line of stdout; --link PATH
also names it by a symlink that lasts as long as the dock is served.

With ``--pty`` nobody need be listening: this process holds the terminal's other side
open itself (``virtual.pty_serve``), so the dock talks on as a board with a host attached
does, what no host reads queues in the terminal and then in the firmware's output queue,
which drops whole lines, counted, when it is full. ``pogodock vboard`` does the opposite,
as a Pico without DTR: while no host has its port open the board's output is dropped.
"""

from __future__ import annotations

import argparse
import os

from pogodock.commands.subscribers import close_recorder, open_recorder
from pogodock.commands.usage import UsageError, positive_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pogodock import paths

    parser.add_argument(
        "--scenario",
        required=True,
        metavar="FILE",
        help="scenario JSON file, or the name of an example that comes with pogodock (%s)"
        % ", ".join(paths.scenario_names()),
    )
    parser.add_argument(
        "--fast", action="store_true", help="run simulated time as fast as the CPU allows"
    )
    parser.add_argument(
        "--pty", action="store_true", help="serve the virtual dock on a pseudo-terminal"
    )
    parser.add_argument(
        "--link",
        metavar="PATH",
        help="with --pty: also name the pseudo-terminal by a symlink at PATH (printed "
        "instead of the pty's own path), removed when the sim ends, so that a host "
        "following PATH finds nothing there after the dock has gone",
    )
    parser.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        metavar="X",
        help="without --fast: run simulated time X times faster than real time (default 1)",
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="also append every line the dock writes to this JSONL recording, as monitor "
        "--record does (without --pty)",
    )
    parser.add_argument(
        "--boot-seed",
        type=int,
        metavar="N",
        help="derive the boot ids from N, so that a run repeats exactly (default: a random "
        "boot id at every boot, as a board's)",
    )


def scenario_path(arg: str) -> str:
    from pogodock import paths

    path = paths.scenario(arg)
    if not os.path.exists(path):
        raise UsageError(
            "no scenario file %s; the examples that come with pogodock are: %s"
            % (arg, ", ".join(paths.scenario_names()) or "none")
        )
    return path


def check_link(link: str, pty: bool) -> None:
    """--link names a symlink this command may make and remove, or says why not."""
    from pogodock.virtual import ptylink

    if not pty:
        raise UsageError("--link names the pseudo-terminal of --pty; add --pty")
    why = ptylink.refusal(link)
    if why:
        raise UsageError(why)


def run(args: argparse.Namespace) -> int:
    if args.record == "":  # (a shell variable left unset) would record nothing, unsaid
        raise UsageError("--record was given an empty value")
    args.scenario = scenario_path(args.scenario)
    if args.link:
        check_link(args.link, args.pty)
    if args.pty:
        if args.record:
            raise UsageError(
                "--record works without --pty; to record a dock served on a pty, run "
                "pogodock monitor --port PATH --record FILE"
            )
        from pogodock.interrupts import sigterm_as_interrupt
        from pogodock.virtual import pty_serve

        sigterm_as_interrupt()  # so that the link goes when a service manager stops the sim
        return pty_serve.serve(
            args.scenario,
            fast=args.fast,
            speed=args.speed,
            boot_seed=args.boot_seed,
            link=args.link,
        )
    from pogodock.virtual import simrun

    recorder = open_recorder(args.record, goes_on="the sim") if args.record else None
    try:
        status = simrun.run_stdio(
            args.scenario,
            fast=args.fast,
            speed=args.speed,
            boot_seed=args.boot_seed,
            recorder=recorder,
        )
    finally:
        if recorder is not None:
            close_recorder(recorder)
    # The stream on stdout is whole, but the recording asked for is not: a script that
    # checks the status must not take it for complete.
    if status == 0 and recorder is not None and recorder.errors:
        return 1
    return status
