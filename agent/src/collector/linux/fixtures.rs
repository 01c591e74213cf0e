//! Fixtures copied from a real host's /proc (Linux 6.18, 2 CPUs, a KVM guest).

pub const STAT: &str = r#"cpu  43850 0 6740 88685 362 0 50 40 0 0
cpu0 21520 0 3291 44922 99 0 17 17 0 0
cpu1 22329 0 3448 43762 262 0 33 23 0 0
intr 343193 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 16 0 0 0 0 139 85 0 24 1 25380 0 2393 1878 0 987 2996 1 0 0
ctxt 482823
btime 1795242587
processes 18095
procs_running 1
procs_blocked 0
softirq 186223 0 30983 4 4205 25380 0 104 39550 0 85997
"#;

pub const MEMINFO: &str = r#"MemTotal:       24684096 kB
MemFree:        21218428 kB
MemAvailable:   24286384 kB
Buffers:            6892 kB
Cached:          3230344 kB
SwapCached:            0 kB
Active:          1342100 kB
Inactive:        1898920 kB
Active(anon):       1520 kB
Inactive(anon):    11060 kB
Active(file):    1340580 kB
Inactive(file):  1887860 kB
Unevictable:       12364 kB
Mlocked:           11456 kB
SwapTotal:             0 kB
SwapFree:              0 kB
Zswap:                 0 kB
Zswapped:              0 kB
Dirty:             92272 kB
Writeback:             0 kB
AnonPages:         16156 kB
Mapped:            15708 kB
Shmem:              8788 kB
KReclaimable:     112992 kB
Slab:             140924 kB
SReclaimable:     112992 kB
SUnreclaim:        27932 kB
KernelStack:        1360 kB
PageTables:         1136 kB
SecPageTables:         0 kB
NFS_Unstable:          0 kB
Bounce:                0 kB
WritebackTmp:          0 kB
CommitLimit:    12342048 kB
Committed_AS:      60964 kB
VmallocTotal:   34359738367 kB
VmallocUsed:       14140 kB
VmallocChunk:          0 kB
Percpu:              712 kB
AnonHugePages:         0 kB
ShmemHugePages:        0 kB
ShmemPmdMapped:        0 kB
FileHugePages:     26624 kB
FilePmdMapped:         0 kB
Balloon:               0 kB
HugePages_Total:       0
HugePages_Free:        0
HugePages_Rsvd:        0
HugePages_Surp:        0
Hugepagesize:       2048 kB
Hugetlb:               0 kB
DirectMap4k:       28672 kB
DirectMap2M:     2068480 kB
DirectMap1G:    25165824 kB
"#;

pub const NET_DEV: &str = r#"Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3245      30    0    0    0     0          0         0     3245      30    0    0    0     0       0          0
  ifb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  ifb1:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0: 102894670    3986    0    0    0     0          0         0   235937    2288    0    0    0     0       0          0
"#;

pub const DISKSTATS: &str = r#"   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       1 loop1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       2 loop2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       3 loop3 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       4 loop4 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       5 loop5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       6 loop6 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       7 loop7 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 30557 5431 5639986 28525 6777 33299 8665872 37127 0 6524 66901 6563 0 1145056 1247 134 1
 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
"#;

pub const LOADAVG: &str = r#"1.72 1.15 0.55 1/82 18094
"#;

pub const PSI_IO: &str = r#"some avg10=0.11 avg60=0.26 avg300=0.20 total=2982951
full avg10=0.04 avg60=0.10 avg300=0.11 total=2312607
"#;

pub const PSI_CPU: &str = r#"some avg10=1.27 avg60=23.06 avg300=13.38 total=62067289
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
"#;

pub const MOUNTINFO: &str = r#"22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334524k,nr_inodes=3083631,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684096k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k,mode=755
29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684096k
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"#;
