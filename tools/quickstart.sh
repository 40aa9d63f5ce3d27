#!/usr/bin/env bash
# quickstart.sh: installs what pcom needs, builds it, and runs the calculator sample: a server process and a
# client process making real calls over a Unix socket and over TCP.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S . -B build "${gen[@]}" >/dev/null
cmake --build build -j2 --target calculator_server calculator_client calculator_inproc
echo
echo "== pcomidl compiled samples/calculator/calculator.idl into:"
ls build/samples/calculator_idl_idl/
echo
echo "== the calculator, in one process (\"inproc:\"):"
build/samples/calculator_inproc
echo
echo "== the calculator, a server and a client in two processes:"
samples/calculator/run.sh build/samples/calculator_server build/samples/calculator_client
