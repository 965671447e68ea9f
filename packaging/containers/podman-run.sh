#!/bin/sh
# Podman examples for regfs; see README.md next to this file. Untested here:
# the build machine has no container engine (tests/deploy/container_test.sh
# runs the rootless case with bubblewrap instead).
#
# usage: podman-run.sh job        rootful: a job reading the host's registry
#        podman-run.sh rootless   the same job run by an unprivileged user
#        podman-run.sh daemon     rootful: the daemon in a container
#
# Environment: REGFS_PARENT (default /srv/regfs), the host directory that
# holds the mount point "registry"; REGFS_STORE (default
# /var/lib/regfs/store); REGFS_IMAGE (default localhost/regfs:0.1.0).
set -eu

parent=${REGFS_PARENT:-/srv/regfs}
store=${REGFS_STORE:-/var/lib/regfs/store}
image=${REGFS_IMAGE:-localhost/regfs:0.1.0}
read_job='cat /regfs/registry/.regfs/whoami; echo
          readlink /regfs/registry/models/production
          sha256sum /regfs/registry/models/production'

case ${1:-} in
  job)
    podman run --rm --user 1000:1000 \
      -v "$parent:/regfs:ro,rslave" \
      docker.io/library/debian:bookworm-slim sh -c "$read_job"
    ;;
  rootless)
    # Run as the unprivileged user. --userns=keep-id keeps your uid inside,
    # so the daemon (which sees host uids) knows you by your own uid;
    # without it, container root is one of your sub-uids (see
    # /etc/subuid), which has only the store's default role. The host
    # mount needs allow_other (root's default) for you to reach it.
    podman run --rm --userns=keep-id \
      -v "$parent:/regfs:ro,rslave" \
      docker.io/library/debian:bookworm-slim sh -c "$read_job"
    ;;
  daemon)
    # Rootful only: a rootless container cannot share a mount back to the
    # host.
    mkdir -p "$parent/registry"
    podman run -d --name regfs-daemon \
      --device /dev/fuse --cap-add SYS_ADMIN \
      --restart on-failure \
      -v "$store:/store" \
      -v "$parent:/srv/regfs:rshared" \
      "$image" /srv/regfs/registry
    ;;
  *)
    sed -n '6,9p' "$0" >&2
    exit 2
    ;;
esac
