#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright. Install it when we are root with apt;
# otherwise the browser tests skip with a printed reason.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "browser: chromium could not be installed; browser tests will skip"
else
  echo "browser: chromium not installed and not root; browser tests will skip"
fi
exit 0
