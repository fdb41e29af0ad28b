//! Host names in the allowlist (an office or a phone behind dynamic DNS):
//! resolved at start and again every [`EVERY`], in a background thread so a
//! slow DNS server never holds packets in the queue. A failed lookup keeps
//! the addresses last seen; the main loop decides what to push to the kernel.

use std::collections::BTreeSet;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Duration;

/// How often names are looked up again. Dynamic DNS records usually have a
/// TTL of one to five minutes.
pub const EVERY: Duration = Duration::from_secs(300);

/// The outcome of one lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    pub name: String,
    pub result: Result<Vec<IpAddr>, String>,
}

/// What is known about one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostState {
    pub name: String,
    /// Last addresses seen (kept when a later lookup fails).
    pub addrs: Vec<IpAddr>,
    pub last_error: Option<String>,
}

pub struct Resolver {
    rx: Receiver<Lookup>,
    /// Dropping it wakes and ends the lookup thread at once (it waits on
    /// this channel between rounds instead of polling a flag, so an idle
    /// daemon has no timer firing twice a second).
    _stop: Sender<()>,
    pub hosts: Vec<HostState>,
}

impl Resolver {
    /// Starts the background lookups for `names` (none: no thread).
    pub fn start(names: Vec<String>, every: Duration) -> Resolver {
        let (tx, rx) = mpsc::channel();
        let (stop, stop_rx) = mpsc::channel::<()>();
        let hosts = names
            .iter()
            .map(|n| HostState {
                name: n.clone(),
                ..HostState::default()
            })
            .collect();
        if !names.is_empty() {
            // getaddrinfo and NSS modules want more than a tiny stack.
            let spawned = std::thread::Builder::new()
                .name("sipwall-resolve".into())
                .stack_size(256 * 1024)
                .spawn(move || lookups(names, every, tx, stop_rx));
            if let Err(e) = spawned {
                let (tx, rx2) = mpsc::channel();
                let _ = tx.send(Lookup {
                    name: String::new(),
                    result: Err(format!("cannot start the resolver thread: {e}")),
                });
                return Resolver {
                    rx: rx2,
                    _stop: stop,
                    hosts,
                };
            }
        }
        Resolver {
            rx,
            _stop: stop,
            hosts,
        }
    }

    /// Whether lookups run in the background (their results are picked up
    /// by `poll`, so the daemon must look now and then).
    pub fn active(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// Some name has no answer yet (start-up): worth looking every second.
    pub fn waiting(&self) -> bool {
        self.hosts
            .iter()
            .any(|h| h.addrs.is_empty() && h.last_error.is_none())
    }

    /// Applies finished lookups; returns the ones that changed something
    /// (new addresses, or a new error) so the caller can log them.
    pub fn poll(&mut self) -> Vec<Lookup> {
        let mut changed = Vec::new();
        while let Ok(l) = self.rx.try_recv() {
            if let Some(h) = self.hosts.iter_mut().find(|h| h.name == l.name) {
                if apply(h, &l) {
                    changed.push(l);
                }
            } else if l.result.is_err() {
                changed.push(l);
            }
        }
        changed
    }

    /// Every address currently known for any name.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.hosts.iter().flat_map(|h| h.addrs.iter().copied())
    }

    /// The name an address belongs to, for log lines.
    pub fn name_of(&self, ip: IpAddr) -> Option<&str> {
        self.hosts
            .iter()
            .find(|h| h.addrs.contains(&ip))
            .map(|h| h.name.as_str())
    }
}

/// Folds one lookup into the state of its name; true if anything changed.
pub fn apply(h: &mut HostState, l: &Lookup) -> bool {
    match &l.result {
        Ok(addrs) if !addrs.is_empty() => {
            let changed = h.addrs != *addrs || h.last_error.is_some();
            h.addrs = addrs.clone();
            h.last_error = None;
            changed
        }
        Ok(_) => {
            let e = "no addresses".to_string();
            let changed = h.last_error.as_ref() != Some(&e);
            h.last_error = Some(e);
            changed
        }
        Err(e) => {
            let changed = h.last_error.as_ref() != Some(e);
            h.last_error = Some(e.clone());
            changed
        }
    }
}

fn lookups(names: Vec<String>, every: Duration, tx: Sender<Lookup>, stop: Receiver<()>) {
    loop {
        for name in &names {
            if !matches!(stop.try_recv(), Err(TryRecvError::Empty)) {
                return;
            }
            let result = match (name.as_str(), 0u16).to_socket_addrs() {
                Ok(it) => {
                    let set: BTreeSet<IpAddr> = it.map(|a| a.ip()).collect();
                    Ok(set.into_iter().collect())
                }
                Err(e) => Err(e.to_string()),
            };
            if tx
                .send(Lookup {
                    name: name.clone(),
                    result,
                })
                .is_err()
            {
                return;
            }
        }
        // One wake-up per round; the daemon dropping its end ends the wait.
        match stop.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_lookup_keeps_the_last_addresses() {
        let mut h = HostState {
            name: "office.example".into(),
            ..HostState::default()
        };
        let ok = Lookup {
            name: h.name.clone(),
            result: Ok(vec!["203.0.113.7".parse().unwrap()]),
        };
        assert!(apply(&mut h, &ok));
        assert!(!apply(&mut h, &ok), "same answer is no change");
        let fail = Lookup {
            name: h.name.clone(),
            result: Err("timed out".into()),
        };
        assert!(apply(&mut h, &fail));
        assert_eq!(h.addrs, vec!["203.0.113.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(h.last_error.as_deref(), Some("timed out"));
    }

    #[test]
    fn names_are_looked_up_in_the_background() {
        let mut r = Resolver::start(vec!["localhost".into()], Duration::from_secs(3600));
        let t0 = std::time::Instant::now();
        while r.hosts[0].addrs.is_empty() && t0.elapsed() < Duration::from_secs(10) {
            r.poll();
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(r.addrs().any(|a| a.is_loopback()), "{:?}", r.hosts);
        assert_eq!(r.name_of("127.0.0.1".parse().unwrap()), Some("localhost"));
    }
}
