#!/bin/sh
# The MQTT tests run a real broker that they start themselves: Eclipse Mosquitto.
# `make test` calls this; it installs Debian's package only when no broker is found.
set -e
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
    exit 0
fi
sh "$(dirname "$0")/apt_install.sh" mosquitto \
    "the MQTT tests need mosquitto" \
    "the broker the MQTT tests start" \
    "install it (Debian/Ubuntu: apt-get install mosquitto, macOS: brew install mosquitto) and run make again"
echo "setup: mosquitto installed. Where systemd runs, Debian also starts a system broker on" \
    "port 1883 (systemctl disable --now mosquitto stops it); the tests start their own."
