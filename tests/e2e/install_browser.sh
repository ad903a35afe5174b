#!/usr/bin/env bash
# Debian's chromium for the real-browser tests (tests/e2e), installed only when missing and we are root.
# Never fails the test command: without chromium those tests skip and say how to install it.
set -uo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: chromium is missing and this is not root on a Debian-like system;" \
         "the real-browser tests will skip. Install it with: sudo apt-get install -y chromium" >&2
    exit 0
fi
echo "install_browser: installing Debian's chromium for the real-browser tests ..." >&2
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    echo "install_browser: apt-get could not install chromium; the real-browser tests will skip." >&2
fi
exit 0
