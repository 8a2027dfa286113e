//! xl's output formats against fixed strings. The expected text was
//! produced by xl's and xentop's own printf formats (compiled from their C
//! format strings with the same values).

use alloc::vec;

use super::*;
use crate::cfg::parse_uuid;

fn dom(name: &str, id: u16, mem_kib: u64, max: Option<u64>, vcpus: u32, state: DomainState, cpu: u64) -> DomainInfo {
    DomainInfo {
        name: name.into(),
        id: DomId(id),
        mem_kib,
        max_mem_kib: max,
        vcpus,
        state,
        cpu_time_ns: cpu,
        uuid: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, id as u8],
    }
}

fn fixture() -> Vec<DomainInfo> {
    let st = DomainState::default;
    let mut hello = dom("hello", 1, 131072, Some(131072), 1, DomainState { blocked: true, ..st() }, 250_000_000);
    hello.uuid = parse_uuid("6f1e7c1a-3b5d-4c2e-9a8f-0123456789ab").unwrap();
    vec![
        dom("Domain-0", 0, 1048576, None, 1, DomainState { running: true, ..st() }, 12_345_678_901),
        hello,
        dom("crashy", 5, 65600, Some(262144), 2, DomainState { shutdown: Some(3), ..st() }, 99_999_999_999),
        dom(
            "a-very-long-domain-name-that-exceeds-forty-chars",
            12,
            32768,
            Some(32768),
            4,
            DomainState { paused: true, ..st() },
            0,
        ),
        dom(
            "Rebooter",
            7,
            16384,
            Some(16384),
            1,
            DomainState { shutdown: Some(1), dying: true, ..st() },
            1_050_000_000,
        ),
    ]
}

const LIST: &str = "\
Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0  1024     1     r-----      12.3
hello                                        1   128     1     -b----       0.2
crashy                                       5    64     2     ---sc-     100.0
a-very-long-domain-name-that-exceeds-forty-chars    12    32     4     --p---       0.0
Rebooter                                     7    16     1     ---srd       1.1
";

const LIST_VERBOSE: &str = "\
Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label
Domain-0                                     0  1024     1     r-----      12.3 00000000-0000-0000-0000-000000000000        -                -
hello                                        1   128     1     -b----       0.2 6f1e7c1a-3b5d-4c2e-9a8f-0123456789ab        -                -
crashy                                       5    64     2     ---sc-     100.0 00000000-0000-0000-0000-000000000005        3                -
a-very-long-domain-name-that-exceeds-forty-chars    12    32     4     --p---       0.0 00000000-0000-0000-0000-00000000000c        -                -
Rebooter                                     7    16     1     ---srd       1.1 00000000-0000-0000-0000-000000000007        1                -
";

#[test]
fn xl_list_matches_xl() {
    assert_eq!(format_list(&fixture(), false), LIST);
    assert_eq!(format_list(&fixture(), true), LIST_VERBOSE);
    assert_eq!(format_list(&[], false), LIST_HEADER);
}

const TOP: &str = "\
xentop - 12:34:56   Xen 4.17.0
5 domains: 1 running, 1 blocked, 1 paused, 0 crashed, 0 dying, 2 shutdown 
Mem: 2097152k total, 1310720k used, 786432k free    CPUs: 2 @ 2400MHz
      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS
a-very-lon ----p-          0    0.0      32768    1.6      32768       1.6     4
    crashy -s-c--         99    0.0      65600    3.1     262144      12.5     2
  Domain-0 -----r         12   50.0    1048576   50.0   no limit       n/a     1
     hello --b---          0   12.5     131072    6.2     131072       6.2     1
  Rebooter ds----          1    2.5      16384    0.8      16384       0.8     1
";

fn top_host() -> TopHost {
    TopHost {
        time: Some((12, 34, 56)),
        xen_version: "4.17.0".into(),
        total_kib: 2097152,
        free_kib: 786432,
        nr_cpus: 2,
        cpu_mhz: 2400,
    }
}

#[test]
fn xl_top_matches_xentop() {
    let now = fixture();
    let mut before = fixture();
    let prev_cpu = [11_345_678_901, 0, 99_999_999_999, 0, 1_000_000_000];
    for (d, c) in before.iter_mut().zip(prev_cpu) {
        d.cpu_time_ns = c;
    }
    let out = format_top(&top_host(), &now, Some(PrevSample { domains: &before, elapsed_ns: 2_000_000_000 }));
    assert_eq!(out, TOP);
}

#[test]
fn xl_top_first_sample_has_zero_cpu_percent() {
    let out = format_top(&TopHost { time: None, ..top_host() }, &fixture(), None);
    assert!(out.starts_with("xentop - --:--:--   Xen 4.17.0\n"));
    assert!(out.contains("\n  Domain-0 -----r         12    0.0    1048576   50.0   no limit       n/a     1\n"));
}

fn host() -> HostInfo {
    HostInfo {
        host: "dom0".into(),
        release: "0.1.0".into(),
        version: "#1 rust-dom0".into(),
        nr_cpus: 2,
        max_cpu_id: 1,
        cores_per_socket: 2,
        cpu_khz: 2_400_123,
        hw_caps: [0x178bfbff, 0xf6d8320b, 0, 0, 0, 0, 0, 0],
        virt_caps: vec!["pv".into(), "gnttab-v1".into()],
        total_memory_mib: 2048,
        free_memory_mib: 768,
        free_cpus: 0,
        xen_extra: ".0".into(),
        xen_commandline: "console=com1 dom0_mem=512M".into(),
        ..HostInfo::default()
    }
}

const INFO: &str = "\
host                   : dom0
release                : 0.1.0
version                : #1 rust-dom0
machine                : x86_64
nr_cpus                : 2
max_cpu_id             : 1
nr_nodes               : 1
cores_per_socket       : 2
threads_per_core       : 1
cpu_mhz                : 2400.123
hw_caps                : 178bfbff:f6d8320b:00000000:00000000:00000000:00000000:00000000:00000000
virt_caps              : pv gnttab-v1
total_memory           : 2048
free_memory            : 768
sharing_freed_memory   : 0
sharing_used_memory    : 0
outstanding_claims     : 0
free_cpus              : 0
xen_major              : 4
xen_minor              : 17
xen_extra              : .0
xen_version            : 4.17.0
xen_caps               : xen-3.0-x86_64
xen_scheduler          : credit
xen_pagesize           : 4096
platform_params        : virt_start=0xffff800000000000
xen_changeset          : 
xen_commandline        : console=com1 dom0_mem=512M
cc_compiler            : 
cc_compile_by          : 
cc_compile_domain      : 
cc_compile_date        : 
build_id               : 
xend_config_format     : 4
";

#[test]
fn xl_info_matches_xl() {
    assert_eq!(format_info(&host(), None), INFO);
}

#[test]
fn xl_info_item_prints_values_only() {
    assert_eq!(format_info(&host(), Some("free_memory")), "768\n");
    assert_eq!(format_info(&host(), Some("xen_m")), "4\n17\n");
    assert_eq!(format_info(&host(), Some("nothing")), "");
    // virt_caps' own format has no space after the colon; each cap brings one.
    assert_eq!(format_info(&host(), Some("virt_caps")), "pv gnttab-v1\n");
    let no_caps = HostInfo { virt_caps: vec![], ..host() };
    assert_eq!(format_info(&no_caps, Some("virt_caps")), "");
}

#[test]
fn state_letters() {
    use pv_abi::abi::domctl::*;
    let s = DomainState::from_dominf_flags(XEN_DOMINF_running);
    assert_eq!((s.xl_letters().as_str(), s.xentop_letters().as_str()), ("r-----", "-----r"));
    let s = DomainState::from_dominf_flags(XEN_DOMINF_blocked | XEN_DOMINF_paused);
    assert_eq!(s.xl_letters(), "-bp---");
    let s = DomainState::from_dominf_flags(XEN_DOMINF_shutdown | (3 << XEN_DOMINF_shutdownshift));
    assert!(s.crashed());
    assert_eq!((s.xl_letters().as_str(), s.xentop_letters().as_str()), ("---sc-", "-s-c--"));
    let s = DomainState::from_dominf_flags(XEN_DOMINF_shutdown | (4 << XEN_DOMINF_shutdownshift) | XEN_DOMINF_dying);
    assert_eq!(s.xl_letters(), "---swd");
    let s = DomainState::from_dominf_flags(XEN_DOMINF_shutdown | (5 << XEN_DOMINF_shutdownshift));
    assert_eq!(s.xl_letters(), "---sS-");
    let s = DomainState::from_dominf_flags(XEN_DOMINF_shutdown | (9 << XEN_DOMINF_shutdownshift));
    assert_eq!(s.xl_letters(), "---s?-");
    // Poweroff is reason 0, shown as '-'.
    let s = DomainState::from_dominf_flags(XEN_DOMINF_shutdown);
    assert_eq!(s.xl_letters(), "---s--");
}

#[test]
fn domain_info_from_getdomaininfo() {
    use pv_abi::abi::domctl::*;
    let info = XenDomctlGetdomaininfo {
        domain: 3,
        flags: XEN_DOMINF_blocked,
        tot_pages: 32768,
        max_pages: 65536,
        cpu_time: 5_000_000_000,
        nr_online_vcpus: 2,
        handle: [7; 16],
        ..Default::default()
    };
    let d = DomainInfo::from_getdomaininfo(&info, "web");
    assert_eq!((d.id, d.mem_kib, d.max_mem_kib, d.vcpus), (DomId(3), 131072, Some(262144), 2));
    assert!(d.state.blocked && !d.state.running);
    assert_eq!(
        format_list(&[d], false).lines().nth(1).unwrap(),
        "web                                          3   128     2     -b----       5.0"
    );
}

#[test]
fn errors_read_like_xl() {
    let doms = fixture();
    assert_eq!(find_domain(&doms, &DomRef::parse("hello")).unwrap().id, DomId(1));
    assert_eq!(find_domain(&doms, &DomRef::parse("5")).unwrap().name, "crashy");
    assert_eq!(find_domain(&doms, &DomRef::parse("foo")).unwrap_err(), "xl: no such domain 'foo'");
    assert_eq!(find_domain(&doms, &DomRef::parse("99")).unwrap_err(), "xl: no such domain '99'");
    assert_eq!(not_enough_memory(512, 120), "not enough memory: asked 512 MiB, 120 MiB free");
}

#[test]
fn list_long_is_json() {
    let c = crate::DomainConfig::parse(
        "h.cfg",
        "name='hello'\nkernel='/boot/k'\nextra='console=hvc0 \"q\"'\nmemory=64\n\
         disk=['/i.img,,xvda']\nvif=['mac=00:16:3e:00:00:01,bridge=br0']\n",
    )
    .unwrap();
    let out = format_list_long(&[(DomId(1), &c)]);
    let expected = r#"[
    {
        "domid": 1,
        "config": {
            "c_info": {
                "type": "pv",
                "name": "hello",
                "uuid": null
            },
            "b_info": {
                "max_vcpus": 1,
                "avail_vcpus": 1,
                "max_memkb": 65536,
                "target_memkb": 65536,
                "kernel": "/boot/k",
                "cmdline": "console=hvc0 \"q\"",
                "ramdisk": null
            },
            "disks": [
                { "pdev_path": "/i.img", "vdev": "xvda", "format": "raw", "readwrite": 1, "is_cdrom": 0 }
            ],
            "nics": [
                { "mac": "00:16:3e:00:00:01", "bridge": "br0", "ip": null }
            ],
            "on_poweroff": "destroy",
            "on_reboot": "restart",
            "on_watchdog": "destroy",
            "on_crash": "destroy",
            "on_soft_reset": "soft-reset"
        }
    }
]
"#;
    assert_eq!(out, expected);
    assert_eq!(format_list_long(&[]), "[\n]\n");
}
