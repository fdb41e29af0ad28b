//! What this process has put into the kernel sets at run time (bans, doors,
//! the resolved allowlist, geo zones), so an `install` — which rebuilds our
//! table from scratch for atomicity — can carry it over with the remaining
//! timeouts instead of silently forgetting it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

#[derive(Debug, Default)]
pub struct Remembered {
    /// `None`: permanent.
    bans: HashMap<IpAddr, Option<Instant>>,
    doors: HashMap<IpAddr, Instant>,
    /// `None` until `set_allow` was called: the plan's static list applies.
    pub allow: Option<Vec<IpNet>>,
    pub geo4: Vec<Ipv4Net>,
    pub geo6: Vec<Ipv6Net>,
}

impl Remembered {
    pub fn ban(&mut self, ip: IpAddr, secs: Option<u32>) {
        let until = secs.map(|s| Instant::now() + Duration::from_secs(u64::from(s)));
        self.bans.insert(ip, until);
    }

    pub fn unban(&mut self, ip: IpAddr) {
        self.bans.remove(&ip);
    }

    pub fn door(&mut self, ip: IpAddr, secs: u32) {
        self.doors
            .insert(ip, Instant::now() + Duration::from_secs(u64::from(secs)));
    }

    /// Bans still in force: (address, remaining seconds or `None`).
    pub fn live_bans(&mut self) -> Vec<(IpAddr, Option<u32>)> {
        let now = Instant::now();
        self.bans.retain(|_, until| until.is_none_or(|u| u > now));
        self.bans
            .iter()
            .map(|(ip, until)| (*ip, until.map(|u| remaining(u, now))))
            .collect()
    }

    pub fn live_doors(&mut self) -> Vec<(IpAddr, u32)> {
        let now = Instant::now();
        self.doors.retain(|_, until| *until > now);
        self.doors
            .iter()
            .map(|(ip, until)| (*ip, remaining(*until, now)))
            .collect()
    }
}

fn remaining(until: Instant, now: Instant) -> u32 {
    let left = until.saturating_duration_since(now).as_secs().max(1);
    u32::try_from(left).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_entries_are_not_carried_over() {
        let mut r = Remembered::default();
        let a: IpAddr = "203.0.113.9".parse().unwrap();
        let b: IpAddr = "2001:db8::9".parse().unwrap();
        r.ban(a, Some(0));
        r.ban(b, None);
        r.door(a, 0);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(r.live_bans(), vec![(b, None)]);
        assert!(r.live_doors().is_empty());
        r.unban(b);
        assert!(r.live_bans().is_empty());
    }
}
