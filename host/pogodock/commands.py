"""Names of the host-to-device commands the host tools send.

``dockfw.protocol`` is the one definition of the protocol. It names the
commands it defines as ``CMD_*`` constants once the firmware has them; until
then the names the firmware is expected to use stand here as fallbacks, so
that the host never disagrees with the firmware once it defines them.
"""

from __future__ import annotations

from dockfw import protocol

import pogodock  # noqa: F401  (micropython shim before dockfw loads)

INFO: str = getattr(protocol, "CMD_INFO", "info")
CLEAR: str = getattr(protocol, "CMD_CLEAR", "clear")
CHARGE: str = getattr(protocol, "CMD_CHARGE", "charge")
CLEANED: str = getattr(protocol, "CMD_CLEANED", "cleaned")
