#!/bin/sh
# The Prometheus tests run the real server and its promtool, started by the tests
# themselves. `make test` calls this; it installs Debian's package (the server and
# promtool, ~100 MB, without the recommended exporters) only when promtool is missing.
set -e
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    exit 0
fi
HOWTO="install it (Debian/Ubuntu: apt-get install --no-install-recommends prometheus; elsewhere the release archive from prometheus.io, with promtool and prometheus on PATH) and run make again"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "setup: the Prometheus tests need prometheus and promtool, and installing them needs root; $HOWTO" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: the Prometheus tests need prometheus and promtool and this system has no apt-get; $HOWTO" >&2
    exit 1
fi
echo "setup: installing prometheus (the server and promtool the Prometheus tests start)"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the first try fails.
$SUDO apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends prometheus >/dev/null
}
echo "setup: prometheus installed. Where systemd runs, Debian also starts a system server on" \
    "port 9090 (systemctl disable --now prometheus stops it); the tests start their own."
