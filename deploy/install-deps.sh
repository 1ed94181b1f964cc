#!/usr/bin/env bash
# Install what onloan needs to build, run, test and bench, with apt-get.
# Idempotent: installs only the packages that are missing (and runs
# `apt-get update` only then); prints what it installs.  Debian 12 / Ubuntu.
# Run as root (or with sudo available), non-interactively.
set -euo pipefail

BUILD_PKGS="gcc libc6-dev make pkg-config libevent-dev libhiredis-dev libjansson-dev libyaz-dev libsodium-dev libelf-dev"
# the kiosk: receipt layout (display width, line breaks), QR codes, PNG
BUILD_PKGS="$BUILD_PKGS libunistring-dev libqrencode-dev libpng-dev"
# the dashboard's charts: Chart.js, built into onloand (Makefile: CHARTJS)
BUILD_PKGS="$BUILD_PKGS libjs-chart.js"
RUNTIME_PKGS="redis-server redis-tools idzebra-2.0 yaz"
# the cluster on one machine (deploy/cluster/run.sh, make cluster-test):
# Redis Sentinel, and HAProxy in front of the daemons
RUNTIME_PKGS="$RUNTIME_PKGS redis-sentinel haproxy"
# clang and libclang-rt-dev (libFuzzer, ASan and UBSan runtimes): tests/fuzz;
# systemd: systemd-analyze, which rates deploy/systemd/onloand.service
TEST_PKGS="python3 wrk curl clang libclang-rt-dev systemd"
# the widget in a real browser (tests/browser): Debian's own, for /usr/bin/python3
TEST_PKGS="$TEST_PKGS chromium chromium-driver python3-selenium fonts-dejavu-core"
# the kiosk's QR codes read back (zbarimg)
TEST_PKGS="$TEST_PKGS zbar-tools"
# answers checked against docs/openapi.json (tests/integration/openapi_check.py)
TEST_PKGS="$TEST_PKGS python3-jsonschema"
# GET /metrics read by Prometheus' own parser (tests/integration/prom_parse.py,
# under /usr/bin/python3)
TEST_PKGS="$TEST_PKGS python3-prometheus-client"

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for p in $BUILD_PKGS $RUNTIME_PKGS $TEST_PKGS; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all dependencies present"
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo -E"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
for p in "${missing[@]}"; do
    installed "$p" || { echo "install-deps: $p did not install" >&2; exit 1; }
done
echo "install-deps: done"
