#!/usr/bin/env bash
# The Debian package (README "Install on a Debian broker"): a fresh build with
# -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX=/usr configures without cmocka
# (its pkg-config file hidden) and builds the plugin alone; `cmake --install`
# and `cpack -G DEB` put the plugin next to Debian's
# mosquitto_dynamic_security.so, the two scripts in /usr/bin and the conf.d
# example in /etc/mosquitto/conf.d; the package names its dependencies; the
# plugin exports only mosquitto_plugin_*; and the plugin as installed (by
# `dpkg -x` into a temporary root) runs in a real broker: a device
# registered with the installed x509ca-admin is accepted, an unregistered
# one refused with the reason logged.
# shellcheck disable=SC2317 # the helpers below are called through xca_check
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xca_setup

BUILD=$XCA_TMP/build        # the fresh build directory
ROOT=$XCA_TMP/root          # where dpkg -x unpacks the package
DESTDIR_ROOT=$XCA_TMP/destdir
PC_DIR=$XCA_TMP/pkgconfig   # every system .pc file except cmocka's

# Where Debian's Mosquitto keeps its plugins.
PLUGIN_DIR=$(dirname "$(dpkg -L mosquitto | grep '/mosquitto_dynamic_security\.so$')")
PLUGIN_FILE=$PLUGIN_DIR/mosquitto_x509ca.so
EXAMPLE=/etc/mosquitto/conf.d/x509ca.conf.example

# ---------------------------------------------------------------------------
# Helpers (run through xca_check)
# ---------------------------------------------------------------------------

# Fills $PC_DIR with links to the system's .pc files, cmocka's left out, for
# PKG_CONFIG_LIBDIR (which replaces pkg-config's default search path).
hide_cmocka() {
    local dir pc
    local -a dirs
    mkdir -p "$PC_DIR"
    IFS=: read -r -a dirs <<<"$(pkg-config --variable pc_path pkg-config)"
    for dir in "${dirs[@]}"; do
        for pc in "$dir"/*.pc; do
            [[ -f $pc && ${pc##*/} != cmocka.pc && ! -e $PC_DIR/${pc##*/} ]] || continue
            ln -s "$pc" "$PC_DIR/${pc##*/}"
        done
    done
    PKG_CONFIG_LIBDIR=$PC_DIR pkg-config --exists hiredis libcjson &&
        ! PKG_CONFIG_LIBDIR=$PC_DIR pkg-config --exists cmocka
}

# configure DIR ARGS...: cmake with cmocka hidden.
configure() {
    local dir=$1
    shift
    PKG_CONFIG_LIBDIR=$PC_DIR cmake -S "$XCA_SOURCE_DIR" -B "$dir" \
        -DCMAKE_INSTALL_PREFIX=/usr -DXCA_WERROR=ON "$@"
}

# Configuring with the tests fails, and for want of cmocka.
tests_need_cmocka() {
    local out
    if out=$(configure "$XCA_TMP/build-tests" -DBUILD_TESTING=ON 2>&1); then
        return 1
    fi
    echo "$out"
    grep -q cmocka <<<"$out"
}

# The build has the plugin and nothing of the tests.
built_plugin_only() {
    [[ -f $BUILD/plugin/mosquitto_x509ca.so && ! -e $BUILD/tests ]] &&
        ! grep -qi cmocka "$BUILD/CMakeCache.txt"
}

# field NAME: the control field NAME of the package.
field() { dpkg-deb -f "$DEB" "$1"; }

# depends_on PACKAGE: Depends names PACKAGE (with or without a version).
depends_on() {
    field Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx -- "$1"
}

# has_file PATH MODE_REGEX: the package holds PATH with a matching mode.
has_file() {
    dpkg-deb -c "$DEB" | awk -v p="./${1#/}" '$6 == p { print $1 }' | grep -Eqx -- "$2"
}

# The example's plugin line names the installed plugin, which exists.
example_names_plugin() {
    local line
    line=$(grep -E '^plugin ' "$ROOT$EXAMPLE")
    echo "$line"
    [[ $line == "plugin $PLUGIN_FILE" && -f $ROOT$PLUGIN_FILE ]]
}

# The package puts no *.conf in /etc/mosquitto/conf.d.
conf_d_inactive() {
    ! dpkg-deb -c "$DEB" | awk '{ print $6 }' | grep -E '^\./etc/mosquitto/conf\.d/.*\.conf$'
}

# exports_only_entry_points SO: every defined dynamic symbol is a
# mosquitto_plugin_* entry point, and the three Mosquitto needs are there.
exports_only_entry_points() {
    local syms
    syms=$(nm -D --defined-only "$1" | awk '{ print $NF }')
    echo "$syms"
    ! grep -qv '^mosquitto_plugin_' <<<"$syms" &&
        grep -qx mosquitto_plugin_version <<<"$syms" &&
        grep -qx mosquitto_plugin_init <<<"$syms" &&
        grep -qx mosquitto_plugin_cleanup <<<"$syms"
}

# admin ARGS...: the installed x509ca-admin against broker b1.
admin() {
    "$ROOT/usr/bin/x509ca-admin" -p "$B1_ADMIN_PORT" -u "$XCA_ADMIN_USER" \
        -P "$XCA_ADMIN_PASSWORD" "$@"
}

# selfsigned ID: a self-signed device certificate made by the installed
# x509ca-pki; prints its SHA-256 thumbprint.
selfsigned() {
    mkdir -p "$XCA_TMP/pki"
    "$ROOT/usr/bin/x509ca-pki" --dir "$XCA_TMP/pki" selfsigned "$1" | sed -n 's/^sha256=//p'
}

# publishes ID: a device publishes to its own events topic (QoS 1).
publishes() { xca_pub_tls b1 "$1" "$1" "devices/$1/messages/events/" hello; }

# ---------------------------------------------------------------------------
# Configure and build without the test dependencies
# ---------------------------------------------------------------------------

xca_check "cmocka's pkg-config file hidden (hiredis and libcjson still found)" hide_cmocka
xca_check "with cmocka hidden, configuring with the tests fails for want of it" \
    tests_need_cmocka
xca_check "with cmocka hidden, -DBUILD_TESTING=OFF configures" \
    configure "$BUILD" -DBUILD_TESTING=OFF
xca_check "the plugin builds (-j2)" cmake --build "$BUILD" -j2
xca_check "the build has the plugin and nothing of the tests" built_plugin_only

# ---------------------------------------------------------------------------
# cmake --install (prefix /usr)
# ---------------------------------------------------------------------------

xca_check "cmake --install runs (DESTDIR)" \
    env DESTDIR="$DESTDIR_ROOT" cmake --install "$BUILD"
xca_check "install: the plugin next to mosquitto_dynamic_security.so ($PLUGIN_DIR)" \
    test -f "$DESTDIR_ROOT$PLUGIN_FILE"
xca_check "install: x509ca-admin and x509ca-pki executable in /usr/bin" \
    test -x "$DESTDIR_ROOT/usr/bin/x509ca-admin" -a -x "$DESTDIR_ROOT/usr/bin/x509ca-pki"
xca_check "install: the example in /etc/mosquitto/conf.d" test -f "$DESTDIR_ROOT$EXAMPLE"

# ---------------------------------------------------------------------------
# cpack -G DEB
# ---------------------------------------------------------------------------

(cd "$BUILD" && cpack -G DEB) >"$XCA_TMP/cpack.out" 2>&1 || true
debs=("$BUILD"/*.deb)
if [[ ${#debs[@]} -ne 1 || ! -f ${debs[0]} ]]; then
    cat "$XCA_TMP/cpack.out" >&2
    xca_check "cpack -G DEB makes one .deb" false
    xca_done
fi
DEB=${debs[0]}
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
echo "# $(basename "$DEB"), project version $version"

xca_check "package name mosquitto-x509ca" test "$(field Package)" = mosquitto-x509ca
xca_check "package version is the project's ($version)" test "$(field Version)" = "$version"
xca_check "package has a maintainer" test -n "$(field Maintainer)"
xca_check "package has a description" test -n "$(field Description)"
for dep in mosquitto mosquitto-clients openssl libssl3 libhiredis0.14 libcjson1; do
    xca_check "package depends on $dep" depends_on "$dep"
done
xca_check "package holds the plugin in $PLUGIN_DIR" has_file "$PLUGIN_FILE" '-rw-r--r--'
xca_check "package holds /usr/bin/x509ca-admin, executable" \
    has_file /usr/bin/x509ca-admin '-rwxr-xr-x'
xca_check "package holds /usr/bin/x509ca-pki, executable" \
    has_file /usr/bin/x509ca-pki '-rwxr-xr-x'
xca_check "package holds $EXAMPLE" has_file "$EXAMPLE" '-rw-r--r--'
xca_check "the example is a conffile" \
    grep -qx "$EXAMPLE" <(dpkg-deb -I "$DEB" conffiles)

# ---------------------------------------------------------------------------
# The package, unpacked
# ---------------------------------------------------------------------------

xca_check "dpkg -x unpacks the package" dpkg -x "$DEB" "$ROOT"
xca_check "the example names the installed plugin path" example_names_plugin
xca_check "nothing in conf.d is active as installed (Mosquitto reads *.conf only)" \
    conf_d_inactive
xca_check "the installed plugin exports only mosquitto_plugin_*" \
    exports_only_entry_points "$ROOT$PLUGIN_FILE"

# The installed plugin in a real broker.
XCA_PLUGIN=$ROOT$PLUGIN_FILE
export XCA_PLUGIN
xca_start_redis
xca_check "broker starts with the installed plugin" xca_start_broker b1
xca_check "the broker loaded the installed file" \
    grep -qx "plugin $XCA_PLUGIN" "$XCA_TMP/b1/mosquitto.conf"
xca_wait_for "the installed plugin connected to Redis" 5 \
    xca_log_has b1 "x509ca: connected to Redis at 127\.0\.0\.1:$REDIS_PORT\b"

thumb=$(selfsigned dev-pkg)
selfsigned dev-stranger >/dev/null
xca_check "installed x509ca-pki made a self-signed device certificate" test -n "$thumb"
xca_check "installed x509ca-admin registers the device" \
    admin device create dev-pkg --auth selfSigned --primary "$thumb"
xca_log_mark b1
xca_check "registered device connects and publishes" publishes dev-pkg
xca_check "its acceptance is logged" xca_wait_log b1 "x509ca: accepted client 'dev-pkg'"
xca_check_refused "unregistered device is refused, reason logged" b1 \
    "x509ca: refused client 'dev-stranger'.*not found" publishes dev-stranger

xca_check "broker exits with status 0 on SIGTERM" xca_stop_broker b1
xca_done
