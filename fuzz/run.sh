#!/bin/sh
# Runs one fuzz target for SECONDS (default 600) at the lowest priority,
# with the limits of docs/fuzzing.md. New inputs go to fuzz/corpus/TARGET
# (not committed); the committed corpus of the target's crate is read too.
# Crashes land in fuzz/artifacts/TARGET/. The log is fuzz/logs/TARGET.log.
#
#   fuzz/run.sh TARGET [SECONDS]
set -eu
target=$1
seconds=${2:-600}
cd "$(dirname "$0")"
case $target in
  pkcs12|jks|pem|der_cert|retry_after) crate=smartid-core ;;
  properties|connector_zip|messaging_entry_json|hermod_settings_json) crate=idm-config ;;
  dtrust_rest_answer|soap_envelope) crate=dtrust-client ;;
  hermod_answer|hermod_callback|hermod_callback_auth) crate=hermod-client ;;
  ciba_answer|id_token|jwks|cms_signed_data) crate=audkenni-ciba ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
mkdir -p "corpus/$target" logs
RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run --fuzz-dir . "$target" \
  "corpus/$target" "../crates/$crate/tests/fuzz_corpus/$target" -- \
  -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
  -print_final_stats=1 >"logs/$target.log" 2>&1
