//! The CMOS real-time clock, read once at boot for the wallclock.

use super::cpu::{inb, outb};
use crate::common::time::unix_time;

fn read(reg: u8) -> u8 {
    outb(0x70, reg);
    inb(0x71)
}

/// Seconds since the epoch, as the RTC says (UTC, as QEMU keeps it).
/// Returns 0 if no RTC answers sensibly.
pub fn unix_seconds() -> u64 {
    // Wait for an update to finish, then read until two reads agree.
    let snapshot = || {
        let mut spins = 0;
        while read(0x0a) & 0x80 != 0 && spins < 100_000 {
            spins += 1;
        }
        [read(0x00), read(0x02), read(0x04), read(0x07), read(0x08), read(0x09), read(0x32)]
    };
    let mut a = snapshot();
    for _ in 0..5 {
        let b = snapshot();
        if a == b {
            break;
        }
        a = b;
    }
    let status_b = read(0x0b);
    let bcd = status_b & 0x04 == 0;
    let dec = |v: u8| if bcd { (v & 0x0f) + (v >> 4) * 10 } else { v };
    let [s, m, h, day, mon, yr, cent] = a;
    let pm = h & 0x80 != 0;
    let mut hour = dec(h & 0x7f) as u32;
    if status_b & 0x02 == 0 {
        // 12-hour clock.
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = match dec(cent) {
        19..=30 => dec(cent) as i64,
        _ => 20,
    };
    let (mon, day) = (dec(mon) as u32, dec(day) as u32);
    if !(1..=12).contains(&mon) || !(1..=31).contains(&day) {
        return 0;
    }
    unix_time(century * 100 + dec(yr) as i64, mon, day, hour, dec(m) as u32, dec(s) as u32)
}
