//! The nftables backend (OpenWrt fw4, and any Linux with nft).
//!
//! Everything lives in our own `table inet sipwall`: fw4 rebuilds only its
//! own `table inet fw4` on `fw4 reload`, so our table survives it, and
//! uninstalling is one `delete table`. Our base chains hook at priority
//! -100, before fw4's filter chains (priority 0): a drop there is final, an
//! accept only ends our say and fw4 still applies its own rules after us.
//!
//! Router mode hooks `forward`, which sees port-forwarded packets after
//! DNAT; the SIP ports are matched with `ct original proto-dst`, i.e. the
//! port the remote side addressed, whatever the forward translated it to.
//! Host mode hooks `input` for requests and `output` for the PBX's answers.
//!
//! Installs and geo/allow replacements are single `nft -f -` transactions
//! (delete + recreate the table, or flush + refill a set, in one go), so a
//! packet sees either the old or the new state, never an empty set, and a
//! bad script leaves the old rules untouched. Set contents are sent as
//! `add element` statements of at most [`CHUNK`] elements, which nft turns
//! into separate netlink messages inside the same transaction: a 25k-prefix
//! zone never hits "Message too long".
//!
//! Bans and doors go over nf_tables netlink directly ([`nftnl`]): one
//! batch per change, acknowledged after the commit, no process. That keeps
//! a ban around a hundred microseconds (an `nft` process costs ~4 ms here
//! and far more on a MIPS router). Without a netlink socket, or when the
//! kernel refuses, the same change runs as one `nft` process (whose error
//! message is the readable one).

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::exec::Tools;
use super::nftnl::{self, Op};
use super::state::Remembered;
use super::{conntrack, Firewall, FwError, Plan, MARK_INSPECTED, NFT_TABLE};
use crate::config::{GeoMode, Mode};

/// Elements per `add element` statement.
const CHUNK: usize = 2048;

pub struct Nft {
    tools: Tools,
    plan: Option<Plan>,
    rem: Remembered,
    nl: nftnl::Lazy,
    cleaner: conntrack::Cleaner,
    /// `false`: no `queue` statements (see [`Nft::without_queue`]).
    queue: bool,
}

impl Nft {
    pub fn new(tools: Tools) -> Nft {
        let cleaner = conntrack::Cleaner::new(&tools);
        Nft {
            tools,
            plan: None,
            rem: Remembered::default(),
            nl: nftnl::Lazy::new(),
            cleaner,
            queue: true,
        }
    }

    /// A ruleset without the daemon's queues: what the kernel cannot decide
    /// is dropped (or accepted with `fail_open`) exactly as an unbound queue
    /// would, and the PBX's answers are only counted. For kernels built
    /// without the nft `queue` statement, where it lets the kernel half of
    /// sipwall (bans, doors, allow, block, geo) still be installed and
    /// tested; `detect` never chooses it.
    pub fn without_queue(mut self) -> Nft {
        self.queue = false;
        self
    }

    /// One `nft` process per ban/door change instead of netlink: the
    /// fallback when no netlink socket can be had; tests use it to cover
    /// that path.
    pub fn without_netlink(mut self) -> Nft {
        self.nl.disable();
        self
    }

    fn load(&self, script: &str, action: &str) -> Result<(), FwError> {
        self.tools
            .run("nft", &["-f", "-"], Some(script.as_bytes()), action)
            .map(|_| ())
    }

    fn plan(&self) -> Result<&Plan, FwError> {
        self.plan.as_ref().ok_or_else(|| FwError::Failed {
            tool: "sipwall".into(),
            action: "change a kernel set".into(),
            detail: "the nft ruleset is not installed yet (install() first)".into(),
        })
    }

    /// One set-element change: over netlink (no process), or — when the
    /// socket cannot be had or the kernel refuses — as one `nft` process,
    /// whose error message is the one worth showing.
    fn change(
        &mut self,
        set: &str,
        ip: IpAddr,
        ops: &[Op],
        line: &str,
        action: &str,
    ) -> Result<(), FwError> {
        self.plan()?;
        let netns = self.tools.netns();
        if self
            .nl
            .try_with(netns, "nft", |nl| nl.apply(NFT_TABLE, set, ip, ops))
        {
            return Ok(());
        }
        self.load(&format!("{line}\n"), action)
    }
}

impl Firewall for Nft {
    fn install(&mut self, plan: &Plan) -> Result<(), FwError> {
        let script = render_install(plan, &mut self.rem, self.queue);
        self.load(&script, "install the sipwall table")?;
        self.plan = Some(plan.clone());
        Ok(())
    }

    fn uninstall(&mut self) -> Result<(), FwError> {
        self.nl.reset();
        let script = format!("table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n");
        self.load(&script, "remove the sipwall table")?;
        self.plan = None;
        Ok(())
    }

    fn ban(&mut self, ip: IpAddr, secs: Option<u32>) -> Result<(), FwError> {
        let set = format!("ban{}", fam(ip));
        let line = refresh_line(&set, ip, secs);
        let ops = [Op::Add(None), Op::Delete, Op::Add(secs.map(|s| s.max(1)))];
        self.change(&set, ip, &ops, &line, &format!("ban {ip}"))?;
        self.rem.ban(ip, secs);
        self.cleaner.kill_flows_later(ip);
        Ok(())
    }

    fn unban(&mut self, ip: IpAddr) -> Result<(), FwError> {
        let set = format!("ban{}", fam(ip));
        // add + delete: never fails on an address that is not banned.
        let line = format!(
            "add element inet {NFT_TABLE} {set} {{ {ip} }}; delete element inet {NFT_TABLE} {set} {{ {ip} }}"
        );
        self.change(
            &set,
            ip,
            &[Op::Add(None), Op::Delete],
            &line,
            &format!("unban {ip}"),
        )?;
        self.rem.unban(ip);
        Ok(())
    }

    fn open_door(&mut self, ip: IpAddr, secs: u32) -> Result<(), FwError> {
        let set = format!("door{}", fam(ip));
        let line = refresh_line(&set, ip, Some(secs.max(1)));
        let ops = [Op::Add(None), Op::Delete, Op::Add(Some(secs.max(1)))];
        self.change(&set, ip, &ops, &line, &format!("open a door for {ip}"))?;
        self.rem.door(ip, secs.max(1));
        Ok(())
    }

    fn set_allow(&mut self, nets: &[IpNet]) -> Result<(), FwError> {
        self.plan()?;
        let mut s = String::new();
        render_allow(&mut s, nets);
        self.load(&s, "replace the allow set")?;
        self.rem.allow = Some(nets.to_vec());
        Ok(())
    }

    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), FwError> {
        let mode = self.plan()?.geo;
        let monitor = self.plan()?.monitor;
        let mut s = String::new();
        render_geo(&mut s, mode, monitor, v4, v6);
        self.load(&s, "replace the geo sets")?;
        self.rem.geo4 = v4.to_vec();
        self.rem.geo6 = v6.to_vec();
        Ok(())
    }

    fn installed(&mut self) -> Result<bool, FwError> {
        if self.plan.is_none() {
            return Ok(false);
        }
        // One chain, not the table: a table listing prints every geo prefix.
        match self.tools.run(
            "nft",
            &["list", "chain", "inet", NFT_TABLE, "request"],
            None,
            "look for the sipwall table",
        ) {
            Ok(_) => Ok(true),
            Err(FwError::Failed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn name(&self) -> &'static str {
        "nft"
    }
}

/// Whether nft is installed and the kernel has the `queue` statement
/// (`nft --check` asks the kernel without changing anything).
pub fn probe(tools: &Tools, queue: u16) -> Result<(), FwError> {
    let script = format!(
        "table inet sipwall_probe {{\n chain c {{\n  type filter hook input priority 0; policy accept;\n  queue flags bypass to {queue}\n }}\n}}\n"
    );
    tools
        .run(
            "nft",
            &["--check", "-f", "-"],
            Some(script.as_bytes()),
            "check for the nft queue statement (OpenWrt: install kmod-nft-queue)",
        )
        .map(|_| ())
}

fn fam(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "4"
    } else {
        "6"
    }
}

/// add; delete; add — one transaction that creates or refreshes an element
/// with a new timeout (a plain `add` keeps an existing element's old one).
fn refresh_line(set: &str, ip: IpAddr, secs: Option<u32>) -> String {
    let t = match secs {
        Some(s) => format!(" timeout {}s", s.max(1)),
        None => String::new(),
    };
    format!(
        "add element inet {NFT_TABLE} {set} {{ {ip} }}; delete element inet {NFT_TABLE} {set} {{ {ip} }}; add element inet {NFT_TABLE} {set} {{ {ip}{t} }}"
    )
}

fn drop_verb(monitor: bool) -> &'static str {
    if monitor {
        "counter"
    } else {
        "counter drop"
    }
}

fn port_list(ports: &[u16]) -> String {
    let p: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
    format!("{{ {} }}", p.join(", "))
}

/// The whole table, as one transaction.
/// The first rule of the hook chain: a flow accepted once (inspected, or
/// from a door) is not looked at again — one ct lookup instead of the
/// classification and six set lookups per packet. Bans still cut it (the
/// prerouting drop, the conntrack kill); blocklist and country changes
/// apply to new flows.
fn fast_path(mark: &str) -> String {
    format!(
        "\t\tct mark & {mark} == {mark} ct direction original accept comment \"flow accepted before\"\n"
    )
}

pub fn render_install(plan: &Plan, rem: &mut Remembered, queue: bool) -> String {
    let t = NFT_TABLE;
    let mark = format!("{MARK_INSPECTED:#010x}");
    let drop = drop_verb(plan.monitor);
    let mut s = String::new();
    s.push_str(&format!(
        "table inet {t}\ndelete table inet {t}\ntable inet {t} {{\n"
    ));
    for (name, flags) in [
        ("lan", "flags interval; auto-merge;"),
        ("allow", "flags interval; auto-merge;"),
        ("block", "flags interval; auto-merge;"),
        ("geo", "flags interval; auto-merge;"),
    ] {
        s.push_str(&format!("\tset {name}4 {{ type ipv4_addr; {flags} }}\n"));
        s.push_str(&format!("\tset {name}6 {{ type ipv6_addr; {flags} }}\n"));
    }
    for (name, size) in [("ban", plan.ban_capacity), ("door", plan.door_capacity)] {
        for (f, ty) in [("4", "ipv4_addr"), ("6", "ipv6_addr")] {
            s.push_str(&format!(
                "\tset {name}{f} {{ type {ty}; size {size}; flags timeout; }}\n"
            ));
        }
    }

    // Which packets are ours: SIP ports as the remote side addressed them.
    let mut classify: Vec<(&str, Vec<u16>)> = Vec::new();
    if !plan.udp_ports.is_empty() {
        classify.push(("udp", plan.udp_ports.clone()));
    }
    let tcp = plan.tcp_and_tls_ports();
    if !tcp.is_empty() {
        classify.push(("tcp", tcp));
    }
    match plan.mode {
        Mode::Router => {
            s.push_str(
                "\tchain forward {\n\t\ttype filter hook forward priority -100; policy accept;\n",
            );
            s.push_str(&fast_path(&mark));
            for (proto, ports) in &classify {
                s.push_str(&format!(
                    "\t\tmeta l4proto {proto} ct original proto-dst {} ct direction vmap {{ original : jump request, reply : jump answer }}\n",
                    port_list(ports)
                ));
            }
            s.push_str("\t}\n");
        }
        Mode::Host => {
            s.push_str(
                "\tchain input {\n\t\ttype filter hook input priority -100; policy accept;\n",
            );
            s.push_str(&fast_path(&mark));
            for (proto, ports) in &classify {
                s.push_str(&format!(
                    "\t\tmeta l4proto {proto} ct original proto-dst {} ct direction original jump request\n",
                    port_list(ports)
                ));
            }
            s.push_str("\t}\n");
            s.push_str(
                "\tchain output {\n\t\ttype filter hook output priority -100; policy accept;\n",
            );
            for (proto, ports) in &classify {
                s.push_str(&format!(
                    "\t\tmeta l4proto {proto} ct original proto-dst {} ct direction reply jump answer\n",
                    port_list(ports)
                ));
            }
            s.push_str("\t}\n");
        }
    }

    // Banned sources are dropped before conntrack and DNAT spend anything
    // on them (priority raw): a banned flood then costs the router less
    // than a plain forward drop. Ports as addressed (before DNAT, the same
    // meaning as `ct original proto-dst`). The ban lookup comes first, so
    // other sources pay one miss; the allowlist and the LAN still beat a
    // ban, as in the request chain. Monitor mode only counts bans, there.
    if !plan.monitor {
        s.push_str(
            "\tchain prerouting {\n\t\ttype filter hook prerouting priority -300; policy accept;\n",
        );
        for (proto, ports) in &classify {
            let ports = port_list(ports);
            s.push_str(&format!(
                "\t\t{proto} dport {ports} ip saddr @ban4 ip saddr != @allow4 ip saddr != @lan4 counter drop comment \"banned\"\n\t\t{proto} dport {ports} ip6 saddr @ban6 ip6 saddr != @allow6 ip6 saddr != @lan6 counter drop comment \"banned\"\n"
            ));
        }
        s.push_str("\t}\n");
    }

    let bypass = if plan.fail_open { "flags bypass " } else { "" };
    let q = plan.queue;
    let inspect = if queue {
        format!("queue {bypass}to {q}")
    } else if plan.fail_open {
        "accept".to_string()
    } else {
        "drop".to_string()
    };
    let observe = if queue {
        format!("queue flags bypass to {}", plan.answer_queue())
    } else {
        String::new()
    };
    s.push_str("\tchain request {\n");
    s.push_str("\t\tip saddr @lan4 return\n\t\tip6 saddr @lan6 return\n");
    s.push_str("\t\tip saddr @allow4 accept comment \"allowlist\"\n\t\tip6 saddr @allow6 accept comment \"allowlist\"\n");
    s.push_str(&format!(
        "\t\tip saddr @ban4 {drop} comment \"banned\"\n\t\tip6 saddr @ban6 {drop} comment \"banned\"\n"
    ));
    s.push_str(&format!(
        "\t\tip saddr @block4 {drop} comment \"blocklist\"\n\t\tip6 saddr @block6 {drop} comment \"blocklist\"\n"
    ));
    s.push_str("\t\tjump geo\n");
    // A door's flow joins the fast path.
    s.push_str(&format!(
        "\t\tip saddr @door4 ct mark set ct mark | {mark} accept comment \"door\"\n\t\tip6 saddr @door6 ct mark set ct mark | {mark} accept comment \"door\"\n"
    ));
    s.push_str(&format!(
        "\t\tct mark & {mark} == {mark} accept comment \"flow inspected\"\n"
    ));
    s.push_str(&format!(
        "\t\tmeta mark & {mark} == {mark} ct mark set ct mark | {mark} accept comment \"accepted by sipwall\"\n"
    ));
    s.push_str(&format!(
        "\t\tmeta l4proto udp counter {inspect} comment \"inspect\"\n"
    ));
    // `@ih` only matches when the segment carries data, so the handshake
    // and bare ACKs fall through to the policy (accept).
    s.push_str(&format!(
        "\t\tmeta l4proto tcp @ih,0,8 & 0x80 == {{ 0x00, 0x80 }} counter {inspect} comment \"inspect first data\"\n"
    ));
    s.push_str("\t}\n");

    s.push_str("\tchain answer {\n");
    s.push_str("\t\tip daddr @lan4 return\n\t\tip6 daddr @lan6 return\n");
    // Tell the daemon the flow bypasses it: it never saw the request this
    // answers, so a 403 here cannot be correlated and is judged on its own.
    // Only our bit is ORed in; other users' mark bits stay as they are.
    s.push_str(&format!(
        "\t\tct mark & {mark} == {mark} meta mark set meta mark | {mark} comment \"answer in inspected flow\"\n"
    ));
    // "SIP/2.0 " then "401" / "403" / "407", or "2".
    s.push_str(&format!(
        "\t\t@ih,0,64 0x5349502f322e3020 @ih,64,24 {{ 0x343031, 0x343033, 0x343037 }} counter {observe} comment \"auth failed\"\n"
    ));
    s.push_str(&format!(
        "\t\t@ih,0,64 0x5349502f322e3020 @ih,64,8 0x32 counter {observe} comment \"2xx\"\n"
    ));
    s.push_str("\t}\n");
    s.push_str("\tchain geo {\n\t}\n");
    s.push_str("}\n");

    // Contents, in the same transaction.
    let (lan4, lan6) = split(&plan.lan);
    push_elements(&mut s, "lan4", lan4.iter().map(|n| n.to_string()));
    push_elements(&mut s, "lan6", lan6.iter().map(|n| n.to_string()));
    let allow = rem.allow.clone().unwrap_or_else(|| plan.allow.clone());
    let (a4, a6) = split(&allow);
    push_elements(&mut s, "allow4", a4.iter().map(|n| n.to_string()));
    push_elements(&mut s, "allow6", a6.iter().map(|n| n.to_string()));
    let (b4, b6) = split(&plan.block);
    push_elements(&mut s, "block4", b4.iter().map(|n| n.to_string()));
    push_elements(&mut s, "block6", b6.iter().map(|n| n.to_string()));
    let geo4 = rem.geo4.clone();
    let geo6 = rem.geo6.clone();
    render_geo_contents(&mut s, plan.geo, plan.monitor, &geo4, &geo6);
    for (ip, secs) in rem.live_bans() {
        let t = secs.map(|s| format!(" timeout {s}s")).unwrap_or_default();
        s.push_str(&format!(
            "add element inet {NFT_TABLE} ban{} {{ {ip}{t} }}\n",
            fam(ip)
        ));
    }
    for (ip, secs) in rem.live_doors() {
        s.push_str(&format!(
            "add element inet {NFT_TABLE} door{} {{ {ip} timeout {secs}s }}\n",
            fam(ip)
        ));
    }
    s
}

fn split(nets: &[IpNet]) -> (Vec<Ipv4Net>, Vec<Ipv6Net>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for n in nets {
        match n.trunc() {
            IpNet::V4(n) => v4.push(n),
            IpNet::V6(n) => v6.push(n),
        }
    }
    (v4, v6)
}

fn push_elements(s: &mut String, set: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    for chunk in items.chunks(CHUNK) {
        s.push_str(&format!(
            "add element inet {NFT_TABLE} {set} {{ {} }}\n",
            chunk.join(", ")
        ));
    }
}

fn render_allow(s: &mut String, nets: &[IpNet]) {
    let (a4, a6) = split(nets);
    s.push_str(&format!(
        "flush set inet {NFT_TABLE} allow4\nflush set inet {NFT_TABLE} allow6\n"
    ));
    push_elements(s, "allow4", a4.iter().map(|n| n.to_string()));
    push_elements(s, "allow6", a6.iter().map(|n| n.to_string()));
}

/// Flush + refill both geo sets and rewrite the geo chain, as one
/// transaction.
fn render_geo(
    s: &mut String,
    mode: Option<GeoMode>,
    monitor: bool,
    v4: &[Ipv4Net],
    v6: &[Ipv6Net],
) {
    s.push_str(&format!(
        "flush set inet {NFT_TABLE} geo4\nflush set inet {NFT_TABLE} geo6\nflush chain inet {NFT_TABLE} geo\n"
    ));
    render_geo_contents(s, mode, monitor, v4, v6);
}

fn render_geo_contents(
    s: &mut String,
    mode: Option<GeoMode>,
    monitor: bool,
    v4: &[Ipv4Net],
    v6: &[Ipv6Net],
) {
    push_elements(s, "geo4", v4.iter().map(|n| n.trunc().to_string()));
    push_elements(s, "geo6", v6.iter().map(|n| n.trunc().to_string()));
    let drop = drop_verb(monitor);
    let rule = |s: &mut String, r: String| {
        s.push_str(&format!("add rule inet {NFT_TABLE} geo {r}\n"));
    };
    match mode {
        None => {}
        Some(GeoMode::Block) => {
            rule(s, format!("ip saddr @geo4 {drop} comment \"geo block\""));
            rule(s, format!("ip6 saddr @geo6 {drop} comment \"geo block\""));
        }
        Some(GeoMode::Allow) => {
            // Only a loaded zone filters: an empty one must never lock
            // everyone out.
            if !v4.is_empty() {
                rule(s, format!("ip saddr != @geo4 {drop} comment \"geo allow\""));
            }
            if !v6.is_empty() {
                rule(
                    s,
                    format!("ip6 saddr != @geo6 {drop} comment \"geo allow\""),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn geo_allow_mode_filters_only_loaded_families() {
        let mut s = String::new();
        render_geo(
            &mut s,
            Some(GeoMode::Allow),
            false,
            &["198.51.100.0/24".parse().unwrap()],
            &[],
        );
        assert!(s.contains("ip saddr != @geo4 counter drop"));
        assert!(!s.contains("@geo6 counter drop"));
        let mut s = String::new();
        render_geo(&mut s, Some(GeoMode::Allow), false, &[], &[]);
        assert!(
            !s.contains("drop"),
            "an empty zone must not lock anyone out: {s}"
        );
    }

    #[test]
    fn large_sets_are_sent_in_chunks() {
        let v4: Vec<Ipv4Net> = (0..5000u32)
            .map(|i| Ipv4Net::new((0x0a00_0000 + (i << 8)).into(), 24).unwrap())
            .collect();
        let mut s = String::new();
        render_geo(&mut s, Some(GeoMode::Block), false, &v4, &[]);
        assert_eq!(s.matches("add element inet sipwall geo4").count(), 3);
    }

    #[test]
    fn fail_closed_unless_fail_open() {
        let mut p = Plan::from_config(&Config::default());
        let s = render_install(&p, &mut Remembered::default(), true);
        assert!(s.contains("queue to 5060"));
        assert!(
            s.contains("queue flags bypass to 5061"),
            "answers always bypass"
        );
        p.fail_open = true;
        let s = render_install(&p, &mut Remembered::default(), true);
        assert!(s.contains("queue flags bypass to 5060"));
    }
}
