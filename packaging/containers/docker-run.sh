#!/bin/sh
# Docker examples for regfs; see README.md next to this file for why each
# flag is there. Untested here: the build machine has no container engine.
#
# usage: docker-run.sh job      a job reading the host's registry
#        docker-run.sh daemon   the regfs daemon in a container (image from
#                               the Dockerfile), sharing its mount with the
#                               host under $REGFS_PARENT
#        docker-run.sh stop     stop that daemon (it unmounts on SIGTERM)
#
# Environment: REGFS_PARENT (default /srv/regfs), the host directory that
# holds the mount point "registry"; REGFS_STORE (default
# /var/lib/regfs/store); REGFS_IMAGE (default regfs:0.1.0).
set -eu

parent=${REGFS_PARENT:-/srv/regfs}
store=${REGFS_STORE:-/var/lib/regfs/store}
image=${REGFS_IMAGE:-regfs:0.1.0}

case ${1:-} in
  job)
    # The parent directory, not the mount point, is bound, read-only, with
    # rslave propagation: a daemon restarted on the host then reappears in
    # the running container instead of leaving it a dead mount (ENOTCONN).
    # The daemon sees this process as host uid 1000.
    docker run --rm \
      --user 1000:1000 \
      --mount "type=bind,source=$parent,target=/regfs,readonly,bind-propagation=rslave" \
      debian:bookworm-slim \
      sh -c 'cat /regfs/registry/.regfs/whoami; echo
             readlink /regfs/registry/models/production
             sha256sum /regfs/registry/models/production'
    ;;
  daemon)
    # /dev/fuse and CAP_SYS_ADMIN to mount; AppArmor's docker-default
    # profile denies mount(2). rshared carries the mount out to the host's
    # $parent/registry, where other containers bind it as in `job`.
    mkdir -p "$parent/registry"
    docker run -d --name regfs-daemon \
      --device /dev/fuse \
      --cap-add SYS_ADMIN \
      --security-opt apparmor=unconfined \
      --restart on-failure \
      --mount "type=bind,source=$store,target=/store" \
      --mount "type=bind,source=$parent,target=/srv/regfs,bind-propagation=rshared" \
      "$image" /srv/regfs/registry
    ;;
  stop)
    docker stop regfs-daemon
    docker rm regfs-daemon
    ;;
  *)
    sed -n '5,10p' "$0" >&2
    exit 2
    ;;
esac
