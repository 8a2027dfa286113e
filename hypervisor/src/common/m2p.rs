//! The machine-to-phys table: for each machine frame, the pseudo-physical
//! frame its owner uses for it (`INVALID_M2P_ENTRY` when unowned). The
//! hypervisor writes it through its read-write mapping; every PV address
//! space sees it read-only at `MACH2PHYS_VIRT_START`.

use pv_abi::{Mfn, Pfn};

/// The value of an M2P entry for a frame no domain uses.
pub const INVALID_M2P_ENTRY: u64 = !0;

/// The table.
pub struct M2p {
    table: &'static mut [u64],
}

impl M2p {
    /// Wraps the table; every entry is set invalid.
    pub fn new(table: &'static mut [u64]) -> Self {
        table.fill(INVALID_M2P_ENTRY);
        M2p { table }
    }
    /// Sets the entry for `mfn` (ignored beyond the table).
    pub fn set(&mut self, mfn: Mfn, pfn: Option<Pfn>) {
        if let Some(e) = self.table.get_mut(mfn.0 as usize) {
            *e = pfn.map_or(INVALID_M2P_ENTRY, |p| p.0);
        }
    }
    /// The entry for `mfn`.
    pub fn get(&self, mfn: Mfn) -> Option<Pfn> {
        match self.table.get(mfn.0 as usize) {
            Some(&e) if e != INVALID_M2P_ENTRY => Some(Pfn(e)),
            _ => None,
        }
    }
    /// Entries in the table.
    pub fn len(&self) -> u64 {
        self.table.len() as u64
    }
    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}
