"""pogodock: host tools for pogo-pin docks that watch their own contacts.

The firmware is ``dockfw`` and the simulator ``docksim``, packages of their own beside this
one (firmware <- simulator <- host); whatever here runs the firmware imports ``docksim``
first, which makes ``dockfw`` importable under CPython.
"""

__version__ = "0.1.0"
