#!/usr/bin/env bash
# The workspace's test suites built for Windows (x86_64-pc-windows-gnu) and run under Wine
# (scripts/windows-cargo.sh). The tray crate (`repxp`, WebView2) is not among them:
# tests/windows/tray.sh runs it.
# Usage: scripts/test-windows.sh [cargo test args...]   (default: every library crate's tests)
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-p repxp-engine -p repxp-fake-twenty -p repxp-award-api -p repxp-control -p repxp-cli)
# The crash/fault matrix spawns thousands of processes, each a Wine start-up: half the host's cases.
export FAULT_CASES="${FAULT_CASES:-25}"
start=$(date +%s)
# --tests: no doctests (rustdoc cannot run them for a -Zbuild-std target; the host runs them).
# --skip fleet_: the fleet is a timing simulation (one simulated minute = 1 s of real time, 100
# engines at once) that Wine's slower threads miss on 2 cores (80 of 100 reps unconverged in one CI
# run, green in two others); its code has no Windows path and it runs natively in `make test`.
scripts/windows-cargo.sh test --no-fail-fast --tests "${args[@]}" -- --skip fleet_
echo "== Windows tests under Wine: passed in $(( $(date +%s) - start )) s" >&2
