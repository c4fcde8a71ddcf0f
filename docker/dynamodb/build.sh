#!/usr/bin/env bash
# Builds the dynox/dynamodb image with no registry: the `dynoxide` server binary compiled from the
# pinned crate, plus exactly the shared libraries it links, imported as a one-layer image.
#
# Called by `cargo xtask images` (xtask/src/images.rs), which chooses the tag from a hash of this
# folder and the pins, and skips the build when that tag exists. Environment:
#   IMAGE             the image reference to create, e.g. dynox/dynamodb:0123456789ab
#   WORK_DIR          a directory under target/ for the root filesystem
#   WORKSPACE         the workspace root (the binary is built there)
#   DYNOXIDE_VERSION  the dynoxide-rs version pinned in the workspace's Cargo.lock
#   CARGO             the cargo to build with (xtask passes its own)
set -euo pipefail

: "${IMAGE:?}" "${WORK_DIR:?}" "${WORKSPACE:?}" "${DYNOXIDE_VERSION:?}"
CARGO="${CARGO:-cargo}"

# The binary of the pinned dynoxide-rs (the workspace's dependency, with its `cli` feature),
# built by the workspace itself in its dev profile: the suite has just compiled the same crate
# graph, so this costs a link instead of a release build of the engine (minutes on 2 cores), and
# the container runs the very engine the in-process backend runs.
(cd "$WORKSPACE" && "$CARGO" build --quiet -p dynoxide-rs --bin dynoxide)
bin="$WORKSPACE/target/debug/dynoxide"

rootfs="$WORK_DIR/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/data"
chmod 1777 "$rootfs/tmp"
cp "$bin" "$rootfs/usr/local/bin/dynoxide"
strip "$rootfs/usr/local/bin/dynoxide" 2>/dev/null || true

# Every absolute path ldd prints is a library the binary loads, the dynamic loader included; they
# are copied to the same paths, because that is where the loader (whose path is compiled into the
# binary) and its default search path look for them, with no ld.so.cache in the image.
libs=$(ldd "$bin" | grep -o '/[^ ]*' | sort -u)
[ -n "$libs" ] || { echo "ldd found no libraries for $bin" >&2; exit 1; }
for lib in $libs; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
done

# What a process expects to find even in a minimal image: user and group names for uid 0 (the
# server runs as root, like the upstream image, so a bind-mounted /data is always writable) and
# a hosts file (Docker replaces it at run time; this one serves `docker run --network none`).
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$rootfs/etc/hosts"

# The default command keeps its tables in /data, a volume: `docker restart`, or a new container
# given the same volume, finds them again. For an in-memory engine run the image with
# `serve --host 0.0.0.0 --port 8000` as its command.
tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -c . |
    docker import \
        --change 'ENTRYPOINT ["/usr/local/bin/dynoxide"]' \
        --change 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--db-path", "/data/dynox.db"]' \
        --change 'EXPOSE 8000' \
        --change 'VOLUME /data' \
        --change 'WORKDIR /data' \
        --change 'ENV DYNOXIDE_HEALTHCHECK_HOST=127.0.0.1 DYNOXIDE_HEALTHCHECK_PORT=8000' \
        --change 'HEALTHCHECK --interval=1s --timeout=3s --retries=30 CMD ["/usr/local/bin/dynoxide", "healthcheck"]' \
        --change "LABEL org.opencontainers.image.title=dynox-dynamodb dynoxide-rs.version=$DYNOXIDE_VERSION" \
        --message "dynoxide-rs $DYNOXIDE_VERSION from crates.io, built by the workspace (cargo xtask images)" \
        - "$IMAGE"

# A library ldd missed would only show when a test starts the container; find out now, and drop
# the image rather than leave a broken one under a tag that `cargo xtask images` would reuse.
if ! docker run --rm --network none "$IMAGE" --version; then
    docker rmi "$IMAGE" >/dev/null
    echo "the imported image does not run; removed it" >&2
    exit 1
fi
