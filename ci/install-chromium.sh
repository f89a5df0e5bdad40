#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages for the
# `smartid sim` page test (crates/smartid-cli/tests/sim_browser.rs), when
# /usr/bin/chromium or /usr/bin/chromedriver is missing. Nothing to do
# otherwise. Run (or source) it before the tests: with CI set, the browser
# test fails instead of skipping when the browser is missing.
#
# Try it alone: bash ci/install-chromium.sh && chromium --version

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "install-chromium: installing Debian's chromium and chromium-driver" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null ||
    echo "install-chromium: could not install chromium (the browser test fails under CI)" >&2
fi
true
