#!/usr/bin/env bash
# The broker stops (SIGTERM) while a device is still connected: it exits 0
# and, under a memory checker (XCA_BROKER_CHECK=asan, the second pass of
# scripts/test, or valgrind), nothing of the plugin is left behind - the
# record the TLS hook attached to the device's certificate included, whose
# last reference the plugin's live session holds at unload.
# shellcheck disable=SC2317 # helpers run through xca_check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
xca_setup

xca_pki root company-x >/dev/null
xca_pki device dev-1 --ca company-x >/dev/null
xca_server_cert
xca_start_redis
xca_rcli HSET x509ca:ca:company-x certificate "$(cat "$XCA_TMP/pki/company-x.crt")" \
    status verified >/dev/null
xca_rcli HSET x509ca:device:dev-1 status enabled >/dev/null
xca_start_broker b1
xca_wait_for "b1 follows registry changes" 5 xca_log_has b1 "x509ca: following registry changes in Redis"

# A subscriber that stays connected (it waits for 5 messages, 30 s at most).
xca_log_mark b1
xca_bg dev-1 xca_sub_tls b1 dev-1 dev-1 'devices/dev-1/messages/devicebound/#' -C 5 -W 30
xca_check "dev-1 is accepted and stays connected" xca_wait_log b1 "x509ca: accepted client 'dev-1'"
xca_check "its subscription is in place" xca_wait_log b1 "Received SUBSCRIBE from dev-1"
xca_check "b1 exits 0 on SIGTERM with dev-1 connected" xca_stop_broker b1
xca_done
