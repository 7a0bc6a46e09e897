# The firmware's file set, in MicroPython's manifest language (docs/reference/manifest.rst),
# so that it is written down once. Read by MicroPython's build to freeze the firmware into
# an image (ports/rp2: make BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/firmware/manifest.py),
# by tools/flash.py (`make flash`) for what it compiles and copies, and mirrored, file for
# file, by package.json for mip (tests/test_manifest.py keeps the two equal). Neither this
# file nor package.json goes on the board.

metadata(description="pogodock: firmware for a pogo-pin charging dock", version="0.3.0")

# An image frozen from this manifest alone would lose the port's own frozen modules, and
# rp2's _boot.py among them mounts the filesystem that holds board.json and /state/ (a
# board manifest that includes the port's too gets it once: includes are not repeated).
# tools/flash.py reads it with port=False: a board running MicroPython has those already.
options.defaults(port=True)
if options.port:
    include("$(PORT_DIR)/boards/manifest.py")

module("main.py")
package("dockfw")
