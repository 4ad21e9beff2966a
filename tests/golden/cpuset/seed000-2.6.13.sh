# schedsim cpuset --machine numa-2x2 --era 2.6.14 --domains --domain-era 2.6.13
# Seed 000: the recipe that oopses 2.6.13 on a NUMA box with >1 CPU per node,
# run against the 2.6.13 builder whose node-group table is shared (BUG13-2).
cd /dev/cpuset
mkdir newcpuset
cd newcpuset
echo 0 >cpus
echo 0 >mems
echo 1 >cpu_exclusive
