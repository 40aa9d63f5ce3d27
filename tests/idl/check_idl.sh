#!/usr/bin/env bash
# check_idl.sh: compile one corpus IDL file, compare the outputs with the golden copies, and compile the
# generated header, GUID file and proxy/stub file with gcc, clang and g++ with warnings as errors.
# usage: check_idl.sh PCOMIDL FILE.idl GOLDEN_DIR RUNTIME_INCLUDE WORK_DIR
# PCOM_UPDATE_GOLDEN=1 rewrites the golden copies instead of comparing.
set -euo pipefail
pcomidl=$1 idl=$2 golden=$3 rtinc=$4 work=$5
name=$(basename "$idl" .idl)
out="$work/$name"
rm -rf "$out"
mkdir -p "$out"

"$pcomidl" -Werror -I "$(dirname "$idl")" -o "$out" "$idl"

# headers of imported corpus files, so this header's #includes resolve
for dep in $(sed -n 's/^import *"\([^"]*\)\.idl".*/\1/p' "$idl"); do
  [ "$dep" = pcom ] && continue
  "$pcomidl" -I "$(dirname "$idl")" -o "$out" "$(dirname "$idl")/$dep.idl"
done
"$pcomidl" -o "$out" "$(dirname "$0")/../../idl/std/pcom.idl"

for f in "$name.h" "${name}_i.c" "${name}_p.c"; do
  if [ "${PCOM_UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$out/$f" "$golden/$f"
  elif ! diff -u "$golden/$f" "$out/$f"; then
    echo "FAIL: $f differs from its golden copy (PCOM_UPDATE_GOLDEN=1 to accept)" >&2
    exit 1
  fi
done

printf '#include "%s.h"\n' "$name" > "$out/use.c"
flags=(-Wall -Wextra -Wpedantic -Werror -I "$out" -I "$rtinc")
for cc in gcc clang; do
  command -v $cc >/dev/null || { echo "FAIL: $cc is not installed" >&2; exit 1; }
  $cc -std=c11 "${flags[@]}" -fsyntax-only "$out/use.c"
  $cc -std=c11 "${flags[@]}" -c "$out/${name}_i.c" -o "$out/${name}_i.$cc.o"
  $cc -std=c11 "${flags[@]}" -c "$out/${name}_p.c" -o "$out/${name}_p.$cc.o"
done
command -v g++ >/dev/null || { echo "FAIL: g++ is not installed" >&2; exit 1; }
g++ -std=c++17 "${flags[@]}" -fsyntax-only -x c++ "$out/use.c"
g++ -std=c++17 "${flags[@]}" -c -x c++ "$out/${name}_i.c" -o "$out/${name}_i.gxx.o"
g++ -std=c++17 "${flags[@]}" -c -x c++ "$out/${name}_p.c" -o "$out/${name}_p.gxx.o"

# the proxy file defines nothing beyond its tables: the interfaces' infos, the file's list, and the remote
# halves of [call_as] methods
extra=$(nm -g --defined-only "$out/${name}_p.gcc.o" | awk '{print $3}' |
        grep -v -e '_ProxyInfo$' -e '_ProxyFileInfo$' -e '_Proxy$' || true)
if [ -n "$extra" ]; then
  echo "FAIL: ${name}_p.c exports more than its tables: $extra" >&2
  exit 1
fi
echo "ok: $name"
