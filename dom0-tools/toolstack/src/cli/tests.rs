//! xl command lines: every subcommand, and bad usage as xl reports it.

use super::*;

fn cmd(argv: &[&str]) -> Command {
    parse_args(argv).unwrap_or_else(|e| panic!("{:?}: {:?}", argv, e)).command
}

fn usage(argv: &[&str]) -> UsageError {
    parse_args(argv).expect_err("should be refused")
}

fn name(s: &str) -> DomRef {
    DomRef::Name(s.to_string())
}

#[test]
fn create_forms() {
    assert_eq!(
        cmd(&["create", "hello.cfg"]),
        Command::Create(CreateArgs { config: "hello.cfg".into(), ..Default::default() })
    );
    assert_eq!(
        cmd(&["create", "-c", "hello.cfg", "memory=256", "name=\"h2\""]),
        Command::Create(CreateArgs {
            config: "hello.cfg".into(),
            extra: vec!["memory=256".into(), "name=\"h2\"".into()],
            console: true,
            ..Default::default()
        })
    );
    // Options after the file, combined flags, -f, long options.
    assert_eq!(
        cmd(&["create", "hello.cfg", "-cpq"]),
        Command::Create(CreateArgs {
            config: "hello.cfg".into(),
            console: true,
            paused: true,
            quiet: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd(&["create", "--defconfig=/etc/xen/a.cfg", "--qui", "vcpus=2"]),
        Command::Create(CreateArgs {
            config: "/etc/xen/a.cfg".into(),
            extra: vec!["vcpus=2".into()],
            quiet: true,
            ..Default::default()
        })
    );
    assert_eq!(
        cmd(&["create", "-f", "a.cfg"]),
        Command::Create(CreateArgs { config: "a.cfg".into(), ..Default::default() })
    );
    assert!(cmd(&["create", "-c", "a.cfg"]).attaches_console());
    assert!(!cmd(&["create", "a.cfg"]).attaches_console());
}

#[test]
fn create_usage_errors() {
    let e = usage(&["create"]);
    assert_eq!((e.status, e.stderr.as_str()), (2, "Config file not specified\n\n"));
    assert!(e.stdout.starts_with("Usage: xl [-vtTf] create <ConfigFile> [options] [vars]\n"));
    let e = usage(&["create", "a.cfg", "b.cfg"]);
    assert_eq!((e.status, e.stderr.as_str()), (2, ""));
    assert!(e.stdout.starts_with("Usage: xl [-vtTf] create"));
    let e = usage(&["create", "-x", "a.cfg"]);
    assert_eq!((e.status, e.stderr.as_str(), e.stdout.as_str()), (2, "option `x' not supported.\n", ""));
    let e = usage(&["create", "a.cfg", "-f"]);
    assert_eq!(e.stderr, "option `f' not supported.\n");
    let e = usage(&["create", "--vncviewer", "a.cfg"]);
    assert_eq!(e.stderr, "option `--vncviewer' not supported.\n");
}

#[test]
fn list_forms() {
    assert_eq!(cmd(&["list"]), Command::List { long: false, verbose: false, doms: vec![] });
    assert_eq!(
        cmd(&["list", "-l", "hello", "3"]),
        Command::List { long: true, verbose: false, doms: vec![name("hello"), DomRef::Id(DomId(3))] }
    );
    assert_eq!(cmd(&["list", "--verbose"]), Command::List { long: false, verbose: true, doms: vec![] });
    // Unambiguous prefixes name commands, as in xl.
    assert_eq!(cmd(&["li", "-h"]), Command::Help { command: Some("list".into()) });
    assert_eq!(cmd(&["dest", "x"]), Command::Destroy { dom: name("x"), force: false });
    assert_eq!(usage(&["d", "x"]).stderr, "command not implemented\n");
}

#[test]
fn one_domain_commands() {
    assert_eq!(cmd(&["destroy", "hello"]), Command::Destroy { dom: name("hello"), force: false });
    assert_eq!(cmd(&["destroy", "-f", "0"]), Command::Destroy { dom: DomRef::Id(DomId(0)), force: true });
    assert_eq!(cmd(&["pause", "7"]), Command::Pause { dom: DomRef::Id(DomId(7)) });
    assert_eq!(cmd(&["unpause", "web"]), Command::Unpause { dom: name("web") });
    assert_eq!(cmd(&["domid", "web"]), Command::Domid { name: "web".into() });
    assert_eq!(cmd(&["domname", "12"]), Command::Domname { id: DomId(12) });
    // Out of domid range: a name.
    assert_eq!(cmd(&["pause", "70000"]), Command::Pause { dom: name("70000") });
}

#[test]
fn missing_and_extra_arguments() {
    for c in ["destroy", "pause", "unpause", "console", "domid", "domname"] {
        let e = usage(&[c]);
        assert_eq!(e.status, 2, "{}", c);
        assert_eq!(e.stderr, format!("'xl {}' requires at least 1 argument.\n\n", c));
        assert!(e.stdout.starts_with("Usage: xl [-vtT"), "{}", c);
    }
    let e = usage(&["mem-set", "web"]);
    assert_eq!(e.stderr, "'xl mem-set' requires at least 2 arguments.\n\n");
    let e = usage(&["pause", "a", "b"]);
    assert_eq!((e.status, e.stderr.as_str()), (2, "'xl pause' takes at most 1 argument.\n\n"));
    let e = usage(&["dmesg", "x"]);
    assert_eq!(e.stderr, "'xl dmesg' takes at most 0 arguments.\n\n");
}

#[test]
fn shutdown_and_reboot() {
    assert_eq!(
        cmd(&["shutdown", "hello"]),
        Command::Shutdown { reboot: false, target: Target::One(name("hello")), wait: 0 }
    );
    assert_eq!(
        cmd(&["shutdown", "-w", "hello"]),
        Command::Shutdown { reboot: false, target: Target::One(name("hello")), wait: 1 }
    );
    assert_eq!(cmd(&["shutdown", "-a", "--wait"]), Command::Shutdown { reboot: false, target: Target::All, wait: 1 });
    assert_eq!(
        cmd(&["reboot", "hello", "-ww"]),
        Command::Shutdown { reboot: true, target: Target::One(name("hello")), wait: 2 }
    );
    let e = usage(&["shutdown"]);
    assert_eq!((e.status, e.stderr.as_str()), (1, "You must specify -a or a domain id.\n\n"));
    let e = usage(&["reboot", "-a", "x"]);
    assert_eq!(e.status, 2);
}

#[test]
fn console_options() {
    assert_eq!(cmd(&["console", "hello"]), Command::Console { dom: name("hello"), num: 0, escape: 0x1d });
    assert_eq!(
        cmd(&["console", "-t", "pv", "-n", "1", "-e", "^a", "hello"]),
        Command::Console { dom: name("hello"), num: 1, escape: 0x01 }
    );
    assert_eq!(cmd(&["console", "-e~", "3"]), Command::Console { dom: DomRef::Id(DomId(3)), num: 0, escape: b'~' });
    assert_eq!(cmd(&["console", "-e", "~", "3"]).escape(), b'~');
    assert_eq!(usage(&["console", "-t", "serial", "x"]).stderr, "console type supported are: pv\n");
    assert_eq!(usage(&["console", "-e", "abc", "x"]).stderr, "Invalid escape character: abc\n");
    assert_eq!(usage(&["console", "-n", "one", "x"]).stderr, "invalid console number: one\n");
}

#[test]
fn info_dmesg_top() {
    assert_eq!(cmd(&["info"]), Command::Info { item: None });
    assert_eq!(cmd(&["info", "free_memory"]), Command::Info { item: Some("free_memory".into()) });
    assert_eq!(cmd(&["dmesg"]), Command::Dmesg { clear: false });
    assert_eq!(cmd(&["dmesg", "-c"]), Command::Dmesg { clear: true });
    assert_eq!(cmd(&["dmesg", "--clear"]), Command::Dmesg { clear: true });
    assert_eq!(cmd(&["top"]), Command::Top);
}

#[test]
fn domname_needs_a_number() {
    let e = usage(&["domname", "web"]);
    assert_eq!((e.status, e.stderr.as_str()), (1, "Invalid domain id.\n\n"));
}

#[test]
fn mem_set_sizes() {
    assert_eq!(cmd(&["mem-set", "web", "256"]), Command::MemSet { dom: name("web"), kib: 256 * 1024 });
    assert_eq!(cmd(&["mem-set", "web", "256m"]), Command::MemSet { dom: name("web"), kib: 256 * 1024 });
    assert_eq!(cmd(&["mem-set", "1", "1G"]), Command::MemSet { dom: DomRef::Id(DomId(1)), kib: 1 << 20 });
    assert_eq!(parse_mem_size_kb("524288k"), Some(524288));
    assert_eq!(parse_mem_size_kb("1048576b"), Some(1024));
    assert_eq!(parse_mem_size_kb("1t"), Some(1 << 30));
    assert_eq!(parse_mem_size_kb("12mb"), None);
    assert_eq!(parse_mem_size_kb("m"), None);
    assert_eq!(parse_mem_size_kb("-5"), None);
    let e = usage(&["mem-set", "web", "lots"]);
    assert_eq!((e.status, e.stderr.as_str()), (1, "invalid memory size: lots\n"));
}

#[test]
fn help_forms() {
    assert_eq!(cmd(&["help"]), Command::Help { command: None });
    assert_eq!(cmd(&["help", "list"]), Command::Help { command: Some("list".into()) });
    assert_eq!(cmd(&["list", "-h"]), Command::Help { command: Some("list".into()) });
    assert_eq!(cmd(&["pause", "--help"]), Command::Help { command: Some("pause".into()) });
    // -h wins even when arguments are missing.
    assert_eq!(cmd(&["destroy", "-h"]), Command::Help { command: Some("destroy".into()) });

    let all = help(None);
    assert!(all.starts_with("Usage xl [-vftT] <subcommand> [args]\n\nxl full list of subcommands:\n\n"));
    assert!(all.contains("\n create              Create a domain from config file <filename>\n"));
    assert!(all.contains("\n mem-set             Set the current memory usage for a domain\n"));
    assert_eq!(command_names().count(), 14);
    assert_eq!(help(Some("pause")), "Usage: xl [-vtTf] pause <Domain>\n\nPause execution of a domain.\n\n");
    assert_eq!(
        help(Some("dmesg")),
        "Usage: xl [-vtT] dmesg [-c]\n\nRead and/or clear dmesg buffer.\n\nOptions:\n\n  \
         -c                        Clear dmesg buffer as well as printing it\n"
    );
    assert_eq!(help(Some("frobnicate")), "command \"frobnicate\" not implemented\n");
}

#[test]
fn global_options_and_unknown_commands() {
    let inv = parse_args(&["-vv", "-f", "list"]).unwrap();
    assert_eq!((inv.verbose, inv.force), (2, true));
    let e = usage(&[]);
    assert_eq!(e.status, 1);
    assert!(e.stdout.starts_with("Usage xl"));
    let e = usage(&["-z", "list"]);
    assert_eq!((e.status, e.stderr.as_str()), (1, "unknown global option\n"));
    let e = usage(&["frobnicate"]);
    assert_eq!((e.status, e.stderr.as_str()), (1, "command not implemented\n"));
    let e = usage(&["-v"]);
    assert_eq!(e.status, 1);
}

#[test]
fn double_dash_ends_options() {
    assert_eq!(cmd(&["pause", "--", "-weird"]), Command::Pause { dom: name("-weird") });
}

#[test]
fn domref_rules() {
    assert_eq!(DomRef::parse("0"), DomRef::Id(DomId(0)));
    assert_eq!(DomRef::parse("Domain-0"), name("Domain-0"));
    assert_eq!(DomRef::parse(""), name(""));
    assert!(DomRef::parse("5").matches(DomId(5), "x"));
    assert!(DomRef::parse("x").matches(DomId(5), "x"));
    assert!(!DomRef::parse("x").matches(DomId(5), "y"));
    assert_eq!(DomRef::parse("17").to_string(), "17");
}
