//! Link every test guest as a PV kernel.
fn main() {
    kernel_link::link_pv_kernel();
}
