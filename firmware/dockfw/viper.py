"""Machine code where the build makes it: ``@native``, ``@viper`` and viper's pointer casts.

The firmware's sources name their machine-code functions ``@native`` and ``@viper``
(these identity decorators), so that every file is plain Python that any mpy-cross and
any Python compile. ``tools/compile_firmware.py`` (``make flash``, tier B, the virtual
board) turns them into ``@micropython.native`` / ``@micropython.viper`` as it compiles
for one architecture (``mpy-cross -march``): machine code on the board, bytecode from a
plain ``mpy-cross``, the identity on CPython.

Inside a ``@micropython.viper`` function MicroPython's compiler takes ``ptr8(buf)`` and
``ptr32(buf)`` as casts to a raw pointer into the buffer, whatever the names are bound
to here. Everywhere else (bytecode, CPython) they are
these functions, and the array indexes as the pointer does.

``ptr32`` goes over ``array("i")``. On the RP2040 a load is the signed 32-bit value; a
64-bit host's viper (the unix port: tier B, the virtual board) loads it without its
sign, so a value that can be negative is loaded as ``((p[j] ^ sign) & low32) - sign``
with ``sign = 1 << 31`` and ``low32 = (sign << 1) - 1`` computed at run time (as
constants they are no small ints on the board): the identity on the board's 32 bits
and on CPython's signed values, the sign extension on a 64-bit host. Sums stored back
need none (a store keeps the low 32 bits). ``ptr8`` reads bytes unsigned: only over
``array("b")`` whose values stay in 0..127. Viper's ints are machine words: the code
using them keeps every value below 2**30, where they compute what Python's ints do.
"""


def ptr8(buf):
    return buf


def ptr32(buf):
    return buf


def native(f):
    return f


def viper(f):
    return f
