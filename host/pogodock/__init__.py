"""pogodock: host tools and simulator for pogo-pin docks that watch their own contacts.

The firmware package (``dockfw``) imports ``micropython`` for ``const``; under
CPython a small stand-in is installed here, so importing ``pogodock`` first makes
every firmware module importable on the desktop. This file must stay importable
under MicroPython too (the simulator runs there in the test tier B).
"""

__version__ = "0.1.0"

try:
    import micropython  # noqa: F401
except ImportError:  # CPython
    import sys

    from . import mpshim

    sys.modules["micropython"] = mpshim
