# Shared by scripts/backup and scripts/restore (after lib.sh): which database and which
# jarvis-server, PostgreSQL's client tools at the server's major version, and the file names of a
# backup. Sourced, not executed.

# What a backup folder holds (see the README's "Backups").
BACKUP_JSON="backup.json"        # written last: a folder without it is no (complete) backup
BACKUP_DUMP="database.dump"      # pg_dump --format=custom
BACKUP_MANIFEST="objects.tsv"    # key, size, sha256 of every object (jarvis-server objects export)
BACKUP_OBJECTS="objects"         # one file per object, at its key
BACKUP_TABLES="tables.tsv"       # table, rows: what the dump holds
BACKUP_MISSING="missing.tsv"     # table, key: rows of the dump whose object was deleted before it was copied

# A path given on the command line, made absolute against the caller's working directory
# (lib.sh has moved to the repository's root since).
absolute_path() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$CALLER_PWD/$1" ;;
    esac
}

# The value of NAME in the environment or, like the server, in the .env of the directory it runs
# in (the repository's root, as with scripts/run). Empty when neither has it.
env_or_dotenv() {
    local name="$1"
    if [ -n "${!name:-}" ]; then
        printf '%s\n' "${!name}"
    elif [ -f "$ROOT/.env" ]; then
        sed -nE "s/^[[:space:]]*(export[[:space:]]+)?$name[[:space:]]*=[[:space:]]*//p" "$ROOT/.env" | tail -n 1 |
            sed -E "s/^'(.*)'[[:space:]]*\$/\\1/; s/^\"(.*)\"[[:space:]]*\$/\\1/"
    fi
}

# DATABASE_URL as the server gets it (environment, then .env); without one, the local database
# that scripts/run provisions and serves.
resolve_database_url() {
    DATABASE_URL="$(env_or_dotenv DATABASE_URL)"
    if [ -z "$DATABASE_URL" ]; then
        log "DATABASE_URL is not set: using the local database scripts/run provisions"
        unset DATABASE_APP_URL
        provision_database
    fi
    export DATABASE_URL
}

# psql, pg_dump and pg_restore (Debian's postgresql-client) when missing.
ensure_pg_client() {
    if ! command -v psql >/dev/null || ! command -v pg_dump >/dev/null || ! command -v pg_restore >/dev/null; then
        apt_install postgresql-client
    fi
}

# The major version of the server at DATABASE_URL (15, 16, …).
server_major() {
    local number
    number="$(psql "$DATABASE_URL" -X -qtA -v ON_ERROR_STOP=1 -c "SHOW server_version_num")" ||
        die "cannot connect to the database at DATABASE_URL (see the error above)"
    printf '%s\n' "$((number / 10000))"
}

# The major version a PostgreSQL client tool reports: `pg_dump (PostgreSQL) 15.20 (…)` -> 15.
tool_major() {
    "$1" --version | sed -nE 's/^[^0-9]*([0-9]+).*/\1/p'
}

# The path of client tool $1 (pg_dump, pg_restore) for server major version $2: Debian keeps one
# per installed version in /usr/lib/postgresql/N/bin, and the one on PATH picks the newest.
pg_tool_for() {
    local tool="$1" major="$2"
    if [ -x "/usr/lib/postgresql/$major/bin/$tool" ]; then
        printf '%s\n' "/usr/lib/postgresql/$major/bin/$tool"
    else
        command -v "$tool"
    fi
}

# The jarvis-server that runs `objects export|import`: JARVIS_SERVER_BIN (an installed binary,
# the container's), or the release build of this checkout (scripts/run's), built when it is
# missing or predates the `objects` command.
resolve_server_bin() {
    if [ -n "${JARVIS_SERVER_BIN:-}" ]; then
        [ -x "$JARVIS_SERVER_BIN" ] || die "JARVIS_SERVER_BIN=$JARVIS_SERVER_BIN is not an executable"
        SERVER_BIN="$JARVIS_SERVER_BIN"
    else
        SERVER_BIN="$ROOT/target/release/jarvis-server"
        if ! "$SERVER_BIN" objects --help >/dev/null 2>&1; then
            ensure_compilers
            command -v cargo >/dev/null || die "Rust is missing: install it with rustup, or set JARVIS_SERVER_BIN"
            log "building jarvis-server (release)"
            cargo build --release --quiet -p jarvis-server --bin jarvis-server
        fi
    fi
    "$SERVER_BIN" objects --help >/dev/null 2>&1 || die "$SERVER_BIN has no \`objects\` command: rebuild it"
}

# A JSON string literal of $1.
json_string() {
    local text="$1"
    text="${text//\\/\\\\}"
    text="${text//\"/\\\"}"
    text="$(printf '%s' "$text" | tr -d '\000-\037')"
    printf '"%s"' "$text"
}
