#!/usr/bin/env bash
# Installs the Debian 12 packages the build and the tests need, and only the missing
# ones: a no-op on a machine that already has them. Non-interactive; needs root (or sudo).
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    libpoco-dev libprotobuf-dev protobuf-compiler libyaml-cpp-dev libssl-dev
    libgtest-dev libgmock-dev
    clang-format
    # The Windows platform layer: cross-built with mingw-w64 (GoogleTest from its Debian
    # sources), its tests run under Wine.
    g++-mingw-w64-x86-64-posix googletest wine64
    # The fuzz targets: Clang with libFuzzer and its sanitizers.
    clang libclang-rt-14-dev
    # The installer tests: build and check the deb and rpm, verify the systemd unit, check
    # the WiX and launchd sources.
    lintian rpm systemd adduser init-system-helpers libxml2-utils wixl msitools libplist-utils
    # The dev server's web page test drives a headless browser.
    chromium
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
