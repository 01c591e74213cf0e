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

/// `/proc/net/netstat` (MPTcpExt cut to six columns).
pub const NET_NETSTAT: &str = r#"TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits TCPPureAcks TCPHPAcks TCPRenoRecovery TCPSackRecovery TCPSACKReneging TCPSACKReorder TCPRenoReorder TCPTSReorder TCPFullUndo TCPPartialUndo TCPDSACKUndo TCPLossUndo TCPLostRetransmit TCPRenoFailures TCPSackFailures TCPLossFailures TCPFastRetrans TCPSlowStartRetrans TCPTimeouts TCPLossProbes TCPLossProbeRecovery TCPRenoRecoveryFail TCPSackRecoveryFail TCPRcvCollapsed TCPBacklogCoalesce TCPDSACKOldSent TCPDSACKOfoSent TCPDSACKRecv TCPDSACKOfoRecv TCPAbortOnData TCPAbortOnClose TCPAbortOnMemory TCPAbortOnTimeout TCPAbortOnLinger TCPAbortFailed TCPMemoryPressures TCPMemoryPressuresChrono TCPSACKDiscard TCPDSACKIgnoredOld TCPDSACKIgnoredNoUndo TCPSpuriousRTOs TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted TCPSackMerged TCPSackShiftFallback TCPBacklogDrop PFMemallocDrop TCPMinTTLDrop TCPDeferAcceptDrop IPReversePathFilter TCPTimeWaitOverflow TCPReqQFullDoCookies TCPReqQFullDrop TCPRetransFail TCPRcvCoalesce TCPOFOQueue TCPOFODrop TCPOFOMerge TCPChallengeACK TCPSYNChallenge TCPFastOpenActive TCPFastOpenActiveFail TCPFastOpenPassive TCPFastOpenPassiveFail TCPFastOpenListenOverflow TCPFastOpenCookieReqd TCPFastOpenBlackhole TCPSpuriousRtxHostQueues BusyPollRxPackets TCPAutoCorking TCPFromZeroWindowAdv TCPToZeroWindowAdv TCPWantZeroWindowAdv TCPSynRetrans TCPOrigDataSent TCPHystartTrainDetect TCPHystartTrainCwnd TCPHystartDelayDetect TCPHystartDelayCwnd TCPACKSkippedSynRecv TCPACKSkippedPAWS TCPACKSkippedSeq TCPACKSkippedFinWait2 TCPACKSkippedTimeWait TCPACKSkippedChallenge TCPWinProbe TCPKeepAlive TCPMTUPFail TCPMTUPSuccess TCPDelivered TCPDeliveredCE TCPAckCompressed TCPZeroWindowDrop TCPRcvQDrop TCPWqueueTooBig TCPFastOpenPassiveAltKey TcpTimeoutRehash TcpDuplicateDataRehash TCPDSACKRecvSegs TCPDSACKIgnoredDubious TCPMigrateReqSuccess TCPMigrateReqFailure TCPPLBRehash TCPAORequired TCPAOBad TCPAOKeyNotFound TCPAOGood TCPAODroppedIcmps
TcpExt: 0 0 0 0 0 0 0 0 0 0 44521 53 0 0 0 0 0 0 0 11375 1 1021 1 1 462617 242167 675435 0 8 0 16 0 0 0 0 1 0 0 0 0 0 25 0 5 1090 1 0 0 0 13088 1022 0 1009 0 28838 10529 0 0 0 0 0 0 0 10 949 0 0 0 0 0 1 28 0 0 0 1768 0 0 0 0 0 144280 32 0 0 1 0 0 0 0 0 0 0 0 3 0 538 1134 1157 624 2 2198664 0 0 0 0 0 0 0 0 0 1 0 135 0 0 2241528 0 0 0 0 0 0 5 0 1009 0 0 0 0 0 0 0 0 0
IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts InCEPkts ReasmOverlaps
IpExt: 0 0 0 0 0 0 5686989312 5320453360 0 0 0 0 0 3115581 0 0 0 0
MPTcpExt: MPCapableSYNRX MPCapableSYNTX MPCapableSYNACKRX MPCapableACKRX MPCapableFallbackACK MPCapableFallbackSYNACK
MPTcpExt: 0 0 0 0 0 0
"#;

pub const NET_SNMP: &str = r#"Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits
Ip: 1 64 3115427 0 0 0 0 0 3115427 3092670 1 0 0 0 0 0 0 0 0 3092670
Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps
Icmp: 65 0 0 3 0 0 0 0 31 31 0 0 0 0 63 0 0 0 1 0 0 0 0 31 31 0 0 0 0
IcmpMsg: InType0 InType3 InType8 OutType0 OutType3 OutType8
IcmpMsg: 31 3 31 31 1 31
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 89356 83682 5639 54461 18 3115211 3109798 1020 0 45911 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 150 1 0 153 0 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
"#;

/// `/proc/net/snmp6`, a selection of its lines.
pub const NET_SNMP6: &str = r#"Ip6InReceives                   	2
Ip6InDiscards                   	0
Ip6InOctets                     	256
Ip6OutOctets                    	1160
Icmp6InMsgs                     	2
Icmp6InErrors                   	1
Icmp6OutMsgs                    	11
Icmp6InType1                    	2
Udp6InDatagrams                 	0
Udp6NoPorts                     	0
Udp6InErrors                    	0
Udp6OutDatagrams                	0
Udp6RcvbufErrors                	0
Udp6SndbufErrors                	0
Udp6InCsumErrors                	0
Udp6IgnoredMulti                	0
Udp6MemErrors                   	0
UdpLite6InErrors                	0
"#;

/// `/proc/vmstat`, a selection of its lines.
pub const VMSTAT: &str = r#"nr_free_pages 715668
nr_free_pages_blocks 121344
numa_hit 291526452
nr_dirty 125902
nr_dirty_threshold 1156041
nr_dirty_background_threshold 577314
pgpgin 40912113
pgpgout 234166704
pswpin 0
pswpout 0
pgalloc_normal 495492104
pgfault 330960326
pgmajfault 99343
pgscan_kswapd 9029769
oom_kill 0
thp_fault_alloc 2162
"#;

pub const FILE_NR: &str = "1425\t0\t9223372036854775807\n";

pub const SOCKSTAT: &str = r#"sockets: used 49
TCP: inuse 30 orphan 0 tw 41 alloc 30 mem 3
UDP: inuse 2 mem 1
UDPLITE: inuse 0
RAW: inuse 0
FRAG: inuse 0 memory 0
"#;

pub const SOCKSTAT6: &str = r#"TCP6: inuse 4
UDP6: inuse 1
UDPLITE6: inuse 0
RAW6: inuse 0
FRAG6: inuse 0 memory 0
"#;

pub const SOFTNET_STAT: &str = r#"0018a5a6 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
0016ba42 00000002 0000000a 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000000
"#;

/// `/proc/net/udp` with two sockets, one of them with queued bytes.
pub const NET_UDP: &str = r#"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
  123: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 17935 2 0000000000000000 0         
  456: 00000000:0044 00000000:0000 07 00000A00:00000100 00:00000000 00000000     0        0 19265 2 0000000000000000 0         
"#;

pub const NET_UDP6: &str = r#"  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  789: 00000000000000000000000000000000:0222 00000000000000000000000000000000:0000 07 00000000:00000200 00:00000000 00000000     0        0 20117 2 0000000000000000 0
"#;

pub const NET_ARP: &str = r#"IP address       HW type     Flags       HW address            Mask     Device
192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0
192.0.2.7        0x1         0x2         02:fc:00:00:00:07     *        eth0
198.51.100.1     0x1         0x2         02:fc:00:00:01:01     *        eth1
"#;

/// `/proc/net/stat/nf_conntrack` of Linux 6.x (`clashres` where older kernels had
/// `searched`), two CPUs.
pub const CONNTRACK_STAT: &str = r#"entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
00000021  00000000 00000003 00000000 00000005 0000000a 00000000 00000000 00000001 00000000 00000002 00000000 00000000  00000000 00000000 00000000 00000004
00000021  00000000 00000001 00000000 00000000 00000006 00000000 00000000 00000002 00000001 00000000 00000003 00000000  00000000 00000000 00000000 00000000
"#;

/// `/proc/schedstat` (version 15) of a kernel with `CONFIG_SCHEDSTATS`, two CPUs.
pub const SCHEDSTAT: &str = r#"version 15
timestamp 4295722180
cpu0 0 0 0 0 0 0 2523448069000 190926813000 740512
domain0 00000003 71920 71620 177 301 174 0 1 71443 1096 1054 23 30 19 0 0 1033 16683 16093 458 5896 132 0 0 16093 0 0 0 0 0 0 0 0 0 3287 41 0
cpu1 0 0 0 0 0 0 2218183346000 99829069000 561600
domain0 00000003 65538 65267 136 283 141 0 0 65126 1198 1152 24 32 22 0 0 1130 17112 16545 469 4983 98 0 0 16545 0 0 0 0 0 0 0 0 0 3007 29 0
"#;

pub const OS_RELEASE: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"#;

/// The recorded `/proc` and `/sys` tree of the hardware and storage areas (`fixtures/hw`):
/// sensors, thermal zones, power supplies, RAPL zones, NVMe, md, bonding, EDAC, XFS, NFS and
/// ZFS, shaped like node_exporter's own fixtures. `agent/tests/node_hw_parity.rs` runs
/// node_exporter on the same tree.
pub fn hw_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collector/linux/fixtures/hw")
}

/// A copy of the tree below `from` (links kept as links) in a new temporary directory, for
/// tests that break a file.
pub fn copy_of(from: &std::path::Path) -> tempfile::TempDir {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let (source, target) = (entry.path(), to.join(entry.file_name()));
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(&source).unwrap(), &target).unwrap();
            } else if kind.is_dir() {
                std::fs::create_dir(&target).unwrap();
                copy(&source, &target);
            } else {
                std::fs::copy(&source, &target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(from, dir.path());
    dir
}
