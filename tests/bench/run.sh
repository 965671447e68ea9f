#!/usr/bin/env bash
# Runs the regfs benchmarks and writes BENCHMARKS.md (tests/bench/).
#
# Usage: tests/bench/run.sh [options]      (as root: mounts, drop_caches)
#   --reps N            repetitions of every measurement (default 5)
#   --only "S..."       sections to run: push read meta moves tree scale
#                       automations shared s3 (default: all)
#   --read-mib N        size of the version read and pushed (default 1024)
#   --meta-versions N   versions of the metadata collection (default 100000)
#   --meta-aliases N    aliases of the metadata collection (default 10000)
#   --cold-names N      names per cold metadata run (default 2000)
#   --ls-timeout S      cap on one `ls -l` of the metadata collection
#                       (default 120 s)
#   --tree-files N      4 KiB files of the tree version read file by file,
#                       1000 to a directory (default 100000)
#   --scale-collections N  collections of the scale store, 1000 versions and
#                       100 aliases each (default 100: 100k versions)
#   --full              --scale-collections 1000 (1M versions, 100k aliases)
#   --quick             a smoke run: --reps 2, 256 MiB, 20k versions,
#                       10k tree files, 10 scale collections; not for
#                       publishing
#   --compare L=BIN     also measure the regfs binary BIN as variant "L"
#                       (e.g. a prototype fix), side by side
#   --build DIR         build tree (default build-bench, Release)
#   --work DIR          scratch directory, on the disk under test
#                       (default BUILD/bench-data); emptied first
#   --out FILE          report (default BENCHMARKS.md at the top)
#   --keep              keep the scratch directory afterwards
#   --render-only       only write the report again from the last run's
#                       results (kept in BUILD/bench-*), e.g. after
#                       editing tests/bench/analysis.md
#
# Every comparison is a ratio of two variants measured side by side in the
# same run: the variants of one repetition run next to each other (rotating
# which goes first), Google Benchmark interleaves them at random
# (--benchmark_enable_random_interleaving), or, where the disk's latency
# moves faster than that (alias moves), they take turns move by move.
# Figures are medians with min–max over the repetitions. Nothing here
# asserts a timing: this is not a test.
set -euo pipefail

readonly SELF=$(realpath "$0")
cd "$(dirname "$SELF")/../.."
readonly REPO=$PWD

reps=5
sections="push read meta moves tree scale automations shared s3"
read_mib=1024
meta_versions=100000
meta_aliases=10000
cold_names=2000
ls_timeout=120
scale_collections=100
tree_files=100000
concurrent_movers=16
build=$REPO/build-bench
work=""
out=$REPO/BENCHMARKS.md
keep=0
render_only=0
compare=()

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
log() { printf '[%s %4ds] %s\n' "$(date +%H:%M:%S)" "$SECONDS" "$*" >&2; }
has() { [[ " $sections " == *" $1 "* ]]; }
while (($#)); do
  case $1 in
    --reps) reps=$2; shift ;;
    --only) sections=$2; shift ;;
    --read-mib) read_mib=$2; shift ;;
    --meta-versions) meta_versions=$2; shift ;;
    --meta-aliases) meta_aliases=$2; shift ;;
    --cold-names) cold_names=$2; shift ;;
    --ls-timeout) ls_timeout=$2; shift ;;
    --scale-collections) scale_collections=$2; shift ;;
    --tree-files) tree_files=$2; shift ;;
    --full) scale_collections=1000 ;;
    --quick) reps=2 read_mib=256 meta_versions=20000 meta_aliases=2000
             cold_names=1000 scale_collections=10 tree_files=10000 ;;
    --compare) compare+=("$2"); shift ;;
    --build) build=$(realpath -m "$2"); shift ;;
    --work) work=$(realpath -m "$2"); shift ;;
    --out) out=$(realpath -m "$2"); shift ;;
    --keep) keep=1 ;;
    --render-only) render_only=1 ;;
    -h|--help) sed -n '2,39p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift
done
work=${work:-$build/bench-data}
readonly reps sections read_mib meta_versions meta_aliases cold_names ls_timeout \
  scale_collections tree_files concurrent_movers build work out keep
readonly B=$build/tests/bench        # the harnesses
readonly REGFS=$build/regfs
readonly W=$work
readonly SAMPLES=$W/samples.tsv
readonly TARGETS=$W/targets.tsv
readonly LOGS=$W/logs
readonly started=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# render: BENCHMARKS.md from the results kept in the build tree.
render() {
  log "writing $out"
  "$B/regfs_bench_report" render --samples "$build/bench-samples.tsv" \
    --targets "$build/bench-targets.tsv" \
    --template "$REPO/tests/bench/BENCHMARKS.md.in" \
    --var "machine=@$build/bench-machine.md" \
    --var "options=@$build/bench-options.txt" \
    --var "fdlimit=$(ulimit -Hn)" \
    --var "batches=@$build/bench-batches.txt" \
    --var "analysis=@$REPO/tests/bench/analysis.md" > "$out"
}
if ((render_only)); then
  [[ -f $build/bench-samples.tsv ]] || die "no results in $build: run without --render-only first"
  render
  exit 0
fi
SECONDS=0

[[ $(id -u) -eq 0 ]] || die "run as root: the benchmarks mount, and drop the kernel's caches"
[[ -c /dev/fuse ]] || die "no /dev/fuse"
for tool in fio cmake fusermount3 mountpoint python3; do
  command -v "$tool" >/dev/null || die "$tool not found: run packaging/install-deps.sh"
done
if has s3; then
  [[ -f $REPO/.deps/s3rver/package.json ]] || bash "$REPO/packaging/install-s3rver.sh" > /dev/null ||
    die "cannot install s3rver (section s3): packaging/install-s3rver.sh"
  command -v curl > /dev/null || die "curl not found (section s3)"
fi
if has shared; then
  for tool in pgbench psql setpriv /usr/lib/postgresql/15/bin/initdb; do
    command -v "$tool" >/dev/null ||
      die "$tool not found (section shared): run packaging/install-deps.sh"
  done
fi


# ---- mounts: every one we make is unmounted on exit, and only those ----

declare -A MOUNT_PID=()
cleanup() {
  local mnt
  for mnt in "${!MOUNT_PID[@]}"; do unmount "$mnt"; done
  [[ -n ${TMPFS_DIR:-} ]] && rm -rf "$TMPFS_DIR"
  # The shared section's PostgreSQL, after the daemons that use it.
  if [[ -n ${PG_STATE:-} ]]; then stop_pg; fi
  if [[ -n ${S3_STATE:-} ]]; then stop_s3; fi
  if ((keep == 0)) && [[ -d $W ]]; then
    rm -rf "$W"/store-* "$W"/mirror-* "$W"/src.bin "$W"/cp "$W"/*.db* \
      "$W"/tree-src
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_mounted MNT PID: until MNT is a mount point (or PID died).
wait_mounted() {
  local i
  for ((i = 0; i < 600; i++)); do
    mountpoint -q "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "the daemon for $1 exited; see $LOGS"
    sleep 0.05
  done
  die "$1 did not mount within 30 s"
}

# mount_regfs BIN STORE MNT: a foreground daemon, logging to a file (as the
# daemon mode does). Its pid is MOUNT_PID[MNT].
mount_regfs() {
  local bin=$1 store=$2 mnt=$3
  shift 3  # the rest: more options of `regfs mount`
  mkdir -p "$mnt"
  "$bin" --store "$store" mount -f "$mnt" "$@" \
    --log-file "$LOGS/$(basename "$mnt").log" 2>>"$LOGS/mount-stderr.log" &
  MOUNT_PID[$mnt]=$!
  wait_mounted "$mnt" "${MOUNT_PID[$mnt]}"
}

# mount_pt SOURCE MNT: libfuse's passthrough_ll over SOURCE, cache=always
# (its best case for immutable files: keep_cache, 1-day timeouts).
mount_pt() {
  local source=$1 mnt=$2
  mkdir -p "$mnt"
  # It holds an O_PATH fd for every inode the kernel knows: as many as
  # allowed.
  (ulimit -n "$(ulimit -Hn)"; exec "$B/passthrough_ll" -f \
    -o "source=$source,cache=always" "$mnt" 2>>"$LOGS/passthrough.log") &
  MOUNT_PID[$mnt]=$!
  wait_mounted "$mnt" "${MOUNT_PID[$mnt]}"
}

# mount_hp SOURCE MNT [OPTION...]: libfuse 3.17's passthrough_hp over
# SOURCE. Its defaults are its best case for files that never change:
# 1-day entry and attribute timeouts and kernel passthrough; with
# --nopassthrough, keep_cache, splice and its writeback cache instead
# (passthrough drops keep_cache). It raises its own fd limit.
mount_hp() {
  local source=$1 mnt=$2
  shift 2
  mkdir -p "$mnt"
  "$B/passthrough_hp" --foreground "$@" "$source" "$mnt" \
    2>>"$LOGS/passthrough_hp.log" &
  MOUNT_PID[$mnt]=$!
  wait_mounted "$mnt" "${MOUNT_PID[$mnt]}"
}

unmount() {
  local mnt=$1 pid=${MOUNT_PID[$1]:-}
  [[ -n $pid ]] || return 0
  if mountpoint -q "$mnt"; then
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  unset "MOUNT_PID[$mnt]"
}

# ---- measuring ----

drop() { (( $1 & 1 )) && sync; echo "$1" > /proc/sys/vm/drop_caches; }
now_ns() { date +%s%N; }
# elapsed START_NS: seconds since START_NS.
elapsed() { echo "scale=6; ($(now_ns) - $1) / 1000000000" | bc; }
div() { echo "scale=6; $1 / $2" | bc; }

# record SECTION METRIC VARIANT REP VALUE UNIT BETTER BASELINE COMMAND
record() {
  local IFS=$'\t'
  printf '%s\n' "$*" >> "$SAMPLES"
}
# samples SECTION BASELINE COMMAND: completes a harness's sample lines.
samples() {
  awk -v s="$1" -v b="$2" -v c="$3" 'BEGIN { FS = OFS = "\t" }
    NF == 6 { print s, $1, $2, $3, $4, $5, $6, b, c }' >> "$SAMPLES"
}
# target SECTION METRIC VARIANT BASELINE OP THRESHOLD TEXT
target() {
  local IFS=$'\t'
  printf '%s\n' "$*" >> "$TARGETS"
}
# The variant order of repetition REP: rotated so that none always runs
# first. rotate REP A B C... prints the names one per line.
rotate() {
  local rep=$1
  shift
  local n=$# i
  local items=("$@")
  for ((i = 0; i < n; i++)); do echo "${items[(i + rep) % n]}"; done
}
# Commands in the report name the build and scratch directories $B and $W.
show() {
  local text="$*"
  text=${text//$B/\$B}
  text=${text//$W/\$W}
  text=${text//$REGFS/regfs}
  echo "$text"
}
gbench_flags() {
  echo "--benchmark_repetitions=$reps --benchmark_enable_random_interleaving=true" \
       "--benchmark_min_time=$1 --benchmark_format=console"
}

# ---- build ----

log "building $build (Release, -DREGFS_BUILD_BENCH=ON)"
cmake -S "$REPO" -B "$build" -DCMAKE_BUILD_TYPE=Release -DREGFS_BUILD_TESTS=ON \
  -DREGFS_BUILD_BENCH=ON > /dev/null
# passthrough_hp exists only where the build uses libfuse >= 3.17, as
# regfs's passthrough does: not with the system's 3.14 (REGFS_SYSTEM_FUSE).
have_passthrough_hp=1
grep -q '^REGFS_SYSTEM_FUSE:BOOL=ON$' "$build/CMakeCache.txt" && have_passthrough_hp=0
readonly have_passthrough_hp
build_targets=(regfs regfs_bench_gen regfs_bench_hash regfs_bench_meta
  regfs_bench_moves regfs_bench_probe regfs_bench_report passthrough_ll)
((have_passthrough_hp)) && build_targets+=(passthrough_hp)
cmake --build "$build" -j2 --target "${build_targets[@]}" \
  > "$build/bench-build.log" 2>&1 ||
  { tail -n 30 "$build/bench-build.log" >&2; die "build failed"; }

# regfs variants: the build's, and any --compare LABEL=BINARY.
regfs_labels=(regfs)
declare -A REGFS_BIN=([regfs]=$REGFS)
for c in "${compare[@]}"; do
  [[ $c == *=* ]] || die "--compare wants LABEL=BINARY"
  [[ -x ${c#*=} ]] || die "--compare: ${c#*=} is not executable"
  regfs_labels+=("${c%%=*}")
  REGFS_BIN[${c%%=*}]=$(realpath "${c#*=}")
done

rm -rf "$W"
mkdir -p "$W" "$LOGS" "$W/mnt"
: > "$SAMPLES"
: > "$TARGETS"
log "scratch directory $W ($(df -T "$W" | awk 'NR == 2 { print $2 }'))"

# ---- push: regfs push of a big file against cp + sync; XXH3 ----

readonly READ_STORE=$W/store-read
readonly SRC=$W/src.bin
readonly BYTES=$((read_mib * 1024 * 1024))
make_source() {
  log "writing a $read_mib MiB random file"
  head -c "$BYTES" /dev/urandom > "$SRC"
  "$REGFS" --store "$READ_STORE" init > /dev/null
}

section_push() {
  local rep v t cmd l metric="write ${read_mib} MiB durably (from page cache)"
  declare -A store=([regfs]=$READ_STORE)
  for l in "${regfs_labels[@]:1}"; do
    store[$l]=$W/store-push-$l
    "${REGFS_BIN[$l]}" --store "${store[$l]}" init > /dev/null
  done
  mkdir -p "$W/cp"
  # Publishing through a mount (the build's regfs): cp to a draft, mv
  # onto latest, into a store of its own on the same disk; the kernel
  # writes the draft itself (-o draftpassthrough).
  local pub_store=$W/store-publish pub_mnt=$W/mnt/publish pub_old
  "$REGFS" --store "$pub_store" init > /dev/null
  mkdir -p "$pub_mnt"
  mount_regfs "$REGFS" "$pub_store" "$pub_mnt" -o draftpassthrough
  mkdir "$pub_mnt/big"
  for ((rep = 0; rep < reps; rep++)); do
    # A new content each time: a push of known content would only compare.
    printf '%016d' "$rep" | dd of="$SRC" bs=16 count=1 conv=notrunc status=none
    for v in $(rotate "$rep" "${regfs_labels[@]}" cp publish); do
      sync
      if [[ $v == publish ]]; then
        cmd="cp $SRC $pub_mnt/big/.draft && mv $pub_mnt/big/.draft $pub_mnt/big/latest (-o draftpassthrough)"
        pub_old=$(readlink "$pub_mnt/big/latest" 2> /dev/null || true)
        t=$(now_ns); cp "$SRC" "$pub_mnt/big/.draft"
        mv "$pub_mnt/big/.draft" "$pub_mnt/big/latest"; t=$(elapsed "$t")
        if [[ -n $pub_old ]]; then
          "$REGFS" --store "$pub_store" rm "big/$pub_old" > /dev/null
          "$REGFS" --store "$pub_store" gc > /dev/null
        fi
        v="regfs publish (cp to a draft + mv)"
      elif [[ $v == cp ]]; then
        cmd="cp $SRC $W/cp/copy && sync $W/cp/copy $W/cp"
        t=$(now_ns); cp "$SRC" "$W/cp/copy"; sync "$W/cp/copy" "$W/cp"
        t=$(elapsed "$t")
        rm -f "$W/cp/copy"
        v="cp + sync"
      else
        cmd="${REGFS_BIN[$v]} --store ${store[$v]} push big $SRC"
        t=$(now_ns); $cmd > /dev/null; t=$(elapsed "$t")
        # Keep only the newest version (the read section reads it).
        if ((rep > 0)); then
          "${REGFS_BIN[$v]}" --store "${store[$v]}" rm "big/v$((rep - 1))" > /dev/null
          "${REGFS_BIN[$v]}" --store "${store[$v]}" gc > /dev/null
        fi
        v="$v push"
      fi
      record push "$metric" "$v" "$rep" "$(div "$BYTES / 1000000" "$t")" \
        MB/s higher "cp + sync" "$(show "$cmd")"
    done
    log "push: repetition $((rep + 1))/$reps"
  done
  for l in "${regfs_labels[@]:1}"; do rm -rf "${store[$l]}"; done
  unmount "$pub_mnt"
  rm -rf "$pub_store"
  cmd="$B/regfs_bench_hash $(gbench_flags 0.5) --benchmark_out=$W/hash.json --benchmark_out_format=json"
  log "push: XXH3-128 throughput"
  $cmd > "$LOGS/hash.txt" 2>&1
  "$B/regfs_bench_report" gb2tsv --json "$W/hash.json" --section push \
    --baseline memcpy --command "$(show "$cmd")" >> "$SAMPLES"
  for l in "${regfs_labels[@]}"; do
    target push "$metric" "$l push" "cp + sync" ">=" 0.9 \
      "$l: push >= 0.9× cp + sync"
  done
  target push "$metric" "regfs publish (cp to a draft + mv)" "cp + sync" ">=" 0.8 \
    "publish through the mount >= 0.8× cp + sync"
}

# ---- read: sequential and random reads through an alias ----

# fio_run PATH RW BS SECONDS FIELD: one fio job; prints terse field FIELD
# (7: read bandwidth KiB/s, 8: read IOPS). SECONDS 0: read the file once.
fio_cmd() {
  local path=$1 rw=$2 bs=$3 secs=$4
  local time_args=""
  ((secs > 0)) && time_args="--runtime=$secs --time_based"
  echo "fio --name=r --filename=$path --rw=$rw --bs=$bs --size=$BYTES" \
       "--ioengine=psync --invalidate=0 --readonly $time_args" \
       "--output-format=terse --terse-version=3"
}
fio_field() {
  local cmd=$1 field=$2
  $cmd | awk -F';' -v f="$field" 'NR == 1 { print $f }'
}

# The read section's variants: direct (the blob itself), each regfs label,
# the build's regfs with -o nopassthrough (the fallback path: reads through
# the daemon, as on kernels before 6.9 or for a daemon without
# CAP_SYS_ADMIN), and the FUSE anchors over the store's blobs/. Labels hold
# spaces: lists of them stay in arrays.
READ_BLOB=""
# read_mount VARIANT MNT: mounts VARIANT at MNT.
read_mount() {
  local v=$1 mnt=$2
  case $v in
    passthrough_ll) mount_pt "$READ_STORE/blobs" "$mnt" ;;
    passthrough_hp) mount_hp "$READ_STORE/blobs" "$mnt" ;;
    "passthrough_hp (no passthrough)")
      mount_hp "$READ_STORE/blobs" "$mnt" --nopassthrough ;;
    "regfs (no passthrough)")
      mount_regfs "$REGFS" "$READ_STORE" "$mnt" -o nopassthrough ;;
    *) mount_regfs "${REGFS_BIN[$v]}" "$READ_STORE" "$mnt" ;;
  esac
}
# read_mount_shown VARIANT MNT: the command read_mount runs, for the report.
read_mount_shown() {
  local v=$1 mnt=$2
  case $v in
    passthrough_ll) echo "$B/passthrough_ll -f -o source=$READ_STORE/blobs,cache=always $mnt" ;;
    passthrough_hp) echo "$B/passthrough_hp --foreground $READ_STORE/blobs $mnt" ;;
    "passthrough_hp (no passthrough)")
      echo "$B/passthrough_hp --foreground --nopassthrough $READ_STORE/blobs $mnt" ;;
    "regfs (no passthrough)")
      echo "$REGFS --store $READ_STORE mount -f $mnt -o nopassthrough" ;;
    *) echo "${REGFS_BIN[$v]} --store $READ_STORE mount -f $mnt" ;;
  esac
}
# read_path VARIANT MNT: the version's path under VARIANT mounted at MNT.
read_path() {
  case $1 in
    passthrough_ll | passthrough_hp | "passthrough_hp (no passthrough)")
      echo "$2/${READ_BLOB#"$READ_STORE/blobs/"}" ;;
    *) echo "$2/big/prod" ;;
  esac
}
# slug LABEL: LABEL as a file name
# ("regfs (no passthrough)": regfs-no-passthrough).
slug() { printf '%s' "$1" | tr -cs 'A-Za-z0-9_' '-' | sed 's/-$//'; }

section_read() {
  local resolve
  resolve=$("$REGFS" --store "$READ_STORE" alias set big prod latest > /dev/null &&
            "$REGFS" --store "$READ_STORE" resolve big/prod)
  READ_BLOB=${resolve#* }
  local blob=$READ_BLOB
  [[ -f $blob ]] || die "no blob for big/prod ($resolve)"
  local variants=(direct "${regfs_labels[@]}" "regfs (no passthrough)")
  [[ -x $B/passthrough_ll ]] && variants+=(passthrough_ll)
  if ((have_passthrough_hp)); then
    variants+=(passthrough_hp "passthrough_hp (no passthrough)")
  else
    log "read: no passthrough_hp rows: this build uses the system's libfuse 3.14 (REGFS_SYSTEM_FUSE), which has no passthrough"
  fi
  declare -A path=([direct]=$blob)
  local v mnt
  for v in "${variants[@]:1}"; do
    mnt=$W/mnt/read-$(slug "$v")
    read_mount "$v" "$mnt"
    path[$v]=$(read_path "$v" "$mnt")
  done
  local rep cmd value mb="${read_mib} MiB"
  local -a order

  for ((rep = 0; rep < reps; rep++)); do
    mapfile -t order < <(rotate "$rep" "${variants[@]}")
    for v in "${order[@]}"; do
      cmd=$(fio_cmd "${path[$v]}" read 1M 0)
      drop 3
      value=$(fio_field "$cmd" 7)
      record read "sequential read of $mb, cold" "$v" "$rep" \
        "$(div "$value * 1024" 1000000)" MB/s higher direct \
        "echo 3 > /proc/sys/vm/drop_caches; $(show "$cmd")"
    done
    log "read: cold sequential $((rep + 1))/$reps"
  done
  for v in "${variants[@]}"; do cat "${path[$v]}" > /dev/null; done
  for ((rep = 0; rep < reps; rep++)); do
    mapfile -t order < <(rotate "$rep" "${variants[@]}")
    for v in "${order[@]}"; do
      # Over and over for 1 s: one pass from the page cache takes tens of
      # ms, and fio counts its runtime in whole ms (256 MiB: 16 or 17 ms,
      # a 6 % step), too coarse for a 0.97× target.
      cmd=$(fio_cmd "${path[$v]}" read 1M 1)
      value=$(fio_field "$cmd" 7)
      record read "sequential read of $mb, warm" "$v" "$rep" \
        "$(div "$value * 1024" 1000000)" MB/s higher direct "$(show "$cmd")"
    done
    for v in "${order[@]}"; do
      cmd=$(fio_cmd "${path[$v]}" randread 4k 3)
      value=$(fio_field "$cmd" 8)
      record read "random 4 KiB reads, warm" "$v" "$rep" "$value" ops/s \
        higher direct "$(show "$cmd")"
    done
    log "read: warm sequential and random $((rep + 1))/$reps"
  done
  for ((rep = 0; rep < reps; rep++)); do
    mapfile -t order < <(rotate "$rep" "${variants[@]}")
    for v in "${order[@]}"; do
      cmd=$(fio_cmd "${path[$v]}" randread 4k 3)
      drop 3
      value=$(fio_field "$cmd" 8)
      record read "random 4 KiB reads, cold start (3 s)" "$v" "$rep" \
        "$value" ops/s higher direct \
        "echo 3 > /proc/sys/vm/drop_caches; $(show "$cmd")"
    done
    log "read: cold random $((rep + 1))/$reps"
  done
  local first="first read of $mb after mount, blob in the page cache"
  read_first_after_mount "$first" "${variants[@]}"

  local ttfb_paths=() ttfb_shown="" drop_level
  for v in "${variants[@]}"; do
    ttfb_paths+=(--path "$v=${path[$v]}")
    ttfb_shown+=" --path '$v=${path[$v]}'"
  done
  for drop_level in 0 3; do
    local what="warm" extra=()
    ((drop_level)) && what="cold" && extra=(--drop 3)
    cmd="$B/regfs_bench_probe ttfb --reps $((reps * 2)) ${extra[*]} --metric time-to-first-byte-of-cat$ttfb_shown"
    "$B/regfs_bench_probe" ttfb --reps $((reps * 2)) "${extra[@]}" \
      --metric "time to first byte of cat, $what" "${ttfb_paths[@]}" |
      samples read direct "$(show "$cmd")"
  done
  log "read: time to first byte"

  # Issue 15's targets, for reads through kernel passthrough; the fallback
  # (regfs (no passthrough)) has its rows and no target.
  for v in "${regfs_labels[@]}"; do
    target read "sequential read of $mb, warm" "$v" direct ">=" 0.97 \
      "$v: warm sequential read >= 0.97× direct"
    target read "sequential read of $mb, cold" "$v" direct ">=" 0.95 \
      "$v: cold sequential read >= 0.95× direct"
    if [[ -n ${path[passthrough_ll]:-} ]]; then
      target read "sequential read of $mb, warm" "$v" passthrough_ll ">=" 1 \
        "$v: warm sequential read never below passthrough_ll"
      target read "sequential read of $mb, cold" "$v" passthrough_ll ">=" 1 \
        "$v: cold sequential read never below passthrough_ll"
    fi
    target read "random 4 KiB reads, warm" "$v" direct ">=" 0.9 \
      "$v: warm random 4 KiB reads >= 0.9× direct"
    target read "random 4 KiB reads, cold start (3 s)" "$v" direct ">=" 0.9 \
      "$v: cold random 4 KiB reads >= 0.9× direct"
    target read "$first" "$v" direct ">=" 0.9 \
      "$v: first read after mount of a blob in the page cache >= 0.9× direct"
  done
  for v in "${variants[@]:1}"; do unmount "$W/mnt/read-$(slug "$v")"; done
  return 0
}

# read_first_after_mount METRIC VARIANT...: the first read of the version
# through a mount made just before, the blob in the page cache (read
# directly just before): a new mount's inodes have nothing in FUSE's own
# cache, so only passthrough reads at the speed of the page cache. direct
# reads the same warm blob. Timed from open (tests/bench/read_once.py), so
# what the daemon does at the first open counts.
read_first_after_mount() {
  local metric=$1 mnt=$W/mnt/first rep v p value shown
  shift
  local -a order
  for ((rep = 0; rep < reps; rep++)); do
    mapfile -t order < <(rotate "$rep" "$@")
    for v in "${order[@]}"; do
      cat "$READ_BLOB" > /dev/null
      if [[ $v == direct ]]; then
        p=$READ_BLOB
        shown="cat $READ_BLOB > /dev/null; python3 tests/bench/read_once.py $p"
      else
        read_mount "$v" "$mnt"
        p=$(read_path "$v" "$mnt")
        shown="cat $READ_BLOB > /dev/null; $(read_mount_shown "$v" "$mnt") & until mountpoint -q $mnt; do sleep 0.05; done; python3 tests/bench/read_once.py $p"
      fi
      value=$(python3 "$REPO/tests/bench/read_once.py" "$p")
      [[ $v == direct ]] || unmount "$mnt"
      record read "$metric" "$v" "$rep" "$value" MB/s higher direct "$(show "$shown")"
    done
    log "read: first read after mount $((rep + 1))/$reps"
  done
}

# ---- meta: lstat, readlink, open+close; ls -l; alias moves ----

readonly META_STORE=$W/store-meta
readonly MIRROR=$W/mirror-meta

make_meta_store() {
  log "meta: generating $meta_versions versions and $meta_aliases aliases"
  local cmd="$B/regfs_bench_gen --store $META_STORE --collections 1 --versions-per $meta_versions --aliases-per $meta_aliases --threads 1 --mirror $MIRROR --label meta-store"
  $cmd 2>> "$LOGS/gen.log" | samples meta - "$(show "$cmd")"
  # The alias the move benchmarks move, between two file versions.
  printf 'one\n' > "$W/v0.txt"
  printf 'two\n' > "$W/v1.txt"
  "$REGFS" --store "$META_STORE" push moves "$W/v0.txt" > /dev/null
  "$REGFS" --store "$META_STORE" push moves "$W/v1.txt" > /dev/null
  local k t
  for ((k = 0; k <= ${#regfs_labels[@]}; k++)); do
    "$REGFS" --store "$META_STORE" alias set moves "a$k" v0 > /dev/null
    "$REGFS" --store "$META_STORE" alias set moves "m$k" v0 > /dev/null
  done
  # The same move through passthrough_ll over the mirror (section moves):
  # two symlinks between two files.
  mkdir -p "$MIRROR/moves"
  printf 'one\n' > "$MIRROR/moves/v0"
  printf 'two\n' > "$MIRROR/moves/v1"
  ln -sfn v0 "$MIRROR/moves/m"
  ln -sfn v0 "$MIRROR/moves/c"
  # The concurrent movers' collections, one per thread (move_bench.cc).
  for ((t = 0; t < concurrent_movers; t++)); do
    "$REGFS" --store "$META_STORE" push "moves-$t" "$W/v0.txt" > /dev/null
    "$REGFS" --store "$META_STORE" push "moves-$t" "$W/v1.txt" > /dev/null
  done
}

mount_meta() {
  local l
  for l in "${regfs_labels[@]}"; do
    mount_regfs "${REGFS_BIN[$l]}" "$META_STORE" "$W/mnt/meta-$l"
  done
  [[ -x $B/passthrough_ll ]] && mount_pt "$MIRROR" "$W/mnt/meta-pt"
  return 0
}
unmount_meta() {
  local l line
  for l in "${regfs_labels[@]}"; do unmount "$W/mnt/meta-$l"; done
  unmount "$W/mnt/meta-pt"
  # The daemons' group commits over the metadata and move runs, from the
  # line each logs at unmount.
  : > "$W/batches.txt"
  for l in "${regfs_labels[@]}"; do
    line=$(grep -o '[0-9]* alias moves in [0-9]* commits (at most [0-9]* in one)' \
      "$LOGS/meta-$l.log" | tail -n 1 || true)
    printf -- '- %s: %s\n' "$l" "${line:-no alias moves logged}" >> "$W/batches.txt"
  done
}

section_meta() {
  local dirs=() l cmd
  for l in "${regfs_labels[@]}"; do dirs+=("--dir=$l=$W/mnt/meta-$l/c0000"); done
  [[ -x $B/passthrough_ll ]] && dirs+=("--dir=passthrough_ll=$W/mnt/meta-pt/c0000")
  dirs+=("--dir=ext4=$MIRROR/c0000")
  cmd="$B/regfs_bench_meta ${dirs[*]} --versions=$meta_versions --aliases=$meta_aliases --cold-names=$cold_names $(gbench_flags 0.2) --benchmark_out=$W/meta.json --benchmark_out_format=json"
  log "meta: lstat, readlink, open+close (Google Benchmark)"
  $cmd > "$LOGS/meta.txt" 2>&1 || { tail "$LOGS/meta.txt" >&2; die "regfs_bench_meta failed"; }
  local base=ext4
  [[ -x $B/passthrough_ll ]] && base=passthrough_ll
  "$B/regfs_bench_report" gb2tsv --json "$W/meta.json" --section meta \
    --baseline "$base" --command "$(show "$cmd")" >> "$SAMPLES"

  declare -A dir=([ext4]=$MIRROR/c0000)
  local variants=("${regfs_labels[@]}")
  for l in "${regfs_labels[@]}"; do dir[$l]=$W/mnt/meta-$l/c0000; done
  # passthrough_ll keeps an fd per inode: ls -l of more names than the fd
  # limit fails with EMFILE, so it is left out then.
  if [[ -x $B/passthrough_ll ]] &&
     ((meta_versions + meta_aliases + 100 < $(ulimit -Hn))); then
    dir[passthrough_ll]=$W/mnt/meta-pt/c0000
    variants+=(passthrough_ll)
  fi
  variants+=(ext4)
  # ls -l can take very long through a slow daemon: each run is capped at
  # ls_timeout seconds, recorded as the cap, and a variant that hit the cap
  # is not run again.
  local rep v t what="ls -l of $meta_versions versions + $meta_aliases aliases"
  local warmth cmd
  declare -A capped=()
  for ((rep = 0; rep < reps; rep++)); do
    for v in $(rotate "$rep" "${variants[@]}"); do
      [[ -n ${capped[$v]:-} ]] && continue
      drop 2
      for warmth in cold warm; do
        cmd="timeout $ls_timeout ls -l ${dir[$v]}"
        t=$(now_ns)
        if ! $cmd > /dev/null; then
          capped[$v]=1
          log "meta: ls -l through $v did not finish within $ls_timeout s"
        fi
        t=$(elapsed "$t")
        record meta "$what, $warmth" "$v" "$rep" "$t" s lower ext4 \
          "$([[ $warmth == cold ]] && echo "echo 2 > /proc/sys/vm/drop_caches; ")$(show "$cmd")"
        [[ -n ${capped[$v]:-} ]] && break
      done
    done
    log "meta: ls -l $((rep + 1))/$reps"
  done
  # Issue 15's targets. readlink: an alias the kernel has looked up (the
  # warm rows); a cold readlink is a FUSE lookup first, as passthrough_ll's.
  for l in "${regfs_labels[@]}"; do
    for t in "1 thread" "2 threads"; do
      target meta "readlink alias warm, $t" "$l" ext4 ">=" 0.5 \
        "$l: readlink of an alias ($t, warm) >= 0.5× ext4"
    done
    for warmth in cold warm; do
      target meta "$what, $warmth" "$l" ext4 "<=" 2 \
        "$l: $what, $warmth, <= 2× ext4"
    done
  done
}

section_moves() {
  TMPFS_DIR=$(mktemp -d /dev/shm/regfs-bench.XXXXXX)
  local dir
  for dir in moves $(seq -f 'moves-%g' 0 $((concurrent_movers - 1))); do
    mkdir "$TMPFS_DIR/$dir"
    printf 'one\n' > "$TMPFS_DIR/$dir/v0"
    printf 'two\n' > "$TMPFS_DIR/$dir/v1"
  done
  ln -s v0 "$TMPFS_DIR/moves/a"
  ln -s v0 "$TMPFS_DIR/moves/m"
  ln -s v0 "$TMPFS_DIR/moves/c"
  # One alias per variant: two variants moving one alias to the same
  # version would make the second move a no-op.
  local n=100 rep v t l cmd i k
  local variants=() metric="alias moves per second, one process per move"
  declare -A loop=()
  k=0
  for l in "${regfs_labels[@]}"; do
    variants+=("$l: ln -sfn")
    loop["$l: ln -sfn"]="ln -sfn v\$((i % 2)) $W/mnt/meta-$l/moves/m$k"
    k=$((k + 1))
  done
  # The ceiling of a durable move made by a process: a tmpfs `ln -sfn`
  # (the process, no durability) followed by one bare durable transaction
  # (regfs_bench_moves --serve, a coprocess: a line in, a move, a line
  # out). The pipe round trip is counted against the ceiling, not regfs.
  local ceiling="ceiling: tmpfs ln -sfn + bare SQLite txn"
  coproc TXN { exec "$B/regfs_bench_moves" --sqlite="$W/floor-ln.db" --serve 2>>"$LOGS/moves-serve.log"; }
  variants+=("tmpfs: ln -sfn" "$ceiling" "regfs alias set (CLI)")
  loop["tmpfs: ln -sfn"]="ln -sfn v\$((i % 2)) $TMPFS_DIR/moves/m"
  loop[$ceiling]="ln -sfn v\$((i % 2)) $TMPFS_DIR/moves/c && echo >&\${TXN[1]} && read -r -u \${TXN[0]} reply && [[ \$reply == ok ]]"
  # The same ceiling through FUSE: libfuse's passthrough_ll over the
  # mirror makes the same five requests for an `ln -sfn` as regfs (the
  # exclusive create's and the rename target's forced lookups, the
  # temporary name's, SYMLINK, RENAME), none of them durable; with the
  # bare transaction after it, it is what any FUSE file system pays for a
  # durable move here.
  local pt=$W/mnt/meta-pt
  local fuse_ceiling="FUSE ceiling: passthrough_ll ln -sfn + bare SQLite txn"
  if mountpoint -q "$pt"; then
    variants+=("passthrough_ll: ln -sfn" "$fuse_ceiling")
    loop["passthrough_ll: ln -sfn"]="ln -sfn v\$((i % 2)) $pt/moves/m"
    loop[$fuse_ceiling]="ln -sfn v\$((i % 2)) $pt/moves/c && echo >&\${TXN[1]} && read -r -u \${TXN[0]} reply && [[ \$reply == ok ]]"
  fi
  loop["regfs alias set (CLI)"]="$REGFS --store $META_STORE alias set moves m$k v\$((i % 2))"
  local nv=${#variants[@]}
  # In lockstep: every round makes one move with each variant (rotating
  # which goes first), timed apart with $EPOCHREALTIME (no fork).
  for ((rep = 0; rep < reps; rep++)); do
    declare -A us=()
    for ((i = 0; i < n; i++)); do
      for ((k = 0; k < nv; k++)); do
        v=${variants[(k + i) % nv]}
        t=${EPOCHREALTIME/./}
        eval "${loop[$v]}" > /dev/null || die "moves: '${loop[$v]}' failed"
        us[$v]=$(( ${us[$v]:-0} + ${EPOCHREALTIME/./} - t ))
      done
    done
    for v in "${variants[@]}"; do
      cmd="for i in \$(seq $n); do ${loop[$v]}; done (in lockstep: one move of each variant per round)"
      record moves "$metric" "$v" "$rep" "$(div "$n * 1000000" "${us[$v]}")" \
        moves/s higher "$ceiling" "$(show "$cmd")"
    done
    unset us
    log "moves: ln -sfn loops $((rep + 1))/$reps"
  done
  local txn_in=${TXN[1]}
  exec {txn_in}>&-
  wait "$TXN_PID" 2>/dev/null || true
  local aliases=()
  k=0
  for l in "${regfs_labels[@]}"; do
    aliases+=("--alias=$l=$W/mnt/meta-$l/moves/a$k")
    k=$((k + 1))
  done
  aliases+=("--alias=tmpfs=$TMPFS_DIR/moves/a")
  # The ceiling of a durable symlink+rename through FUSE here: the pair
  # through passthrough_ll (no durability, no checks), then the bare
  # transaction.
  if mountpoint -q "$pt"; then
    aliases+=("--ceiling=passthrough_ll+bare_txn=$pt/moves/s")
  fi
  cmd="$B/regfs_bench_moves ${aliases[*]} --sqlite=$W/floor.db --concurrent=$concurrent_movers $(gbench_flags 1) --benchmark_out=$W/moves.json --benchmark_out_format=json"
  log "moves: symlink+rename against the bare SQLite transaction"
  $cmd > "$LOGS/moves.txt" 2>&1 || { tail "$LOGS/moves.txt" >&2; die "regfs_bench_moves failed"; }
  "$B/regfs_bench_report" gb2tsv --json "$W/moves.json" --section moves \
    --baseline "bare SQLite txn" --command "$(show "$cmd")" >> "$SAMPLES"
  for l in "${regfs_labels[@]}"; do
    target moves "$metric" "$l: ln -sfn" "$ceiling" ">=" 0.95 \
      "$l: ln -sfn loop >= 0.95× its durable ceiling (tmpfs ln -sfn + a bare SQLite transaction, in lockstep)"
    target moves "alias move, one history row (in lockstep)" "$l" "bare SQLite txn" ">=" 0.5 \
      "$l: symlink+rename >= 0.5× a bare SQLite transaction (WAL, FULL)"
  done
  rm -rf "$TMPFS_DIR"
  TMPFS_DIR=""
}

# ---- scale: a big store against a store of one collection ----

section_scale() {
  local per=1000 aliases_per=100
  local large=$W/store-large small=$W/store-small
  local nv=$((scale_collections * per))
  local L="$scale_collections collections ($nv versions)" S="1 collection (1000 versions)"
  local cmd
  log "scale: generating $nv versions, $((scale_collections * aliases_per)) aliases"
  cmd="$B/regfs_bench_gen --store $small --collections 1 --versions-per $per --aliases-per $aliases_per --threads 1 --label '$S'"
  eval "$cmd" 2>> "$LOGS/gen.log" | samples scale - "$(show "$cmd")"
  cmd="$B/regfs_bench_gen --store $large --collections $scale_collections --versions-per $per --aliases-per $aliases_per --threads 1 --label '$L'"
  eval "$cmd" 2>> "$LOGS/gen.log" | samples scale - "$(show "$cmd")"
  log "scale: generated in $SECONDS s so far"

  declare -A store=(["$S"]=$small ["$L"]=$large)
  declare -A mnt=(["$S"]=$W/mnt/scale-small ["$L"]=$W/mnt/scale-large)
  declare -A ncoll=(["$S"]=1 ["$L"]=$scale_collections)
  local v rep t order
  for v in "$S" "$L"; do
    record scale "store size" "$v" 0 \
      "$(div "$(du -sb "${store[$v]}" | cut -f1)" 1048576)" MiB lower "$S" \
      "du -sb $(show "${store[$v]}")"
  done
  for ((rep = 0; rep < reps; rep++)); do
    mapfile -t order < <(rotate "$rep" "$S" "$L")
    for v in "${order[@]}"; do
      mkdir -p "${mnt[$v]}"
      cmd="$REGFS --store ${store[$v]} mount ${mnt[$v]}"
      t=$(now_ns); $cmd; t=$(elapsed "$t")
      fusermount3 -u "${mnt[$v]}"
      record scale "mount start (until the mount answers)" "$v" "$rep" \
        "$(echo "$t * 1000" | bc)" ms lower "$S" "$(show "$cmd")"
    done
  done
  sleep 0.5  # the daemons above exit after their unmount
  log "scale: mount start"

  mount_regfs "$REGFS" "$small" "${mnt[$S]}"
  mount_regfs "$REGFS" "$large" "${mnt[$L]}"
  sleep 2
  rss() { awk -v k="$2:" '$1 == k { print $2 / 1024 }' "/proc/$1/status"; }
  for v in "$S" "$L"; do
    record scale "daemon RSS, idle after mount" "$v" 0 \
      "$(rss "${MOUNT_PID[${mnt[$v]}]}" VmRSS)" MiB lower "$S" \
      "regfs mount -f; sleep 2; VmRSS in /proc/PID/status"
  done
  for ((rep = 0; rep < reps; rep++)); do
    mapfile -t order < <(rotate "$rep" "$S" "$L")
    for v in "${order[@]}"; do
      local shape="--root ${mnt[$v]} --collections ${ncoll[$v]} --versions-per $per --aliases-per $aliases_per"
      cmd="$B/regfs_bench_probe latency --op lookup $shape --samples 1000 --seed $rep --metric lookup --variant V --rep $rep"
      "$B/regfs_bench_probe" latency --op lookup $shape --samples 1000 \
        --seed "$rep" --metric "lookup of a version (lstat, cold dentry)" \
        --variant "$v" --rep "$rep" | samples scale "$S" "$(show "$cmd")"
      cmd="$B/regfs_bench_probe latency --op readlink $shape --samples 1000 --seed $rep --metric readlink --variant V --rep $rep"
      "$B/regfs_bench_probe" latency --op readlink $shape --samples 1000 \
        --seed "$rep" --metric "readlink of an alias (dentry warm)" \
        --variant "$v" --rep "$rep" | samples scale "$S" "$(show "$cmd")"
    done
    log "scale: latency $((rep + 1))/$reps"
  done
  for v in "$S" "$L"; do
    local shape="--root ${mnt[$v]} --collections ${ncoll[$v]} --versions-per $per --aliases-per $aliases_per"
    cmd="$B/regfs_bench_probe load $shape --threads 2 --seconds 10 --variant V"
    drop 2
    "$B/regfs_bench_probe" load $shape --threads 2 --seconds 10 \
      --metric "random lstat + open/close + readlink, 2 threads, 10 s" \
      --variant "$v" | samples scale "$S" "$(show "$cmd")"
    local c nc=${ncoll[$v]}
    for ((c = 0; c < nc && c < 10; c++)); do
      ls -l "${mnt[$v]}/$(printf 'c%04d' "$c")" > /dev/null
    done
    local pid=${MOUNT_PID[${mnt[$v]}]}
    record scale "daemon RSS after the load" "$v" 0 "$(rss "$pid" VmRSS)" \
      MiB lower "$S" "$(show "$cmd"); VmRSS"
    record scale "daemon peak RSS (VmHWM)" "$v" 0 "$(rss "$pid" VmHWM)" \
      MiB lower "$S" "$(show "$cmd"); VmHWM"
  done
  log "scale: load and RSS"
  unmount "${mnt[$S]}"
  unmount "${mnt[$L]}"

  target scale "lookup of a version (lstat, cold dentry) p50" "$L" "$S" "<=" 1.2 \
    "lookup p50 at $nv versions <= 1.2× a store of one collection"
  target scale "daemon RSS, idle after mount" "$L" - "<" 64 \
    "daemon RSS idle at $nv versions < 64 MiB"
  target scale "daemon peak RSS (VmHWM)" "$L" - "<" 64 \
    "daemon RSS under load at $nv versions < 64 MiB"
}

# ---- automations: an alias move through the mount -> a webhook ----

# percentile P: the P-th percentile (nearest rank) of the numbers on stdin.
percentile() {
  sort -n | awk -v p="$1" '{ v[NR] = $1 } END {
    r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}

section_automations() {
  local n=20 rep v l port run_pid
  local metric="delivery latency (start of ln -sfn -> webhook received)"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Two stores, each with an automation posting models/candidate's moves
  # to the receiver: one delivered by the daemon of its mount, the other
  # by `regfs automation run` beside a mount with -o nodelivery (woken by
  # the daemon's announcement, as on a machine that runs it as a service).
  local -A store=([daemon]=$W/store-auto-daemon [run]=$W/store-auto-run)
  local -A mnt=([daemon]=$W/mnt/auto-daemon [run]=$W/mnt/auto-run)
  local -A opts=([daemon]="" [run]="-o nodelivery")
  local -A label=([daemon]="regfs mount (the daemon delivers)"
                  [run]="regfs automation run (-o nodelivery mount)")
  printf 'zero\n' > "$W/auto-v0"
  printf 'one\n' > "$W/auto-v1"
  for v in daemon run; do
    "$REGFS" --store "${store[$v]}" init > /dev/null
    "$REGFS" --store "${store[$v]}" push models "$W/auto-v0" > /dev/null
    "$REGFS" --store "${store[$v]}" push models "$W/auto-v1" --alias candidate > /dev/null
    "$REGFS" --store "${store[$v]}" automation add hook --on alias.move \
      --webhook "http://127.0.0.1:$port/$v" > /dev/null
    # shellcheck disable=SC2086
    mount_regfs "$REGFS" "${store[$v]}" "${mnt[$v]}" ${opts[$v]}
  done
  "$REGFS" --store "${store[run]}" automation run >> "$LOGS/automation-run.log" 2>&1 &
  run_pid=$!
  for ((rep = 0; rep < reps; rep++)); do
    local args=()
    for v in $(rotate "$rep" daemon run); do
      args+=("${label[$v]}=${mnt[$v]}/models/candidate=/$v")
    done
    python3 "$REPO/tests/bench/delivery_latency.py" --port "$port" --moves "$n" \
      "${args[@]}" > "$W/auto-$rep.tsv" ||
      { kill "$run_pid"; die "delivery_latency.py failed; see $LOGS"; }
    for v in daemon run; do
      l=${label[$v]}
      local shown="python3 tests/bench/delivery_latency.py --moves $n (ln -sfn v0|v1 \$W/mnt/auto-$v/models/candidate; $n moves of each variant in turn, p50 and p90 of each repetition)"
      record automations "$metric, p50" "$l" "$rep" \
        "$(awk -F'\t' -v l="$l" '$1 == l { print $2 }' "$W/auto-$rep.tsv" | percentile 50)" \
        ms lower "${label[run]}" "$shown"
      record automations "$metric, p90" "$l" "$rep" \
        "$(awk -F'\t' -v l="$l" '$1 == l { print $2 }' "$W/auto-$rep.tsv" | percentile 90)" \
        ms lower "${label[run]}" "$shown"
      record automations "ln -sfn alone, p50" "$l" "$rep" \
        "$(awk -F'\t' -v l="$l" '$1 == l { print $3 }' "$W/auto-$rep.tsv" | percentile 50)" \
        ms lower "${label[run]}" "$shown"
    done
    log "automations: repetition $((rep + 1))/$reps"
  done
  kill -TERM "$run_pid"
  wait "$run_pid" || true
  for v in daemon run; do
    unmount "${mnt[$v]}"
    rm -rf "${store[$v]}"
  done
  rm -f "$W"/auto-v0 "$W"/auto-v1
  target automations "$metric, p50" "${label[daemon]}" - "<=" 100 \
    "delivery latency p50 <= 100 ms"
}

# ---- shared: a shared store (PostgreSQL) against the embedded one ----

# A throwaway PostgreSQL 15 (tests/scale/services.sh: a unix socket in
# PG_STATE, fsync=off), stopped by cleanup() if the run ends early.
PG_STATE=""
start_pg() {
  local exports
  PG_STATE=$W/pg
  exports=$(REGFS_SERVICES_DIR=$PG_STATE bash "$REPO/tests/scale/services.sh" start) ||
    die "cannot start PostgreSQL (tests/scale/services.sh)"
  eval "$exports"
}
stop_pg() {
  REGFS_SERVICES_DIR=$PG_STATE bash "$REPO/tests/scale/services.sh" stop ||
    log "shared: could not stop the PostgreSQL in $PG_STATE"
  PG_STATE=""
}
# psql_admin SQL: one statement as the server's superuser.
psql_admin() {
  setpriv --reuid postgres --regid postgres --clear-groups -- \
    /usr/lib/postgresql/15/bin/psql -qtA -h "$PG_STATE/pg/socket" \
    -U postgres -d postgres -c "$1"
}

section_shared() {
  local per=1000 aliases_per=1000 movers=$concurrent_movers
  local emb=$W/store-shared-embedded node_a=$W/store-shared-a
  local node_b=$W/store-shared-b blobs=$W/store-shared-blobs
  local floor=$W/store-shared-floor
  local E="embedded store (SQLite)" S="shared store (PostgreSQL)"
  local P="bare PostgreSQL txn (pgbench)" M="shared store, through the mount"
  local cmd rep v t
  start_pg
  local url=$REGFS_TEST_PG_URL
  local floor_url=${url/\/registry?/\/floor?}
  psql_admin "CREATE DATABASE floor OWNER regfs" > /dev/null
  local server
  server="fsync=$(psql_admin 'SHOW fsync'), synchronous_commit=$(psql_admin 'SHOW synchronous_commit')"
  log "shared: PostgreSQL 15 up ($server)"

  # The same data in both stores; node B joins node A's registry.
  local shape=(--collections 1 --versions-per "$per" --aliases-per "$aliases_per")
  "$B/regfs_bench_gen" --store "$emb" "${shape[@]}" --threads 1 --label "$E" \
    2>> "$LOGS/gen.log" > /dev/null
  "$B/regfs_bench_gen" --store "$node_a" "${shape[@]}" --threads 1 --label "$S" \
    --metadata "$url" --blobs "$blobs" 2>> "$LOGS/gen.log" > /dev/null
  "$REGFS" init --store "$node_b" --metadata "$url" --blobs "$blobs" > /dev/null
  # The moved aliases: moves/a (one mover), moves-T/a (concurrent movers,
  # a collection each, as in section moves); moves/m0... in the floor's
  # database, one row per pgbench client, with the registry's schema.
  printf 'one\n' > "$W/shared-v0"
  printf 'two\n' > "$W/shared-v1"
  local c
  for c in moves $(seq -f 'moves-%g' 0 $((movers - 1))); do
    "$REGFS" --store "$node_a" push "$c" "$W/shared-v0" > /dev/null
    "$REGFS" --store "$node_a" push "$c" "$W/shared-v1" > /dev/null
  done
  "$REGFS" --store "$node_a" alias set moves a v0 > /dev/null
  "$REGFS" init --store "$floor" --metadata "$floor_url" --blobs "$floor-blobs" > /dev/null
  "$REGFS" --store "$floor" push moves "$W/shared-v0" > /dev/null
  "$REGFS" --store "$floor" push moves "$W/shared-v1" > /dev/null
  for ((c = 0; c < movers; c++)); do
    "$REGFS" --store "$floor" alias set moves "m$c" v0 > /dev/null
  done
  local alias0 version0
  alias0=$(psql "$floor_url" -qtA -c "SELECT min(id) FROM aliases")
  version0=$(psql "$floor_url" -qtA -c "SELECT min(id) FROM versions")
  log "shared: stores made in $SECONDS s so far"

  local me=$W/mnt/shared-embedded ma=$W/mnt/shared-a mb=$W/mnt/shared-b
  mount_regfs "$REGFS" "$emb" "$me"
  mount_regfs "$REGFS" "$node_a" "$ma"
  mount_regfs "$REGFS" "$node_b" "$mb"
  declare -A mnt=(["$E"]=$me ["$S"]=$ma)

  local visible="alias move visible on another node (ln -sfn returned on A -> readlink on B)"
  local order op what
  for ((rep = 0; rep < reps; rep++)); do
    # Lookups and readlinks: the probe of section scale, the same names in
    # both stores (node A's mount for the shared one).
    mapfile -t order < <(rotate "$rep" "$E" "$S")
    for v in "${order[@]}"; do
      for op in lookup readlink; do
        what="lookup of a version (lstat, cold dentry)"
        # Readlink: the kernel keeps a link's target (FUSE_CAP_CACHE_SYMLINKS)
        # while it keeps the inode; dropped, each readlink reaches the daemon.
        [[ $op == readlink ]] && what="readlink of an alias (dentry warm)" && drop 2
        cmd="$B/regfs_bench_probe latency --op $op --root ${mnt[$v]} ${shape[*]} --samples 1000 --seed $rep --metric M --variant V --rep $rep"
        "$B/regfs_bench_probe" latency --op "$op" --root "${mnt[$v]}" "${shape[@]}" \
          --samples 1000 --seed "$rep" --metric "$what" --variant "$v" \
          --rep "$rep" | samples shared "$E" "$(show "$cmd")"
      done
    done
    cmd="$B/regfs_bench_probe visible --from $ma/moves/a --to $mb/moves/a --moves 100 --metric M --variant V --rep $rep"
    "$B/regfs_bench_probe" visible --from "$ma/moves/a" --to "$mb/moves/a" \
      --moves 100 --metric "$visible" --variant "$S" --rep "$rep" |
      samples shared - "$(show "$cmd")"
    # Moves per second: through node A's mount (move_bench.cc: one mover;
    # then $movers at once, each in a collection of its own), and the bare
    # transaction with as many pgbench clients; the two of each
    # concurrency run one after the other (rotating which goes first).
    local clients
    for clients in 1 "$movers"; do
      what="alias moves, $clients concurrent movers"
      ((clients == 1)) && what="alias moves, 1 mover"
      for v in $(rotate "$rep" mount pgbench); do
        if [[ $v == mount ]]; then
          local args=(--benchmark_repetitions=1 --benchmark_min_time=1
                      --benchmark_out="$W/shared-moves.json"
                      --benchmark_out_format=json)
          ((clients > 1)) &&
            args+=(--concurrent="$clients" --benchmark_filter=concurrent)
          cmd="$B/regfs_bench_moves '--alias=$M=$ma/moves/a' ${args[*]}"
          "$B/regfs_bench_moves" "--alias=$M=$ma/moves/a" "${args[@]}" \
            > "$LOGS/shared-moves.txt" 2>&1 ||
            { tail "$LOGS/shared-moves.txt" >&2; die "regfs_bench_moves failed"; }
          "$B/regfs_bench_report" gb2tsv --json "$W/shared-moves.json" \
            --section shared --baseline "$P" --command "$(show "$cmd")" |
            awk -v rep="$rep" -v what="$what" 'BEGIN { FS = OFS = "\t" }
              { $2 = what; $4 = rep; print }' >> "$SAMPLES"
        else
          cmd="pgbench -n -M prepared -f tests/bench/move_pg.sql -D alias0=$alias0 -D version0=$version0 -c $clients -j $((clients > 1 ? 2 : 1)) -T 1"
          t=$($cmd "$floor_url" 2>> "$LOGS/pgbench.log" |
              awk '/^tps = / { print $3 }')
          [[ -n $t ]] || die "pgbench failed; see $LOGS/pgbench.log"
          record shared "$what" "$P" "$rep" "$t" ops/s higher "$P" \
            "$(show "$cmd") (server: $server)"
        fi
      done
    done
    log "shared: repetition $((rep + 1))/$reps"
  done
  unmount "$me"
  unmount "$ma"
  unmount "$mb"
  stop_pg
  rm -rf "$emb" "$node_a" "$node_b" "$blobs" "$floor" "$floor-blobs" \
    "$W"/shared-v0 "$W"/shared-v1

  target shared "$visible, p99" "$S" - "<=" 100 \
    "alias move visible on another node: p99 <= 100 ms"
  target shared "$visible, max" "$S" - "<=" 1000 \
    "alias move visible on another node: always within 1 s"
  target shared "lookup of a version (lstat, cold dentry) p50" "$S" "$E" "<=" 2 \
    "lookup p50 on a shared store <= 2× the embedded store's"
}

# ---- the machine ----

# The libfuse the build linked: the one built from Debian trixie's source
# into .deps/libfuse (the default), or the system's (-DREGFS_SYSTEM_FUSE=ON).
fuse_version() {
  if grep -q '^REGFS_SYSTEM_FUSE:BOOL=ON' "$build/CMakeCache.txt"; then
    echo "$(pkg-config --modversion fuse3) (the system's)"
  else
    echo "$(PKG_CONFIG_PATH=$REPO/.deps/libfuse/lib/pkgconfig pkg-config --modversion fuse3) (static, from Debian trixie's source)"
  fi
}

machine() {
  local fs dev opts
  read -r dev fs < <(df -T "$W" | awk 'NR == 2 { print $1, $2 }')
  opts=$(awk -v d="$dev" '$1 == d { print $4; exit }' /proc/mounts)
  cat <<EOF
| | |
|---|---|
| CPU | $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo) |
| memory | $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |
| kernel | $(uname -sr) |
| file system of the store | $fs on $dev ($opts)$([[ -e /sys/block/$(basename "$dev")/queue/rotational ]] && echo ", rotational=$(cat "/sys/block/$(basename "$dev")/queue/rotational")") |
| OS | $(. /etc/os-release && echo "$PRETTY_NAME") |
| libfuse | $(fuse_version), SQLite $(pkg-config --modversion sqlite3), $(fio --version), $(gcc --version | head -n 1) |
| regfs | commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")$( [[ -n $(git -C "$REPO" status --porcelain -- registry fs tools 2>/dev/null) ]] && echo " with uncommitted changes in registry/, fs/ or tools/") |
| run | $started, $SECONDS s, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) |
EOF
}

# ---- s3: a store whose blobs live in S3 (issue 17) ----

# PostgreSQL and s3rver (tests/scale/services.sh) in S3_STATE, stopped by
# cleanup() if the run ends early.
S3_STATE=""
start_s3() {
  local exports
  S3_STATE=$W/s3svc
  exports=$(REGFS_SERVICES_DIR=$S3_STATE REGFS_S3_PORT=0 \
            bash "$REPO/tests/scale/services.sh" start) ||
    die "cannot start PostgreSQL and s3rver (tests/scale/services.sh)"
  eval "$exports"
}
stop_s3() {
  REGFS_SERVICES_DIR=$S3_STATE bash "$REPO/tests/scale/services.sh" stop ||
    log "s3: could not stop the services in $S3_STATE"
  S3_STATE=""
}
# s3curl ARGS...: curl signed as the store's client is (SigV4, path-style).
s3curl() {
  curl -sS --fail --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

section_s3() {
  start_s3
  local bucket=$REGFS_TEST_S3_BUCKET url=$AWS_ENDPOINT_URL
  local a=$W/store-s3-a b=$W/store-s3-b src=$W/s3-src.bin got=$W/s3-got.bin
  local mb="${read_mib} MiB" rep v t cmd blob
  local R="regfs" C="curl"
  log "s3: PostgreSQL and s3rver up ($url)"
  "$REGFS" init --store "$a" --metadata "$REGFS_TEST_PG_URL" \
    --blobs "s3://$bucket/bench" --s3-endpoint "$url" > /dev/null
  "$REGFS" init --store "$b" --metadata "$REGFS_TEST_PG_URL" \
    --blobs "s3://$bucket/bench" --s3-endpoint "$url" > /dev/null
  head -c "$((read_mib << 20))" /dev/urandom > "$src"
  # Uploads: each repetition pushes new content (its first bytes differ),
  # so that no push finds its blob already there.
  for ((rep = 0; rep < reps; rep++)); do
    printf 'rep %08d' "$rep" | dd of="$src" conv=notrunc status=none
    for v in $(rotate "$rep" "$R" "$C"); do
      drop 3
      t=$(now_ns)
      if [[ $v == "$R" ]]; then
        cmd="regfs push big \$W/s3-src.bin"
        "$REGFS" --store "$a" push big "$src" > /dev/null
      else
        cmd="curl --aws-sigv4 ... -T \$W/s3-src.bin \$URL/$bucket/floor/$rep"
        s3curl -o /dev/null -T "$src" "$url/$bucket/floor/$rep"
      fi
      record s3 "upload of $mb" "$v" "$rep" \
        "$(div "$read_mib * 1048576 / 1000000" "$(elapsed "$t")")" MB/s higher "$C" "$cmd"
    done
    log "s3: upload $((rep + 1))/$reps"
  done
  # Cold reads on node B: its cache emptied and the page cache dropped,
  # against curl's GET of the same object into a file on the same disk
  # (the floor: the download and the write, without the hash check).
  mount_regfs "$REGFS" "$b" "$W/mnt/s3-b"
  local last=$((reps - 1))
  blob=$("$REGFS" --store "$a" resolve "big/v$last")
  blob=$(basename "${blob#* }")
  for ((rep = 0; rep < reps; rep++)); do
    for v in $(rotate "$rep" "$R" "$C"); do
      "$REGFS" --store "$b" cache drop > /dev/null
      rm -f "$got"
      drop 3
      t=$(now_ns)
      if [[ $v == "$R" ]]; then
        cmd="regfs cache drop; echo 3 > /proc/sys/vm/drop_caches; cat mnt/big/v$last > /dev/null"
        cat "$W/mnt/s3-b/big/v$last" > /dev/null
      else
        cmd="echo 3 > /proc/sys/vm/drop_caches; curl --aws-sigv4 ... -o \$W/s3-got.bin \$URL/$bucket/bench/blobs/KEY"
        s3curl -o "$got" "$url/$bucket/bench/blobs/$blob"
      fi
      record s3 "cold read of $mb from S3 (empty cache)" "$v" "$rep" \
        "$(div "$read_mib * 1048576 / 1000000" "$(elapsed "$t")")" MB/s higher "$C" "$cmd"
    done
    log "s3: cold read $((rep + 1))/$reps"
  done
  rm -f "$got"
  # Warm: the blob cached and in the page cache, through the mount against
  # the cached file itself.
  local cached=$b/blobs/${blob:0:2}/$blob
  cat "$W/mnt/s3-b/big/v$last" > /dev/null
  for ((rep = 0; rep < reps; rep++)); do
    for v in $(rotate "$rep" "$R" direct); do
      local path=$cached
      [[ $v == "$R" ]] && path=$W/mnt/s3-b/big/v$last
      # Over and over for 1 s, as the read section's warm rows: one pass
      # takes ~70 ms, counted by fio in whole ms.
      cmd=$(fio_cmd "$path" read 1M 1)
      record s3 "warm read of $mb from the node cache" "$v" "$rep" \
        "$(div "$(fio_field "$cmd" 7) * 1024" 1000000)" MB/s higher direct "$(show "$cmd")"
    done
    log "s3: warm read $((rep + 1))/$reps"
  done
  unmount "$W/mnt/s3-b"
  target s3 "cold read of $mb from S3 (empty cache)" "$R" "$C" ">=" 0.8 \
    "cold read from S3 >= 0.8× curl GET of the object"
  target s3 "warm read of $mb from the node cache" "$R" direct ">=" 0.95 \
    "warm read from the cache >= 0.95× the cached file read directly"
  rm -f "$src"
  stop_s3
}

# ---- tree: every file of a tree version of small files, as a data loader ----

# The tree is written once as plain files (the ext4 baseline, on the same
# disk), pushed as one version with the CLI, and read through a mount with
# kernel passthrough (the default), through one without (-o nopassthrough,
# what old kernels and unprivileged daemons get), through a read-only one
# (-o ro, a reader's mount), through libfuse's
# passthrough_ll over the ext4 copy (FUSE's own floor), and directly. Cold:
# the kernel's caches dropped before each pass; warm: the same pass again
# right after. Files per second, so that the ratio is the speed's.
section_tree() {
  local src=$W/tree-src store=$W/store-tree per=1000 t files=$tree_files
  ((files < per)) && per=$files
  tree_used=$files
  log "tree: writing $files files of 4 KiB, $per to a directory"
  python3 "$REPO/tests/bench/tree_walk.py" --make "$src" "$files" "$per"
  "$REGFS" --store "$store" init > /dev/null
  t=$(now_ns)
  "$REGFS" --store "$store" push tree "$src" > /dev/null
  log "tree: pushed as one version in $(elapsed "$t") s (regfs push)"
  # Variants by key; the report names the fallback in full.
  declare -A dir=([ext4]=$src) name=([ext4]=ext4 [nopt]="regfs -o nopassthrough")
  local variants=(ext4) l
  for l in "${regfs_labels[@]}"; do
    mount_regfs "${REGFS_BIN[$l]}" "$store" "$W/mnt/tree-$l"
    dir[$l]=$W/mnt/tree-$l/tree/v0
    name[$l]=$l
    variants+=("$l")
  done
  mount_regfs "$REGFS" "$store" "$W/mnt/tree-nopt" -o nopassthrough
  dir[nopt]=$W/mnt/tree-nopt/tree/v0
  # A read-only mount: the kernel then keeps a file's attributes across
  # its passed-through reads (on a writable one each read invalidates the
  # atime, and the next fstat asks the daemon).
  mount_regfs "$REGFS" "$store" "$W/mnt/tree-ro" -o ro
  dir[ro]=$W/mnt/tree-ro/tree/v0
  name[ro]="regfs -o ro"
  variants+=(nopt ro)
  # passthrough_ll keeps an fd for every inode the kernel knows: a tree of
  # more files than the fd limit fails with EMFILE, so it is left out then.
  if [[ -x $B/passthrough_ll ]] &&
     ((files + files / per + 100 < $(ulimit -Hn))); then
    mount_pt "$src" "$W/mnt/tree-pt"
    dir[passthrough_ll]=$W/mnt/tree-pt
    name[passthrough_ll]=passthrough_ll
    variants+=(passthrough_ll)
  fi
  local walk="python3 $REPO/tests/bench/tree_walk.py"
  local rep v warmth walked count
  local what="read every file of a tree of $files 4 KiB files (os.walk + read)"
  for ((rep = 0; rep < reps; rep++)); do
    for v in $(rotate "$rep" "${variants[@]}"); do
      drop 3
      for warmth in cold warm; do
        walked=$($walk "${dir[$v]}")
        count=$(cut -f2 <<< "$walked")
        ((count == files)) || die "tree: ${name[$v]} read $count files, not $files"
        record tree "$what, $warmth" "${name[$v]}" "$rep" \
          "$(div "$count" "$(cut -f1 <<< "$walked")")" files/s higher ext4 \
          "$([[ $warmth == cold ]] && echo "echo 3 > /proc/sys/vm/drop_caches; ")$(show "${walk/$REPO\//} ${dir[$v]}")"
      done
    done
    log "tree: $((rep + 1))/$reps"
  done
  for l in "${regfs_labels[@]}"; do
    target tree "$what, cold" "$l" ext4 ">=" 0.3 \
      "$l: cold read of a tree of small files >= 0.3× ext4"
    target tree "$what, warm" "$l" ext4 ">=" 0.3 \
      "$l: warm read of a tree of small files >= 0.3× ext4"
  done
  for l in "${regfs_labels[@]}"; do unmount "$W/mnt/tree-$l"; done
  unmount "$W/mnt/tree-nopt"
  unmount "$W/mnt/tree-ro"
  [[ -n ${dir[passthrough_ll]:-} ]] && unmount "$W/mnt/tree-pt"
  return 0
}

# ---- run ----

if has push || has read; then make_source; fi
if has push; then
  log "== push"
  section_push
elif has read; then
  "$REGFS" --store "$READ_STORE" push big "$SRC" > /dev/null
fi
if has read; then log "== read"; section_read; fi
rm -f "$SRC"
if has meta || has moves; then
  make_meta_store
  mount_meta
  if has meta; then log "== meta"; section_meta; fi
  if has moves; then log "== moves"; section_moves; fi
  unmount_meta
fi
if has tree; then log "== tree"; section_tree; fi
if has scale; then log "== scale"; section_scale; fi
if has automations; then log "== automations"; section_automations; fi
if has shared; then log "== shared"; section_shared; fi
if has s3; then log "== s3"; section_s3; fi

# The run's results are kept in the build tree, so that the report can be
# written again (--render-only, e.g. after editing analysis.md).
machine > "$W/machine.md"
[[ -f $W/batches.txt ]] || echo "(the moves section did not run)" > "$W/batches.txt"
printf '%s' "reps $reps, ${read_mib} MiB version, metadata collection of $meta_versions versions and $meta_aliases aliases, $cold_names names per cold run, tree of ${tree_used:-$tree_files} files of 4 KiB, scale store of $scale_collections collections of 1000 versions$( ((${#compare[@]})) && echo "; also measured: ${compare[*]}")" \
  > "$W/options.txt"
for f in samples.tsv targets.tsv machine.md options.txt batches.txt; do
  cp "$W/$f" "$build/bench-$f"
done
render
log "done in $SECONDS s: $out (results kept in $build/bench-*)"
