//! The nodes the toolstack writes for a PV domU, as Xen 4.17's libxl does
//! (`libxl__domain_make()` in `libxl_create.c`, `libxl__build_post()` in
//! `libxl_dom.c`, `libxl__device_generic_add()` in `libxl_device.c`), with
//! libxl's permissions:
//!
//! - read-only for the guest, `[n0, r<D>]`: the home `/local/domain/<D>`,
//!   `/vm/<uuid>`, `cpu`, `memory`, `device`, `control`, the primary
//!   `console`, and everything dom0 writes below them (`name`, `domid`,
//!   `vm`, `memory/target`, `store/port`, ...);
//! - owned by the guest, `[n<D>]`: `control/shutdown`, `control/sysrq`,
//!   `control/feature-{poweroff,reboot,suspend}`,
//!   `device/suspend/event-channel`, `data`, `drivers`, `feature`,
//!   `attr`, `error`.
//!
//! Left out: `/libxl/<D>` (libxl's private bookkeeping), `memory/videoram`
//! is written as `0` (PV), no `platform` keys, no `image` keys under
//! `/vm`, and no console backend directory (the primary console of a PV
//! domain is found through `start_info`, not xenbus).

use crate::path::domain_path;
use crate::{Access, Perm, Xenstored, DOM0};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use pv_abi::abi::errno::{Errno, EINVAL, ENOENT};
use pv_abi::{DomId, Mfn, Port};

/// What [`Xenstored::create_domain_home`] writes for one domain.
#[derive(Clone, Copy, Debug)]
pub struct DomainHome<'a> {
    /// The domain.
    pub domid: DomId,
    /// `name` (also `/vm/<uuid>/name`).
    pub name: &'a str,
    /// The domain's UUID, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub uuid: &'a str,
    /// `memory/static-max`, KiB.
    pub max_mem_kib: u64,
    /// `memory/target`, KiB: what the guest has, or its balloon driver
    /// will try to reach it.
    pub target_mem_kib: u64,
    /// `cpu/<n>/availability` = `online` for n < vcpus.
    pub vcpus: u32,
    /// `store/port`: the store event channel.
    pub store_port: Port,
    /// `store/ring-ref`: the store ring frame.
    pub store_mfn: Mfn,
    /// The primary console ring (`console/port`, `console/ring-ref`), if
    /// the domain has one.
    pub console: Option<(Port, Mfn)>,
}

/// A split device: what [`Xenstored::add_device`] writes.
#[derive(Clone, Copy, Debug)]
pub struct DeviceSpec<'a> {
    /// The device kind: `vbd`, `vif`, `console`, ...
    pub kind: &'a str,
    /// The front-end domain.
    pub frontend: DomId,
    /// The back-end domain.
    pub backend: DomId,
    /// The device id (e.g. 51712 for xvda).
    pub devid: u32,
    /// Keys of the front-end directory besides `backend` (e.g.
    /// `backend-id`, `state`, `virtual-device`).
    pub frontend_entries: &'a [(&'a str, &'a str)],
    /// Keys of the back-end directory besides `frontend` (e.g.
    /// `frontend-id`, `online`, `state`, `params`).
    pub backend_entries: &'a [(&'a str, &'a str)],
}

impl DeviceSpec<'_> {
    /// `/local/domain/<frontend>/device/<kind>/<devid>`.
    pub fn frontend_path(&self) -> String {
        format!("{}/device/{}/{}", domain_path(self.frontend), self.kind, self.devid)
    }

    /// `/local/domain/<backend>/backend/<kind>/<frontend>/<devid>`.
    pub fn backend_path(&self) -> String {
        format!("{}/backend/{}/{}/{}", domain_path(self.backend), self.kind, self.frontend.0, self.devid)
    }
}

impl Xenstored {
    /// Removes a subtree if it is there (libxl's `xs_rm` ignoring `ENOENT`).
    fn rm_any(&mut self, path: &str) -> Result<(), Errno> {
        match self.rm(path) {
            Err(Errno(ENOENT)) => Ok(()),
            r => r,
        }
    }

    /// Creates a node with `perms` (libxl's `libxl__xs_mknod`).
    fn mknod(&mut self, path: &str, perms: &[Perm]) -> Result<(), Errno> {
        self.write(path, b"")?;
        self.set_perms(path, perms)
    }

    /// Writes the standard subtree of a PV domU, replacing any old one:
    /// `/local/domain/<D>` and `/vm/<uuid>`, with libxl's permissions (see
    /// the module docs). Call before [`Xenstored::introduce`].
    pub fn create_domain_home(&mut self, h: &DomainHome<'_>) -> Result<(), Errno> {
        let d = h.domid;
        if d == DOM0 || !d.is_regular() {
            return Err(Errno(EINVAL));
        }
        let ro = [Perm::new(Access::None, DOM0), Perm::new(Access::Read, d)];
        let rw = [Perm::new(Access::None, d)];
        let home = domain_path(d);
        let vm = format!("/vm/{}", h.uuid);
        let at = |rel: &str| format!("{home}/{rel}");

        self.rm_any(&home)?;
        self.mknod(&home, &ro)?;
        self.rm_any(&vm)?;
        self.mknod(&vm, &ro)?;
        self.write(&at("vm"), vm.as_bytes())?;
        self.write(&at("name"), h.name.as_bytes())?;
        self.write(&format!("{vm}/name"), h.name.as_bytes())?;
        self.write(&format!("{vm}/uuid"), h.uuid.as_bytes())?;
        for rel in ["cpu", "memory", "device", "control"] {
            self.mknod(&at(rel), &ro)?;
        }
        for rel in [
            "device/suspend/event-channel",
            "control/shutdown",
            "control/feature-poweroff",
            "control/feature-reboot",
            "control/feature-suspend",
            "control/sysrq",
            "data",
            "drivers",
            "feature",
            "attr",
            "error",
        ] {
            self.mknod(&at(rel), &rw)?;
        }
        self.write(&at("control/platform-feature-multiprocessor-suspend"), b"1")?;
        self.write(&at("control/platform-feature-xs_reset_watches"), b"1")?;

        let mut ents: Vec<(String, String)> = Vec::from([
            (String::from("memory/static-max"), format!("{}", h.max_mem_kib)),
            (String::from("memory/target"), format!("{}", h.target_mem_kib)),
            (String::from("memory/videoram"), String::from("0")),
            (String::from("domid"), format!("{}", d.0)),
            (String::from("store/port"), format!("{}", h.store_port.0)),
            (String::from("store/ring-ref"), format!("{}", h.store_mfn.0)),
        ]);
        for i in 0..h.vcpus {
            ents.push((format!("cpu/{i}/availability"), String::from("online")));
        }
        for (k, v) in &ents {
            self.write(&at(k), v.as_bytes())?;
        }

        if let Some((port, mfn)) = h.console {
            // libxl: console 0's front-end is read-only for the guest.
            self.rm_any(&at("console"))?;
            self.mknod(&at("console"), &ro)?;
            for (k, v) in [
                ("limit", String::from("1048576")),
                ("type", String::from("xenconsoled")),
                ("output", String::from("pty")),
                ("tty", String::new()),
                ("port", format!("{}", port.0)),
                ("ring-ref", format!("{}", mfn.0)),
            ] {
                self.write(&at(&format!("console/{k}")), v.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Removes a domain's subtree and its `/vm/<uuid>` (what libxl does
    /// when destroying a domain).
    pub fn remove_domain_home(&mut self, domid: DomId) -> Result<(), Errno> {
        let home = domain_path(domid);
        if let Ok(vm) = self.read(&format!("{home}/vm")) {
            if let Ok(vm) = core::str::from_utf8(&vm) {
                if vm.starts_with("/vm/") {
                    let vm = String::from(vm);
                    self.rm_any(&vm)?;
                }
            }
        }
        self.rm_any(&home)
    }

    /// Creates a split device's front-end and back-end directories, as
    /// `libxl__device_generic_add()`: the front-end directory is owned by
    /// the front-end domain and readable by the back-end (`[n<fe>,
    /// r<be>]`; console 0: `[n<be>, r<fe>]`), the back-end directory owned
    /// by the back-end and readable by the front-end (`[n<be>, r<fe>]`).
    /// Each gets its `backend`/`frontend` key pointing at the other.
    pub fn add_device(&mut self, dev: &DeviceSpec<'_>) -> Result<(), Errno> {
        let fe = dev.frontend_path();
        let be = dev.backend_path();
        let fe_perms = if dev.kind == "console" && dev.devid == 0 {
            [Perm::new(Access::None, dev.backend), Perm::new(Access::Read, dev.frontend)]
        } else {
            [Perm::new(Access::None, dev.frontend), Perm::new(Access::Read, dev.backend)]
        };
        let be_perms = [Perm::new(Access::None, dev.backend), Perm::new(Access::Read, dev.frontend)];

        self.rm_any(&fe)?;
        self.mkdir(&fe)?;
        self.set_perms(&fe, &fe_perms)?;
        self.write(&format!("{fe}/backend"), be.as_bytes())?;
        for (k, v) in dev.frontend_entries {
            self.write(&format!("{fe}/{k}"), v.as_bytes())?;
        }
        self.rm_any(&be)?;
        self.mkdir(&be)?;
        self.set_perms(&be, &be_perms)?;
        self.write(&format!("{be}/frontend"), fe.as_bytes())?;
        for (k, v) in dev.backend_entries {
            self.write(&format!("{be}/{k}"), v.as_bytes())?;
        }
        Ok(())
    }

    /// Removes a split device's front-end and back-end directories.
    pub fn remove_device(&mut self, dev: &DeviceSpec<'_>) -> Result<(), Errno> {
        self.rm_any(&dev.frontend_path())?;
        self.rm_any(&dev.backend_path())
    }
}
