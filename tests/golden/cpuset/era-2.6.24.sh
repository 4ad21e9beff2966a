# schedsim cpuset --machine quad-node --era 2.6.24 --domains
# 2.6.24: sched_load_balance with the breadth-first union-find rebuild (P24-2);
# root masks are read-only and flags still parse with simple_strtoul.
cd /dev/cpuset
echo 0-3 > cpus
echo 0 > sched_load_balance
mkdir a b
echo 0-3 > a/cpus
echo 0 > a/mems
echo 8-11 > b/cpus
echo 2 > b/mems
echo A > b/sched_load_balance
cat b/sched_load_balance
echo 1 > b/sched_load_balance
mkdir a/x
echo 2-5 > a/x/cpus
echo 2-3 > a/x/cpus
