#!/bin/sh
# The MQTT tests run a real broker that they start themselves: Eclipse Mosquitto.
# `make setup` calls this; it installs Debian's package only when no broker is found.
set -e
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
else
    echo "setup: the MQTT tests need mosquitto; install it (Debian/Ubuntu: apt-get install mosquitto, macOS: brew install mosquitto) and run make again" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: the MQTT tests need mosquitto and this system has no apt-get; install mosquitto with its package manager and run make again" >&2
    exit 1
fi
echo "setup: installing mosquitto (the broker the MQTT tests start)"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the first try fails.
$SUDO apt-get install -y -q --no-install-recommends mosquitto >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends mosquitto >/dev/null
}
# Debian's package starts a system broker where it can; the tests use their own.
