//! Arch-neutral core: the hypervisor's state, domains, the frame table,
//! hypercall dispatch and the handlers that do not depend on x86 details.
//! Everything here is reachable by host `cargo test`.

pub mod cmdline;
pub mod console;
pub mod dom0;
pub mod domain;
pub mod frame;
pub mod guest_mem;
pub mod hypercall;
pub mod m2p;
pub mod phys;

use domain::{Domain, Domains};
use frame::FrameTable;
use m2p::M2p;
use phys::PhysMem;
use pv_abi::DomId;

/// How the machine should end (dom0 shut down, or the hypervisor failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineExit {
    /// dom0 powered off.
    Poweroff,
    /// dom0 asked for a reboot.
    Reboot,
    /// dom0 crashed.
    Crash,
}

/// The whole hypervisor state. One instance, owned by the arch layer and
/// lent to handlers; host tests build their own.
pub struct Hv {
    /// Machine memory by frame number.
    pub phys: PhysMem,
    /// Frame ownership and types.
    pub frames: FrameTable,
    /// The machine-to-phys table.
    pub m2p: M2p,
    /// All domains.
    pub domains: Domains,
    /// The vCPU on the CPU: (domain, vcpu index).
    pub current: Option<(DomId, u32)>,
    /// Set when the machine must stop.
    pub exit: Option<MachineExit>,
    /// The hypervisor command line (for `XENVER_commandline`).
    pub cmdline: alloc::string::String,
}

impl Hv {
    /// The current domain.
    pub fn current_domain(&mut self) -> Option<&mut Domain> {
        let (d, _) = self.current?;
        self.domains.get_mut(d)
    }
}

#[cfg(test)]
pub mod testutil {
    //! A small machine for host tests.
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;
    use frame::PageInfo;
    use pv_abi::Mfn;

    /// A machine of `n` frames, all free, no domains.
    pub fn hv(n: u64) -> Hv {
        let pages = Box::leak(vec![PageInfo::RESERVED; n as usize].into_boxed_slice());
        let mut frames = FrameTable::new(pages);
        for m in (0..n).rev() {
            frames.release_reserved(Mfn(m)).unwrap();
        }
        Hv {
            phys: phys::test_phys(n),
            frames,
            m2p: M2p::new(Box::leak(vec![0u64; n as usize].into_boxed_slice())),
            domains: Domains::default(),
            current: None,
            exit: None,
            cmdline: "loglvl=all".into(),
        }
    }
}
