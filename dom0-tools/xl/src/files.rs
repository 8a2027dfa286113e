//! The files `xl create` sends to dom0: the config file, and the kernel and
//! ramdisk it names.
//!
//! A path is first looked up on the host: relative to the current
//! directory (as xl does), then relative to the config file's directory.
//! A path found nowhere on the host is not sent, so dom0 looks it up in
//! its own file tree (`xl create /etc/xen/hello.cfg` names dom0's file).
//! Each file is sent under the path exactly as the command line or the
//! config wrote it, which is the name dom0 looks it up by.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use toolstack::cli::CreateArgs;
use toolstack::protocol::RequestFile;
use toolstack::DomainConfig;

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("xl: cannot read {}: {}\n", path.display(), e)),
    }
}

/// Candidate host paths for `name`, named by the config at `config`.
fn candidates(name: &str, config: &Path) -> Vec<PathBuf> {
    let p = PathBuf::from(name);
    let mut v = vec![p.clone()];
    if p.is_relative() {
        if let Some(dir) = config.parent().filter(|d| !d.as_os_str().is_empty()) {
            v.push(dir.join(&p));
        }
    }
    v
}

/// Reads and checks the config; returns the files to send. The error is
/// the complete stderr text (as dom0 would print it).
pub fn create_files(args: &CreateArgs, verbose: bool) -> Result<Vec<RequestFile>, String> {
    let config_path = Path::new(&args.config);
    let bytes = match std::fs::read(config_path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if verbose {
                eprintln!("xl: {} is not on the host; dom0 will look for it", args.config);
            }
            return Ok(Vec::new());
        }
        Err(e) => return Err(format!("Failed to read config file: {}: {}\n", args.config, e)),
    };
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| format!("Failed to read config file: {}: not UTF-8 text\n", args.config))?;
    let extra: Vec<&str> = args.extra.iter().map(String::as_str).collect();
    let config = DomainConfig::parse_with(&args.config, &text, &extra).map_err(|e| {
        let parsing = if args.quiet { String::new() } else { format!("Parsing config from {}\n", args.config) };
        format!("{}{}\n", parsing, e)
    })?;

    let mut files = vec![RequestFile { name: args.config.clone(), data: bytes }];
    for name in config.boot_files() {
        if files.iter().any(|f| f.name == name) {
            continue;
        }
        let mut found = false;
        for path in candidates(name, config_path) {
            if let Some(data) = read_optional(&path)? {
                if verbose {
                    eprintln!("xl: sending {} ({} bytes) as '{}'", path.display(), data.len(), name);
                }
                files.push(RequestFile { name: name.to_string(), data });
                found = true;
                break;
            }
        }
        if !found && verbose {
            eprintln!("xl: '{}' is not on the host; dom0 will look for it", name);
        }
    }
    Ok(files)
}
