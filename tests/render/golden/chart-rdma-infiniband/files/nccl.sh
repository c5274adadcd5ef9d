#!/bin/bash
# PostSync NCCL check (rdma-gitops): an Indexed Job with two pods on two GPU nodes, after the ib_write_bw Job. Both
# run sshd for mpirun, with root's password set to the Job's UID (only this Job's pods, and those who may read them,
# know it; nothing is stored). Index 0 runs all_reduce_perf over every GPU of both nodes and fails the Job (and so
# the Argo CD sync) when the bus bandwidth at MESSAGE_BYTES is below FLOOR_GBYTES, when a result is wrong, or, with
# GPUDirect RDMA expected (EXPECT_GDR=1), when NCCL's log shows no GDRDMA path; index 1 waits for its verdict.
set -u
fail() { echo "FAIL: $*"; exit 1; }
work=${CHECK_DIR:-/tmp}
[ -n "${JOB_UID:-}" ] || fail "no Job UID in this pod (label batch.kubernetes.io/controller-uid)"
echo "root:$JOB_UID" | chpasswd || fail "cannot set root's password for sshd"
mkdir -p /run/sshd 2>/dev/null
ssh-keygen -A >/dev/null
sshd_bin=$(command -v sshd) || fail "no sshd in this image"
"$sshd_bin" -p "$SSH_PORT" -o PermitRootLogin=yes -o PasswordAuthentication=yes -o StrictModes=no \
  || fail "sshd did not start"
if [ "$JOB_COMPLETION_INDEX" != "0" ]; then
  echo "worker on $NODE_NAME: waiting for mpirun from index 0"
  while [ ! -s "$work/nccl-done" ]; do sleep 5; done
  exit "$(cat "$work/nccl-done")"
fi
printf '#!/bin/sh\necho "$JOB_UID"\n' >"$work/askpass" && chmod 700 "$work/askpass"
export SSH_ASKPASS=$work/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none
ssh_opts="-p $SSH_PORT -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no -o LogLevel=ERROR"
: >"$work/hostfile"
for peer in $PEERS; do
  for _ in $(seq 60); do getent hosts "$peer" >/dev/null && break; sleep 5; done
  # shellcheck disable=SC2086
  for _ in $(seq 60); do ssh $ssh_opts "$peer" true </dev/null && break; sleep 5; done
  echo "$peer slots=$GPUS" >>"$work/hostfile"
done
perf=$(command -v all_reduce_perf || echo /opt/nccl_tests/build/all_reduce_perf)
exports=()
for name in $NCCL_ENV_NAMES; do exports+=(-x "$name"); done
echo "mpirun: $((2 * GPUS)) ranks on $PEERS ($VM_SIZE)"
mpirun --allow-run-as-root -np $((2 * GPUS)) --hostfile "$work/hostfile" -bind-to none \
  -mca plm_rsh_agent ssh -mca plm_rsh_args "$ssh_opts" -mca plm_rsh_no_tree_spawn 1 -mca coll_hcoll_enable 0 \
  -mca oob_tcp_if_include eth0 -mca btl_tcp_if_include eth0 "${exports[@]}" \
  "$perf" -b "$MESSAGE_BYTES" -e "$MESSAGE_BYTES" -f 2 -g 1 -w 5 -n 20 >"$work/nccl.log" 2>&1
status=$?
verdict() {
  cat "$work/nccl.log"
  [ "$status" = 0 ] || fail "mpirun all_reduce_perf exited $status"
  row=$(awk -v size="$MESSAGE_BYTES" '$1 == size && NF >= 9 {r = $0} END {print r}' "$work/nccl.log")
  [ -n "$row" ] || fail "no all_reduce_perf result for $MESSAGE_BYTES bytes"
  busbw=$(echo "$row" | awk '{print $8}')
  wrong=$(echo "$row" | awk '{print $9}')
  if [ "$wrong" != 0 ] && [ "$wrong" != N/A ]; then fail "all_reduce_perf found $wrong wrong results"; fi
  if [ "${EXPECT_GDR:-0}" = 1 ] && ! grep -q "/GDRDMA" "$work/nccl.log"; then
    fail "NCCL did not use GPUDirect RDMA (no GDRDMA path in its log): data went through host memory"
  fi
  if ! awk -v bw="$busbw" -v floor="$FLOOR_GBYTES" 'BEGIN {exit !(bw + 0 >= floor + 0)}'; then
    fail "bus bandwidth $busbw GB/s < floor $FLOOR_GBYTES GB/s ($VM_SIZE, $MESSAGE_BYTES bytes, $PEERS)"
  fi
  echo "OK: bus bandwidth $busbw GB/s >= floor $FLOOR_GBYTES GB/s ($VM_SIZE, $MESSAGE_BYTES bytes)"
}
(verdict)
result=$?
for peer in $PEERS; do
  # shellcheck disable=SC2086
  ssh $ssh_opts "$peer" "echo $result >$work/nccl-done" </dev/null || true
done
exit "$result"
