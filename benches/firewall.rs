//! Kernel-side costs of the firewall backends, measured in a network
//! namespace (root, nft, ipset, iptables; otherwise it prints SKIP):
//!
//! * ban latency: how long `Firewall::ban` takes until the kernel set holds
//!   the address (the kernel acknowledges after the transaction commits),
//!   for both backends (netlink: nf_tables set elements, ipset); baseline
//!   in the same run: one `nft add element` process per ban (what a naive
//!   backend or fail2ban's action does);
//! * geo load: `set_geo` with 25,000 IPv4 + 9,000 IPv6 prefixes (atomic
//!   swap, batched); baseline in the same run: the bare tool loading the
//!   same elements into a scratch set in one go.
//!
//! Run: `cargo bench --bench firewall` (figures in benches/firewall.md).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipnet::{Ipv4Net, Ipv6Net};
use sipwall::config::{Config, GeoMode, Mode};
use sipwall::firewall::{Firewall, Flavour, Iptables, Nft, Plan, Tools};

const BANS: u32 = 300;

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn run_with_input(cmd: &str, input: &str) -> bool {
    let mut c = match Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => return false,
    };
    if let Some(mut i) = c.stdin.take() {
        let _ = i.write_all(input.as_bytes());
    }
    c.wait().map(|s| s.success()).unwrap_or(false)
}

struct Ns(String);
impl Ns {
    fn new(tag: &str) -> Ns {
        let n = format!("sw{}-{tag}", std::process::id());
        sh(&format!("ip netns del {n}"));
        assert!(
            sh(&format!("ip netns add {n} && ip -n {n} link set lo up")),
            "netns"
        );
        Ns(n)
    }
}
impl Drop for Ns {
    fn drop(&mut self) {
        sh(&format!("ip netns del {}", self.0));
    }
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let p = |q: f64| us(v[((v.len() as f64 - 1.0) * q) as usize]);
    (p(0.5), p(0.99), us(*v.last().unwrap_or(&Duration::ZERO)))
}

fn plan() -> Plan {
    let mut p = Plan::from_config(&Config::default());
    p.mode = Mode::Host;
    p.geo = Some(GeoMode::Block);
    p.ban_capacity = 65536;
    p
}

fn addr(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0xC612_0000u32 + i)) // 198.18.0.0/15, benchmarking range
}

fn nft_queue_ok(ns: &Ns) -> bool {
    run_with_input(
        &format!("ip netns exec {} nft -c -f -", ns.0),
        "table inet p {\n chain c {\n  type filter hook input priority 0;\n  queue to 1\n }\n}\n",
    )
}

fn bans(fw: &mut dyn Firewall, offset: u32) -> Vec<Duration> {
    (0..BANS)
        .map(|i| {
            let t = Instant::now();
            fw.ban(addr(offset + i), Some(600)).expect("ban");
            t.elapsed()
        })
        .collect()
}

fn zone() -> (Vec<Ipv4Net>, Vec<Ipv6Net>) {
    let v4 = (0..25_000u32)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0xC612_0000u32 + i * 2), 32).unwrap())
        .collect();
    let v6 = (0..9_000u128)
        .map(|i| {
            let a = 0x2001_0db8_1000_0000_0000_0000_0000_0000u128 + ((i * 2) << 80);
            Ipv6Net::new(a.into(), 48).unwrap()
        })
        .collect();
    (v4, v6)
}

fn main() {
    // `cargo test --all-targets` runs bench binaries too (without --bench):
    // measuring is for `cargo bench` only.
    if !std::env::args().any(|a| a == "--bench") {
        println!("firewall bench: measures only under `cargo bench --bench firewall`");
        return;
    }
    if unsafe { libc::geteuid() } != 0
        || !sh("command -v nft && command -v ipset && command -v iptables-restore")
    {
        println!("SKIP: firewall bench needs root, nft, ipset and iptables");
        return;
    }
    let ns = Ns::new("fwbench");
    let tools = Tools::in_netns(&ns.0);
    let mut nft: Box<dyn Firewall> = if nft_queue_ok(&ns) {
        Box::new(Nft::new(tools.clone()))
    } else {
        Box::new(Nft::new(tools.clone()).without_queue())
    };
    nft.install(&plan()).expect("nft install");

    // Baseline: one nft process per ban.
    let base: Vec<Duration> = (0..BANS)
        .map(|i| {
            let t = Instant::now();
            assert!(sh(&format!(
                "ip netns exec {} nft add element inet sipwall ban4 {{ {} timeout 600s }}",
                ns.0,
                addr(100_000 + i)
            )));
            t.elapsed()
        })
        .collect();
    let nft_bans = bans(nft.as_mut(), 0);
    let (b50, b99, bmax) = stats(base);
    let (n50, n99, nmax) = stats(nft_bans);
    println!("ban latency, {BANS} bans (µs): p50 / p99 / max");
    println!("  baseline: nft process per ban     {b50:8.0} / {b99:8.0} / {bmax:8.0}");
    println!(
        "  nft backend (netlink)             {n50:8.0} / {n99:8.0} / {nmax:8.0}   ratio p50 {:.3}",
        n50 / b50
    );

    let (v4, v6) = zone();
    let t = Instant::now();
    nft.set_geo(&v4, &v6).expect("nft geo");
    let nft_geo = t.elapsed();
    let t = Instant::now();
    nft.set_geo(&v4, &v6).expect("nft geo swap");
    let nft_swap = t.elapsed();
    // Baseline: the same elements in one `nft -f` into a scratch set.
    let mut raw = String::from("table inet scratch {\n set g4 { type ipv4_addr; flags interval; }\n set g6 { type ipv6_addr; flags interval; }\n}\n");
    for c in v4.chunks(2048) {
        raw.push_str(&format!(
            "add element inet scratch g4 {{ {} }}\n",
            c.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for c in v6.chunks(2048) {
        raw.push_str(&format!(
            "add element inet scratch g6 {{ {} }}\n",
            c.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let t = Instant::now();
    assert!(run_with_input(
        &format!("ip netns exec {} nft -f -", ns.0),
        &raw
    ));
    let nft_raw = t.elapsed();
    nft.uninstall().expect("nft uninstall");
    sh(&format!(
        "ip netns exec {} nft delete table inet scratch",
        ns.0
    ));

    let mut ipt: Box<dyn Firewall> = Box::new(Iptables::new(tools.clone(), Flavour::Default));
    ipt.install(&plan()).expect("iptables install");
    let ipt_bans = bans(ipt.as_mut(), 0);
    let (i50, i99, imax) = stats(ipt_bans);
    println!(
        "  iptables backend (ipset netlink)  {i50:8.0} / {i99:8.0} / {imax:8.0}   ratio p50 {:.3}",
        i50 / b50
    );
    let t = Instant::now();
    ipt.set_geo(&v4, &v6).expect("ipset geo");
    let ipt_geo = t.elapsed();
    let t = Instant::now();
    ipt.set_geo(&v4, &v6).expect("ipset geo swap");
    let ipt_swap = t.elapsed();
    let mut raw = String::from("create scratch4 hash:net family inet maxelem 262144\ncreate scratch6 hash:net family inet6 maxelem 262144\n");
    for n in &v4 {
        raw.push_str(&format!("add scratch4 {n}\n"));
    }
    for n in &v6 {
        raw.push_str(&format!("add scratch6 {n}\n"));
    }
    let t = Instant::now();
    assert!(run_with_input(
        &format!("ip netns exec {} ipset restore", ns.0),
        &raw
    ));
    let ipt_raw = t.elapsed();
    sh(&format!(
        "ip netns exec {} ipset destroy scratch4; ip netns exec {} ipset destroy scratch6",
        ns.0, ns.0
    ));
    ipt.uninstall().expect("iptables uninstall");

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("geo load, 25,000 IPv4 + 9,000 IPv6 prefixes (ms): first load / replace (swap) / baseline raw tool load");
    println!(
        "  nft      {:7.0} / {:7.0} / {:7.0}   ratio first/raw {:.2}",
        ms(nft_geo),
        ms(nft_swap),
        ms(nft_raw),
        ms(nft_geo) / ms(nft_raw)
    );
    println!(
        "  ipset    {:7.0} / {:7.0} / {:7.0}   ratio first/raw {:.2}",
        ms(ipt_geo),
        ms(ipt_swap),
        ms(ipt_raw),
        ms(ipt_geo) / ms(ipt_raw)
    );
}
