# schedsim cpuset --machine smt-numa-8 --era v1
# Documentation/admin-guide/cgroup-v1/cpusets.rst 1.9: a cpuset "Charlie" with
# CPUs 2-3 and node 1, and a subshell started in it.
mkdir /sys/fs/cgroup/cpuset
mount -t cgroup -ocpuset cpuset /sys/fs/cgroup/cpuset
cd /sys/fs/cgroup/cpuset
mkdir Charlie
cd Charlie
/bin/echo 2-3 > cpuset.cpus
/bin/echo 1 > cpuset.mems
/bin/echo $$ > tasks
sh
# The subshell 'sh' is now running in cpuset Charlie
# The next line should display '/Charlie'
cat /proc/self/cpuset
cat /proc/self/status
