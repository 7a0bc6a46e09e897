"""The virtual board: the real MicroPython interpreter as a dock on a pseudo-terminal.

``server`` supervises it (a fresh interpreter per boot, the watchdog, power cuts, the
port), ``interp`` compiles the board's modules for it, ``mp/`` is what runs inside it.
The ``pogodock vboard`` command is ``pogodock.commands.vboard``.
"""
