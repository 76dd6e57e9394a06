# shellcheck shell=bash
# Shared by scripts/image and scripts/test-image: the container engine (podman or docker), a way
# to make podman start containers where its defaults cannot, and the runtime base image built from
# Debian's packages with mmdebstrap. Sourced after lib.sh, not executed.

IMAGE_WORK="$ROOT/target/image"
# The Debian release of the runtime base; the binary must be built on it or an older one.
IMAGE_SUITE="${JARVIS_IMAGE_SUITE:-bookworm}"

# Sets ENGINE: JARVIS_CONTAINER_ENGINE if given, else podman (installed from Debian if missing),
# else docker when podman cannot be had and a docker CLI is there.
choose_engine() {
    ENGINE="${JARVIS_CONTAINER_ENGINE:-}"
    if [ -z "$ENGINE" ]; then
        if command -v podman >/dev/null; then
            ENGINE=podman
        elif command -v apt-get >/dev/null; then
            apt_install podman
            ENGINE=podman
        elif command -v docker >/dev/null; then
            ENGINE=docker
        else
            die "no container engine: install podman (or docker), or set JARVIS_CONTAINER_ENGINE"
        fi
    fi
    command -v "$ENGINE" >/dev/null || die "container engine '$ENGINE' not found"
    # podman or docker, whatever the path given.
    ENGINE_KIND="$(basename "$ENGINE")"
    case "$ENGINE_KIND" in
        podman) ;;
        docker)
            "$ENGINE" info >/dev/null 2>&1 || die "docker cannot reach its daemon: start dockerd or set DOCKER_HOST"
            # Only BuildKit skips the build stage that is not chosen (the legacy builder would
            # pull the Rust image even for a prebuilt build). Docker 23 and later need the buildx
            # plugin for it; Docker 20.10's CLI has it built in.
            export DOCKER_BUILDKIT=1
            if ! "$ENGINE" buildx version >/dev/null 2>&1 \
                && [ "$("$ENGINE" version --format '{{.Client.Version}}' | cut -d. -f1)" -ge 23 ]; then
                die "$ENGINE has no buildx plugin, which BuildKit needs: install docker-buildx, or use podman"
            fi
            ;;
        *) die "JARVIS_CONTAINER_ENGINE must be podman or docker (or a path to one), not '$ENGINE'" ;;
    esac
}

# Whether an image is present locally.
image_exists() {
    "$ENGINE" image inspect "$1" >/dev/null 2>&1
}

# Makes sure a container can start from image $1 and exports whatever the engine needs for it.
# Some hosts (this project's CI machines, for one: virtual machines whose root lacks
# CAP_SYS_RESOURCE, with cgroups v1 and v2 mounted side by side) refuse podman's defaults:
# - crun refuses the hybrid cgroup layout ("cgroups in hybrid mode not supported"), and
# - podman asks for RLIMIT_NOFILE 1048576 / RLIMIT_NPROC above the host's hard limits, which
#   without CAP_SYS_RESOURCE fails ("setrlimit RLIMIT_NOFILE: Operation not permitted").
# Then podman runs with a containers.conf of our own (CONTAINERS_CONF, exported): runc as the
# runtime and no default ulimits, so containers inherit the host's limits.
ensure_engine_runs() {
    local image="$1" error
    if error="$("$ENGINE" run --rm --entrypoint /bin/true "$image" 2>&1)"; then
        return
    fi
    [ "$ENGINE_KIND" = podman ] || die "$ENGINE cannot start a container: $error"
    log "podman's defaults cannot start a container here ($(printf '%s' "$error" | tail -n 1)); using runc and the host's limits"
    command -v runc >/dev/null || apt_install runc
    mkdir -p "$IMAGE_WORK"
    cat >"$IMAGE_WORK/containers.conf" <<'CONF'
# Written by scripts/container.sh: podman's defaults cannot start containers on this host.
[containers]
# Inherit the host's limits instead of raising them (that needs CAP_SYS_RESOURCE).
default_ulimits = []

[engine]
# crun refuses cgroups v1 and v2 mounted side by side; runc accepts them.
runtime = "runc"
CONF
    export CONTAINERS_CONF="$IMAGE_WORK/containers.conf"
    error="$("$ENGINE" run --rm --entrypoint /bin/true "$image" 2>&1)" \
        || die "podman cannot start a container, even with runc and the host's limits: $error"
}

# The Debian mirror the base is built from: this machine's own (its apt sources), so that what
# apt reaches here the image reaches too; JARVIS_IMAGE_MIRROR overrides it.
debian_mirror() {
    if [ -n "${JARVIS_IMAGE_MIRROR:-}" ]; then
        printf '%s\n' "$JARVIS_IMAGE_MIRROR"
        return
    fi
    local uri
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | sed -nE 's,^URIs:[[:space:]]*([^[:space:]]*/debian)/?$,\1,p' | head -n 1)" || true
    if [ -z "$uri" ]; then
        uri="$(sed -nE 's,^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]*/debian)/?[[:space:]].*,\2,p' /etc/apt/sources.list 2>/dev/null | head -n 1)" || true
    fi
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

# Sets BASE_IMAGE: JARVIS_IMAGE_BASE if given (e.g. docker.io/library/debian:bookworm-slim),
# else localhost/jarvis-base:<suite>, made once with mmdebstrap from Debian's packages: a minimal
# Debian with apt, like the official slim image (no manuals, documentation or translations). No
# image registry is needed. JARVIS_IMAGE_REFRESH_BASE=1 makes it again (for security updates).
ensure_base_image() {
    if [ -n "${JARVIS_IMAGE_BASE:-}" ]; then
        BASE_IMAGE="$JARVIS_IMAGE_BASE"
        return
    fi
    BASE_IMAGE="localhost/jarvis-base:$IMAGE_SUITE"
    if image_exists "$BASE_IMAGE" && [ -z "${JARVIS_IMAGE_REFRESH_BASE:-}" ]; then
        return
    fi
    command -v mmdebstrap >/dev/null || apt_install mmdebstrap
    local mirror security
    mirror="$(debian_mirror)"
    security="${mirror%/debian}/debian-security"
    log "building the base image $BASE_IMAGE with mmdebstrap from $mirror (about a minute)"
    mkdir -p "$IMAGE_WORK"
    # Sources as lines on the command line, never from stdin (mmdebstrap reads a non-terminal
    # stdin as a sources.list). Merged /usr by mmdebstrap's hook rather than the usrmerge package,
    # which would bring Perl (45 MB) along.
    if ! mmdebstrap --quiet --variant=minbase --format=tar \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --aptopt='APT::Install-Recommends "false"' \
        "$IMAGE_SUITE" "$IMAGE_WORK/base-$IMAGE_SUITE.tar" \
        "deb $mirror $IMAGE_SUITE main" \
        "deb $mirror $IMAGE_SUITE-updates main" \
        "deb $security $IMAGE_SUITE-security main" </dev/null >"$IMAGE_WORK/mmdebstrap.log" 2>&1; then
        cat "$IMAGE_WORK/mmdebstrap.log" >&2
        die "mmdebstrap failed (its output is above)"
    fi
    "$ENGINE" import --change 'CMD ["/bin/bash"]' "$IMAGE_WORK/base-$IMAGE_SUITE.tar" "$BASE_IMAGE" \
        >"$IMAGE_WORK/import.log" 2>&1 || { cat "$IMAGE_WORK/import.log" >&2; die "$ENGINE import failed"; }
    rm -f "$IMAGE_WORK/base-$IMAGE_SUITE.tar"
}

# The Rust image made from this machine's toolchain (rust-toolchain.toml's), for machines where
# neither a registry nor rustup's downloads are reachable from a container: the base, Debian's
# compilers, and /usr/local/{rustup,cargo} laid out as in the official rust image. The host's
# cargo-leptos and wasm-bindgen come along when installed, so that scripts/lib.sh need not
# compile them again (it still checks their versions).
host_rust_image() {
    local channel toolchain context="$IMAGE_WORK/rust-context"
    channel="$(sed -nE 's/^channel = "(.*)"/\1/p' rust-toolchain.toml)"
    toolchain="$channel-$(rustc -vV | sed -n 's/^host: //p')"
    RUST_IMAGE="localhost/jarvis-rust:$channel-$IMAGE_SUITE"
    if image_exists "$RUST_IMAGE"; then return; fi
    local source_dir
    source_dir="$(RUSTUP_TOOLCHAIN="$channel" rustc --print sysroot 2>/dev/null)" || true
    [ -d "$source_dir" ] || die "toolchain $toolchain is not installed here (rustup toolchain install $channel)"
    log "making $RUST_IMAGE from this machine's toolchain $toolchain"
    rm -rf "$context"
    mkdir -p "$context/rustup/toolchains" "$context/cargo/bin"
    # The toolchain without its documentation (rustup's component list still names it).
    tar -C "$(readlink -f "$source_dir")" --exclude=./share/doc -cf - . \
        | (mkdir -p "$context/rustup/toolchains/$toolchain" && tar -C "$context/rustup/toolchains/$toolchain" -xf -)
    printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
        "$toolchain" >"$context/rustup/settings.toml"
    cp "$(command -v rustup)" "$context/cargo/bin/rustup"
    for proxy in cargo rustc rustdoc rustfmt cargo-fmt cargo-clippy clippy-driver; do
        ln -s rustup "$context/cargo/bin/$proxy"
    done
    for tool in cargo-leptos wasm-bindgen; do
        if command -v "$tool" >/dev/null; then cp "$(command -v "$tool")" "$context/cargo/bin/"; fi
    done
    # This machine's own certificate authorities too (a proxy that inspects TLS, as on this
    # project's CI machines), and pip and npm told to use the system's store, as they do here.
    mkdir -p "$context/ca"
    cp /usr/local/share/ca-certificates/*.crt "$context/ca/" 2>/dev/null || true
    cat >"$context/Containerfile" <<EOF
FROM $BASE_IMAGE
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        build-essential ca-certificates curl git perl pkg-config python3 python3-venv \\
    && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY rustup /usr/local/rustup
COPY cargo /usr/local/cargo
EOF
    "$ENGINE" build -t "$RUST_IMAGE" "$context"
    rm -rf "$context"
}
