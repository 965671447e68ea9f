#!/usr/bin/env python3
"""The small-file tree of tests/bench/run.sh (section tree).

  tree_walk.py DIR
  tree_walk.py --make DIR FILES PER_DIR

The first form reads every file of the tree DIR as a training job's data
loader does with a dataset of small files: os.walk, then open, read to the
end and close of every file, one at a time. It prints the seconds it took,
the files and the bytes read, separated by tabs, and exits non-zero if a
file cannot be read, so that a broken mount is never timed as a fast one.

The second writes the tree: FILES files of 4 KiB of random bytes (no two
alike, so nothing dedupes), PER_DIR to a directory, as d0000/f000000.bin,
d0000/f000001.bin, ...
"""
import os
import sys
import time

FILE_SIZE = 4096


def make(root, files, per_dir):
    for i in range(files):
        directory = os.path.join(root, f"d{i // per_dir:04d}")
        if i % per_dir == 0:
            os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f"f{i:06d}.bin"), "wb") as f:
            f.write(os.urandom(FILE_SIZE))


def walk(root):
    files = 0
    size = 0
    start = time.monotonic()
    for top, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(top, name), "rb", buffering=0) as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    size += len(chunk)
            files += 1
    seconds = time.monotonic() - start
    if files == 0:
        sys.exit(f"tree_walk.py: no files under {root}")
    print(f"{seconds:.6f}\t{files}\t{size}")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 2:
        walk(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
