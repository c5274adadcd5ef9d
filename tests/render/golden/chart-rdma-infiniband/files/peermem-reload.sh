# the node's own modprobe (and its modules, zstd-compressed or not), through the host's root
until chroot /host modprobe nvidia-peermem; do
  echo "nvidia-peermem cannot be loaded yet (GPU driver or ib_core missing); retrying in 10s"
  sleep 10
done
echo "nvidia-peermem loaded; the liveness probe loads it again whenever it is unloaded"
while true; do sleep 3600; done
