#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages pcom needs to build, test and fuzz.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  gcc g++ clang libclang-rt-14-dev
  libcmocka-dev libprotobuf-c-dev protobuf-c-compiler libtirpc-dev rpcsvc-proto libssl-dev
  valgrind
)
as_root=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: ok"
