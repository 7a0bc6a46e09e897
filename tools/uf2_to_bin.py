"""Turn an RP2040 ``.uf2`` (what micropython.org offers for RPI_PICO) into the raw flash
image tier C loads at offset 0 (``POGODOCK_RP2_IMAGE``).

    python tools/uf2_to_bin.py RPI_PICO-v1.28.0.uf2 RPI_PICO-v1.28.0.bin

A UF2 file is 512-byte blocks, each carrying up to 476 bytes for one flash address
(Microsoft's UF2 specification); the image is their payloads at their addresses from the
start of flash (0x10000000), gaps filled with 0xFF as erased flash reads.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
_FLASH = 0x10000000
_NOT_MAIN_FLASH = 0x00000001
_RP2040_FAMILY = 0xE48BFF56
_FAMILY_PRESENT = 0x00002000


def convert(uf2: bytes) -> bytes:
    if len(uf2) % 512:
        raise ValueError("not a UF2 file: %d bytes, not whole 512-byte blocks" % len(uf2))
    image = bytearray()
    for at in range(0, len(uf2), 512):
        block = uf2[at : at + 512]
        m0, m1, flags, addr, size, _, _, family = struct.unpack_from("<8I", block)
        if (m0, m1) != _MAGIC[:2] or struct.unpack_from("<I", block, 508)[0] != _MAGIC[2]:
            raise ValueError("not a UF2 file: block %d has no UF2 magic" % (at // 512))
        if flags & _NOT_MAIN_FLASH or (flags & _FAMILY_PRESENT and family != _RP2040_FAMILY):
            continue
        if addr < _FLASH or size > 476:
            raise ValueError("block %d: 0x%08x is not in the RP2040's flash" % (at // 512, addr))
        off = addr - _FLASH
        if len(image) < off + size:
            image.extend(b"\xff" * (off + size - len(image)))
        image[off : off + size] = block[32 : 32 + size]
    return bytes(image)


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: python tools/uf2_to_bin.py IN.uf2 OUT.bin", file=sys.stderr)
        return 2
    try:
        data = convert(Path(sys.argv[1]).read_bytes())
    except (OSError, ValueError) as e:
        print("uf2_to_bin: %s" % e, file=sys.stderr)
        return 1
    Path(sys.argv[2]).write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
