# schedsim cpuset --machine smt-numa-8 --era v1
# v1 hotplug (CS-HP-3): a cpuset that loses its last CPU hands its tasks to the
# nearest ancestor that still has CPUs; the CPU comes back only to the top.
cd /dev/cpuset
mkdir -p rt/pinned
echo 6-7 > rt/cpus
echo 1 > rt/mems
echo 7 > rt/pinned/cpus
echo 1 > rt/pinned/mems
sleep 1000 &
echo $! > rt/pinned/tasks
echo 0 > /sys/devices/system/cpu/cpu7/online
cat rt/pinned/cpus rt/tasks rt/cpus
echo 1 > /sys/devices/system/cpu/cpu7/online
cat cpus rt/cpus
