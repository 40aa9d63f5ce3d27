#!/usr/bin/env bash
# test_add_idl.sh: pcom_add_idl in a project of its own: outputs build, a second build does nothing,
# and editing an imported IDL file reruns pcomidl on the file that imports it.
# usage: test_add_idl.sh SOURCE_DIR PCOMIDL WORK_DIR
set -uo pipefail
src=$1 pcomidl=$2 work=$3
rm -rf "$work"
mkdir -p "$work/proj"
cd "$work/proj" || exit 1
passed=0 failed=0
check() {
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok - $name"; else failed=$((failed + 1)); echo "not ok - $name"; fi
}

cat > CMakeLists.txt <<EOF2
cmake_minimum_required(VERSION 3.20)
project(addidl C)
add_executable(pcomidl IMPORTED)
set_target_properties(pcomidl PROPERTIES IMPORTED_LOCATION "$pcomidl")
add_library(pcom_headers INTERFACE)
target_include_directories(pcom_headers INTERFACE "$src/runtime/include" "$work/proj")
include("$src/cmake/PcomIdl.cmake")
pcom_add_idl(app_idl FILES a.idl b.idl)
add_executable(app main.c)
target_link_libraries(app PRIVATE app_idl)
EOF2
printf 'import "pcom.idl";\ntypedef long T;\n' > b.idl
printf 'import "b.idl";\n[object, uuid(5d0c9a2e-1b3f-4c6d-8e7f-90a1b2c3d4e5)]\ninterface IApp : IUnknown { HRESULT F([in] T v); }\n' > a.idl
printf '#include "a.h"\nint main(void) { return sizeof(IID_IApp) == 16 ? 0 : 1; }\n' > main.c
"$pcomidl" -o . "$src/idl/std/pcom.idl" # the header a.h's import of pcom.idl includes

cmake -S . -B build -G Ninja >/dev/null; rc=$?
check "configure" test $rc = 0
cmake --build build > build1.log 2>&1; rc=$?
check "first build" test $rc = 0
check "the program runs" build/app
cmake --build build > build2.log 2>&1
check "second build has no work" grep -q 'no work to do' build2.log

printf 'import "pcom.idl";\ntypedef long U;\n' > b.idl
cmake --build build > build3.log 2>&1; rc=$?
check "editing the import reruns pcomidl on the importer (which now fails)" test $rc != 0
check "the failure is a.idl's missing type" grep -q "a.idl:3:.*unknown type name 'T'" build3.log
printf 'import "pcom.idl";\ntypedef short T;\n' > b.idl
cmake --build build > build4.log 2>&1; rc=$?
check "fixing the import rebuilds" test $rc = 0
check "the rebuilt program runs" build/app

echo "$passed passed, $failed failed"
test $failed = 0
