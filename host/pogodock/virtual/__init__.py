"""Virtual docks: a dock's serial stream without a dock.

``simrun`` runs the firmware's own modules under CPython against the simulator
(``pogodock sim``), ``pty_serve`` puts that on a pseudo-terminal (``sim --pty``), and
``vboard`` runs the real MicroPython interpreter behind one (``pogodock vboard``).
"""
