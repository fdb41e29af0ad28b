//! `sipwall cleanup [--config PATH]`: remove everything sipwall installed in the kernel (nft
//! table; iptables chains, jumps and ipsets) without a running daemon.
//!
//! The daemon removes its rules on SIGTERM, but a daemon that was killed or crashed cannot, and
//! its fail-closed rules would keep dropping SIP after the package is gone. The package's prerm
//! therefore stops the service and then runs this. Both backends are cleaned whatever the
//! config says: the one in use may differ from what `auto` picks today, and an unreadable
//! config must not stop the cleanup (the defaults name the same tables).

use std::path::Path;

use super::Args;
use crate::config::{self, Backend, Config};
use crate::firewall;

const HELP: &str = "\
sipwall cleanup [--config PATH]
    remove sipwall's nftables table and iptables chains/ipsets, e.g. after the daemon was killed;
    the daemon does this itself on a normal stop. Exit 1 only if no backend could be cleaned.
";

pub fn run(mut args: Args) -> Result<(), String> {
    if args.flag("help") {
        print!("{HELP}");
        return Ok(());
    }
    let path = args.value("config")?;
    args.finish()?;
    let base = match config::load(path.as_deref().map(Path::new)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sipwall: note: {e}; cleaning up with the default settings");
            Config::default()
        }
    };
    let mut cleaned = Vec::new();
    let mut failed = Vec::new();
    for backend in [Backend::Nft, Backend::Iptables] {
        let mut c = base.clone();
        c.global.backend = backend;
        let name = match backend {
            Backend::Nft => "nftables",
            _ => "iptables",
        };
        match firewall::detect(&c).and_then(|mut fw| fw.uninstall()) {
            Ok(()) => cleaned.push(name),
            Err(e) => failed.push(format!("{name}: {e}")),
        }
    }
    for f in &failed {
        eprintln!("sipwall: note: {f}");
    }
    if cleaned.is_empty() {
        return Err(
            "could not remove sipwall's rules with nftables or iptables (see the notes above); \
             check `nft list ruleset` and `iptables-save` by hand"
                .into(),
        );
    }
    println!(
        "sipwall: no sipwall rules left in {}",
        cleaned.join(" and ")
    );
    Ok(())
}
