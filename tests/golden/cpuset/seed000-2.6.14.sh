# schedsim cpuset --machine numa-2x2 --era 2.6.14 --domains --domain-era 2.6.14
# Seed 000 with the 2.6.14 fix: CPU 0 alone (NULL domain), CPUs 1-3 balance together.
cd /dev/cpuset
mkdir newcpuset
cd newcpuset
echo 0 >cpus
echo 0 >mems
echo 1 >cpu_exclusive
