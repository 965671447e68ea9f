#!/usr/bin/env python3
"""One sequential read of a file, open included (tests/bench/run.sh, read).

  read_once.py PATH

Prints the read's speed in MB/s (10^6 bytes per second), timed from just
before open(2) to the end of the file: on a mount made just before, the
lookups, the open and whatever the daemon does at a file's first open
(checking the blob, setting up passthrough) count, which fio's bandwidth
leaves out. 1 MiB read(2) calls into one reused buffer, unbuffered, so
what is timed is the kernel's copy and no more.
"""
import os
import sys
import time


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    buf = memoryview(bytearray(1 << 20))
    total = 0
    start = time.perf_counter()
    fd = os.open(sys.argv[1], os.O_RDONLY)
    try:
        while n := os.readv(fd, [buf]):
            total += n
    finally:
        os.close(fd)
    seconds = time.perf_counter() - start
    if total == 0:
        sys.exit(f"{sys.argv[1]}: empty")
    print(f"{total / seconds / 1e6:.1f}")


if __name__ == "__main__":
    main()
