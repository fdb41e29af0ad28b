//! The iptables + ipset backend (OpenWrt fw3, plain Linux; the nft or the
//! legacy flavour of iptables).
//!
//! Same meaning as the nft backend (see the module docs of `firewall`), in
//! our own chains (`SIPWALL_*`, jumped to from the first position of the
//! built-in chain of our hook) and our own ipsets (`sipwall_*`).
//!
//! Atomicity:
//! * rules: one `iptables-restore --noflush` per family, which rewrites only
//!   our chains (a chain declared in a restore is flushed) in one commit;
//! * sets: every set is built under a temporary name, and only once all of
//!   them are filled are they swapped in (`ipset swap`, atomic in the kernel)
//!   — a failure while filling (a full set, a bad element) leaves every old
//!   set and rule in place. So a geo set is never empty mid-swap, and
//!   `ipset restore` sends one element per message: no "Message too long".
//!
//! Banned sources are also dropped in the `raw` table (chain `SIPWALL_RAW`
//! from the first position of `raw PREROUTING`), before conntrack and DNAT
//! spend anything on them — the same early drop as the nft backend's
//! priority -300 chain. Where the kernel has no `raw` table the filter
//! chain's ban rule still drops them, a little later. iptables-nft creates
//! a table on first use and cannot remove it; `uninstall` deletes the ones
//! it made once nothing is left in them.
//!
//! TCP: iptables cannot tell a data segment from a bare ACK cheaply for
//! both families, so SYN and RST pass and the other segments of a flow are
//! queued until the daemon marks it; the daemon accepts empty segments
//! without marking.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::exec::Tools;
use super::nftnl;
use super::state::Remembered;
use super::{conntrack, Firewall, FwError, Plan, MARK_INSPECTED};
use crate::config::{GeoMode, Mode};

/// Which iptables binaries to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// `iptables` as the system links it.
    Default,
    /// `iptables-legacy` (x_tables).
    Legacy,
    /// `iptables-nft` (nf_tables with xt compat).
    Nft,
}

const CHAINS: [&str; 6] = [
    "SIPWALL_FWD",
    "SIPWALL_IN",
    "SIPWALL_OUT",
    "SIPWALL_REQ",
    "SIPWALL_ANS",
    "SIPWALL_GEO",
];
/// Our chain in the `raw` table (see the module docs).
const RAW_CHAIN: &str = "SIPWALL_RAW";
const SET_PREFIX: &str = "sipwall_";
const TMP_SUFFIX: &str = "_n";
/// Static sets (LAN, allow, block) hold at most this many entries.
const STATIC_MAXELEM: u32 = 65536;
const GEO_MAXELEM: usize = 262_144;
/// `-m string` looks for the status line in the first bytes only (IP +
/// transport headers + the line itself).
const STRING_TO: u32 = 160;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

impl Fam {
    fn suffix(self) -> &'static str {
        match self {
            Fam::V4 => "4",
            Fam::V6 => "6",
        }
    }
    fn ipset_family(self) -> &'static str {
        match self {
            Fam::V4 => "inet",
            Fam::V6 => "inet6",
        }
    }
    fn of(ip: IpAddr) -> Fam {
        if ip.is_ipv4() {
            Fam::V4
        } else {
            Fam::V6
        }
    }
}

pub struct Iptables {
    tools: Tools,
    flavour: Flavour,
    plan: Option<Plan>,
    rem: Remembered,
    nl: nftnl::Lazy,
    cleaner: conntrack::Cleaner,
    /// nf_tables tables (family, name) that iptables-nft created for us:
    /// `uninstall` deletes them once they are bare again.
    made: Vec<(Fam, &'static str)>,
}

impl Iptables {
    pub fn new(tools: Tools, flavour: Flavour) -> Iptables {
        let cleaner = conntrack::Cleaner::new(&tools);
        Iptables {
            tools,
            flavour,
            plan: None,
            rem: Remembered::default(),
            nl: nftnl::Lazy::new(),
            cleaner,
            made: Vec::new(),
        }
    }

    /// One `ipset` process per ban/door change instead of netlink: the
    /// fallback when no netlink socket can be had; tests cover it with this.
    pub fn without_netlink(mut self) -> Iptables {
        self.nl.disable();
        self
    }

    /// Bans and doors: over netlink (no process) while it works; else, or
    /// when the kernel refuses, one `ipset` process (its message is the
    /// readable one). `add`: timeout (0 = permanent), `None` deletes.
    fn change(
        &mut self,
        set: &str,
        ip: IpAddr,
        add: Option<u32>,
        action: &str,
    ) -> Result<(), FwError> {
        let netns = self.tools.netns();
        if self
            .nl
            .try_with(netns, "ipset", |nl| nl.ipset(set, ip, add))
        {
            return Ok(());
        }
        let ip_s = ip.to_string();
        let t = add.map(|t| t.to_string());
        let args: Vec<&str> = match &t {
            Some(t) => vec!["add", "-exist", set, &ip_s, "timeout", t],
            None => vec!["del", "-exist", set, &ip_s],
        };
        self.tools.run("ipset", &args, None, action).map(|_| ())
    }

    fn prog(&self, fam: Fam, what: &str) -> String {
        let base = match fam {
            Fam::V4 => "iptables",
            Fam::V6 => "ip6tables",
        };
        let flav = match self.flavour {
            Flavour::Default => "",
            Flavour::Legacy => "-legacy",
            Flavour::Nft => "-nft",
        };
        format!("{base}{flav}{what}")
    }

    fn save(&self, fam: Fam) -> Result<String, FwError> {
        self.save_table(fam, "filter")
    }

    fn save_table(&self, fam: Fam, table: &str) -> Result<String, FwError> {
        let p = self.prog(fam, "-save");
        self.tools
            .run(&p, &["-t", table], None, &format!("read the {table} table"))
    }

    /// Whether the iptables in use is the nf_tables flavour.
    fn on_nf_tables(&self) -> bool {
        match self.flavour {
            Flavour::Nft => true,
            Flavour::Legacy => false,
            Flavour::Default => self
                .tools
                .run("iptables", &["-V"], None, "ask iptables for its flavour")
                .is_ok_and(|v| v.contains("nf_tables")),
        }
    }

    /// The early ban drop in the `raw` table, per family; skipped where
    /// the kernel or iptables has no `raw` table (the filter chain's ban
    /// rule still drops those sources).
    fn install_raw(&self, plan: &Plan) {
        for fam in [Fam::V4, Fam::V6] {
            let Ok(save) = self.save_table(fam, "raw") else {
                continue;
            };
            let _ = self.restore(
                fam,
                &render_raw(plan, fam, &save),
                "install the raw-table ban drop",
            );
        }
    }

    /// Whether an nf_tables table exists (over netlink, else `nft`);
    /// `None` when neither can tell.
    fn table_exists(&mut self, fam: Fam, table: &str) -> Option<bool> {
        let v6 = fam == Fam::V6;
        let netns = self.tools.netns();
        let mut known = None;
        self.nl.try_with(netns, "nft", |nl| {
            known = Some(nl.table_exists(v6, table)?);
            Ok(())
        });
        known.or_else(|| {
            let family = nft_family(fam);
            match self
                .tools
                .run("nft", &["list", "tables", family], None, "list the tables")
            {
                Ok(out) => Some(
                    out.lines()
                        .any(|l| l.trim() == format!("table {family} {table}")),
                ),
                Err(_) => None,
            }
        })
    }

    /// iptables-nft makes a table on first use and has no command that
    /// removes it: remember which of ours did not exist before, so
    /// `uninstall` can take them away again and leave the host as found.
    /// (After a crash `sipwall cleanup` cannot know; a bare table changes
    /// no packet's fate.)
    fn note_missing_tables(&mut self) {
        if !self.on_nf_tables() {
            return;
        }
        for fam in [Fam::V4, Fam::V6] {
            for table in ["filter", "raw"] {
                if !self.made.contains(&(fam, table))
                    && self.table_exists(fam, table) == Some(false)
                {
                    self.made.push((fam, table));
                }
            }
        }
    }

    /// Deletes a table we made once nothing is left in it.
    fn delete_if_bare(&mut self, fam: Fam, table: &str) {
        if !self.save_table(fam, table).is_ok_and(|s| table_is_bare(&s)) {
            return;
        }
        let netns = self.tools.netns();
        let v6 = fam == Fam::V6;
        if !self
            .nl
            .try_with(netns, "nft", |nl| nl.delete_table(v6, table))
        {
            let family = nft_family(fam);
            let _ = self.tools.run(
                "nft",
                &["delete", "table", family, table],
                None,
                &format!("delete the empty {table} table"),
            );
        }
    }

    /// Removes our chains and the jumps to them from one table.
    fn remove_ours(&self, fam: Fam, table: &str) -> Result<(), FwError> {
        let save = self.save_table(fam, table)?;
        let script = removal_script(table, &save);
        self.restore(
            fam,
            &script,
            &format!("remove the sipwall chains from {table}"),
        )
    }

    fn restore(&self, fam: Fam, script: &str, action: &str) -> Result<(), FwError> {
        let p = self.prog(fam, "-restore");
        self.tools
            .run(&p, &["--noflush"], Some(script.as_bytes()), action)
            .map(|_| ())
    }

    fn ipset(&self, script: &str, action: &str) -> Result<(), FwError> {
        self.tools
            .run("ipset", &["restore"], Some(script.as_bytes()), action)
            .map(|_| ())
    }

    fn our_sets(&self) -> Result<BTreeSet<String>, FwError> {
        let out = self
            .tools
            .run("ipset", &["list", "-n"], None, "list the ipsets")?;
        Ok(out
            .lines()
            .filter(|l| l.starts_with(SET_PREFIX))
            .map(str::to_string)
            .collect())
    }

    /// Builds each set under its temporary name, then swaps (or renames)
    /// them all in. `sets`: (name, create options, elements).
    fn replace_sets(&self, sets: &[SetSpec]) -> Result<(), FwError> {
        let existing = self.our_sets()?;
        let mut fill = String::new();
        for s in sets {
            let tmp = format!("{}{TMP_SUFFIX}", s.name);
            if existing.contains(&tmp) {
                fill.push_str(&format!("destroy {tmp}\n"));
            }
            fill.push_str(&format!("create {tmp} {}\n", s.create));
            for e in &s.elements {
                fill.push_str(&format!("add {tmp} {e}\n"));
            }
        }
        let mut swap = String::new();
        for s in sets {
            let tmp = format!("{}{TMP_SUFFIX}", s.name);
            if existing.contains(&s.name) {
                swap.push_str(&format!("swap {tmp} {}\ndestroy {tmp}\n", s.name));
            } else {
                swap.push_str(&format!("rename {tmp} {}\n", s.name));
            }
        }
        if let Err(e) = self.ipset(&fill, "fill the new sets") {
            // Drop the half-built temporaries; the live sets are untouched.
            if let Ok(now) = self.our_sets() {
                let clean: String = sets
                    .iter()
                    .map(|s| format!("{}{TMP_SUFFIX}", s.name))
                    .filter(|t| now.contains(t))
                    .map(|t| format!("destroy {t}\n"))
                    .collect();
                let _ = self.ipset(&clean, "remove temporary sets");
            }
            return Err(e);
        }
        self.ipset(&swap, "swap the new sets in")
    }

    fn set_entry(
        &mut self,
        kind: &str,
        ip: IpAddr,
        secs: u32,
        action: &str,
    ) -> Result<(), FwError> {
        let set = format!("{SET_PREFIX}{kind}{}", Fam::of(ip).suffix());
        self.change(&set, ip, Some(secs), action)
    }

    fn plan(&self) -> Result<&Plan, FwError> {
        self.plan.as_ref().ok_or_else(|| FwError::Failed {
            tool: "sipwall".into(),
            action: "change a kernel set".into(),
            detail: "the iptables rules are not installed yet (install() first)".into(),
        })
    }

    fn write_geo_chain(
        &self,
        fam: Fam,
        mode: Option<GeoMode>,
        monitor: bool,
        loaded: bool,
    ) -> Result<(), FwError> {
        let mut s = String::from("*filter\n:SIPWALL_GEO - [0:0]\n");
        s.push_str(&geo_rules(fam, mode, monitor, loaded));
        s.push_str("COMMIT\n");
        self.restore(fam, &s, "rewrite the geo chain")
    }
}

struct SetSpec {
    name: String,
    create: String,
    elements: Vec<String>,
}

fn net_set(kind: &str, fam: Fam, maxelem: usize, elements: Vec<String>) -> SetSpec {
    SetSpec {
        name: format!("{SET_PREFIX}{kind}{}", fam.suffix()),
        create: format!(
            "hash:net family {} maxelem {}",
            fam.ipset_family(),
            maxelem.max(elements.len())
        ),
        elements,
    }
}

fn split(nets: &[IpNet]) -> (Vec<String>, Vec<String>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for n in nets {
        match n.trunc() {
            IpNet::V4(n) => v4.push(n.to_string()),
            IpNet::V6(n) => v6.push(n.to_string()),
        }
    }
    (v4, v6)
}

fn drop_target(monitor: bool) -> &'static str {
    // Monitor mode: the rule only counts.
    if monitor {
        ""
    } else {
        " -j DROP"
    }
}

fn geo_rules(fam: Fam, mode: Option<GeoMode>, monitor: bool, loaded: bool) -> String {
    let set = format!("{SET_PREFIX}geo{}", fam.suffix());
    let d = drop_target(monitor);
    match mode {
        Some(GeoMode::Block) => format!("-A SIPWALL_GEO -m set --match-set {set} src{d}\n"),
        // Only a loaded zone filters: an empty one never locks anyone out.
        Some(GeoMode::Allow) if loaded => {
            format!("-A SIPWALL_GEO -m set ! --match-set {set} src{d}\n")
        }
        _ => String::new(),
    }
}

/// The nf_tables family iptables-nft keeps a family's tables in.
fn nft_family(fam: Fam) -> &'static str {
    match fam {
        Fam::V4 => "ip",
        Fam::V6 => "ip6",
    }
}

/// (built-in chain, our chain it jumps to) for a mode; the first is the
/// requests' way in.
fn hooks(mode: Mode) -> Vec<(&'static str, &'static str)> {
    match mode {
        Mode::Router => vec![("FORWARD", "SIPWALL_FWD")],
        Mode::Host => vec![("INPUT", "SIPWALL_IN"), ("OUTPUT", "SIPWALL_OUT")],
    }
}

/// Our chains and rules for one family, for `iptables-restore --noflush`.
/// `save` is the current filter table, to add our jumps only once and drop
/// jumps to chains this mode no longer uses.
fn render_rules(plan: &Plan, fam: Fam, save: &str, geo_loaded: bool) -> String {
    let m = format!("{MARK_INSPECTED:#x}");
    let sfx = fam.suffix();
    let d = drop_target(plan.monitor);
    let hooks = hooks(plan.mode);
    let used: Vec<&str> = hooks.iter().map(|(_, chain)| *chain).collect();
    let mut s = String::from("*filter\n");
    for c in CHAINS {
        if used.contains(&c) || ["SIPWALL_REQ", "SIPWALL_ANS", "SIPWALL_GEO"].contains(&c) {
            s.push_str(&format!(":{c} - [0:0]\n"));
        }
    }
    // Jumps: remove those to chains this mode does not use, add missing ones.
    for line in save.lines() {
        if let Some(rest) = line.strip_prefix("-A ") {
            let mut parts = rest.split_whitespace();
            let (Some(builtin), Some("-j"), Some(target), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if target.starts_with("SIPWALL_")
                && !builtin.starts_with("SIPWALL_")
                && !hooks.contains(&(builtin, target))
            {
                s.push_str(&format!("-D {builtin} -j {target}\n"));
            }
        }
    }
    for c in CHAINS {
        let declared_before = save
            .lines()
            .any(|l| l == format!(":{c} - [0:0]") || l.starts_with(&format!(":{c} ")));
        if declared_before
            && !used.contains(&c)
            && !["SIPWALL_REQ", "SIPWALL_ANS", "SIPWALL_GEO"].contains(&c)
        {
            s.push_str(&format!("-F {c}\n-X {c}\n"));
        }
    }
    for (builtin, chain) in &hooks {
        if !save
            .lines()
            .any(|l| l == format!("-A {builtin} -j {chain}"))
        {
            s.push_str(&format!("-I {builtin} 1 -j {chain}\n"));
        }
    }

    // The fast path: a flow accepted once (inspected, or from a door) is
    // not looked at again — one rule instead of the classification and six
    // set lookups per packet. Bans still cut it (raw drop, conntrack kill);
    // blocklist and country changes apply to new flows.
    let entry = hooks[0].1; // the chain on the requests' way in
    s.push_str(&format!(
        "-A {entry} -m connmark --mark {m}/{m} -m conntrack --ctdir ORIGINAL -j ACCEPT\n"
    ));
    let mut classify: Vec<(&str, u16)> = plan.udp_ports.iter().map(|p| ("udp", *p)).collect();
    classify.extend(plan.tcp_and_tls_ports().into_iter().map(|p| ("tcp", p)));
    for (proto, port) in &classify {
        let ct = format!("-p {proto} -m conntrack --ctorigdstport {port}");
        match plan.mode {
            Mode::Router => {
                s.push_str(&format!(
                    "-A SIPWALL_FWD {ct} --ctdir ORIGINAL -j SIPWALL_REQ\n"
                ));
                s.push_str(&format!(
                    "-A SIPWALL_FWD {ct} --ctdir REPLY -j SIPWALL_ANS\n"
                ));
            }
            Mode::Host => {
                s.push_str(&format!(
                    "-A SIPWALL_IN {ct} --ctdir ORIGINAL -j SIPWALL_REQ\n"
                ));
                s.push_str(&format!(
                    "-A SIPWALL_OUT {ct} --ctdir REPLY -j SIPWALL_ANS\n"
                ));
            }
        }
    }

    let r = "-A SIPWALL_REQ";
    s.push_str(&format!(
        "{r} -m set --match-set {SET_PREFIX}lan{sfx} src -j RETURN\n"
    ));
    s.push_str(&format!(
        "{r} -m set --match-set {SET_PREFIX}allow{sfx} src -j ACCEPT\n"
    ));
    s.push_str(&format!(
        "{r} -m set --match-set {SET_PREFIX}ban{sfx} src{d}\n"
    ));
    s.push_str(&format!(
        "{r} -m set --match-set {SET_PREFIX}block{sfx} src{d}\n"
    ));
    s.push_str(&format!("{r} -j SIPWALL_GEO\n"));
    // A door's flow joins the fast path: marked here, accepted by the next
    // rule.
    s.push_str(&format!(
        "{r} -m set --match-set {SET_PREFIX}door{sfx} src -j CONNMARK --or-mark {m}\n"
    ));
    s.push_str(&format!("{r} -m connmark --mark {m}/{m} -j ACCEPT\n"));
    s.push_str(&format!(
        "{r} -m mark --mark {m}/{m} -j CONNMARK --or-mark {m}\n"
    ));
    s.push_str(&format!("{r} -m mark --mark {m}/{m} -j ACCEPT\n"));
    s.push_str(&format!(
        "{r} -p tcp --tcp-flags SYN,RST,ACK SYN -j RETURN\n"
    ));
    s.push_str(&format!("{r} -p tcp --tcp-flags RST RST -j RETURN\n"));
    let bypass = if plan.fail_open {
        " --queue-bypass"
    } else {
        ""
    };
    s.push_str(&format!(
        "{r} -j NFQUEUE --queue-num {}{bypass}\n",
        plan.queue
    ));

    let a = "-A SIPWALL_ANS";
    let aq = plan.answer_queue();
    s.push_str(&format!(
        "{a} -m set --match-set {SET_PREFIX}lan{sfx} dst -j RETURN\n"
    ));
    // Tell the daemon the flow bypasses it (see nft.rs, chain answer);
    // MARK --or-mark touches only our bit.
    s.push_str(&format!(
        "{a} -m connmark --mark {m}/{m} -j MARK --or-mark {m}\n"
    ));
    for status in ["SIP/2.0 401 ", "SIP/2.0 403 ", "SIP/2.0 407 ", "SIP/2.0 2"] {
        s.push_str(&format!(
            "{a} -m string --algo bm --to {STRING_TO} --string \"{status}\" -j NFQUEUE --queue-num {aq} --queue-bypass\n"
        ));
    }
    s.push_str(&geo_rules(fam, plan.geo, plan.monitor, geo_loaded));
    s.push_str("COMMIT\n");
    s
}

/// The `raw` PREROUTING drop of banned sources, for
/// `iptables-restore --noflush` (the chain is declared, so flushed first).
/// The ban lookup sits in the jump itself, so every other packet costs one
/// set miss and no jump. Ports as addressed, before DNAT: the meaning of
/// `--ctorigdstport` in the filter chains; allowlist and LAN still beat a
/// ban. Monitor mode: the chain stays empty (bans only count, in the filter
/// chain). A jump of another shape (an older sipwall's) is replaced.
fn render_raw(plan: &Plan, fam: Fam, save: &str) -> String {
    let sfx = fam.suffix();
    let mut s = format!("*raw\n:{RAW_CHAIN} - [0:0]\n");
    let guard = format!("-m set --match-set {SET_PREFIX}ban{sfx} src -j {RAW_CHAIN}");
    let jump = format!("-A PREROUTING {guard}");
    let mut present = false;
    for (line, rest, target) in jumps_to_ours(save) {
        if target != RAW_CHAIN {
            continue;
        }
        if line == jump && !present {
            present = true;
        } else {
            s.push_str(&format!("-D {rest}\n"));
        }
    }
    if !present {
        s.push_str(&format!("-I PREROUTING 1 {guard}\n"));
    }
    if !plan.monitor {
        let mut ports: Vec<(&str, u16)> = plan.udp_ports.iter().map(|p| ("udp", *p)).collect();
        ports.extend(plan.tcp_and_tls_ports().into_iter().map(|p| ("tcp", p)));
        for (proto, port) in ports {
            s.push_str(&format!(
                "-A {RAW_CHAIN} -p {proto} --dport {port} -m set ! --match-set {SET_PREFIX}allow{sfx} src -m set ! --match-set {SET_PREFIX}lan{sfx} src -j DROP\n"
            ));
        }
    }
    s.push_str("COMMIT\n");
    s
}

/// Rules of built-in chains that jump to one of ours, as (the line, the
/// line without `-A `, our chain), from an `iptables-save`.
fn jumps_to_ours(save: &str) -> impl Iterator<Item = (&str, &str, &str)> {
    save.lines().filter_map(|line| {
        let rest = line.strip_prefix("-A ")?;
        if rest.starts_with("SIPWALL_") {
            return None;
        }
        let mut words = rest.split_whitespace();
        words.find(|w| *w == "-j")?;
        let target = words.next().filter(|t| t.starts_with("SIPWALL_"))?;
        Some((line, rest, target))
    })
}

/// Deletes the jumps to our chains from built-in ones, then our chains, in
/// one table; `save` is that table's `iptables-save`.
fn removal_script(table: &str, save: &str) -> String {
    let mut s = format!("*{table}\n");
    for (_, rest, _) in jumps_to_ours(save) {
        s.push_str(&format!("-D {rest}\n"));
    }
    let ours: Vec<&str> = save
        .lines()
        .filter_map(|l| l.strip_prefix(':')?.split_whitespace().next())
        .filter(|name| name.starts_with("SIPWALL_"))
        .collect();
    for c in &ours {
        s.push_str(&format!("-F {c}\n"));
    }
    for c in &ours {
        s.push_str(&format!("-X {c}\n"));
    }
    s.push_str("COMMIT\n");
    s
}

/// An `iptables-save` of a table with nothing in it: built-in chains that
/// accept, no rules, no other chains. Deleting such a table changes no
/// packet's fate.
fn table_is_bare(save: &str) -> bool {
    save.lines().all(|l| {
        l.is_empty()
            || l.starts_with('#')
            || l.starts_with('*')
            || l == "COMMIT"
            || (l.starts_with(':')
                && l.split_whitespace().nth(1) == Some("ACCEPT")
                && [
                    ":PREROUTING ",
                    ":OUTPUT ",
                    ":INPUT ",
                    ":FORWARD ",
                    ":POSTROUTING ",
                ]
                .iter()
                .any(|b| l.starts_with(b)))
    })
}

impl Firewall for Iptables {
    fn install(&mut self, plan: &Plan) -> Result<(), FwError> {
        let allow = self.rem.allow.clone().unwrap_or_else(|| plan.allow.clone());
        let (lan4, lan6) = split(&plan.lan);
        let (al4, al6) = split(&allow);
        let (bl4, bl6) = split(&plan.block);
        let geo4: Vec<String> = self
            .rem
            .geo4
            .iter()
            .map(|n| n.trunc().to_string())
            .collect();
        let geo6: Vec<String> = self
            .rem
            .geo6
            .iter()
            .map(|n| n.trunc().to_string())
            .collect();
        let (g4, g6) = (!geo4.is_empty(), !geo6.is_empty());
        let st = STATIC_MAXELEM as usize;
        let mut sets = vec![
            net_set("lan", Fam::V4, st, lan4),
            net_set("lan", Fam::V6, st, lan6),
            net_set("allow", Fam::V4, st, al4),
            net_set("allow", Fam::V6, st, al6),
            net_set("block", Fam::V4, st, bl4),
            net_set("block", Fam::V6, st, bl6),
            net_set("geo", Fam::V4, GEO_MAXELEM, geo4),
            net_set("geo", Fam::V6, GEO_MAXELEM, geo6),
        ];
        for (kind, cap, entries) in [
            (
                "ban",
                plan.ban_capacity,
                self.rem
                    .live_bans()
                    .into_iter()
                    .map(|(ip, s)| (ip, s.unwrap_or(0)))
                    .collect::<Vec<_>>(),
            ),
            ("door", plan.door_capacity, self.rem.live_doors()),
        ] {
            for fam in [Fam::V4, Fam::V6] {
                sets.push(SetSpec {
                    name: format!("{SET_PREFIX}{kind}{}", fam.suffix()),
                    create: format!(
                        "hash:ip family {} timeout 0 maxelem {cap}",
                        fam.ipset_family()
                    ),
                    elements: entries
                        .iter()
                        .filter(|(ip, _)| Fam::of(*ip) == fam)
                        .map(|(ip, secs)| format!("{ip} timeout {secs}"))
                        .collect(),
                });
            }
        }
        self.note_missing_tables();
        // Check both rule sets render against the current tables before
        // touching anything.
        let save4 = self.save(Fam::V4)?;
        let save6 = self.save(Fam::V6)?;
        self.replace_sets(&sets)?;
        self.restore(
            Fam::V4,
            &render_rules(plan, Fam::V4, &save4, g4),
            "install the IPv4 rules",
        )?;
        self.restore(
            Fam::V6,
            &render_rules(plan, Fam::V6, &save6, g6),
            "install the IPv6 rules",
        )?;
        self.install_raw(plan);
        self.plan = Some(plan.clone());
        Ok(())
    }

    fn uninstall(&mut self) -> Result<(), FwError> {
        for fam in [Fam::V4, Fam::V6] {
            self.remove_ours(fam, "filter")?;
            // No raw table (no kernel support): nothing of ours in it.
            let _ = self.remove_ours(fam, "raw");
        }
        for (fam, table) in std::mem::take(&mut self.made) {
            self.delete_if_bare(fam, table);
        }
        let sets = self.our_sets()?;
        if !sets.is_empty() {
            let s: String = sets.iter().map(|n| format!("destroy {n}\n")).collect();
            self.ipset(&s, "destroy the sipwall sets")?;
        }
        self.plan = None;
        Ok(())
    }

    fn ban(&mut self, ip: IpAddr, secs: Option<u32>) -> Result<(), FwError> {
        self.plan()?;
        // ipset: timeout 0 = permanent; -exist refreshes the timeout.
        self.set_entry(
            "ban",
            ip,
            secs.map(|s| s.max(1)).unwrap_or(0),
            &format!("ban {ip}"),
        )?;
        self.rem.ban(ip, secs);
        self.cleaner.kill_flows_later(ip);
        Ok(())
    }

    fn unban(&mut self, ip: IpAddr) -> Result<(), FwError> {
        self.plan()?;
        let set = format!("{SET_PREFIX}ban{}", Fam::of(ip).suffix());
        self.change(&set, ip, None, &format!("unban {ip}"))?;
        self.rem.unban(ip);
        Ok(())
    }

    fn open_door(&mut self, ip: IpAddr, secs: u32) -> Result<(), FwError> {
        self.plan()?;
        self.set_entry("door", ip, secs.max(1), &format!("open a door for {ip}"))?;
        self.rem.door(ip, secs.max(1));
        Ok(())
    }

    fn set_allow(&mut self, nets: &[IpNet]) -> Result<(), FwError> {
        self.plan()?;
        let (a4, a6) = split(nets);
        let st = STATIC_MAXELEM as usize;
        self.replace_sets(&[
            net_set("allow", Fam::V4, st, a4),
            net_set("allow", Fam::V6, st, a6),
        ])?;
        self.rem.allow = Some(nets.to_vec());
        Ok(())
    }

    fn set_geo(&mut self, v4: &[Ipv4Net], v6: &[Ipv6Net]) -> Result<(), FwError> {
        let (mode, monitor) = {
            let p = self.plan()?;
            (p.geo, p.monitor)
        };
        let old = [!self.rem.geo4.is_empty(), !self.rem.geo6.is_empty()];
        let new = [!v4.is_empty(), !v6.is_empty()];
        let fams = [Fam::V4, Fam::V6];
        // Allow mode: stop filtering a family that becomes empty before its
        // set empties, start filtering one that becomes loaded only after.
        for i in 0..2 {
            if old[i] && !new[i] {
                self.write_geo_chain(fams[i], mode, monitor, false)?;
            }
        }
        let g4: Vec<String> = v4.iter().map(|n| n.trunc().to_string()).collect();
        let g6: Vec<String> = v6.iter().map(|n| n.trunc().to_string()).collect();
        self.replace_sets(&[
            net_set("geo", Fam::V4, GEO_MAXELEM, g4),
            net_set("geo", Fam::V6, GEO_MAXELEM, g6),
        ])?;
        for i in 0..2 {
            if new[i] && !old[i] {
                self.write_geo_chain(fams[i], mode, monitor, true)?;
            }
        }
        self.rem.geo4 = v4.to_vec();
        self.rem.geo6 = v6.to_vec();
        Ok(())
    }

    fn installed(&mut self) -> Result<bool, FwError> {
        let Some(mode) = self.plan.as_ref().map(|p| p.mode) else {
            return Ok(false);
        };
        for fam in [Fam::V4, Fam::V6] {
            let save = self.save(fam)?;
            let hooked = hooks(mode).iter().all(|(builtin, chain)| {
                save.lines()
                    .any(|l| l == format!("-A {builtin} -j {chain}"))
            });
            if !hooked || !save.lines().any(|l| l.starts_with(":SIPWALL_REQ ")) {
                return Ok(false);
            }
        }
        let sets = self.our_sets()?;
        Ok(["ban4", "ban6", "door4", "door6"]
            .iter()
            .all(|k| sets.contains(&format!("{SET_PREFIX}{k}"))))
    }

    fn name(&self) -> &'static str {
        "iptables"
    }
}

/// Whether iptables and ipset are installed and answer.
pub fn probe(tools: &Tools) -> Result<(), FwError> {
    tools.run(
        "iptables-save",
        &["-t", "filter"],
        None,
        "read the filter table",
    )?;
    tools.run("ipset", &["list", "-n"], None, "list the ipsets")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn jumps_are_added_once_and_stale_ones_removed() {
        let plan = Plan::from_config(&Config::default());
        let fresh = render_rules(&plan, Fam::V4, "", false);
        assert!(fresh.contains("-I FORWARD 1 -j SIPWALL_FWD"));
        let again = render_rules(
            &plan,
            Fam::V4,
            ":SIPWALL_FWD - [0:0]\n-A FORWARD -j SIPWALL_FWD\n",
            false,
        );
        assert!(!again.contains("-I FORWARD"));
        let mut host = plan.clone();
        host.mode = Mode::Host;
        let switched = render_rules(
            &host,
            Fam::V4,
            ":SIPWALL_FWD - [0:0]\n-A FORWARD -j SIPWALL_FWD\n",
            false,
        );
        assert!(switched.contains("-D FORWARD -j SIPWALL_FWD"));
        assert!(switched.contains("-X SIPWALL_FWD"));
        assert!(switched.contains("-I INPUT 1 -j SIPWALL_IN"));
    }

    #[test]
    fn banned_sources_drop_in_raw_before_conntrack_unless_monitoring() {
        let mut plan = Plan::from_config(&Config::default());
        let s = render_raw(&plan, Fam::V4, "");
        assert!(s.starts_with(
            "*raw\n:SIPWALL_RAW - [0:0]\n-I PREROUTING 1 -m set --match-set sipwall_ban4 src -j SIPWALL_RAW\n"
        ));
        assert!(s.contains(
            "-A SIPWALL_RAW -p udp --dport 5060 -m set ! --match-set sipwall_allow4 src -m set ! --match-set sipwall_lan4 src -j DROP\n"
        ));
        let again = render_raw(
            &plan,
            Fam::V6,
            "-A PREROUTING -m set --match-set sipwall_ban6 src -j SIPWALL_RAW\n",
        );
        assert!(!again.contains("PREROUTING"), "the jump is added once");
        assert!(again.contains("sipwall_allow6 src"));
        // An older sipwall's plain jump is swapped for the guarded one.
        let upgraded = render_raw(&plan, Fam::V4, "-A PREROUTING -j SIPWALL_RAW\n");
        assert!(upgraded.contains("-D PREROUTING -j SIPWALL_RAW\n"));
        assert!(upgraded
            .contains("-I PREROUTING 1 -m set --match-set sipwall_ban4 src -j SIPWALL_RAW\n"));
        plan.monitor = true;
        assert!(!render_raw(&plan, Fam::V4, "").contains("DROP"));
    }

    #[test]
    fn only_a_bare_table_counts_as_empty() {
        let bare = "# Generated\n*raw\n:PREROUTING ACCEPT [3:120]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
        assert!(table_is_bare(bare));
        assert!(!table_is_bare(
            &bare.replace(":OUTPUT ACCEPT", ":OUTPUT DROP")
        ));
        assert!(!table_is_bare(&format!(
            "{bare}-A PREROUTING -j CT --notrack\n"
        )));
        assert!(!table_is_bare(&format!("{bare}:zone_wan_helper - [0:0]\n")));
        let script = removal_script(
            "raw",
            "*raw\n:SIPWALL_RAW - [0:0]\n-A PREROUTING -m set --match-set sipwall_ban4 src -j SIPWALL_RAW\n-A SIPWALL_RAW -p udp -j DROP\n",
        );
        assert_eq!(
            script,
            "*raw\n-D PREROUTING -m set --match-set sipwall_ban4 src -j SIPWALL_RAW\n-F SIPWALL_RAW\n-X SIPWALL_RAW\nCOMMIT\n"
        );
    }

    #[test]
    fn fail_closed_unless_fail_open() {
        let mut plan = Plan::from_config(&Config::default());
        let s = render_rules(&plan, Fam::V6, "", false);
        assert!(s.contains("-j NFQUEUE --queue-num 5060\n"));
        assert!(s.contains("--queue-num 5061 --queue-bypass"));
        plan.fail_open = true;
        let s = render_rules(&plan, Fam::V6, "", false);
        assert!(s.contains("-j NFQUEUE --queue-num 5060 --queue-bypass\n"));
    }
}
