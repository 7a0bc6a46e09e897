#!/bin/sh
# The Prometheus tests run the real server and its promtool, started by the tests
# themselves. `make test` calls this; it installs Debian's package (the server and
# promtool, ~100 MB, without the recommended exporters) only when promtool is missing.
set -e
if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    exit 0
fi
sh "$(dirname "$0")/apt_install.sh" prometheus \
    "the Prometheus tests need prometheus and promtool" \
    "the server and promtool the Prometheus tests start" \
    "install it (Debian/Ubuntu: apt-get install --no-install-recommends prometheus; elsewhere the release archive from prometheus.io, with promtool and prometheus on PATH) and run make again"
echo "setup: prometheus installed. Where systemd runs, Debian also starts a system server on" \
    "port 9090 (systemctl disable --now prometheus stops it); the tests start their own."
