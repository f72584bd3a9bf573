#!/usr/bin/env bash
# `make test-twenty`: RepXP's suites against the real Twenty of twenty.sh, then the fake and the
# real server answering the same requests (tests/twenty-compat/compare.py). Starts the server
# (building it first if the cache is cold) and stops it, whatever happens.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CARGO="${CARGO:-cargo}"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"

t0=$SECONDS
"$HERE/twenty.sh" start
trap '"$HERE/twenty.sh" stop' EXIT
eval "$("$HERE/twenty.sh" env | sed 's/^/export /')"
echo "real Twenty up after $((SECONDS - t0)) s"

cd "$REPO"
t1=$SECONDS
# The same suites `cargo test` runs against the fake, now against Twenty itself.
# The workspace, as `make test` selects it, so that no dependency is rebuilt with other features.
"$CARGO" test --workspace --test other_writers --test twenty_flows
echo "suites on the real Twenty: $((SECONDS - t1)) s"

t2=$SECONDS
"$CARGO" build -q --workspace --all-targets
python3 tests/twenty-compat/compare.py --real "$REPXP_REAL_TWENTY_URL" \
  --real-token "$(cat "$REPXP_REAL_TWENTY_TOKENS/api_key.token")" --fake-bin "$TARGET/debug/fake-twenty"
echo "fake against real: $((SECONDS - t2)) s; make test-twenty took $((SECONDS - t0)) s"
