//! xl.cfg parsing: valid files and every error kind with its file:line.

use super::*;

fn err(file: &str, text: &str) -> String {
    DomainConfig::parse(file, text).expect_err("should fail").to_string()
}

#[test]
fn minimal_config_gets_xl_defaults() {
    let c = DomainConfig::parse("hello.cfg", "name = \"hello\"\nkernel = \"/boot/hello\"\n").unwrap();
    assert_eq!(c.name, "hello");
    assert_eq!(c.kernel, "/boot/hello");
    assert_eq!((c.memory_mib, c.maxmem_mib), (32, 32));
    assert_eq!((c.vcpus, c.maxvcpus), (1, 1));
    assert_eq!(c.on_poweroff, ShutdownAction::Destroy);
    assert_eq!(c.on_reboot, ShutdownAction::Restart);
    assert_eq!(c.on_crash, ShutdownAction::Destroy);
    assert_eq!(c.on_watchdog, ShutdownAction::Destroy);
    assert_eq!(c.on_soft_reset, ShutdownAction::SoftReset);
    assert_eq!(c.ramdisk, None);
    assert_eq!(c.cmdline, None);
    assert!(c.disks.is_empty() && c.vifs.is_empty() && c.warnings.is_empty());
    assert_eq!(c.boot_files(), ["/boot/hello"]);
}

const FULL: &str = r#"# A Debian guest
name = "debian"
type = 'pv'
uuid = "6f1e7c1a-3b5d-4c2e-9a8f-0123456789AB"
kernel = "/boot/vmlinuz-6.1"    # the stock kernel
ramdisk = '/boot/initrd.img-6.1'
root = "/dev/xvda1 ro"
extra = "console=hvc0 earlyprintk=xen"
memory = 512
maxmem = 0x400
vcpus = 2; maxvcpus = 4
on_poweroff = "destroy"
on_reboot = 'restart'
on_crash = "preserve"
on_watchdog = "coredump-restart"
disk = [ 'format=raw, vdev=xvda, access=rw, target=/images/debian.img',
         '/images/data.img,raw,xvdb,ro',   # second disk

         "phy:/dev/vg/swap,xvdc,w",
       ]
vif = [ 'mac=00:16:3e:01:02:03, bridge=xenbr0, ip=10.0.0.2' , '' ]
"#;

#[test]
fn full_config_with_lists_comments_and_both_quotes() {
    let c = DomainConfig::parse("debian.cfg", FULL).unwrap();
    assert_eq!(c.name, "debian");
    assert_eq!(parse_uuid("6f1e7c1a-3b5d-4c2e-9a8f-0123456789ab"), c.uuid);
    assert_eq!(format_uuid(&c.uuid.unwrap()), "6f1e7c1a-3b5d-4c2e-9a8f-0123456789ab");
    assert_eq!(c.ramdisk.as_deref(), Some("/boot/initrd.img-6.1"));
    assert_eq!(c.cmdline.as_deref(), Some("root=/dev/xvda1 ro console=hvc0 earlyprintk=xen"));
    assert_eq!((c.memory_mib, c.maxmem_mib), (512, 1024));
    assert_eq!((c.vcpus, c.maxvcpus), (2, 4));
    assert_eq!(c.on_crash, ShutdownAction::Preserve);
    assert_eq!(c.on_watchdog, ShutdownAction::CoredumpRestart);
    assert_eq!(c.on_watchdog.effective(), Effective::Restart);
    assert_eq!(c.boot_files(), ["/boot/vmlinuz-6.1", "/boot/initrd.img-6.1"]);

    assert_eq!(c.disks.len(), 3);
    let d = &c.disks[0];
    assert_eq!((d.target.as_deref(), d.vdev.as_str(), d.readonly), (Some("/images/debian.img"), "xvda", false));
    assert_eq!(d.devid(), 51712);
    let d = &c.disks[1];
    assert_eq!((d.target.as_deref(), d.vdev.as_str(), d.readonly), (Some("/images/data.img"), "xvdb", true));
    assert_eq!(d.devid(), 51728);
    let d = &c.disks[2];
    assert_eq!((d.target.as_deref(), d.vdev.as_str(), d.readonly), (Some("/dev/vg/swap"), "xvdc", false));

    assert_eq!(c.vifs.len(), 2);
    assert_eq!(c.vifs[0].mac, Some([0x00, 0x16, 0x3e, 1, 2, 3]));
    assert_eq!(c.vifs[0].bridge.as_deref(), Some("xenbr0"));
    assert_eq!(c.vifs[0].ip.as_deref(), Some("10.0.0.2"));
    assert_eq!(c.vifs[1], VifSpec::default());
}

#[test]
fn string_escapes_as_libxlu() {
    let c = DomainConfig::parse(
        "e.cfg",
        "name='e'\nkernel='k'\ncmdline = \"a\\tb\\\\c\\\"d\\'e\\x41\\101\\n\"\nextra='it''s'\n",
    );
    // Two adjacent strings are not one value.
    assert!(c.is_err());
    let c =
        DomainConfig::parse("e.cfg", "name='e'\nkernel='k'\ncmdline = \"a\\tb\\\\c\\\"d\\'e\\x41\\101\\n\"\n").unwrap();
    assert_eq!(c.cmdline.as_deref(), Some("a\tb\\c\"d'eAA\n"));
    let c = DomainConfig::parse("e.cfg", "name='e'\nkernel='k'\ncmdline = 'say \"hi\" # not a comment'\n").unwrap();
    assert_eq!(c.cmdline.as_deref(), Some("say \"hi\" # not a comment"));
}

#[test]
fn later_assignments_win_and_plus_equals_appends() {
    let text = "name='a'\nkernel='k'\nmemory=64\nmemory=128\nextra='x'\nextra += ' y'\n\
                disk=['/a,,xvda']\ndisk += [ '/b,,xvdb' ]\n";
    let c = DomainConfig::parse("a.cfg", text).unwrap();
    assert_eq!(c.memory_mib, 128);
    assert_eq!(c.cmdline.as_deref(), Some("x y"));
    assert_eq!(c.disks.iter().map(|d| d.vdev.as_str()).collect::<Vec<_>>(), ["xvda", "xvdb"]);
}

#[test]
fn command_line_settings_override_the_file() {
    let c =
        DomainConfig::parse_with("h.cfg", "name='h'\nkernel='k'\nmemory=64\n", &["memory=256", "name=\"h2\""]).unwrap();
    assert_eq!((c.name.as_str(), c.memory_mib), ("h2", 256));
    // Unquoted strings are a syntax error, as in xl; the error names the argument.
    assert_eq!(
        DomainConfig::parse_with("h.cfg", "name='h'\nkernel='k'\n", &["memory=1", "name=h2"]).unwrap_err().to_string(),
        "command line:2: expected a value (a number, a quoted string or a list), found 'h2'"
    );
}

#[test]
fn memory_and_vcpu_defaults_follow_each_other() {
    let c = DomainConfig::parse("m.cfg", "name='m'\nkernel='k'\nmaxmem=256\n").unwrap();
    assert_eq!((c.memory_mib, c.maxmem_mib), (256, 256));
    let c = DomainConfig::parse("m.cfg", "name='m'\nkernel='k'\nmemory='96'\nvcpus=3\n").unwrap();
    assert_eq!((c.memory_mib, c.maxmem_mib, c.vcpus, c.maxvcpus), (96, 96, 3, 3));
}

#[test]
fn extra_and_root_and_cmdline() {
    let c = DomainConfig::parse("c.cfg", "name='c'\nkernel='k'\nroot='/dev/xvda'\n").unwrap();
    assert_eq!(c.cmdline.as_deref(), Some("root=/dev/xvda"));
    let c = DomainConfig::parse("c.cfg", "name='c'\nkernel='k'\ncmdline='quiet'\nextra='x'\n").unwrap();
    assert_eq!(c.cmdline.as_deref(), Some("quiet"));
    assert_eq!(c.warnings, ["Warning: ignoring root= and extra= in favour of cmdline="]);
}

#[test]
fn unknown_key_names_file_and_line() {
    assert_eq!(err("hello.cfg", "name = 'hello'\nkernel = 'k'\nmemroy = 128\n"), "hello.cfg:3: unknown key 'memroy'");
}

#[test]
fn unsupported_xl_keys_are_named() {
    assert_eq!(
        err("hello.cfg", "name = 'hello'\n\nbootloader = 'pygrub'\n"),
        "hello.cfg:3: bootloader: this xl.cfg key is not supported by this toolstack"
    );
}

#[test]
fn bad_values_name_key_and_line() {
    assert_eq!(
        err("hello.cfg", "name='hello'\nkernel='k'\n\n\nmemory = \"lots\"\n"),
        "hello.cfg:5: memory: expected an integer, got \"lots\""
    );
    assert_eq!(err("h.cfg", "memory = 512M\n"), "h.cfg:1: memory: expected an integer, got \"512M\"");
    assert_eq!(err("h.cfg", "vcpus = 0\n"), "h.cfg:1: vcpus: 0 is out of range (1..=4096)");
    assert_eq!(err("h.cfg", "memory = -5\n"), "h.cfg:1: unexpected character '-'");
    assert_eq!(err("h.cfg", "name = 42\n"), "h.cfg:1: name: expected a quoted string, got 42");
    assert_eq!(err("h.cfg", "kernel = [ 'a' ]\n"), "h.cfg:1: kernel: expected a string, got a list");
    assert_eq!(err("h.cfg", "disk = '/a,,xvda'\n"), "h.cfg:1: disk: expected a list, got \"/a,,xvda\"");
    assert_eq!(err("h.cfg", "vif = [ 1 ]\n"), "h.cfg:1: vif: expected a quoted string, got \"1\"");
    assert_eq!(
        err("h.cfg", "on_crash = 'explode'\n"),
        "h.cfg:1: on_crash: unknown action \"explode\" (destroy, restart, preserve, rename-restart, \
         coredump-destroy, coredump-restart, soft-reset)"
    );
    assert_eq!(err("h.cfg", "uuid = 'nope'\n"), "h.cfg:1: uuid: invalid UUID \"nope\"");
    assert_eq!(err("h.cfg", "name = '12'\n"), "h.cfg:1: name: \"12\" is all digits, which xl reads as a domain id");
    assert_eq!(err("h.cfg", "kernel = ''\n"), "h.cfg:1: kernel: expected a path, got an empty string");
}

#[test]
fn hvm_and_pvh_are_refused_clearly() {
    assert_eq!(
        err("win.cfg", "name='w'\ntype = \"hvm\"\n"),
        "win.cfg:2: type: \"hvm\" guests are not supported: this hypervisor runs PV guests only (type = \"pv\")"
    );
    assert!(err("p.cfg", "type='pvh'\n").starts_with("p.cfg:1: type: \"pvh\" guests are not supported"));
    assert_eq!(err("p.cfg", "type='pv2'\n"), "p.cfg:1: type: expected \"pv\", got \"pv2\"");
}

#[test]
fn disk_and_vif_errors_point_at_the_list_item_line() {
    let text = "name='d'\nkernel='k'\ndisk = [\n  '/a,,xvda',\n  '/b,qcow2,xvdb',\n]\n";
    assert_eq!(err("d.cfg", text), "d.cfg:5: disk: format 'qcow2' is not supported here (only raw images)");
    let text = "name='d'\nkernel='k'\nvif = [ 'bridge=br0',\n 'mac=00:16:3e:zz:00:01' ]\n";
    assert_eq!(err("d.cfg", text), "d.cfg:4: vif: invalid mac '00:16:3e:zz:00:01'");
    let text = "name='d'\nkernel='k'\nvif = [ 'bridg=br0' ]\n";
    assert_eq!(err("d.cfg", text), "d.cfg:3: vif: unknown vif parameter 'bridg'");
    let text = "name='d'\nkernel='k'\ndisk = [ '/a,,xvda', '/b,,xvda' ]\n";
    assert_eq!(err("d.cfg", text), "d.cfg: disk: virtual device 'xvda' is given twice");
}

#[test]
fn missing_required_keys_name_the_file() {
    assert_eq!(err("hello.cfg", "kernel = 'k'\n"), "hello.cfg: missing required key 'name'");
    assert_eq!(err("hello.cfg", "name = 'hello'\n"), "hello.cfg: missing required key 'kernel'");
}

#[test]
fn inconsistent_settings() {
    assert_eq!(
        err("i.cfg", "name='i'\nkernel='k'\nmemory=512\nmaxmem=256\n"),
        "i.cfg: maxmem (256 MiB) is below memory (512 MiB)"
    );
    assert_eq!(err("i.cfg", "name='i'\nkernel='k'\nvcpus=4\nmaxvcpus=2\n"), "i.cfg: vcpus (4) is above maxvcpus (2)");
}

#[test]
fn syntax_errors_name_the_line() {
    assert_eq!(err("s.cfg", "name = 'a\nkernel='k'\n"), "s.cfg:1: unterminated string (strings cannot span lines)");
    assert_eq!(err("s.cfg", "\n\nname 'a'\n"), "s.cfg:3: expected '=' after 'name', found string \"a\"");
    assert_eq!(err("s.cfg", "name = 'a' 'b'\n"), "s.cfg:1: expected end of line after the value, found string \"b\"");
    assert_eq!(err("s.cfg", "disk = [ 'a' 'b' ]\n"), "s.cfg:1: expected ',' or ']', found string \"b\"");
    assert_eq!(
        err("s.cfg", "disk = [ 'a',\n\n"),
        "s.cfg:3: expected a value (a number, a quoted string or a list), found end of file"
    );
    assert_eq!(err("s.cfg", "x = 'bad \\q escape'\n"), "s.cfg:1: invalid escape '\\q' in string");
    assert_eq!(err("s.cfg", "x = '\\x4'\n"), "s.cfg:1: '\\x' must be followed by two hex digits");
    assert_eq!(err("s.cfg", "= 3\n"), "s.cfg:1: expected a key, found '='");
    assert_eq!(err("s.cfg", "x = 1 + 2\n"), "s.cfg:1: unexpected character '+'");
}

#[test]
fn integers_read_as_strtol_base_0() {
    assert_eq!(syntax::parse_c_long("512"), Some(512));
    assert_eq!(syntax::parse_c_long("0x200"), Some(512));
    assert_eq!(syntax::parse_c_long("010"), Some(8));
    assert_eq!(syntax::parse_c_long("0"), Some(0));
    assert_eq!(syntax::parse_c_long("09"), None);
    assert_eq!(syntax::parse_c_long("12abc"), None);
    assert_eq!(syntax::parse_c_long(""), None);
}

#[test]
fn crlf_files_and_semicolons_and_empty_lists() {
    let c = DomainConfig::parse("w.cfg", "name='w';kernel='k'\r\nmemory=64\r\ndisk=[]\r\nvif=[\r\n]\r\n").unwrap();
    assert_eq!(c.memory_mib, 64);
    assert!(c.disks.is_empty() && c.vifs.is_empty());
}

#[test]
fn disk_spec_forms() {
    let p = |s| DiskSpec::parse(s);
    let a = p("/dev/vg/guest-volume,,hda").unwrap();
    let b = p("/dev/vg/guest-volume,raw,hda,rw").unwrap();
    let c = p("format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume").unwrap();
    let d = p("raw:/dev/vg/guest-volume,hda,w").unwrap();
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(c, d);
    assert_eq!(a.devid(), 768);

    let cd1 = p("/root/image.iso,,hdc,cdrom").unwrap();
    let cd2 = p("/root/image.iso,,hdc,,cdrom").unwrap();
    let cd3 = p("/root/image.iso,raw,hdc,devtype=cdrom").unwrap();
    let cd4 = p("format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso").unwrap();
    assert!(cd1.cdrom && cd1.readonly);
    assert_eq!(cd1, cd2);
    assert_eq!(cd2, cd3);
    assert_eq!(cd3, cd4);
    assert_eq!(cd1.devid(), 22 << 8);

    // target= takes the rest, commas included.
    let t = p("vdev=xvdb, target=/images/a,b c.img").unwrap();
    assert_eq!(t.target.as_deref(), Some("/images/a,b c.img"));
    assert!(p("vdev=xvda, access=rw").unwrap_err().starts_with("no target in"));
    assert!(p("/a.img").unwrap_err().starts_with("no vdev in"));
    assert_eq!(p("/a,,xvda,rx").unwrap_err(), "unknown access 'rx' (ro, r, rw or w)");
    assert_eq!(p("/a,,floppy").unwrap_err(), "unknown virtual device 'floppy' (e.g. xvda, xvdb1, sda, hdc)");
    assert_eq!(p("/a,,xvda,rw,extra").unwrap_err(), "too many positional parameters at 'extra'");
    assert_eq!(p("/a,,xvda,colour=blue").unwrap_err(), "unknown disk parameter 'colour'");
    assert_eq!(p("/a,raw,xvda,format=raw").unwrap_err(), "'format' given twice");
}

#[test]
fn vdev_numbers_follow_xen_vbd_interface() {
    assert_eq!(disk::vdev_number("xvda"), Some(202 << 8));
    assert_eq!(disk::vdev_number("xvdb1"), Some((202 << 8) | (1 << 4) | 1));
    assert_eq!(disk::vdev_number("xvdq"), Some((1 << 28) | (16 << 8)));
    assert_eq!(disk::vdev_number("xvdaa"), Some((1 << 28) | (26 << 8)));
    assert_eq!(disk::vdev_number("sdb2"), Some((8 << 8) | (1 << 4) | 2));
    assert_eq!(disk::vdev_number("hdd"), Some((22 << 8) | (1 << 6)));
    assert_eq!(disk::vdev_number("d3p2"), Some((202 << 8) | (3 << 4) | 2));
    assert_eq!(disk::vdev_number("51712"), Some(51712));
    assert_eq!(disk::vdev_number("xvda0"), None);
    assert_eq!(disk::vdev_number("hde"), None);
    assert_eq!(disk::vdev_number("xvd"), None);
}

#[test]
fn vif_spec_forms() {
    let v = VifSpec::parse(" mac = 00:16:3E:AA:bb:0c , bridge=xenbr0,type=vif, mtu=1500 ,vifname=vif-web").unwrap();
    assert_eq!(v.mac, Some([0, 0x16, 0x3e, 0xaa, 0xbb, 0x0c]));
    assert_eq!(v.mtu, Some(1500));
    assert_eq!(v.vifname.as_deref(), Some("vif-web"));
    assert_eq!(VifSpec::parse("netdev=br1").unwrap().bridge.as_deref(), Some("br1"));
    assert_eq!(VifSpec::parse("bridge").unwrap_err(), "expected key=value, got 'bridge'");
    assert_eq!(VifSpec::parse("type=e1000").unwrap_err(), "invalid type 'e1000' (vif or ioemu)");
    assert!(vif::parse_mac("00:16:3e:00:00").is_none());
    assert!(vif::parse_mac("00:16:3e:00:00:01:02").is_none());
    assert!(vif::parse_mac("+0:16:3e:00:00:01").is_none());
}

#[test]
fn shutdown_actions_map_to_what_is_supported() {
    for (name, eff) in [
        ("destroy", Effective::Destroy),
        ("restart", Effective::Restart),
        ("rename-restart", Effective::Restart),
        ("preserve", Effective::Preserve),
        ("coredump-destroy", Effective::Destroy),
        ("coredump-restart", Effective::Restart),
        ("soft-reset", Effective::Restart),
    ] {
        let a = ShutdownAction::from_name(name).unwrap();
        assert_eq!(a.name(), name);
        assert_eq!(a.effective(), eff);
    }
    assert_eq!(ShutdownAction::from_name("Destroy"), None);
}
