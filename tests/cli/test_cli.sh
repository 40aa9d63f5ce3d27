#!/usr/bin/env bash
# test_cli.sh: pcomidl's command line: exit codes, help, outputs written whole or not at all,
# unchanged outputs left alone, depfiles, locations through the preprocessor.
# usage: test_cli.sh PCOMIDL WORK_DIR
set -uo pipefail
pcomidl=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
bad() { failed=$((failed + 1)); echo "not ok - $1"; }
check() { # check NAME COMMAND...: passes when the command succeeds
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

cat > good.idl <<'IDL'
import "pcom.idl";
#include "limits.h.idl"
[object, uuid(0b6c4f52-6d7e-4f0a-9b3c-2a1d5e6f7a80)]
interface IGood : IUnknown { HRESULT Get([out] long v[MAX_V]); }
IDL
echo '#define MAX_V 8' > limits.h.idl
cat > bad.idl <<'IDL'
import "pcom.idl";
#define WIDTH 4
/* a comment
   over lines */
[object, uuid(0b6c4f52-6d7e-4f0a-9b3c-2a1d5e6f7a81)]
interface IBad : IUnknown {
    HRESULT   Get([out]   long    value);
    HRESULT Put([in] Missing m);
}
IDL

"$pcomidl" --help > help.txt 2>&1; rc=$?
check "--help exits 0" test $rc = 0
check "--help prints usage on stdout" grep -q '^usage: pcomidl' help.txt
"$pcomidl" --version > version.txt; rc=$?
check "--version exits 0 and names the program" test $rc = 0 -a "$(cut -d' ' -f1 version.txt)" = pcomidl

"$pcomidl" 2> err.txt; rc=$?
check "no input: exit 2" test $rc = 2
"$pcomidl" --bogus good.idl 2> err.txt; rc=$?
check "unknown option: exit 2" test $rc = 2
check "unknown option is named" grep -q "unknown option '--bogus'" err.txt
"$pcomidl" -o out missing.idl 2> err.txt; rc=$?
check "missing input file: exit 2" test $rc = 2
"$pcomidl" -o /nonexistent/dir good.idl 2> err.txt; rc=$?
check "unwritable output: exit 2" test $rc = 2
check "nothing left behind in an unwritable folder" test ! -e /nonexistent/dir

mkdir -p out
"$pcomidl" -o out -M good.idl; rc=$?
check "good file: exit 0" test $rc = 0
check "header written" test -s out/good.h
check "GUID file written" test -s out/good_i.c
check "proxy/stub file written" test -s out/good_p.c
check "proxy/stub file includes the header" grep -q '^#include "good.h"' out/good_p.c
check "proxy/stub file registers the interface" grep -q 'IGood_ProxyInfo,' out/good_p.c
check "proxy/stub file is named after the IDL file" grep -q '^const struct pcom_interface_info \*const good_ProxyFileInfo\[\]' out/good_p.c
check "--help names --proxy" grep -q -- '--proxy FILE' help.txt
check "-M writes out/good.d" test -s out/good.d
check "depfile names the #include'd file" grep -q 'limits.h.idl' out/good.d
check "depfile names the imported pcom.idl" grep -q 'pcom.idl' out/good.d
check "depfile targets are the outputs" grep -q '^out/good.h out/good_i.c out/good_p.c:' out/good.d
check "the #define reached the header" grep -q 'v\[8\]' out/good.h
check "no temporary files left" test -z "$(ls out | grep tmp)"

touch -d '2001-01-01 00:00' out/good.h out/good_i.c out/good_p.c
"$pcomidl" -o out good.idl
check "unchanged header is not rewritten" test "$(stat -c %Y out/good.h)" = "$(date -d '2001-01-01 00:00' +%s)"
check "unchanged GUID file is not rewritten" test "$(stat -c %Y out/good_i.c)" = "$(date -d '2001-01-01 00:00' +%s)"
check "unchanged proxy/stub file is not rewritten" test "$(stat -c %Y out/good_p.c)" = "$(date -d '2001-01-01 00:00' +%s)"
echo '#define MAX_V 9' > limits.h.idl
"$pcomidl" -o out good.idl
check "changed header is rewritten" grep -q 'v\[9\]' out/good.h
check "changed proxy/stub file is rewritten" grep -q 'sizeof(int32_t\[9\])' out/good_p.c

"$pcomidl" --header custom/x.h -o out good.idl 2> err.txt; rc=$?
check "header in a missing folder: exit 2" test $rc = 2
mkdir -p custom
"$pcomidl" --header custom/x.h --iid custom/x_i.c --proxy custom/x_p.c --depfile custom/x.d good.idl; rc=$?
check "--header/--iid/--proxy/--depfile: exit 0" \
  test $rc = 0 -a -s custom/x.h -a -s custom/x_i.c -a -s custom/x_p.c -a -s custom/x.d
check "guard follows the header name" grep -q 'PCOMIDL_X_H_' custom/x.h
check "proxy/stub file includes the header by its name" grep -q '^#include "x.h"' custom/x_p.c
check "depfile targets name --proxy's file" grep -q '^custom/x.h custom/x_i.c custom/x_p.c:' custom/x.d
"$pcomidl" --proxy= good.idl 2> err.txt; rc=$?
check "--proxy without a file name: exit 2" test $rc = 2
mkdir -p partial
"$pcomidl" -o partial --proxy missing/x_p.c good.idl 2> err.txt; rc=$?
check "proxy/stub file in a missing folder: exit 2" test $rc = 2
check "proxy/stub file in a missing folder is named" grep -q "cannot write 'missing/x_p.c'" err.txt
check "proxy/stub file in a missing folder: no header or GUID file either" test -z "$(ls partial)"

"$pcomidl" -o out -M bad.idl 2> err.txt; rc=$?
check "bad file: exit 1" test $rc = 1
check "error located through cpp: line and column of the user's file" \
  grep -q "bad.idl:7:35: error: \[out\] parameter 'value' is not a pointer" err.txt
check "second error in the same run" grep -q "bad.idl:8:22: error: unknown type name 'Missing'" err.txt
check "bad file leaves no header" test ! -e out/bad.h
check "bad file leaves no GUID file" test ! -e out/bad_i.c
check "bad file leaves no proxy/stub file" test ! -e out/bad_p.c
check "bad file leaves no depfile" test ! -e out/bad.d

printf 'import "pcom.idl";\n[object, uuid(0b6c4f52-6d7e-4f0a-9b3c-2a1d5e6f7a82)]\ninterface IWarn : IUnknown { long Get(void); }\n' > warn.idl
"$pcomidl" -o out warn.idl 2> err.txt; rc=$?
check "warning alone: exit 0" test $rc = 0
check "warning is printed" grep -q 'warn.idl:3:35: warning: remotable method' err.txt
"$pcomidl" -Werror -o out warn.idl 2> err.txt; rc=$?
check "-Werror turns the warning into exit 1" test $rc = 1

"$pcomidl" -DMAX_V=3 -o out -I . good.idl 2> err.txt; rc=$?
check "-D reaches the preprocessor (redefinition warning from cpp is fine)" test $rc = 0

printf 'import "nothere.idl";\n' > imp.idl
"$pcomidl" -o out imp.idl 2> err.txt; rc=$?
check "missing import: exit 1" test $rc = 1
check "missing import located" grep -q "imp.idl:1:8: error: cannot find imported file 'nothere.idl'" err.txt

mkdir -p inc
printf 'import "pcom.idl";\ntypedef long SHARED_T;\n' > inc/shared.idl
printf 'import "shared.idl";\n[object, uuid(0b6c4f52-6d7e-4f0a-9b3c-2a1d5e6f7a83)]\ninterface IUse : IUnknown { HRESULT F([in] SHARED_T v); }\n' > use.idl
"$pcomidl" -o out use.idl 2> err.txt; rc=$?
check "import not on the path: exit 1" test $rc = 1
"$pcomidl" -I inc -o out -M use.idl; rc=$?
check "import found through -I" test $rc = 0
check "header includes the imported header" grep -q '#include "shared.h"' out/use.h
check "depfile names the import found through -I" grep -q 'inc/shared.idl' out/use.d

echo "$passed passed, $failed failed"
test $failed = 0
