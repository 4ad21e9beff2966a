# schedsim cpuset --machine sgi-altix-512 --era v1
# Documentation/admin-guide/cgroup-v1/cpusets.rst 2.1-2.4 (Basic Usage, adding
# and removing CPUs, setting flags, attaching processes), on a 512-CPU box.
mkdir /sys/fs/cgroup/cpuset
mount -t cgroup -o cpuset cpuset /sys/fs/cgroup/cpuset
cd /sys/fs/cgroup/cpuset
mkdir my_cpuset
cd my_cpuset
ls
/bin/echo 1 > cpuset.cpu_exclusive
/bin/echo 0-7 > cpuset.cpus
/bin/echo 0-7 > cpuset.mems
/bin/echo $$ > tasks
mkdir my_sub_cs
rmdir my_sub_cs
/bin/echo 1-4 > cpuset.cpus
/bin/echo 1,2,3,4 > cpuset.cpus
/bin/echo 1-4,6 > cpuset.cpus
# "-> clear cpus list": refused while the shell is attached here
/bin/echo "" > cpuset.cpus
/bin/echo 1 > cpuset.cpu_exclusive
/bin/echo 0 > cpuset.cpu_exclusive
sleep 1000 &
/bin/echo $! > tasks
/bin/echo $$ > tasks
cat tasks
