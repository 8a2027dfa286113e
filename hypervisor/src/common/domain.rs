//! Domains and vCPUs.

use crate::arch::ArchVcpu;
use crate::common::console::GuestConsole;
use crate::common::event::{EvtchnTable, NR_PORTS};
use crate::common::grant::GrantTable;
use crate::common::sched::{DomSched, VcpuSched};
use crate::common::time::VcpuTimers;
use alloc::boxed::Box;
use alloc::vec::Vec;
use pv_abi::abi::arch_x86::CpuUserRegs;
use pv_abi::abi::vcpu::{RUNSTATE_offline, VcpuRunstateInfo};
use pv_abi::abi::xen::NR_VIRQS;
use pv_abi::{DomId, Mfn};

/// A vCPU's FPU/SSE state in `fxsave` format.
#[derive(Clone)]
#[repr(C, align(16))]
pub struct FpuState(pub [u8; 512]);

impl FpuState {
    /// The state after `fninit` with SSE exceptions masked: FCW 0x37f,
    /// MXCSR 0x1f80.
    pub fn initial() -> Box<FpuState> {
        let mut f = Box::new(FpuState([0; 512]));
        f.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        f.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        f
    }
}

/// What a vCPU is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcpuState {
    /// Not brought up yet (or `VCPUOP_down`).
    Down,
    /// Can run.
    Runnable,
    /// Waiting for an event (`SCHEDOP_block`).
    Blocked,
}

/// A virtual CPU.
pub struct Vcpu {
    /// Index within its domain.
    pub id: u32,
    /// Guest registers while the vCPU is not on the CPU.
    pub regs: CpuUserRegs,
    /// Guest FPU/SSE state (the entry path saves into it directly).
    pub fpu: Box<FpuState>,
    /// Arch state (page-table bases, callbacks, segments, ...).
    pub arch: ArchVcpu,
    /// Scheduling state.
    pub state: VcpuState,
    /// Where this vCPU's `vcpu_info` lives (frame, byte offset): its slot
    /// in `shared_info` at creation, moved by `VCPUOP_register_vcpu_info`.
    pub vcpu_info: (Mfn, usize),
    /// `vcpu_info` was moved into a guest frame, which holds a general and
    /// a writable type reference while it is registered.
    pub vcpu_info_registered: bool,
    /// Port bound to each VIRQ on this vCPU (0: none).
    pub virq_ports: [u32; NR_VIRQS as usize],
    /// Ports of a `SCHEDOP_poll` in progress (a pending one wakes it).
    pub poll_ports: Vec<u32>,
    /// Timers.
    pub timers: VcpuTimers,
    /// Scheduler state.
    pub sched: VcpuSched,
    /// Runstate accounting (`VCPUOP_get_runstate_info`).
    pub runstate: VcpuRunstateInfo,
    /// Guest virtual address of the registered runstate area (0: none).
    pub runstate_guest: u64,
}

impl Vcpu {
    /// A new, down vCPU.
    pub fn new(id: u32) -> Self {
        Vcpu {
            id,
            regs: CpuUserRegs::default(),
            fpu: FpuState::initial(),
            arch: ArchVcpu::default(),
            state: VcpuState::Down,
            vcpu_info: (Mfn(0), 0),
            vcpu_info_registered: false,
            virq_ports: [0; NR_VIRQS as usize],
            poll_ports: Vec::new(),
            timers: VcpuTimers::default(),
            sched: VcpuSched::default(),
            runstate: VcpuRunstateInfo { state: RUNSTATE_offline, ..Default::default() },
            runstate_guest: 0,
        }
    }
}

/// A domain's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    /// Built, not yet started (or paused by the toolstack).
    Paused,
    /// Running.
    Running,
    /// Shut itself down (`SHUTDOWN_*` reason); waits for the toolstack.
    Shutdown(u32),
    /// Being torn down.
    Dying,
}

/// A domain.
pub struct Domain {
    /// Its id.
    pub id: DomId,
    /// May use privileged operations (dom0).
    pub privileged: bool,
    /// Life cycle state.
    pub state: DomainState,
    /// Its vCPUs.
    pub vcpus: Vec<Vcpu>,
    /// Pages it owns (excluding hypervisor-allocated frames).
    pub tot_pages: u64,
    /// Upper bound on `tot_pages`.
    pub max_pages: u64,
    /// Its shared-info frame (hypervisor-allocated, owned by the domain).
    pub shared_info: Mfn,
    /// `console_io` line buffer.
    pub console: GuestConsole,
    /// Enabled `VMASST_TYPE_*` bits.
    pub vm_assist: u64,
    /// Event channels.
    pub evtchn: EvtchnTable,
    /// Grant table.
    pub grant: GrantTable,
    /// Scheduler parameters and accounting.
    pub sched: DomSched,
    /// Toolstack handle (`XEN_DOMCTL_setdomainhandle` / createdomain).
    pub handle: [u8; 16],
    /// The most vCPUs it may have.
    pub max_vcpus: u32,
    /// Console ring served by the hypervisor (boot-one-guest mode): its
    /// frame and the guest's port.
    pub console_ring: Option<(Mfn, u32)>,
}

impl Domain {
    /// A new paused domain with `nr_vcpus` down vCPUs.
    pub fn new(id: DomId, privileged: bool, nr_vcpus: u32, shared_info: Mfn) -> Self {
        Domain {
            id,
            privileged,
            state: DomainState::Paused,
            vcpus: (0..nr_vcpus)
                .map(|id| {
                    let mut v = Vcpu::new(id);
                    // The legacy slot in shared_info; VCPUOP_register_vcpu_info moves it.
                    if (id as usize) < pv_abi::abi::arch_x86::XEN_LEGACY_MAX_VCPUS {
                        v.vcpu_info = (shared_info, id as usize * 64);
                    }
                    v
                })
                .collect(),
            tot_pages: 0,
            max_pages: 0,
            shared_info,
            console: GuestConsole::default(),
            vm_assist: 0,
            evtchn: EvtchnTable::new(NR_PORTS),
            grant: GrantTable::default(),
            sched: DomSched::default(),
            handle: [0; 16],
            max_vcpus: nr_vcpus,
            console_ring: None,
        }
    }

    /// Being torn down (or waiting for others' references to go).
    pub fn is_dying(&self) -> bool {
        self.state == DomainState::Dying
    }
}

/// All domains, by id: a vector indexed by domain id, so the lookup every
/// hypercall and exit makes is one bounds check and one load.
#[derive(Default)]
pub struct Domains {
    slots: Vec<Option<Box<Domain>>>,
    count: usize,
}

impl Domains {
    /// Adds a domain (its id must be free).
    pub fn insert(&mut self, d: Domain) -> &mut Domain {
        let id = d.id.0 as usize;
        if self.slots.len() <= id {
            self.slots.resize_with(id + 1, || None);
        }
        assert!(self.slots[id].is_none(), "domain id {id} in use");
        self.count += 1;
        self.slots[id].insert(Box::new(d))
    }
    /// The domain with this id.
    #[inline]
    pub fn get(&self, id: DomId) -> Option<&Domain> {
        self.slots.get(id.0 as usize).and_then(|s| s.as_deref())
    }
    /// The domain with this id, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: DomId) -> Option<&mut Domain> {
        self.slots.get_mut(id.0 as usize).and_then(|s| s.as_deref_mut())
    }
    /// Removes a domain.
    pub fn remove(&mut self, id: DomId) -> Option<Box<Domain>> {
        let d = self.slots.get_mut(id.0 as usize)?.take();
        if d.is_some() {
            self.count -= 1;
            while self.slots.last().is_some_and(|s| s.is_none()) {
                self.slots.pop();
            }
        }
        d
    }
    /// All domains in id order, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Domain> {
        self.slots.iter_mut().filter_map(|s| s.as_deref_mut())
    }
    /// All domain ids in order.
    pub fn ids(&self) -> Vec<DomId> {
        self.iter().map(|d| d.id).collect()
    }
    /// The lowest id at or above `from` not in use.
    pub fn free_id(&self, from: u16, below: u16) -> Option<DomId> {
        (from..below).find(|&i| self.get(DomId(i)).is_none()).map(DomId)
    }
    /// All domains in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Domain> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }
    /// Number of domains.
    pub fn len(&self) -> usize {
        self.count
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Byte offsets inside `vcpu_info` (`struct vcpu_info`, xen.h).
pub mod vcpu_info {
    /// `evtchn_upcall_pending`.
    pub const PENDING: usize = 0;
    /// `evtchn_upcall_mask`.
    pub const MASK: usize = 1;
    /// `evtchn_pending_sel`.
    pub const PENDING_SEL: usize = 8;
    /// `arch.cr2`.
    pub const CR2: usize = 16;
    /// `time` (`vcpu_time_info`).
    pub const TIME: usize = 32;
}

/// The upcall mask byte of a vCPU (its virtual interrupt flag, inverted).
pub fn upcall_mask(hv: &crate::common::Hv, d: DomId, v: u32) -> u8 {
    let (m, off) = hv.domains.get(d).expect("domain").vcpus[v as usize].vcpu_info;
    hv.phys.atomic_u8(m, off + vcpu_info::MASK).load(core::sync::atomic::Ordering::Relaxed)
}

/// Sets the upcall mask byte of a vCPU.
pub fn set_upcall_mask(hv: &crate::common::Hv, d: DomId, v: u32, mask: u8) {
    let (m, off) = hv.domains.get(d).expect("domain").vcpus[v as usize].vcpu_info;
    hv.phys.atomic_u8(m, off + vcpu_info::MASK).store(mask, core::sync::atomic::Ordering::Relaxed)
}
