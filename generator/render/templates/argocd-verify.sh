#!/bin/bash
# PostSync verification (rdma-gitops): an Indexed Job with two pods on two InfiniBand nodes. Index 0 serves one
# ib_write_bw per HCA (port 18515 + i); index 1 measures every HCA at once against the same HCA of index 0 and fails
# the Job (and so the Argo CD sync) naming each HCA whose average is below FLOOR_GBPS. GPU_MEMORY dmabuf or peermem:
# each HCA reads and writes GPU i mod GPUS (--use_cuda, with --use_cuda_dmabuf for DMA-BUF), the path GPUDirect RDMA
# takes; host: host memory.
set -u
IB_SYSFS=${IB_SYSFS:-/sys/class/infiniband}
IB_DEV=${IB_DEV:-/dev/infiniband}
work=${CHECK_DIR:-/tmp}
MESSAGE=8388608  # 8 MiB, as Azure's health checks measure the floors
fail() { echo "FAIL: $*"; exit 1; }
devices=()
for d in "$IB_SYSFS"/*; do
  [ -e "$d" ] || continue
  [ "$(cat "$d/ports/1/link_layer" 2>/dev/null)" = "InfiniBand" ] || continue
  for u in "$d"/device/infiniband_verbs/uverbs*; do
    if [ -e "$IB_DEV/${u##*/}" ]; then devices+=("${d##*/}"); break; fi
  done
done
if [ "${#devices[@]}" -lt "$HCAS" ]; then
  fail "${#devices[@]} InfiniBand HCA(s) usable in this pod on $NODE_NAME (${devices[*]:-none}); $VM_SIZE has $HCAS (mode $MODE)"
fi
devices=("${devices[@]:0:$HCAS}")
if [ -n "${IPOIB_INTERFACE:-}" ] && ! ip -4 -o addr show dev "$IPOIB_INTERFACE" | grep -q inet; then
  fail "IPoIB interface $IPOIB_INTERFACE has no IPv4 address"
fi
memory() {  # the memory flags of HCA $1
  case "$GPU_MEMORY" in
    peermem) echo "--use_cuda=$(($1 % GPUS))" ;;
    dmabuf) echo "--use_cuda=$(($1 % GPUS)) --use_cuda_dmabuf" ;;
  esac
}
where() {  # what HCA $1 measures, for messages
  if [ "$GPU_MEMORY" = host ]; then echo "host memory"; else echo "GPU $(($1 % GPUS)), $GPU_MEMORY"; fi
}
run() {  # ib_write_bw for HCA $1, against $2 (empty: serve)
  # shellcheck disable=SC2046
  ib_write_bw -d "${devices[$1]}" -p $((18515 + $1)) -s "$MESSAGE" -D 10 --perform_warm_up -F --report_gbits \
    $(memory "$1") ${2:+"$2"}
}
last=$((HCAS - 1))
if [ "$JOB_COMPLETION_INDEX" = "0" ]; then
  echo "server on $NODE_NAME: ${devices[*]} ($GPU_MEMORY memory)"
  pids=()
  for i in $(seq 0 "$last"); do run "$i" "" >"$work/hca-$i.log" 2>&1 & pids+=($!); done
  status=0
  for i in $(seq 0 "$last"); do
    if ! wait "${pids[$i]}"; then
      echo "FAIL: ib_write_bw server on ${devices[$i]} ($(where "$i")) failed:"; cat "$work/hca-$i.log"; status=1
    fi
  done
  exit "$status"
fi
for _ in $(seq 60); do getent hosts "$SERVER" >/dev/null && break; sleep 5; done
client() {  # HCA $1 against the server, retried while the server's listener comes up
  for _ in $(seq 12); do
    if run "$1" "$SERVER" >"$work/hca-$1.log" 2>&1; then return 0; fi
    grep -q "Unsupported memory type" "$work/hca-$1.log" && return 1
    sleep 5
  done
  return 1
}
pids=()
for i in $(seq 0 "$last"); do client "$i" & pids+=($!); done
for i in $(seq 0 "$last"); do wait "${pids[$i]}"; done
low=()
for i in $(seq 0 "$last"); do
  dev=${devices[$i]}
  bw=$(awk '$1 ~ /^[0-9]+$/ && NF >= 4 {v = $4} END {print v}' "$work/hca-$i.log")
  if [ -z "$bw" ]; then
    cat "$work/hca-$i.log"
    if grep -q "Unsupported memory type" "$work/hca-$i.log"; then
      echo "FAIL $dev ($(where "$i")): this image's ib_write_bw has no CUDA support; verify.image needs perftest built with CUDA"
    else
      echo "FAIL $dev ($(where "$i")): no ib_write_bw result from $SERVER"
    fi
    low+=("$dev"); continue
  fi
  if awk -v bw="$bw" -v floor="$FLOOR_GBPS" 'BEGIN {exit !(bw + 0 >= floor + 0)}'; then
    echo "OK   $dev ($(where "$i")): $bw Gb/s >= floor $FLOOR_GBPS Gb/s"
  else
    echo "FAIL $dev ($(where "$i")): $bw Gb/s < floor $FLOOR_GBPS Gb/s"; low+=("$dev")
  fi
done
if [ "${#low[@]}" -gt 0 ]; then
  fail "${#low[@]} of $HCAS HCAs below $FLOOR_GBPS Gb/s between $NODE_NAME and $SERVER ($VM_SIZE): ${low[*]}"
fi
echo "OK: all $HCAS HCAs >= $FLOOR_GBPS Gb/s between $NODE_NAME and $SERVER ($VM_SIZE, $GPU_MEMORY memory)"
