# shellcheck shell=bash
# Kehu infra helpers. Sourced by infra/run and infra/test (not executable on its own).
# Every helper is idempotent and prints one short line saying what it did, so it
# is safe to run on every start, on a dev box or on a fresh Debian machine/CI.

# Prefix for our status lines so they stand out from cargo/apt noise.
kehu_say() { printf '[kehu] %s\n' "$*" >&2; }
kehu_die() { printf '[kehu] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly if we are root, otherwise through sudo.
kehu_as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        kehu_die "need root for: $* (and sudo is not installed)"
    fi
}

# apt-get that tolerates a concurrent apt/dpkg (e.g. unattended-upgrades or another
# install in the background). DPkg::Lock::Timeout covers the dpkg lock for installs,
# but `apt-get update` fails immediately on the lists lock, so also retry on lock errors.
kehu_apt_get() {
    local err attempt
    err=$(mktemp)
    for attempt in $(seq 1 120); do
        if kehu_as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 -q "$@" 2>"$err"; then
            cat "$err" >&2; rm -f "$err"; return 0
        fi
        if grep -qiE 'could not get lock|unable to (acquire|lock)' "$err"; then
            [[ $attempt -eq 1 ]] && kehu_say "apt is locked by another process, waiting..."
            sleep 5
            continue
        fi
        cat "$err" >&2; rm -f "$err"; return 1
    done
    cat "$err" >&2; rm -f "$err"
    kehu_die "apt lock still held after 10 minutes"
}

# Install Debian packages. Refresh the package lists first if they were never
# downloaded (fresh Docker images ship without them), and once more if the
# install fails (stale lists point at versions the mirror no longer has).
kehu_apt_install() {
    command -v apt-get >/dev/null 2>&1 || kehu_die "apt-get not found; install manually: $*"
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        kehu_apt_get update
    fi
    if ! kehu_apt_get install -y --no-install-recommends "$@"; then
        kehu_say "apt-get install failed, refreshing package lists and retrying"
        kehu_apt_get update
        kehu_apt_get install -y --no-install-recommends "$@"
    fi
}

# True if the Debian package is fully installed (dpkg -s alone also succeeds for
# removed packages that left config files behind).
kehu_pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Poll a command until it succeeds or the timeout (seconds) passes.
kehu_wait_for() {
    local timeout=$1 what=$2; shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || kehu_die "$what did not come up within ${timeout}s"
        sleep 1
    done
}

# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------

# 64 hex chars (32 random bytes). od is in coreutils, so this works even
# where openssl/xxd are not installed.
kehu_random_hex32() {
    if command -v openssl >/dev/null 2>&1; then
        openssl rand -hex 32
    else
        od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
        echo
    fi
}

# Create .env from .env.sample on first run (with a fresh SECRET_KEY) and load
# it. Variables already present in the environment win over .env, so CI or a
# one-off `APP_ADDR=... infra/run` can override anything.
kehu_load_env() {
    if [[ ! -f .env ]]; then
        [[ -f .env.sample ]] || kehu_die ".env.sample not found in $PWD"
        # .env holds secrets: keep it private to the user.
        (umask 077 && sed "s/^SECRET_KEY=.*/SECRET_KEY=$(kehu_random_hex32)/" .env.sample >.env)
        kehu_say "env: created .env from .env.sample with a new SECRET_KEY"
    elif grep -qE '^SECRET_KEY=[[:space:]]*$' .env; then
        # An existing .env with an empty key would make the app refuse to start.
        sed -i "s/^SECRET_KEY=[[:space:]]*$/SECRET_KEY=$(kehu_random_hex32)/" .env
        kehu_say "env: filled the empty SECRET_KEY in .env"
    else
        kehu_say "env: using existing .env"
    fi

    # Remember every .env variable that is already set (even to ""), source the
    # file, then put the remembered values back.
    local -A keep=()
    local line key
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
        key=${BASH_REMATCH[2]}
        if [[ -n ${!key+x} ]]; then keep[$key]=${!key}; fi
    done <.env
    set -a
    # shellcheck disable=SC1091
    . ./.env
    set +a
    for key in "${!keep[@]}"; do
        export "$key=${keep[$key]}"
    done
}

# ---------------------------------------------------------------------------
# Connection URLs
# ---------------------------------------------------------------------------

kehu_urldecode() { local s=${1//+/ }; printf '%b' "${s//%/\\x}"; }

# Split postgres://user:pass@host:port/db?opts into the global associative
# array KEHU_URL (user, password, host, port, db). Passwords may be %-encoded.
kehu_parse_pg_url() {
    local url=$1 re='^postgres(ql)?://([^:@/]+)(:([^@]*))?@(\[[^]]+\]|[^:/?]+)(:([0-9]+))?(/([^?]*))?'
    [[ $url =~ $re ]] || kehu_die "cannot parse database URL (expected postgres://user:pass@host:port/db)"
    declare -gA KEHU_URL=(
        [user]=$(kehu_urldecode "${BASH_REMATCH[2]}")
        [password]=$(kehu_urldecode "${BASH_REMATCH[4]}")
        [host]=${BASH_REMATCH[5]}
        [port]=${BASH_REMATCH[7]:-5432}
        [db]=$(kehu_urldecode "${BASH_REMATCH[9]}")
    )
}

kehu_is_local_host() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == "[::1]" || $1 == ::1 ]]; }

# ---------------------------------------------------------------------------
# Build dependencies
# ---------------------------------------------------------------------------

# C toolchain and headers needed by crates with native parts. Fast no-op
# when everything is present.
kehu_ensure_build_deps() {
    local missing=()
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
    kehu_pkg_installed libssl-dev || missing+=(libssl-dev)
    kehu_pkg_installed libpq-dev || missing+=(libpq-dev)
    # curl is used by infra/run to wait for /healthz.
    command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
    if ((${#missing[@]})); then
        kehu_apt_install "${missing[@]}"
        kehu_say "build deps: installed ${missing[*]}"
    else
        kehu_say "build deps: present"
    fi
    # Debian's rustc is too old for edition 2024; point at rustup instead.
    command -v cargo >/dev/null 2>&1 ||
        kehu_die "cargo not found; install Rust with rustup (https://rustup.rs), then re-run"
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

kehu_pg_host() { kehu_parse_pg_url "${DATABASE_URL:?DATABASE_URL is not set}"; PGH=${KEHU_URL[host]//[\[\]]/}; PGP=${KEHU_URL[port]}; }

kehu_pg_answers() { pg_isready -q -h "$PGH" -p "$PGP" -t 3 >/dev/null 2>&1; }

# Reuse a running server; otherwise install (if needed) and start the local
# Debian cluster.
kehu_ensure_postgres() {
    local PGH PGP ver
    kehu_pg_host
    if command -v pg_isready >/dev/null 2>&1 && kehu_pg_answers; then
        kehu_say "postgres: reusing server at $PGH:$PGP"
        return 0
    fi
    kehu_is_local_host "$PGH" || kehu_die "postgres at $PGH:$PGP is not answering (not local, so not starting one)"

    local did=started
    if ! compgen -G '/etc/postgresql/*/main' >/dev/null; then
        kehu_apt_install postgresql postgresql-contrib
        did="installed and started"
    fi
    # Highest installed major version, e.g. 15.
    ver=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
    [[ -n $ver ]] || kehu_die "postgres: no cluster found under /etc/postgresql"
    # --skip-systemctl-redirect: works in containers without systemd.
    # The Debian cluster listens on 5432 unless reconfigured; we wait on the URL's port.
    kehu_as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null ||
        kehu_as_root service postgresql start ||
        true # may already be starting; the wait below decides
    kehu_wait_for 60 "postgres at $PGH:$PGP" kehu_pg_answers
    kehu_say "postgres: $did cluster $ver/main on $PGH:$PGP"
}

# How to reach the server as a superuser; decided once, then cached in
# KEHU_PSQL_SUPER. The probe is separate from the real call so a failing SQL
# statement is never silently retried another way.
kehu_psql_super_detect() {
    [[ -n ${KEHU_PSQL_SUPER+x} ]] && return 0
    local PGH PGP
    kehu_pg_host
    local common=(psql -X -w -v ON_ERROR_STOP=1 -qtA -p "$PGP")
    # 1. TCP as postgres (works with trust auth, or PGPASSWORD/.pgpass).
    if PGCONNECT_TIMEOUT=5 "${common[@]}" -h "$PGH" -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
        KEHU_PSQL_SUPER=("${common[@]}" -h "$PGH" -U postgres)
    # 2. Local socket with peer auth as the postgres OS user (fresh Debian).
    elif [[ $(id -u) -eq 0 ]] && command -v runuser >/dev/null 2>&1; then
        KEHU_PSQL_SUPER=(runuser -u postgres -- "${common[@]}")
    elif command -v sudo >/dev/null 2>&1; then
        KEHU_PSQL_SUPER=(sudo -u postgres -- "${common[@]}")
    else
        kehu_die "cannot connect to postgres as a superuser (tried TCP as 'postgres', runuser, sudo)"
    fi
}

# kehu_psql_super [psql args...]  -- as superuser in database "postgres".
# kehu_psql_super_db DB [psql args...]  -- same, in database DB.
# SQL may come from -c or stdin (stdin is needed for :'var' interpolation).
kehu_psql_super() { kehu_psql_super_db postgres "$@"; }
kehu_psql_super_db() {
    local db=$1; shift
    kehu_psql_super_detect
    # cd /: as the postgres user the caller's cwd (e.g. /root) may be unreadable.
    (cd / && "${KEHU_PSQL_SUPER[@]}" -d "$db" "$@")
}

# Create/update the two roles and the database from DATABASE_URL (app role) and
# DATABASE_OWNER_URL (owner role). Safe to run repeatedly; passwords and role
# attributes are re-applied every time so .env stays the source of truth.
kehu_provision_db() {
    local app_user app_pw owner_user owner_pw db
    kehu_parse_pg_url "${DATABASE_URL:?DATABASE_URL is not set}"
    app_user=${KEHU_URL[user]:-kehu_app} app_pw=${KEHU_URL[password]} db=${KEHU_URL[db]:-kehu}
    kehu_parse_pg_url "${DATABASE_OWNER_URL:?DATABASE_OWNER_URL is not set}"
    owner_user=${KEHU_URL[user]:-kehu_owner} owner_pw=${KEHU_URL[password]}
    [[ ${KEHU_URL[db]:-kehu} == "$db" ]] || kehu_die "DATABASE_URL and DATABASE_OWNER_URL point at different databases"
    [[ $app_user != "$owner_user" ]] || kehu_die "DATABASE_URL and DATABASE_OWNER_URL must use different roles"
    kehu_psql_super_detect # decide once, before any $(...) subshell

    local existed
    existed=$(kehu_psql_super -v db="$db" <<'SQL'
SELECT count(*) FROM pg_database WHERE datname = :'db';
SQL
)

    # Roles + database. psql variables (:'x' literal, :"x" identifier) do the
    # quoting; CREATE only when missing, then ALTER always.
    kehu_psql_super -v app="$app_user" -v app_pw="$app_pw" \
        -v owner="$owner_user" -v owner_pw="$owner_pw" -v db="$db" >/dev/null <<'SQL'
-- Owner: runs migrations and owns the SECURITY DEFINER functions the
-- reconciler uses, hence BYPASSRLS (intentional). Never a superuser.
SELECT format('CREATE ROLE %I', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
ALTER ROLE :"owner" WITH LOGIN CREATEDB BYPASSRLS NOSUPERUSER NOCREATEROLE PASSWORD :'owner_pw';

-- App: what the web app and worker connect as. Row-level security applies
-- to it (NOBYPASSRLS) and it owns nothing.
SELECT format('CREATE ROLE %I', :'app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT PASSWORD :'app_pw';

-- template0 so the locale can differ from template1's.
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L LC_COLLATE %L LC_CTYPE %L',
              :'db', :'owner', 'UTF8', 'C.UTF-8', 'C.UTF-8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"owner";
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
SQL

    # Extensions are created as superuser so migrations never need to.
    # template1 too: databases created later from it (e.g. by tests) get them.
    local target
    for target in "$db" template1; do
        kehu_psql_super_db "$target" >/dev/null <<'SQL'
SET client_min_messages = warning; -- hide "already exists, skipping"
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS citext;
SQL
    done

    # Prove both roles can log in over TCP with their passwords (trust auth
    # here, scram-sha-256 on a stock Debian pg_hba for 127.0.0.1).
    local url
    for url in "$DATABASE_URL" "$DATABASE_OWNER_URL"; do
        PGCONNECT_TIMEOUT=5 psql -X -w -qtA "$url" -c 'select 1' >/dev/null ||
            kehu_die "cannot log in with $(kehu_mask_url "$url"); check pg_hba.conf"
    done

    if [[ $existed == 0 ]]; then
        kehu_say "db: created database $db (owner $owner_user) and roles $owner_user, $app_user"
    else
        kehu_say "db: database $db exists; roles $owner_user, $app_user and grants up to date"
    fi
}

# scheme://user:secret@host -> scheme://user:****@host (for logs/banners).
kehu_mask_url() { sed -E 's#^([A-Za-z][A-Za-z0-9+.-]*://[^:/@]*):[^@/]*@#\1:****@#' <<<"$1"; }

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

kehu_redis_answers() {
    [[ $(timeout 5 redis-cli -u "$REDIS_URL" ping 2>/dev/null) == PONG ]]
}

kehu_ensure_redis() {
    : "${REDIS_URL:?REDIS_URL is not set}"
    if command -v redis-cli >/dev/null 2>&1 && kehu_redis_answers; then
        kehu_say "redis: reusing server at $(kehu_mask_url "$REDIS_URL")"
        return 0
    fi
    # redis://[user:pass@]host[:port][/db]
    local re='^rediss?://([^@/]*@)?([^:/]+)(:([0-9]+))?' host port did=started
    [[ $REDIS_URL =~ $re ]] || kehu_die "cannot parse REDIS_URL"
    host=${BASH_REMATCH[2]} port=${BASH_REMATCH[4]:-6379}
    kehu_is_local_host "$host" || kehu_die "redis at $host:$port is not answering (not local, so not starting one)"

    if ! command -v redis-server >/dev/null 2>&1; then
        kehu_apt_install redis-server
        did="installed and started"
        # The package's postinst may already have started a server.
        if kehu_redis_answers; then kehu_say "redis: installed (service already running)"; return 0; fi
    fi
    # Throwaway dev/test instance: no persistence, loopback only.
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --dir /tmp >/dev/null
    kehu_wait_for 60 "redis on port $port" kehu_redis_answers
    kehu_say "redis: $did on 127.0.0.1:$port"
}

# ---------------------------------------------------------------------------
# Chromium (browser tests)
# ---------------------------------------------------------------------------

kehu_ensure_chromium() {
    # Chinese UI text needs a CJK font, or screenshots show empty boxes.
    local want=() pkg
    for pkg in chromium chromium-driver fonts-noto-cjk; do
        kehu_pkg_installed "$pkg" || want+=("$pkg")
    done
    if ((${#want[@]} == 0)); then
        kehu_say "chromium: present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
        return 0
    fi
    kehu_apt_install "${want[@]}"
    [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] || kehu_die "chromium install did not provide /usr/bin/chromium and /usr/bin/chromedriver"
    kehu_say "chromium: installed ${want[*]}"
}

# ---------------------------------------------------------------------------------------
# Benchmarks (infra/bench-*)
# ---------------------------------------------------------------------------------------

# Points DATABASE_URL and DATABASE_OWNER_URL at the benchmark database $BENCH_DB
# (default kehu_bench) and checks that infra/seed filled table $1.
kehu_bench_db() {
    BENCH_DB=${BENCH_DB:-kehu_bench}
    DATABASE_URL=${DATABASE_URL%/*}/$BENCH_DB
    DATABASE_OWNER_URL=${DATABASE_OWNER_URL%/*}/$BENCH_DB
    export DATABASE_URL DATABASE_OWNER_URL BENCH_DB
    psql -X -w -qtA "$DATABASE_URL" -c "SELECT 1 FROM $1 LIMIT 1" >/dev/null 2>&1 ||
        kehu_die "database $BENCH_DB has no $1; run infra/seed first"
}

# Starts the release app against the benchmark database on a free port, sets $port,
# and stops it when the script exits.
kehu_bench_start_app() {
    # A free port; the app must not collide with infra/run's.
    port=''
    local p
    for p in $(seq 18080 18180); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
    done
    [[ -n $port ]] || kehu_die "no free port in 18080-18180"

    mkdir -p var/log
    local log=var/log/bench-app.log
    app_pid=''
    # shellcheck disable=SC2329 # called from the EXIT trap
    stop_app() { [[ -z $app_pid ]] || { kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null; } || true; }
    trap stop_app EXIT

    # One client IP logs in for every run: lift the per-IP login throttle. Its own Redis
    # prefix keeps its sessions apart from the dev app's. The request log stays on,
    # as in production.
    APP_ADDR=127.0.0.1:$port BASE_URL=http://127.0.0.1:$port \
        LOGIN_IP_LIMIT_PER_MINUTE=1000000 REDIS_PREFIX=kehu-bench: \
        target/release/kehu serve >"$log" 2>&1 &
    app_pid=$!
    kehu_wait_for 60 "the app on port $port" curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"
    kehu_say "app: serving $BENCH_DB on 127.0.0.1:$port (log $log)"
}
