# schedsim cpuset --machine smt-numa-8 --era v2 --domains
# cgroup v2 partitions (Documentation/admin-guide/cgroup-v2.rst "Cpuset",
# SPEC RB-EX2): a root partition, then isolated, then a conflicting sibling.
cd /sys/fs/cgroup
echo +cpuset > cgroup.subtree_control
mkdir P Q
echo 4-7 > P/cpuset.cpus
echo root > P/cpuset.cpus.partition
cat P/cpuset.cpus.partition cpuset.cpus.effective
echo isolated > P/cpuset.cpus.partition
cat cpuset.cpus.isolated
echo 6-7 > Q/cpuset.cpus
cat P/cpuset.cpus.partition
echo > Q/cpuset.cpus
cat P/cpuset.cpus.partition
echo $$ > P/cgroup.procs
echo 4 > /sys/devices/system/cpu/cpu4/online
cat /proc/self/status
echo 0 > /sys/devices/system/cpu/cpu4/online
echo 0 > /sys/devices/system/cpu/cpu5/online
echo 0 > /sys/devices/system/cpu/cpu6/online
echo 0 > /sys/devices/system/cpu/cpu7/online
cat P/cpuset.cpus.partition P/cpuset.cpus.effective
