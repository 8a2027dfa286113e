//! Generates the C program from the table, compiles it against
//! `/usr/include/xen` and parses what it prints.

use crate::model::{CField, Const, Family, FamilyKind, Struct, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's `libxen-dev` installs the headers.
pub const XEN_INCLUDE: &str = "/usr/include/xen";

/// The interface version the crate mirrors (Xen 4.17).
pub const INTERFACE_VERSION: &str = "0x00040e00";

/// Headers the program includes (in this order, after the C library).
const HEADERS: &[&str] = &[
    "xen/xen.h",
    "xen/event_channel.h",
    "xen/grant_table.h",
    "xen/memory.h",
    "xen/sched.h",
    "xen/vcpu.h",
    "xen/version.h",
    "xen/features.h",
    "xen/callback.h",
    "xen/physdev.h",
    "xen/elfnote.h",
    "xen/errno.h",
    "xen/arch-x86/hvm/start_info.h",
    "xen/io/ring.h",
    "xen/io/xs_wire.h",
    "xen/io/xenbus.h",
    "xen/io/console.h",
    "xen/io/protocols.h",
    "xen/io/blkif.h",
    "xen/io/netif.h",
    "xen/domctl.h",
    "xen/sysctl.h",
];

/// C definitions the table needs that the headers do not provide.
const PRELUDE: &str = r#"
/* The type of a member, for checking anonymous structs and unions. */
#define PVABI_TYPE_OF(base, member) __typeof__(((base *)0)->member)

/* A test instantiation of the generic shared ring (io/ring.h). */
DEFINE_RING_TYPES(pvabi_test, uint8_t, uint8_t);

/* One entry of a XENMEM_memory_map buffer: "the same format as returned
 * by the BIOS INT 0x15 EAX=0xE820 call" (memory.h). The public headers do
 * not define it; this is Xen's struct e820entry (xen/arch/x86/include/
 * asm/e820.h) and Linux's struct boot_e820_entry. */
struct pvabi_e820entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

/* Xen's full errno list, including the Xen-internal EINTR (__XEN__ only). */
#define __XEN__ 1
#define XEN_ERRNO(name, value) PVABI_XEN_ERRNO_##name = value,
enum pvabi_xen_errno_all {
#include <xen/errno.h>
};
#undef __XEN__

#define PVABI_INT(id, e) do { \
    if ((e) < 0) \
        printf("I %d -%llu\n", (id), 0ULL - (unsigned long long)(long long)(e)); \
    else \
        printf("I %d %llu\n", (id), (unsigned long long)(e)); \
} while (0)
"#;

/// What the C program reported about one struct.
#[derive(Debug, Default)]
pub struct CStruct {
    /// `sizeof` (or the override).
    pub size: usize,
    /// `_Alignof` (or the override).
    pub align: usize,
    /// Per field: offset and size (`None` for a flexible array member).
    pub fields: Vec<Option<(usize, Option<usize>)>>,
}

/// What the C program reported.
#[derive(Debug, Default)]
pub struct CFacts {
    /// Per struct.
    pub structs: Vec<Option<CStruct>>,
    /// Per constant.
    pub consts: Vec<Option<Value>>,
    /// Family candidates that are `#define`d under our interface version.
    pub defined: BTreeSet<String>,
}

/// A family member found in a header: (family index, name).
pub type Candidate = (usize, String);

/// Scans the headers for the members of each family.
pub fn family_candidates(families: &[Family]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, fam) in families.iter().enumerate() {
        let path = Path::new(XEN_INCLUDE).join(fam.header);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut in_region = fam.region.is_none();
        for line in text.lines() {
            if let Some((start, end)) = fam.region {
                if !in_region {
                    in_region = line.contains(start);
                    continue;
                }
                if line.contains(end) {
                    break;
                }
            }
            let name = match fam.kind {
                FamilyKind::Define => define_name(line),
                FamilyKind::Enum => leading_ident(line.trim_start()),
            };
            let Some(name) = name else { continue };
            if name.starts_with(fam.prefix) && !fam.except.iter().any(|x| name.starts_with(x)) {
                out.push((i, name.to_string()));
            }
        }
    }
    out
}

/// The name of an object-like `#define` on this line, if any.
fn define_name(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start().strip_prefix("define")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    let name = leading_ident(rest)?;
    // Function-like macros are not constants.
    (!rest[name.len()..].starts_with('(')).then_some(name)
}

fn leading_ident(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    let id = &s[..end];
    (!id.is_empty() && !id.starts_with(|c: char| c.is_ascii_digit())).then_some(id)
}

/// Identifiers used in the C expressions of the constant table.
pub fn identifiers(consts: &[Const]) -> BTreeSet<String> {
    consts
        .iter()
        .flat_map(|k| k.c.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|t| !t.is_empty() && !t.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// The C source of the program.
pub fn generate(structs: &[Struct], consts: &[Const], candidates: &[Candidate]) -> String {
    let mut c = String::new();
    c.push_str("/* Generated by pv-abi/tests/layout.rs from its table: do not edit. */\n");
    for h in ["stdint.h", "stddef.h", "stdio.h", "string.h", "errno.h"] {
        writeln!(c, "#include <{h}>").unwrap();
    }
    for h in HEADERS {
        writeln!(c, "#include <{h}>").unwrap();
    }
    c.push_str(PRELUDE);
    c.push_str("\nint main(void)\n{\n");
    for (si, s) in structs.iter().enumerate() {
        let t = s.c;
        let size = s.c_size.map_or_else(|| format!("sizeof({t})"), str::to_string);
        let align = s.c_align.map_or_else(|| format!("_Alignof({t})"), str::to_string);
        writeln!(c, "    /* {} <-> {} */", s.rust, t).unwrap();
        writeln!(c, "    printf(\"S {si} %zu %zu\\n\", (size_t)({size}), (size_t)({align}));").unwrap();
        for (fi, f) in s.fields.iter().enumerate() {
            match &f.c {
                CField::Path(p) => writeln!(
                    c,
                    "    printf(\"F {si} {fi} %zu %zu\\n\", (size_t)offsetof({t}, {p}), \
                     (size_t)sizeof((({t} *)0)->{p}));"
                )
                .unwrap(),
                CField::Flex(p) => {
                    writeln!(c, "    printf(\"F {si} {fi} %zu -\\n\", (size_t)offsetof({t}, {p}));").unwrap()
                }
                CField::Whole => writeln!(c, "    printf(\"F {si} {fi} 0 %zu\\n\", (size_t)({size}));").unwrap(),
                CField::Pad => {}
            }
        }
    }
    for (ki, k) in consts.iter().enumerate() {
        writeln!(c, "    /* {} */", k.rust.replace("*/", "* /")).unwrap();
        match k.value {
            Value::Int(_) => writeln!(c, "    PVABI_INT({ki}, ({}));", k.c).unwrap(),
            Value::Str(_) => writeln!(c, "    printf(\"K {ki} %s\\n\", (const char *)({}));", k.c).unwrap(),
        }
    }
    let names: BTreeSet<&str> = candidates.iter().map(|(_, n)| n.as_str()).collect();
    for n in names {
        writeln!(c, "#ifdef {n}\n    printf(\"D {n}\\n\");\n#endif").unwrap();
    }
    c.push_str("    return 0;\n}\n");
    c
}

/// Compiles and runs the program; returns its facts, or why it could not.
pub fn compile_and_run(source: &str) -> Result<CFacts, String> {
    if !Path::new(XEN_INCLUDE).join("xen.h").exists() {
        return Err(format!(
            "{XEN_INCLUDE}/xen.h is missing: the layout test needs Xen's public headers. \
             Install them with `apt-get install -y libxen-dev` (the project's xtask does)."
        ));
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("abi-layout");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let stem = format!("layout-{}", std::process::id());
    let src = dir.join(format!("{stem}.c"));
    let exe = dir.join(&stem);
    std::fs::write(&src, source).map_err(|e| format!("writing {}: {e}", src.display()))?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(&cc)
        .args(["-std=gnu11", "-Wall", "-O0"])
        .arg(format!("-D__XEN_INTERFACE_VERSION__={INTERFACE_VERSION}"))
        .arg("-D__XEN_TOOLS__")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output()
        .map_err(|e| format!("running `{cc}` (a C compiler is needed): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "compiling {} failed (a C name in the table is probably wrong):\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let run = Command::new(&exe).output().map_err(|e| format!("running {}: {e}", exe.display()))?;
    if !run.status.success() {
        return Err(format!("{} failed: {:?}", exe.display(), run.status));
    }
    let facts = parse(&String::from_utf8_lossy(&run.stdout))?;
    let _ = std::fs::remove_file(&exe);
    let _ = std::fs::remove_file(&src);
    // Keep the last program for people who want to read it.
    let _ = std::fs::write(dir.join("layout.c"), source);
    Ok(facts)
}

fn parse(out: &str) -> Result<CFacts, String> {
    let mut f = CFacts::default();
    for line in out.lines() {
        parse_line(&mut f, line).map_err(|e| format!("C output line {line:?}: {e}"))?;
    }
    Ok(f)
}

fn parse_line(f: &mut CFacts, line: &str) -> Result<(), String> {
    let num = |s: Option<&str>| -> Result<usize, String> {
        s.ok_or("short line")?.parse::<usize>().map_err(|e| e.to_string())
    };
    {
        let mut w = line.split(' ');
        match w.next() {
            Some("S") => {
                let si = num(w.next())?;
                let (size, align) = (num(w.next())?, num(w.next())?);
                if f.structs.len() <= si {
                    f.structs.resize_with(si + 1, || None);
                }
                f.structs[si] = Some(CStruct { size, align, fields: Vec::new() });
            }
            Some("F") => {
                let (si, fi) = (num(w.next())?, num(w.next())?);
                let off = num(w.next())?;
                let size = match w.next() {
                    Some("-") => None,
                    s => Some(num(s)?),
                };
                let st = f.structs.get_mut(si).and_then(Option::as_mut);
                let fields = &mut st.ok_or("field before struct")?.fields;
                if fields.len() <= fi {
                    fields.resize(fi + 1, None);
                }
                fields[fi] = Some((off, size));
            }
            Some("I") => {
                let ki = num(w.next())?;
                let v = w.next().ok_or("short line")?;
                let v = match v.strip_prefix('-') {
                    Some(m) => -(m.parse::<u64>().map_err(|e| e.to_string())? as i128),
                    None => v.parse::<u64>().map_err(|e| e.to_string())? as i128,
                };
                set(&mut f.consts, ki, Value::Int(v));
            }
            Some("K") => {
                let ki = num(w.next())?;
                let rest = line.splitn(3, ' ').nth(2).unwrap_or("");
                set(&mut f.consts, ki, Value::Str(rest.to_string()));
            }
            Some("D") => {
                f.defined.insert(w.next().unwrap_or("").to_string());
            }
            _ => return Err("unexpected".to_string()),
        }
    }
    Ok(())
}

fn set(v: &mut Vec<Option<Value>>, i: usize, x: Value) {
    if v.len() <= i {
        v.resize(i + 1, None);
    }
    v[i] = Some(x);
}
