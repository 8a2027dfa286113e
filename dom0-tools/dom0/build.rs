//! Link dom0 as a PV kernel.
fn main() {
    kernel_link::link_pv_kernel();
}
