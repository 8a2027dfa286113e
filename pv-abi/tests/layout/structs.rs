//! The struct half of the conformance table: every `#[repr(C)]` struct in
//! `pv_abi::abi`, its C counterpart and every field.

use crate::model::Struct;
use pv_abi::abi::arch_x86::*;
use pv_abi::abi::callback::*;
use pv_abi::abi::domctl::*;
use pv_abi::abi::event_channel::*;
use pv_abi::abi::grant_table::*;
use pv_abi::abi::hvm_start_info::*;
use pv_abi::abi::io::blkif::*;
use pv_abi::abi::io::console::*;
use pv_abi::abi::io::netif::*;
use pv_abi::abi::io::ring::*;
use pv_abi::abi::io::xs_wire::*;
use pv_abi::abi::memory::*;
use pv_abi::abi::physdev::*;
use pv_abi::abi::sched::*;
use pv_abi::abi::sysctl::*;
use pv_abi::abi::vcpu::*;
use pv_abi::abi::version::*;
use pv_abi::abi::xen::*;

/// Every mirrored struct.
pub fn structs() -> Vec<Struct> {
    let mut v = Vec::new();

    // ---- xen.h -------------------------------------------------------------
    st!(v, MmuUpdate = "struct mmu_update" { ptr, val });
    st!(v, MmuextOp = "struct mmuext_op" {
        cmd, _pad (pad), arg1, arg2,
        "arg1.mfn" => arg1, "arg1.linear_addr" => arg1,
        "arg2.nr_ents" => arg2 as u32, "arg2.vcpumask" => arg2, "arg2.src_mfn" => arg2,
    });
    st!(v, MulticallEntry = "struct multicall_entry" { op, result, args });
    st!(v, VcpuTimeInfo = "struct vcpu_time_info" {
        version, pad0, tsc_timestamp, system_time, tsc_to_system_mul, tsc_shift, flags, pad1,
    });
    st!(v, VcpuInfo = "struct vcpu_info" {
        evtchn_upcall_pending, evtchn_upcall_mask, _pad (pad), evtchn_pending_sel, arch, time,
    });
    st!(v, SharedInfo = "struct shared_info" {
        vcpu_info, evtchn_pending, evtchn_mask, wc_version, wc_sec, wc_nsec, wc_sec_hi, arch,
    });
    st!(v, StartInfo = "struct start_info" {
        magic, nr_pages, shared_info, flags, _pad0 (pad), store_mfn, store_evtchn, _pad1 (pad),
        console, pt_base, nr_pt_frames, mfn_list, mod_start, mod_len, cmd_line,
        first_p2m_pfn, nr_p2m_frames,
        "console.domU.mfn" => console.mfn, "console.domU.evtchn" => console.evtchn,
    });
    st!(v, StartInfoConsole = "PVABI_TYPE_OF(struct start_info, console)" {
        "domU.mfn" => mfn, "domU.evtchn" => evtchn, _pad (pad),
        "domU" @ (0, 16),
        "dom0.info_off" @ (std::mem::offset_of!(StartInfoConsole, mfn), 4),
        "dom0.info_size" @ (std::mem::offset_of!(StartInfoConsole, mfn) + 4, 4),
    });
    st!(v, XenMultibootModList = "struct xen_multiboot_mod_list" {
        mod_start, mod_end, cmdline, pad,
    });
    st!(v, Dom0VgaConsoleInfo = "struct dom0_vga_console_info" { video_type, _pad (pad), u });
    st!(v, Dom0VgaConsoleInfoU = "PVABI_TYPE_OF(struct dom0_vga_console_info, u)" {
        raw (whole),
        "text_mode_3" => union Dom0VgaTextMode3, "vesa_lfb" => union Dom0VgaVesaLfb,
    });
    st!(v, Dom0VgaTextMode3 = "PVABI_TYPE_OF(struct dom0_vga_console_info, u.text_mode_3)" {
        font_height, cursor_x, cursor_y, rows, columns,
    });
    st!(v, Dom0VgaVesaLfb = "PVABI_TYPE_OF(struct dom0_vga_console_info, u.vesa_lfb)" {
        width, height, bytes_per_line, bits_per_pixel, lfb_base, lfb_size, red_pos, red_size,
        green_pos, green_size, blue_pos, blue_size, rsvd_pos, rsvd_size, gbl_caps, mode_attrs,
        pad, ext_lfb_base,
    });
    st!(v, XenUuid = "xen_uuid_t" { a });
    st!(v, XenctlBitmap = "struct xenctl_bitmap" { bitmap, nr_bits, _pad (pad) });

    // ---- arch-x86/xen.h, arch-x86/xen-x86_64.h ---------------------------------
    st!(v, CpuUserRegs = "struct cpu_user_regs" {
        r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi,
        error_code, entry_vector, rip, cs, _pad0, saved_upcall_mask, _pad1, rflags, rsp,
        ss, _pad2, es, _pad3, ds, _pad4, fs, _pad5, gs, _pad6,
        "eax" => rax as u32, "ax" => rax as u16, "al" => rax as u8, "ebx" => rbx as u32,
        "ecx" => rcx as u32, "edx" => rdx as u32, "esi" => rsi as u32, "edi" => rdi as u32,
        "ebp" => rbp as u32, "esp" => rsp as u32, "eip" => rip as u32,
        "eflags" => rflags as u32, "r8d" => r8 as u32,
    });
    st!(v, TrapInfo = "struct trap_info" { vector, flags, cs, _pad (pad), address });
    st!(v, ArchVcpuInfo = "struct arch_vcpu_info" { cr2, pad });
    st!(v, ArchSharedInfo = "struct arch_shared_info" {
        max_pfn, pfn_to_mfn_frame_list_list, nmi_reason, p2m_cr3, p2m_vaddr, p2m_generation,
    });
    st!(v, IretContext = "struct iret_context" { rax, r11, rcx, flags, rip, cs, rflags, rsp, ss });
    st!(v, VcpuGuestContext = "struct vcpu_guest_context" {
        fpu_ctxt, "fpu_ctxt.x" => fpu_ctxt, flags, user_regs, trap_ctxt, ldt_base, ldt_ents,
        gdt_frames, gdt_ents, kernel_ss, kernel_sp, ctrlreg, debugreg, event_callback_eip,
        failsafe_callback_eip, syscall_callback_eip, vm_assist, fs_base, gs_base_kernel,
        gs_base_user,
        "user_regs.rip" => user_regs.rip, "trap_ctxt[255].address" @ (
            std::mem::offset_of!(VcpuGuestContext, trap_ctxt)
                + 255 * std::mem::size_of::<TrapInfo>()
                + std::mem::offset_of!(TrapInfo, address),
            8
        ),
    });
    st!(v, XenArchDomainconfig = "struct xen_arch_domainconfig" { emulation_flags, misc_flags });
    st!(v, XenCpuidLeaf = "struct xen_cpuid_leaf" { leaf, subleaf, a, b, c, d });
    st!(v, XenMsrEntry = "struct xen_msr_entry" { idx, flags, val });

    // ---- event_channel.h ---------------------------------------------------------
    st!(v, EvtchnAllocUnbound = "struct evtchn_alloc_unbound" { dom, remote_dom, port });
    st!(v, EvtchnBindInterdomain = "struct evtchn_bind_interdomain" {
        remote_dom, _pad (pad), remote_port, local_port,
    });
    st!(v, EvtchnBindVirq = "struct evtchn_bind_virq" { virq, vcpu, port });
    st!(v, EvtchnBindPirq = "struct evtchn_bind_pirq" { pirq, flags, port });
    st!(v, EvtchnBindIpi = "struct evtchn_bind_ipi" { vcpu, port });
    st!(v, EvtchnClose = "struct evtchn_close" { port });
    st!(v, EvtchnSend = "struct evtchn_send" { port });
    st!(v, EvtchnStatus = "struct evtchn_status" {
        dom, _pad (pad), port, status, vcpu, u,
        "u.interdomain.port" @ (
            std::mem::offset_of!(EvtchnStatus, u) + std::mem::offset_of!(EvtchnStatusInterdomain, port),
            4
        ),
    });
    st!(v, EvtchnStatusU = "PVABI_TYPE_OF(struct evtchn_status, u)" {
        raw (whole),
        "unbound" => union EvtchnStatusUnbound, "interdomain" => union EvtchnStatusInterdomain,
        "pirq" => union u32, "virq" => union u32,
    });
    st!(v, EvtchnStatusUnbound = "PVABI_TYPE_OF(struct evtchn_status, u.unbound)" { dom });
    st!(v, EvtchnStatusInterdomain = "PVABI_TYPE_OF(struct evtchn_status, u.interdomain)" {
        dom, _pad (pad), port,
    });
    st!(v, EvtchnBindVcpu = "struct evtchn_bind_vcpu" { port, vcpu });
    st!(v, EvtchnUnmask = "struct evtchn_unmask" { port });
    st!(v, EvtchnReset = "struct evtchn_reset" { dom });
    st!(v, EvtchnInitControl = "struct evtchn_init_control" {
        control_gfn, offset, vcpu, link_bits, _pad,
    });
    st!(v, EvtchnExpandArray = "struct evtchn_expand_array" { array_gfn });
    st!(v, EvtchnSetPriority = "struct evtchn_set_priority" { port, priority });
    st!(v, EvtchnFifoControlBlock = "struct evtchn_fifo_control_block" { ready, _rsvd, head });

    // ---- grant_table.h -------------------------------------------------------------
    st!(v, GrantEntryV1 = "struct grant_entry_v1" { flags, domid, frame });
    st!(v, GrantEntryHeader = "struct grant_entry_header" { flags, domid });
    st!(v, GrantEntryV2 = "union grant_entry_v2" {
        raw (whole), "__spacer" => raw,
        "hdr" => union GrantEntryHeader, "full_page" => union GrantEntryV2FullPage,
        "sub_page" => union GrantEntryV2SubPage, "transitive" => union GrantEntryV2Transitive,
    });
    st!(v, GrantEntryV2FullPage = "PVABI_TYPE_OF(union grant_entry_v2, full_page)" {
        hdr, pad0, frame,
    });
    st!(v, GrantEntryV2SubPage = "PVABI_TYPE_OF(union grant_entry_v2, sub_page)" {
        hdr, page_off, length, frame,
    });
    st!(v, GrantEntryV2Transitive = "PVABI_TYPE_OF(union grant_entry_v2, transitive)" {
        hdr, trans_domid, pad0, gref,
    });
    st!(v, GnttabMapGrantRef = "struct gnttab_map_grant_ref" {
        host_addr, flags, "ref" => ref_, dom, status, handle, dev_bus_addr,
    });
    st!(v, GnttabUnmapGrantRef = "struct gnttab_unmap_grant_ref" {
        host_addr, dev_bus_addr, handle, status, _pad (pad),
    });
    st!(v, GnttabSetupTable = "struct gnttab_setup_table" {
        dom, _pad0 (pad), nr_frames, status, _pad1 (pad), frame_list,
    });
    st!(v, GnttabDumpTable = "struct gnttab_dump_table" { dom, status });
    st!(v, GnttabTransfer = "struct gnttab_transfer" {
        mfn, domid, _pad0 (pad), "ref" => ref_, status, _pad1 (pad),
    });
    st!(v, GnttabCopyPtr = "struct gnttab_copy_ptr" {
        u, "u.gmfn" => u, "u.ref" => u as u32, domid, offset, _pad (pad),
    });
    st!(v, GnttabCopy = "struct gnttab_copy" {
        source, dest, len, flags, status, _pad (pad),
        "dest.offset" => dest.offset, "source.u.ref" => source.u as u32,
    });
    st!(v, GnttabQuerySize = "struct gnttab_query_size" {
        dom, _pad0 (pad), nr_frames, max_nr_frames, status, _pad1 (pad),
    });
    st!(v, GnttabUnmapAndReplace = "struct gnttab_unmap_and_replace" {
        host_addr, new_addr, handle, status, _pad (pad),
    });
    st!(v, GnttabSetVersion = "struct gnttab_set_version" { version });
    st!(v, GnttabGetStatusFrames = "struct gnttab_get_status_frames" {
        nr_frames, dom, status, frame_list,
    });
    st!(v, GnttabGetVersion = "struct gnttab_get_version" { dom, pad, version });
    st!(v, GnttabSwapGrantRef = "struct gnttab_swap_grant_ref" {
        ref_a, ref_b, status, _pad (pad),
    });
    st!(v, GnttabCacheFlush = "struct gnttab_cache_flush" {
        a, "a.dev_bus_addr" => a, "a.ref" => a as u32, offset, length, op,
    });

    // ---- memory.h -------------------------------------------------------------------
    st!(v, XenMemoryReservation = "struct xen_memory_reservation" {
        extent_start, nr_extents, extent_order, mem_flags, domid, _pad (pad),
    });
    st!(v, XenMemoryExchange = "struct xen_memory_exchange" {
        "in" => in_, out, nr_exchanged, "out.domid" => out.domid,
    });
    st!(v, XenMemoryDomain = "struct xen_memory_domain" { domid });
    st!(v, XenMachphysMfnList = "struct xen_machphys_mfn_list" {
        max_extents, _pad0 (pad), extent_start, nr_extents, _pad1 (pad),
    });
    st!(v, XenMachphysMapping = "struct xen_machphys_mapping" { v_start, v_end, max_mfn });
    st!(v, XenAddToPhysmap = "struct xen_add_to_physmap" { domid, size, space, idx, gpfn });
    st!(v, XenAddToPhysmapBatch = "struct xen_add_to_physmap_batch" {
        domid, space, size, u, "u.foreign_domid" => u, "u.res0" => u, idxs, gpfns, errs,
    });
    st!(v, XenRemoveFromPhysmap = "struct xen_remove_from_physmap" { domid, _pad (pad), gpfn });
    st!(v, XenMemoryMap = "struct xen_memory_map" { nr_entries, _pad (pad), buffer });
    st!(v, XenForeignMemoryMap = "struct xen_foreign_memory_map" {
        domid, _pad (pad), map, "map.buffer" => map.buffer,
    });
    st!(v, E820Entry = "struct pvabi_e820entry" { addr, size, "type" => ty });
    st!(v, XenPodTarget = "struct xen_pod_target" {
        target_pages, tot_pages, pod_cache_pages, pod_entries, domid, _pad (pad),
    });
    st!(v, XenReservedDeviceMemory = "struct xen_reserved_device_memory" {
        start_pfn, nr_pages,
    });
    st!(v, XenReservedDeviceMemoryMap = "struct xen_reserved_device_memory_map" {
        flags, nr_entries, buffer, dev, "dev.pci" => dev, _pad (pad),
    });
    st!(v, XenMemAcquireResource = "struct xen_mem_acquire_resource" {
        domid, "type" => ty, id, nr_frames, pad, frame, frame_list,
    });
    st!(v, XenVmemrange = "struct xen_vmemrange" { start, end, flags, nid });
    st!(v, XenVnumaTopologyInfo = "struct xen_vnuma_topology_info" {
        domid, pad, nr_vnodes, nr_vcpus, nr_vmemranges, vdistance, "vdistance.h" => vdistance,
        "vdistance.pad" => vdistance, vcpu_to_vnode, "vcpu_to_vnode.h" => vcpu_to_vnode,
        vmemrange, "vmemrange.h" => vmemrange,
    });

    // ---- sched.h ----------------------------------------------------------------------
    st!(v, SchedShutdown = "struct sched_shutdown" { reason });
    st!(v, SchedPoll = "struct sched_poll" { ports, nr_ports, _pad (pad), timeout });
    st!(v, SchedRemoteShutdown = "struct sched_remote_shutdown" { domain_id, _pad (pad), reason });
    st!(v, SchedWatchdog = "struct sched_watchdog" { id, timeout });
    st!(v, SchedPinOverride = "struct sched_pin_override" { pcpu });

    // ---- vcpu.h ------------------------------------------------------------------------
    st!(v, VcpuRunstateInfo = "struct vcpu_runstate_info" {
        state, _pad (pad), state_entry_time, time,
    });
    st!(v, VcpuRegisterRunstateMemoryArea = "struct vcpu_register_runstate_memory_area" {
        addr, "addr.h" => addr, "addr.v" => addr, "addr.p" => addr,
    });
    st!(v, VcpuSetPeriodicTimer = "struct vcpu_set_periodic_timer" { period_ns });
    st!(v, VcpuSetSingleshotTimer = "struct vcpu_set_singleshot_timer" {
        timeout_abs_ns, flags, _pad (pad),
    });
    st!(v, VcpuRegisterVcpuInfo = "struct vcpu_register_vcpu_info" { mfn, offset, rsvd });
    st!(v, VcpuGetPhysid = "struct vcpu_get_physid" { phys_id });
    st!(v, VcpuRegisterTimeMemoryArea = "struct vcpu_register_time_memory_area" {
        addr, "addr.h" => addr, "addr.v" => addr, "addr.p" => addr,
    });

    // ---- version.h -----------------------------------------------------------------------
    st!(v, XenCompileInfo = "struct xen_compile_info" {
        compiler, compile_by, compile_domain, compile_date,
    });
    st!(v, XenPlatformParameters = "struct xen_platform_parameters" { virt_start });
    st!(v, XenFeatureInfo = "struct xen_feature_info" { submap_idx, submap });
    st!(v, XenBuildId = "struct xen_build_id" { len, buf (flex) });

    // ---- callback.h ----------------------------------------------------------------------
    st!(v, CallbackRegister = "struct callback_register" {
        "type" => ty, flags, _pad (pad), address,
    });
    st!(v, CallbackUnregister = "struct callback_unregister" { "type" => ty, _unused });

    // ---- physdev.h -----------------------------------------------------------------------
    st!(v, PhysdevEoi = "struct physdev_eoi" { irq });
    st!(v, PhysdevPirqEoiGmfn = "struct physdev_pirq_eoi_gmfn" { gmfn });
    st!(v, PhysdevIrqStatusQuery = "struct physdev_irq_status_query" { irq, flags });
    st!(v, PhysdevSetIopl = "struct physdev_set_iopl" { iopl });
    st!(v, PhysdevSetIobitmap = "struct physdev_set_iobitmap" { bitmap, nr_ports, _pad (pad) });
    st!(v, PhysdevApic = "struct physdev_apic" { apic_physbase, reg, value });
    st!(v, PhysdevIrq = "struct physdev_irq" { irq, vector });
    st!(v, PhysdevMapPirq = "struct physdev_map_pirq" {
        domid, _pad0 (pad), "type" => ty, index, pirq, bus, devfn, entry_nr, _pad1 (pad),
        table_base,
    });
    st!(v, PhysdevUnmapPirq = "struct physdev_unmap_pirq" { domid, _pad (pad), pirq });
    st!(v, PhysdevSetupGsi = "struct physdev_setup_gsi" { gsi, triggering, polarity, _pad (pad) });
    st!(v, PhysdevGetFreePirq = "struct physdev_get_free_pirq" { "type" => ty, pirq });
    st!(v, PhysdevManagePci = "struct physdev_manage_pci" { bus, devfn });
    st!(v, PhysdevRestoreMsi = "struct physdev_restore_msi" { bus, devfn });
    st!(v, PhysdevPhysfn = "PVABI_TYPE_OF(struct physdev_manage_pci_ext, physfn)" { bus, devfn });
    st!(v, PhysdevPhysfn = "PVABI_TYPE_OF(struct physdev_pci_device_add, physfn)" { bus, devfn });
    st!(v, PhysdevManagePciExt = "struct physdev_manage_pci_ext" {
        bus, devfn, _pad0 (pad), is_extfn, is_virtfn, physfn, _pad1 (pad),
    });
    st!(v, PhysdevPciMmcfgReserved = "struct physdev_pci_mmcfg_reserved" {
        address, segment, start_bus, end_bus, flags,
    });
    st!(v, PhysdevPciDeviceAdd = "struct physdev_pci_device_add" {
        seg, bus, devfn, flags, physfn, _pad (pad), optarr (flex),
    });
    st!(v, PhysdevPciDevice = "struct physdev_pci_device" { seg, bus, devfn });
    st!(v, PhysdevDbgpOp = "struct physdev_dbgp_op" { op, bus, u, "u.pci" => u });

    // ---- arch-x86/hvm/start_info.h ------------------------------------------------------------
    st!(v, HvmStartInfo = "struct hvm_start_info" {
        magic, version, flags, nr_modules, modlist_paddr, cmdline_paddr, rsdp_paddr,
        memmap_paddr, memmap_entries, reserved,
    });
    st!(v, HvmModlistEntry = "struct hvm_modlist_entry" { paddr, size, cmdline_paddr, reserved });
    st!(v, HvmMemmapTableEntry = "struct hvm_memmap_table_entry" {
        addr, size, "type" => ty, reserved,
    });

    // ---- io/ring.h ----------------------------------------------------------------------------
    // The generic header, on a test instantiation of DEFINE_RING_TYPES: its
    // size is the offset of `ring[]`.
    st!(v, SringHeader = "struct pvabi_test_sring" size "offsetof(struct pvabi_test_sring, ring)" {
        req_prod, req_event, rsp_prod, rsp_event, pvt, "pvt.pvt_pad" => pvt,
        "pvt.netif.smartpoll_active" => pvt as u8, "pvt.tapif_user.msg" => pvt as u8,
        "__pad" => pad,
    });
    // The same header in the real blkif ring (whose alignment comes from
    // its 8-byte-aligned slots, so the header's own is that of RING_IDX).
    st!(v, SringHeader = "struct blkif_sring" size "offsetof(struct blkif_sring, ring)"
        align "_Alignof(RING_IDX)" {
        req_prod, req_event, rsp_prod, rsp_event, pvt, "__pad" => pad,
    });

    // ---- io/xs_wire.h, io/console.h ----------------------------------------------------------
    st!(v, XsdSockmsg = "struct xsd_sockmsg" { "type" => ty, req_id, tx_id, len });
    st!(v, XenstoreDomainInterface = "struct xenstore_domain_interface" {
        req, rsp, req_cons, req_prod, rsp_cons, rsp_prod, server_features, connection, error,
    });
    st!(v, XenconsInterface = "struct xencons_interface" {
        "in" => in_, out, in_cons, in_prod, out_cons, out_prod,
    });

    // ---- io/blkif.h -----------------------------------------------------------------------------
    st!(v, BlkifRequestSegment = "struct blkif_request_segment" {
        gref, first_sect, last_sect, _pad (pad),
    });
    st!(v, BlkifRequest = "struct blkif_request" {
        operation, nr_segments, handle, _pad (pad), id, sector_number, seg,
        "seg[10].last_sect" @ (
            std::mem::offset_of!(BlkifRequest, seg)
                + 10 * std::mem::size_of::<BlkifRequestSegment>()
                + std::mem::offset_of!(BlkifRequestSegment, last_sect),
            1
        ),
    });
    st!(v, BlkifRequestDiscard = "struct blkif_request_discard" {
        operation, flag, handle, _pad (pad), id, sector_number, nr_sectors,
    });
    st!(v, BlkifRequestIndirect = "struct blkif_request_indirect" {
        operation, indirect_op, nr_segments, _pad0 (pad), id, sector_number, handle,
        _pad1 (pad), indirect_grefs, _pad2 (pad),
    });
    st!(v, BlkifResponse = "struct blkif_response" {
        id, operation, _pad0 (pad), status, _pad1 (pad),
    });
    st!(v, BlkifSringEntry = "union blkif_sring_entry" {
        raw (whole), "req" => union BlkifRequest, "rsp" => union BlkifResponse,
    });

    // ---- io/netif.h -------------------------------------------------------------------------------
    st!(v, NetifTxRequest = "struct netif_tx_request" { gref, offset, flags, id, size });
    st!(v, NetifTxResponse = "struct netif_tx_response" { id, status });
    st!(v, NetifExtraInfo = "struct netif_extra_info" { "type" => ty, flags, u });
    st!(v, NetifExtraInfoU = "PVABI_TYPE_OF(struct netif_extra_info, u)" {
        raw (whole), "pad" => raw,
        "gso" => union NetifExtraInfoGso, "mcast" => union NetifExtraInfoMcast,
        "hash" => union NetifExtraInfoHash,
    });
    st!(v, NetifExtraInfoGso = "PVABI_TYPE_OF(struct netif_extra_info, u.gso)" {
        size, "type" => ty, pad, features,
    });
    st!(v, NetifExtraInfoMcast = "PVABI_TYPE_OF(struct netif_extra_info, u.mcast)" { addr });
    st!(v, NetifExtraInfoHash = "PVABI_TYPE_OF(struct netif_extra_info, u.hash)" {
        "type" => ty, algorithm, value,
    });
    st!(v, NetifRxRequest = "struct netif_rx_request" { id, pad, gref });
    st!(v, NetifRxResponse = "struct netif_rx_response" { id, offset, flags, status });
    st!(v, NetifTxSringEntry = "union netif_tx_sring_entry" {
        raw (whole), "req" => union NetifTxRequest, "rsp" => union NetifTxResponse,
    });
    st!(v, NetifRxSringEntry = "union netif_rx_sring_entry" {
        raw (whole), "req" => union NetifRxRequest, "rsp" => union NetifRxResponse,
    });
    st!(v, XenNetifCtrlRequest = "struct xen_netif_ctrl_request" { id, "type" => ty, data });
    st!(v, XenNetifCtrlResponse = "struct xen_netif_ctrl_response" {
        id, "type" => ty, status, data,
    });
    st!(v, XenNetifGref = "struct xen_netif_gref" { "ref" => ref_, flags, status });

    // ---- domctl.h -----------------------------------------------------------------------------------
    st!(v, XenDomctl = "struct xen_domctl" {
        cmd, interface_version, domain, _pad, u,
        "u.createdomain.arch" @ (
            std::mem::offset_of!(XenDomctl, u) + std::mem::offset_of!(XenDomctlCreatedomain, arch),
            std::mem::size_of::<XenArchDomainconfig>()
        ),
    });
    st!(v, XenDomctlPayload = "PVABI_TYPE_OF(struct xen_domctl, u)" {
        raw (whole), "pad" => raw,
        "createdomain" => union XenDomctlCreatedomain,
        "getdomaininfo" => union XenDomctlGetdomaininfo,
        "getpageframeinfo3" => union XenDomctlGetpageframeinfo3,
        "vcpuaffinity" => union XenDomctlVcpuaffinity,
        "max_mem" => union XenDomctlMaxMem,
        "vcpucontext" => union XenDomctlVcpucontext,
        "getvcpuinfo" => union XenDomctlGetvcpuinfo,
        "max_vcpus" => union XenDomctlMaxVcpus,
        "setdomainhandle" => union XenDomctlSetdomainhandle,
        "setdebugging" => union XenDomctlSetdebugging,
        "irq_permission" => union XenDomctlIrqPermission,
        "iomem_permission" => union XenDomctlIomemPermission,
        "ioport_permission" => union XenDomctlIoportPermission,
        "hypercall_init" => union XenDomctlHypercallInit,
        "scheduler_op" => union XenDomctlSchedulerOp,
        "settimeoffset" => union XenDomctlSettimeoffset,
        "address_size" => union XenDomctlAddressSize,
        "set_target" => union XenDomctlSetTarget,
        "subscribe" => union XenDomctlSubscribe,
        "set_virq_handler" => union XenDomctlSetVirqHandler,
    });
    st!(v, XenDomctlCreatedomain = "struct xen_domctl_createdomain" {
        ssidref, handle, flags, iommu_opts, max_vcpus, max_evtchn_port, max_grant_frames,
        max_maptrack_frames, grant_opts, vmtrace_size, cpupool_id, arch,
    });
    st!(v, XenDomctlGetdomaininfo = "struct xen_domctl_getdomaininfo" {
        domain, pad1, flags, tot_pages, max_pages, outstanding_pages, shr_pages, paged_pages,
        shared_info_frame, cpu_time, nr_online_vcpus, max_vcpu_id, ssidref, handle, cpupool,
        gpaddr_bits, pad2, arch_config,
    });
    st!(v, XenDomctlGetpageframeinfo3 = "struct xen_domctl_getpageframeinfo3" { num, array });
    st!(v, XenDomctlVcpuaffinity = "struct xen_domctl_vcpuaffinity" {
        vcpu, flags, cpumap_hard, cpumap_soft, "cpumap_soft.nr_bits" => cpumap_soft.nr_bits,
    });
    st!(v, XenDomctlMaxMem = "struct xen_domctl_max_mem" { max_memkb });
    st!(v, XenDomctlVcpucontext = "struct xen_domctl_vcpucontext" { vcpu, _pad (pad), ctxt });
    st!(v, XenDomctlGetvcpuinfo = "struct xen_domctl_getvcpuinfo" {
        vcpu, online, blocked, running, _pad0 (pad), cpu_time, cpu, _pad1 (pad),
    });
    st!(v, XenDomctlMaxVcpus = "struct xen_domctl_max_vcpus" { max });
    st!(v, XenDomctlSetdomainhandle = "struct xen_domctl_setdomainhandle" { handle });
    st!(v, XenDomctlSetdebugging = "struct xen_domctl_setdebugging" { enable });
    st!(v, XenDomctlIrqPermission = "struct xen_domctl_irq_permission" {
        pirq, allow_access, pad,
    });
    st!(v, XenDomctlIomemPermission = "struct xen_domctl_iomem_permission" {
        first_mfn, nr_mfns, allow_access, _pad (pad),
    });
    st!(v, XenDomctlIoportPermission = "struct xen_domctl_ioport_permission" {
        first_port, nr_ports, allow_access, _pad (pad),
    });
    st!(v, XenDomctlHypercallInit = "struct xen_domctl_hypercall_init" { gmfn });
    st!(v, XenDomctlSchedulerOp = "struct xen_domctl_scheduler_op" { sched_id, cmd, u });
    st!(v, XenDomctlSchedCredit = "struct xen_domctl_sched_credit" { weight, cap });
    st!(v, XenDomctlSettimeoffset = "struct xen_domctl_settimeoffset" { time_offset_seconds });
    st!(v, XenDomctlAddressSize = "struct xen_domctl_address_size" { size });
    st!(v, XenDomctlSetTarget = "struct xen_domctl_set_target" { target });
    st!(v, XenDomctlSubscribe = "struct xen_domctl_subscribe" { port });
    st!(v, XenDomctlSetVirqHandler = "struct xen_domctl_set_virq_handler" { virq });

    // ---- sysctl.h -------------------------------------------------------------------------------------
    st!(v, XenSysctl = "struct xen_sysctl" { cmd, interface_version, u });
    st!(v, XenSysctlPayload = "PVABI_TYPE_OF(struct xen_sysctl, u)" {
        raw (whole), "pad" => raw,
        "readconsole" => union XenSysctlReadconsole,
        "physinfo" => union XenSysctlPhysinfo,
        "getdomaininfolist" => union XenSysctlGetdomaininfolist,
    });
    st!(v, XenSysctlReadconsole = "struct xen_sysctl_readconsole" {
        clear, incremental, pad0, pad1, index, buffer, count, _pad (pad),
    });
    st!(v, XenSysctlPhysinfo = "struct xen_sysctl_physinfo" {
        threads_per_core, cores_per_socket, nr_cpus, max_cpu_id, nr_nodes, max_node_id,
        cpu_khz, capabilities, arch_capabilities, pad, total_pages, free_pages, scrub_pages,
        outstanding_pages, max_mfn, hw_cap,
    });
    st!(v, XenSysctlGetdomaininfolist = "struct xen_sysctl_getdomaininfolist" {
        first_domain, _pad0 (pad), max_domains, buffer, num_domains, _pad1 (pad),
    });

    v
}
