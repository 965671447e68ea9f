#!/usr/bin/env bash
# Writes small fake artifacts for the demo and the README's tour, with
# nothing but coreutils: three versions of a model file and the two files
# of the W&B "zoo" dataset example. The content is deterministic, so every
# run produces the same bytes (and the same digests).
#
# Usage: packaging/examples/make-examples.sh OUTDIR
#   OUTDIR/model/v0/model.pt  OUTDIR/model/v1/model.pt  OUTDIR/model/v2/model.pt
#   OUTDIR/zoo/zoo_dataset.pt OUTDIR/zoo/zoo_labels.pt
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out=$1

# fake_file PATH SIZE LABEL: a one-line header, then LABEL repeated, SIZE
# bytes in all.
fake_file() {
  local path=$1 size=$2 label=$3
  mkdir -p "$(dirname "$path")"
  { printf 'regfs example artifact: %s\n' "$label"; yes "$label" || true; } \
    | head -c "$size" >"$path"
}

fake_file "$out/model/v0/model.pt" 24576 "model weights, epoch 1, val_acc=0.71"
fake_file "$out/model/v1/model.pt" 32768 "model weights, epoch 5, val_acc=0.84"
fake_file "$out/model/v2/model.pt" 40960 "model weights, epoch 9, val_acc=0.88"
fake_file "$out/zoo/zoo_dataset.pt" 16384 "zoo dataset: 101 animals x 16 features"
fake_file "$out/zoo/zoo_labels.pt" 2048 "zoo labels: 7 classes"
