# schedsim cpuset --machine quad-node --era v1 --domains
# Documentation/admin-guide/cgroup-v1/cpusets.rst 1.7-1.8: the top cpuset stops
# balancing, two overlapping balanced cpusets merge into one domain, an
# unbalanced one leaves its CPUs with the NULL domain; the largest relax wins.
cd /dev/cpuset
/bin/echo 0 > sched_load_balance
mkdir web db batch
/bin/echo 0-5 > web/cpus
/bin/echo 0-1 > web/mems
/bin/echo 4-7 > db/cpus
/bin/echo 1 > db/mems
/bin/echo 2 > db/sched_relax_domain_level
/bin/echo 8-15 > batch/cpus
/bin/echo 2-3 > batch/mems
/bin/echo 0 > batch/sched_load_balance
cat web/sched_load_balance db/sched_relax_domain_level
