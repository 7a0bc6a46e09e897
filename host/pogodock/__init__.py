"""pogodock: host tools and simulator for pogo-pin docks that watch their own contacts.

The firmware package (``dockfw``) imports ``micropython`` for ``const``, ``native`` and
``viper``; under CPython a small stand-in is installed here, so importing ``pogodock``
first makes every firmware module importable on the desktop. This file must stay importable
under MicroPython too (the simulator runs there in the test tier B).
"""

__version__ = "0.1.0"

import sys

if sys.implementation.name != "micropython":
    # CPython: always this stand-in, even where another package ships a ``micropython``
    # module (Adafruit Blinka's refuses ``@micropython.viper``, which the firmware uses).
    from . import mpshim

    sys.modules["micropython"] = mpshim
