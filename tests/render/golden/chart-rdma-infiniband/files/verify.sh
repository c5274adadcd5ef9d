#!/bin/bash
# PostSync verification (rdma-gitops): an Indexed Job with two pods on two InfiniBand nodes.
# Index 0 serves ib_write_bw; index 1 connects to it through the headless Service and fails the Job
# (and so the Argo CD sync) when the average bandwidth is below FLOOR_GBPS.
set -eu
dev=""
for d in /sys/class/infiniband/*; do
  for u in "$d"/device/infiniband_verbs/uverbs*; do
    if [ -e "/dev/infiniband/${u##*/}" ]; then dev="${d##*/}"; break 2; fi
  done
done
if [ -z "$dev" ]; then echo "FAIL: no RDMA device usable in this pod (mode $MODE)"; exit 1; fi
if [ -n "${IPOIB_INTERFACE:-}" ] && ! ip -4 -o addr show dev "$IPOIB_INTERFACE" | grep -q inet; then
  echo "FAIL: IPoIB interface $IPOIB_INTERFACE has no IPv4 address"; exit 1
fi
if [ "$JOB_COMPLETION_INDEX" = "0" ]; then
  echo "server on $(hostname) ($NODE_NAME), device $dev"
  exec ib_write_bw -d "$dev" -F --report_gbits -D 10
fi
for _ in $(seq 60); do getent hosts "$SERVER" >/dev/null && break; sleep 5; done
out=""
for _ in $(seq 12); do
  if out=$(ib_write_bw -d "$dev" -F --report_gbits -D 10 "$SERVER" 2>&1); then break; fi
  out=""; sleep 5
done
echo "$out"
bw=$(echo "$out" | awk '$1 ~ /^[0-9]+$/ && NF >= 4 {v = $4} END {print v}')
if [ -z "$bw" ]; then echo "FAIL: no ib_write_bw result from $SERVER"; exit 1; fi
awk -v bw="$bw" -v floor="$FLOOR_GBPS" -v node="$NODE_NAME" 'BEGIN {
  if (bw + 0 < floor + 0) { printf "FAIL: %s Gb/s < floor %s Gb/s (client %s)\n", bw, floor, node; exit 1 }
  printf "OK: %s Gb/s >= floor %s Gb/s (client %s)\n", bw, floor, node }'
