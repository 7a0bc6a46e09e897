#!/bin/sh
# Installs one Debian package the tests need, with apt-get, as root or through sudo -n.
# tools/ensure_mosquitto.sh and tools/ensure_prometheus.sh run it once they have found
# their programs missing:
#   sh tools/apt_install.sh PACKAGE NEED WHAT HOWTO
# NEED says what the tests need ("the MQTT tests need mosquitto"), WHAT what the package
# gives them (said while installing), HOWTO how to install it by hand.
set -e
PACKAGE=$1
NEED=$2
WHAT=$3
HOWTO=$4
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "setup: $NEED, and installing $PACKAGE needs root; $HOWTO" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: $NEED and this system has no apt-get; $HOWTO" >&2
    exit 1
fi
echo "setup: installing $PACKAGE ($WHAT)"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the first try fails.
$SUDO apt-get install -y -q --no-install-recommends "$PACKAGE" >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends "$PACKAGE" >/dev/null
}
