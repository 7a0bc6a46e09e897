"""The ``micropython`` module of the virtual board: the interpreter's own, with ``kbd_intr``
reported to the supervisor.

On a board, ``micropython.kbd_intr(-1)`` makes Ctrl-C an ordinary byte until the
running code ends (mpremote's ``mount`` does this while it moves file data, which can
hold 0x03). Here Ctrl-C is turned into SIGINT by the supervisor, so it must know: the
call is passed on as the console's state. The unix port's own ``kbd_intr(-1)`` is
never called: it would make the next SIGINT end the interpreter.
"""

import micropython as _builtin

for _name in dir(_builtin):
    if not _name.startswith("__"):
        globals()[_name] = getattr(_builtin, _name)

_console = None  # vb_console.Console, set by attach()


def attach(console):
    global _console
    _console = console


def kbd_intr(char):
    if _console is not None:
        _console.kbd_intr(char)
