#!/usr/bin/env bash
# quickstart.sh: installs what pcom needs, builds it, and runs the calculator sample.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S . -B build "${gen[@]}" >/dev/null
cmake --build build -j2 --target calculator_inproc pcomidl
echo
echo "== pcomidl compiled samples/calculator/calculator.idl into:"
ls build/samples/calculator_idl_idl/
echo
echo "== the generated call macros of ICalculator:"
grep '^#define ICalculator_' build/samples/calculator_idl_idl/calculator.h
echo
echo "== the calculator sample:"
build/samples/calculator_inproc
