#!/usr/bin/env bash
# Cargo for x86_64-pc-windows-gnu from Linux: Debian's rustc-web builds std from source
# (-Zbuild-std, so RUSTC_BOOTSTRAP), mingw-w64 links, Wine runs what it built
# (tests/windows/wine-run.sh is cargo's target runner). Its own target dir, target/windows: std
# built for Windows must not evict the host build's cache.
# Usage: scripts/windows-cargo.sh <cargo command> [args...]   e.g. build -p repxp-cli
set -euo pipefail
cd "$(dirname "$0")/.."
t=x86_64-pc-windows-gnu
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${TEST_WINDOWS_TARGET_DIR:-target/windows}"
export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$PWD/tests/windows/wine-run.sh"
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"
cmd="$1"
shift
exec /usr/bin/cargo "$cmd" --target "$t" -Zbuild-std=std,panic_abort "$@"
