#!/usr/bin/env bash
# Prepare this machine to build and run the ml-action image without a Docker engine:
# installs podman, runc and debootstrap, and builds once per machine a Debian bookworm base
# image with python3 (3.11) and python3-venv, tagged localhost/pybase:bookworm.
# Idempotent: a second run installs nothing and builds nothing. Run as root.
set -euo pipefail

BASE_TAG="${ML_ACTION_BASE_TAG:-localhost/pybase:bookworm}"
SUITE=bookworm
start=$SECONDS

if command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null; then
  echo "container-setup: podman, runc and debootstrap already installed"
else
  t=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q podman runc debootstrap
  echo "container-setup: installed podman runc debootstrap in $((SECONDS - t))s"
fi

if podman image exists "$BASE_TAG"; then
  echo "container-setup: base image $BASE_TAG already present"
else
  t=$SECONDS
  rootfs=$(mktemp -d /tmp/pybase-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$rootfs"
  echo "container-setup: debootstrap took $((SECONDS - t))s"
  # The downloaded .deb files and package lists are not needed in the image.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  t2=$SECONDS
  tar -C "$rootfs" -c . | podman import - "$BASE_TAG"
  echo "container-setup: podman import took $((SECONDS - t2))s"
  echo "container-setup: base image $BASE_TAG built in $((SECONDS - t))s"
fi

podman image inspect --format '{{.Size}}' "$BASE_TAG" | awk '{printf "container-setup: %s is %.1f MB\n", "'"$BASE_TAG"'", $1/1e6}'
echo "container-setup: done in $((SECONDS - start))s"
