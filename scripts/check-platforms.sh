#!/usr/bin/env bash
# Type-checks the whole workspace, all targets, for Windows and macOS from this Linux machine
# (DESIGN.md §7): Debian's rustc-web builds std from source for any target (-Zbuild-std, so
# RUSTC_BOOTSTRAP), mingw-w64 compiles build scripts' C for Windows, zig (PyPI `ziglang`) for macOS.
# Usage: scripts/check-platforms.sh [target...]  (default: x86_64-pc-windows-gnu aarch64-apple-darwin)
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-gnu aarch64-apple-darwin)

# Debian's toolchain by absolute path: rustup's cargo stays first on PATH for everything else.
CARGO=/usr/bin/cargo
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
# Its own target dir: a std built from source must not evict the host build's cache.
export CARGO_TARGET_DIR="${CHECK_PLATFORMS_TARGET_DIR:-target/platforms}"
# The project's own warnings fail the check; dependencies' are capped by cargo anyway.
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"

zig_bin="$CARGO_TARGET_DIR/zig-bin"
zig_wrappers() {
  # cc-rs adds `--target=<rust triple>`, which zig does not know; zig gets its own -target.
  mkdir -p "$zig_bin"
  local zig_target=$1
  # Objective-C sources (mac-notification-sys) need Apple's SDK headers, which no Linux package
  # carries; a type check never links, so such a file becomes an empty object.
  : >"$zig_bin/empty.c"
  cat >"$zig_bin/cc-$zig_target" <<SH
#!/usr/bin/env bash
args=()
for a in "\$@"; do
  case "\$a" in
    --target=*|-target) ;;
    *.m) args+=("$PWD/$zig_bin/empty.c") ;;
    *) args+=("\$a") ;;
  esac
done
exec python3 -m ziglang cc -target $zig_target -Wno-unused-command-line-argument "\${args[@]}"
SH
  cat >"$zig_bin/ar" <<'SH'
#!/usr/bin/env bash
exec python3 -m ziglang ar "$@"
SH
  chmod +x "$zig_bin/cc-$zig_target" "$zig_bin/ar"
}

for t in "${targets[@]}"; do
  env_cc=()
  case "$t" in
    *-windows-gnu) env_cc=(CC_"${t//-/_}"=x86_64-w64-mingw32-gcc AR_"${t//-/_}"=x86_64-w64-mingw32-ar) ;;
    aarch64-apple-darwin) zig_wrappers aarch64-macos
      env_cc=(CC_"${t//-/_}"="$PWD/$zig_bin/cc-aarch64-macos" AR_"${t//-/_}"="$PWD/$zig_bin/ar") ;;
    x86_64-apple-darwin) zig_wrappers x86_64-macos
      env_cc=(CC_"${t//-/_}"="$PWD/$zig_bin/cc-x86_64-macos" AR_"${t//-/_}"="$PWD/$zig_bin/ar") ;;
  esac
  echo "== cargo check --workspace --all-targets --target $t" >&2
  start=$(date +%s)
  env "${env_cc[@]}" "$CARGO" check --workspace --all-targets --target "$t" \
    -Zbuild-std=std,panic_abort --quiet
  echo "== $t: clean in $(( $(date +%s) - start )) s" >&2
done
