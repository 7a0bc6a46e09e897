"""docksim: the dock simulator, the hardware the firmware (``dockfw``) runs on when there is
no board: clock, I2C bus, INA219s, the dock's circuit, flash and power, played from a
scenario. It runs under CPython (the host's ``pogodock sim``, the tests) and under
MicroPython (test tier B, the virtual board), beside the very firmware modules a board runs.

The firmware imports ``micropython`` for ``const``, ``native`` and ``viper``; CPython has no
such module, so importing docksim first makes dockfw importable under CPython: a stand-in
(``docksim.mpstub``) is installed as ``micropython`` here. Under MicroPython the real one
is left alone.
"""

import sys

if sys.implementation.name != "micropython":
    # CPython: always this stand-in, even where another package ships a ``micropython``
    # module (Adafruit Blinka's refuses ``@micropython.viper``, which the firmware uses).
    from . import mpstub

    sys.modules["micropython"] = mpstub
