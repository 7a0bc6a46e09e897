#!/bin/sh
# The MQTT tests run a real broker that they start themselves: Eclipse Mosquitto.
# `make test` calls this; it installs Debian's package only when no broker is found.
set -e
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
    exit 0
fi
HOWTO="install it (Debian/Ubuntu: apt-get install mosquitto, macOS: brew install mosquitto) and run make again"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "setup: the MQTT tests need mosquitto, and installing it needs root; $HOWTO" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: the MQTT tests need mosquitto and this system has no apt-get; $HOWTO" >&2
    exit 1
fi
echo "setup: installing mosquitto (the broker the MQTT tests start)"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the first try fails.
$SUDO apt-get install -y -q --no-install-recommends mosquitto >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends mosquitto >/dev/null
}
echo "setup: mosquitto installed. Where systemd runs, Debian also starts a system broker on" \
    "port 1883 (systemctl disable --now mosquitto stops it); the tests start their own."
