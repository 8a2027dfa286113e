//! `vcpu.h`: `vcpu_op` sub-commands and their arguments.
