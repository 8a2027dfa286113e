//! Layout conformance of `pv_abi::abi` against Xen's own C headers
//! (`/usr/include/xen`, Debian's `libxen-dev`, Xen 4.17).
//!
//! One table (`layout/structs.rs`, `layout/consts.rs`) lists every mirrored
//! struct with every field and every mirrored constant, each with its C
//! counterpart. From that table the test generates a C program that
//! includes the headers and prints `sizeof`/`_Alignof`/`offsetof` and the
//! constants' values, compiles it with `cc`, runs it, and compares. Because
//! both sides come from the same table, the C and Rust lists cannot drift.
//! See `docs/abi-layout.md`.

#[macro_use]
#[path = "layout/model.rs"]
mod model;

#[path = "layout/consts.rs"]
mod consts;
#[path = "layout/cprog.rs"]
mod cprog;
#[path = "layout/structs.rs"]
mod structs;

use model::{CField, FamilyKind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Rust-only helper structs in `src/abi` that have no C counterpart and so
/// are exempt from the coverage check. Each needs a comment saying why.
const RUST_ONLY_STRUCTS: &[&str] = &[
    // errno.rs: `Errno(pub i32)`, a typed wrapper for an error number that
    // is never part of a structure; its values are checked as constants.
    "Errno",
];

/// The table, the family candidates and what C says about them, computed
/// once per test binary.
struct World {
    structs: Vec<model::Struct>,
    consts: Vec<model::Const>,
    families: Vec<model::Family>,
    candidates: Vec<cprog::Candidate>,
    facts: Result<cprog::CFacts, String>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let structs = structs::structs();
        let consts = consts::consts();
        let families = consts::families();
        let have_headers = std::path::Path::new(cprog::XEN_INCLUDE).join("xen.h").exists();
        let candidates = if have_headers { cprog::family_candidates(&families) } else { Vec::new() };
        let source = cprog::generate(&structs, &consts, &candidates);
        let facts = cprog::compile_and_run(&source);
        World { structs, consts, families, candidates, facts }
    })
}

fn facts(w: &World) -> &cprog::CFacts {
    match &w.facts {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    }
}

/// Sizes, alignments, field offsets and sizes, and constant values agree
/// with C. Lists every mismatch.
#[test]
fn abi_layout_matches_xen_headers() {
    let w = world();
    let c = facts(w);
    let mut bad = Vec::new();
    let mut nfields = 0;
    for (si, s) in w.structs.iter().enumerate() {
        let name = format!("{} (Rust {})", s.c, s.rust);
        let Some(Some(cs)) = c.structs.get(si) else {
            bad.push(format!("{name}: no output from C"));
            continue;
        };
        let (csize, calign, cfields) = (&cs.size, &cs.align, &cs.fields);
        if *csize != s.size {
            bad.push(format!("{name}: size C={csize} Rust={}", s.size));
        }
        if *calign != s.align {
            bad.push(format!("{name}: alignment C={calign} Rust={}", s.align));
        }
        for (fi, f) in s.fields.iter().enumerate() {
            let cname = match &f.c {
                CField::Path(p) | CField::Flex(p) => p.as_str(),
                CField::Whole => "(whole union)",
                CField::Pad => continue,
            };
            nfields += 1;
            let what = format!("{name}: field {cname} (Rust {})", f.rust);
            let Some(Some((coff, csz))) = cfields.get(fi) else {
                bad.push(format!("{what}: no output from C"));
                continue;
            };
            if *coff != f.offset {
                bad.push(format!("{what}: offset C={coff} Rust={}", f.offset));
            }
            let csz = csz.unwrap_or(0);
            if csz != f.size {
                bad.push(format!("{what}: size C={csz} Rust={}", f.size));
            }
        }
    }
    for (ki, k) in w.consts.iter().enumerate() {
        match c.consts.get(ki) {
            Some(Some(v)) if *v == k.value => {}
            Some(Some(v)) => bad.push(format!("constant {} (Rust {}): C={v} Rust={}", k.c, k.rust, k.value)),
            _ => bad.push(format!("constant {} (Rust {}): no output from C", k.c, k.rust)),
        }
    }
    eprintln!(
        "abi layout: checked {} structs, {} fields, {} constants against {} (interface {})",
        w.structs.len(),
        nfields,
        w.consts.len(),
        cprog::XEN_INCLUDE,
        cprog::INTERFACE_VERSION,
    );
    assert!(bad.is_empty(), "{} mismatches between pv_abi::abi and the C headers:\n  {}", bad.len(), bad.join("\n  "));
}

/// Every `#define` (or enumerator) of the listed constant families that is
/// live under our interface version appears in the constant table; so does
/// every Xen errno.
#[test]
fn abi_constant_families_are_complete() {
    let w = world();
    let c = facts(w);
    let used = cprog::identifiers(&w.consts);
    let mut missing = BTreeSet::new();
    for (fi, name) in &w.candidates {
        let fam = &w.families[*fi];
        let live = matches!(fam.kind, FamilyKind::Enum) || c.defined.contains(name);
        if live && !used.contains(name) {
            missing.insert(format!("{}: {name} ({} family)", fam.header, fam.prefix));
        }
    }
    let errno = std::fs::read_to_string(format!("{}/errno.h", cprog::XEN_INCLUDE)).unwrap();
    for line in errno.lines() {
        let Some(rest) = line.trim_start().strip_prefix("XEN_ERRNO(") else { continue };
        let name = rest.split(',').next().unwrap_or("").trim();
        if name.is_empty() || name == "name" {
            continue;
        }
        let (a, b) = (format!("XEN_{name}"), format!("PVABI_XEN_ERRNO_{name}"));
        if !used.contains(&a) && !used.contains(&b) {
            missing.insert(format!("errno.h: {name}"));
        }
    }
    eprintln!(
        "abi families: {} families, {} names scanned, {} live",
        w.families.len(),
        w.candidates.len(),
        w.candidates
            .iter()
            .filter(|(fi, n)| matches!(w.families[*fi].kind, FamilyKind::Enum) || c.defined.contains(n))
            .count(),
    );
    assert!(
        missing.is_empty(),
        "{} C constants of mirrored families are not in the table (add them to pv_abi::abi and \
         tests/layout/consts.rs, or to a family's `except` with a reason):\n  {}",
        missing.len(),
        missing.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

/// Every `pub struct` in `src/abi` is in the table, and for every table
/// entry the listed Rust fields cover the struct's bytes exactly (so no
/// Rust field is left unchecked).
#[test]
fn abi_table_covers_every_struct_and_field() {
    let w = world();
    let mut bad = Vec::new();

    let listed: BTreeSet<&str> = w.structs.iter().map(|s| s.rust).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/abi");
    let mut found = BTreeMap::new();
    scan(&root, &mut found);
    for (name, file) in &found {
        if !listed.contains(name.as_str()) && !RUST_ONLY_STRUCTS.contains(&name.as_str()) {
            bad.push(format!("{file}: `pub struct {name}` is not in tests/layout/structs.rs"));
        }
    }
    for name in RUST_ONLY_STRUCTS {
        if !found.contains_key(*name) {
            bad.push(format!("RUST_ONLY_STRUCTS names {name}, which no longer exists"));
        }
    }

    for s in &w.structs {
        let mut storage: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for f in s.fields.iter().filter(|f| f.storage) {
            storage.insert(f.rust.as_str(), (f.offset, f.size));
        }
        let mut spans: Vec<(usize, usize, &str)> = storage.iter().map(|(n, (o, l))| (*o, *l, *n)).collect();
        spans.sort();
        let mut at = 0;
        for (off, len, n) in spans {
            if off > at {
                bad.push(format!("{} ({}): bytes {at}..{off} are in no listed field", s.rust, s.c));
            } else if off < at && len > 0 {
                bad.push(format!("{} ({}): field {n} overlaps the previous one", s.rust, s.c));
            }
            at = at.max(off + len);
        }
        if at != s.size {
            bad.push(format!("{} ({}): bytes {at}..{} are in no listed field", s.rust, s.c, s.size));
        }
    }
    eprintln!("abi coverage: {} structs in src/abi, {} table entries", found.len(), w.structs.len());
    assert!(bad.is_empty(), "the layout table is incomplete:\n  {}", bad.join("\n  "));
}

/// Collects `pub struct Name` declarations under `dir`.
fn scan(dir: &std::path::Path, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            scan(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).unwrap();
            for line in text.lines() {
                let Some(rest) = line.trim_start().strip_prefix("pub struct ") else { continue };
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let rel = p.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&p);
                out.insert(name, rel.display().to_string());
            }
        }
    }
}
