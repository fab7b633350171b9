#!/usr/bin/env bash
# The CMake files list their sources and tests by name (no file(GLOB)): every
# source file in the tree is compiled into the build in $XCA_BUILD_DIR and
# every test file is registered with CTest, so a file added without its line
# in a CMakeLists.txt is noticed here instead of silently left out.
# shellcheck disable=SC2317 # the helpers below are called through xca_check
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xca_setup

SRC=$XCA_SOURCE_DIR
BUILD=$XCA_BUILD_DIR

# compiled BUILDDIR TARGET SRCDIR: every SRCDIR/*.c has an object file of
# TARGET, which is defined in BUILDDIR's CMakeLists.txt.
compiled() {
    local src missing=0
    for src in "$SRC/$3"/*.c; do
        if [[ ! -f $BUILD/$1/CMakeFiles/$2.dir/${src#"$SRC/$1/"}.o ]]; then
            echo "not compiled into $2: ${src#"$SRC"/}"
            missing=1
        fi
    done
    return "$missing"
}

# executables DIR [PREFIX]: every DIR/*.c is built as an executable
# (PREFIX strips a subdirectory of DIR from the build path).
executables() {
    local src name missing=0
    for src in "$SRC/$1"/*.c; do
        name=${src##*/}
        name=${name%.c}
        if [[ ! -x $BUILD/${2:-$1}/$name ]]; then
            echo "not built: ${src#"$SRC"/}"
            missing=1
        fi
    done
    return "$missing"
}

# registered GLOB PREFIX STRIP [TREE]: every file matching GLOB (relative to
# TREE, default the source tree) is a CTest test named PREFIX<file name
# minus STRIP and its extension>.
registered() {
    local file name tests tree=${4:-$SRC} missing=0
    tests=$(cd "$BUILD" && ctest -N | sed -n 's/^ *Test *#[0-9]*: //p')
    for file in "$tree"/$1; do
        name=${file##*/}
        name=${name%.*}
        name=$2${name#"$3"}
        if ! grep -qx -- "$name" <<<"$tests"; then
            echo "not registered: ${file#"$tree"/} (expected test $name)"
            missing=1
        fi
    done
    return "$missing"
}

# The check finds a test file that is not listed: a copy of the file names
# of tests/integration plus one more.
notices_unlisted() {
    local tree=$XCA_TMP/tree file
    mkdir -p "$tree/tests/integration"
    for file in "$SRC"/tests/integration/test_*.sh; do
        : >"$tree/tests/integration/${file##*/}"
    done
    registered 'tests/integration/test_*.sh' integration- test_ "$tree" || return 1
    : >"$tree/tests/integration/test_zz_unlisted.sh"
    ! registered 'tests/integration/test_*.sh' integration- test_ "$tree"
}

xca_check "every common/*.c is compiled into xca_common" compiled common xca_common common
xca_check "every plugin/*.c is compiled into the plugin" \
    compiled plugin mosquitto_x509ca plugin
xca_check "every tests/unit/support/*.c is compiled into xca_unit_support" \
    compiled tests/unit xca_unit_support tests/unit/support
xca_check "every tests/lib/*.c is compiled into xca_testlib" \
    compiled tests/lib xca_testlib tests/lib
xca_check "every tests/bench/*.c is built" executables tests/bench
xca_check "every tests/integration/clients/*.c is built" \
    executables tests/integration/clients tests/integration
xca_check "every tests/unit/test_*.c is registered" registered 'tests/unit/test_*.c' unit- test_
xca_check "every tests/integration/test_*.sh is registered" \
    registered 'tests/integration/test_*.sh' integration- test_
xca_check "every tests/fuzz/fuzz_*.c is registered" registered 'tests/fuzz/fuzz_*.c' fuzz- fuzz_
xca_check "a test file left out of the list is noticed" notices_unlisted
xca_done
