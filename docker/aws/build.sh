#!/usr/bin/env bash
# Builds the dynox/aws image with no registry: a Debian bookworm root filesystem made by
# debootstrap from Debian's package mirror, with Python and the pinned moto server in a venv,
# imported as a one-layer image.
#
# Called by `cargo xtask images` (xtask/src/images.rs), which chooses the tag from a hash of this
# folder and the pins, and skips the build when that tag exists. Environment:
#   IMAGE          the image reference to create, e.g. dynox/aws:0123456789ab
#   WORK_DIR       a directory under target/ kept between runs (downloaded .debs are cached there)
#   REQUIREMENTS   the suite's pinned Python requirements (xtask/python/requirements.txt)
#   DEBIAN_MIRROR  optional; the mirror to bootstrap from (default: deb.debian.org)
set -euo pipefail

: "${IMAGE:?}" "${WORK_DIR:?}" "${REQUIREMENTS:?}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# debootstrap creates device nodes and chroots, so it needs root; it is one apt-get away on the
# Debian machines the project builds on.
if [ "$(id -u)" != 0 ]; then
    echo "building the aws image needs root (debootstrap makes a root filesystem)" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null; then
    echo "debootstrap not found; installing it with apt-get"
    apt-get install -y --no-install-recommends debootstrap
fi

rootfs="$WORK_DIR/rootfs"
cache="$WORK_DIR/debs"
mkdir -p "$cache"
# A previous build interrupted in the chroot may have left these mounted.
for m in proc sys; do umount "$rootfs/$m" 2>/dev/null || true; done
rm -rf "$rootfs"

# minbase: only essential packages and apt. python3-venv brings ensurepip's wheels, the way to
# get pip into a venv without Debian's python3-pip and its long tail of dependencies.
debootstrap --variant=minbase --include=python3,python3-venv --cache-dir="$cache" \
    bookworm "$rootfs" "$mirror"

# pip runs inside the image's own Python (3.11 from bookworm), so compiled wheels match the
# interpreter and the libc they will run with. It reaches PyPI the way the host does: the host's
# resolver, the host's CA bundle (which may hold a TLS-inspecting proxy's CA that the image's
# Debian bundle lacks), and the host's proxy and index settings, if any. Nothing else of the
# host's environment enters the chroot: PIP_* settings naming host paths would mislead it.
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
cp "$REQUIREMENTS" "$rootfs/tmp/requirements.txt"
cp "${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}}" \
    "$rootfs/tmp/host-ca.pem"
chroot_env=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 PIP_CERT=/tmp/host-ca.pem)
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY \
    PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_DEFAULT_TIMEOUT; do
    if [ -n "${!var:-}" ]; then chroot_env+=("$var=${!var}"); fi
done
in_rootfs() { env -i "${chroot_env[@]}" chroot "$rootfs" "$@"; }
in_rootfs /usr/bin/python3 -m venv /opt/moto
in_rootfs /opt/moto/bin/pip install --quiet --no-cache-dir --disable-pip-version-check \
    -r /tmp/requirements.txt
in_rootfs /opt/moto/bin/moto_server --help >/dev/null

# What the server never reads: apt's lists and caches, documentation, translations, and the
# build host's resolver (Docker writes the container's own).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/tmp/* "$rootfs"/etc/resolv.conf
chmod 1777 "$rootfs/tmp"

# /dev, /proc and /sys are provided by the runtime; only the empty directories are kept.
tar --numeric-owner -C "$rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
    docker import \
        --change 'ENTRYPOINT ["/opt/moto/bin/moto_server"]' \
        --change 'CMD ["-H", "0.0.0.0", "-p", "5000"]' \
        --change 'EXPOSE 5000' \
        --change 'ENV PATH=/opt/moto/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 PYTHONUNBUFFERED=1' \
        --change 'HEALTHCHECK --interval=1s --timeout=3s --retries=30 CMD ["/opt/moto/bin/python", "-c", "import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:5000/moto-api/\", timeout=2)"]' \
        --change 'LABEL org.opencontainers.image.title=dynox-aws' \
        --message "moto server ($(grep -v '^#' "$REQUIREMENTS" | tr '\n' ' ')) on Debian bookworm, built by cargo xtask images" \
        - "$IMAGE"

# The tree is only a staging area; the image holds it now, and the .debs stay cached.
rm -rf "$rootfs"

# Check the image runs before `cargo xtask images` would reuse it under its tag.
if ! docker run --rm --network none "$IMAGE" --help >/dev/null; then
    docker rmi "$IMAGE" >/dev/null
    echo "the imported image does not run; removed it" >&2
    exit 1
fi
