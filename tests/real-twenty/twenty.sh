#!/usr/bin/env bash
# A REAL Twenty server on loopback, for RepXP's tests (README, "Test against a real Twenty").
#
#   tests/real-twenty/twenty.sh setup   build it once (cached under ~/.cache/repxp); ~6-8 min cold, seconds warm
#   tests/real-twenty/twenty.sh prepare setup in the background (log in the cache), so a build runs beside it
#   tests/real-twenty/twenty.sh start   setup if needed, then start Postgres, Redis and Twenty; prints the URL
#   tests/real-twenty/twenty.sh stop    stop what start started (by pid files), nothing else
#   tests/real-twenty/twenty.sh env     KEY=VALUE lines for the tests (URL, key files), once started
#   tests/real-twenty/twenty.sh reset   empty the database and seed Twenty's dev workspace again (~3 min)
#
# Twenty is twentyhq/twenty at TWENTY_COMMIT (upstream main of 2025-06-09, between v0.54 and
# v0.55), server only (no front end), built from source with Node 22 from the npm registry and
# yarn from the source tree, with Debian's PostgreSQL 15 and Redis 7. Nothing but the package
# registries is needed once the source is here: a source tarball (TWENTY_SRC_TAR, or
# shared/twenty/ beside this checkout) or a git directory holding the commit (TWENTY_GIT_DIR);
# without either, the commit is fetched from GitHub.
#
# Ports (loopback only) stay clear of a developer's own 3000/5432/6379 and of the ephemeral range
# (32768+, where a test's random port may land): REPXP_TWENTY_PORT
# (19320), REPXP_TWENTY_PG_PORT (19321), REPXP_TWENTY_REDIS_PORT (19322). REPXP_TWENTY_DIR moves
# the cache (default ~/.cache/repxp/real-twenty-<commit>).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh"

cmd="${1:-}"
case "$cmd" in
  setup) rt_locked rt_setup ;;
  prepare) rt_prepare ;;
  start) rt_locked rt_setup; rt_start ;;
  stop) rt_stop ;;
  env) rt_env ;;
  reset) rt_locked rt_setup; rt_start_storage; rt_locked rt_seed force; rt_stop ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
