//! The validated configuration model every other module reads.
//!
//! Front ends (UCI, TOML) fill a `Config` and then call validation; nothing
//! downstream re-checks values.

use std::path::PathBuf;

use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub global: Global,
    /// Secret SIP domains: a request whose Request-URI host (for REGISTER
    /// also the To host) is one of these passes the domain gate.
    pub domains: Vec<String>,
    pub knocks: Vec<Knock>,
    /// Sources that are always accepted and never banned.
    pub allow: Vec<AllowEntry>,
    /// Sources that are always dropped.
    pub block: Vec<IpNet>,
    pub ban_tiers: Vec<BanTier>,
    pub scanners: Scanners,
    pub rate_limit: RateLimit,
    pub geo: Geo,
    pub capacity: Capacity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Port-forwarded PBX behind this router: the forward path.
    Router,
    /// sipwall runs on the PBX host itself: the input path.
    Host,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// nftables if `nft` is present and fw4 is in use, else iptables.
    Auto,
    Nft,
    Iptables,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Global {
    pub enabled: bool,
    pub mode: Mode,
    pub backend: Backend,
    pub udp_ports: Vec<u16>,
    pub tcp_ports: Vec<u16>,
    /// SIP over TLS: gated on the ClientHello's SNI.
    pub tls_ports: Vec<u16>,
    /// NFQUEUE number for requests towards the PBX; `queue + 1` carries the
    /// PBX's answers.
    pub queue: u16,
    /// Kernel queue length (packets) before overload.
    pub queue_maxlen: u32,
    /// When sipwall is down or overloaded: `false` (default) drops new SIP
    /// requests, `true` lets them pass uninspected.
    pub fail_open: bool,
    /// Accept everything and log what would have been dropped.
    pub monitor: bool,
    /// Local networks: never banned, never gated.
    pub lan: Vec<IpNet>,
    /// Where bans and zones are persisted (flash on OpenWrt: written rarely).
    pub state_dir: PathBuf,
    /// Where the control socket lives (RAM).
    pub run_dir: PathBuf,
    /// Syslog verbosity: 0 quiet, 1 normal, 2 debug.
    pub log_level: u8,
}

/// Where to look for a knock's secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnockPlaces {
    pub display_name: bool,
    pub user_agent: bool,
    pub instance: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Knock {
    pub name: String,
    pub secret: String,
    pub places: KnockPlaces,
    /// How long the door stays open after the knock (refreshed on each
    /// knocked request, e.g. every re-REGISTER).
    pub door_secs: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AllowEntry {
    Net(IpNet),
    /// Resolved at start and on a schedule (dynamic DNS).
    Host(String),
}

/// `failures` failed authentications within `window_secs` ban the source
/// for `ban_secs` (`None`: until an admin releases it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BanTier {
    pub failures: u32,
    pub window_secs: u32,
    pub ban_secs: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scanners {
    /// Case-insensitive substrings of the User-Agent or From display name.
    pub signatures: Vec<String>,
    pub ban_secs: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Requests per second per source (token bucket refill).
    pub rate: u32,
    pub burst: u32,
    /// A source dropped this many times within `drop_window_secs` is banned
    /// for `flood_ban_secs`, so the kernel absorbs the rest of its flood.
    pub drops_before_ban: u32,
    pub drop_window_secs: u32,
    pub flood_ban_secs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeoMode {
    /// Listed countries never reach SIP.
    Block,
    /// Only listed countries reach SIP.
    Allow,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Geo {
    pub enabled: bool,
    pub mode: GeoMode,
    /// ISO 3166 alpha-2, lower case.
    pub countries: Vec<String>,
    /// Whether IPv6 zones are fetched and loaded (`family 'both'`); false
    /// for `family 'ipv4'`: a router with no IPv6 towards the PBX has no
    /// use for them, and IPv6 is then not filtered by country at all.
    pub ipv6: bool,
    /// Cron schedule (5 fields) for `sipwall zones refresh`.
    pub schedule: String,
    pub ipv4_url: String,
    pub ipv6_url: String,
    /// Fallback source (ipverse layout), `{cc}` replaced.
    pub fallback_ipv4_url: String,
    pub fallback_ipv6_url: String,
}

/// Bounds on every table the core keeps, so memory is fixed whatever an
/// attacker sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    pub doors: u32,
    pub bans: u32,
    /// Per-source trackers (failure windows, rate buckets).
    pub sources: u32,
    /// Outstanding requests with credentials awaiting the PBX's answer.
    pub pending_auth: u32,
}

/// Scanner signatures banned on sight unless the admin overrides the list.
pub const DEFAULT_SCANNERS: &[&str] = &[
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "vaxsipuseragent",
    "pplsip",
    "sip-scan",
    "iwar",
    "sundayddr",
    "sipsak",
    "smap",
    "siparmyknife",
    "voipbuster",
    "sipptk",
    "sippts",
    "cpxsip",
    "vaxipuseragent",
    "gulp",
];

impl Default for Config {
    fn default() -> Config {
        Config {
            global: Global::default(),
            domains: Vec::new(),
            knocks: Vec::new(),
            allow: Vec::new(),
            block: Vec::new(),
            ban_tiers: vec![
                BanTier {
                    failures: 2,
                    window_secs: 3600,
                    ban_secs: Some(3600),
                },
                BanTier {
                    failures: 12,
                    window_secs: 86400,
                    ban_secs: None,
                },
            ],
            scanners: Scanners {
                signatures: DEFAULT_SCANNERS.iter().map(|s| s.to_string()).collect(),
                ban_secs: Some(86400),
            },
            rate_limit: RateLimit {
                rate: 20,
                burst: 40,
                drops_before_ban: 200,
                drop_window_secs: 60,
                flood_ban_secs: 600,
            },
            geo: Geo::default(),
            // Sized for a small router (the engine preallocates every slot,
            // so these are its idle memory, about 1 MB in all): a PBX behind
            // a home or office router has tens of phones (doors, pending
            // answers); bans live in the kernel set regardless (at least
            // `firewall::plan::KERNEL_BANS`), userspace only remembers them
            // for status, persistence and tier escalation, and evicts the
            // mildest first; trackers evict one-packet sources before
            // repeat offenders, so a flood of any size stays in bounds.
            capacity: Capacity {
                doors: 1024,
                bans: 4096,
                sources: 4096,
                pending_auth: 1024,
            },
        }
    }
}

impl Default for Global {
    fn default() -> Global {
        Global {
            enabled: false,
            mode: Mode::Router,
            backend: Backend::Auto,
            udp_ports: vec![5060],
            tcp_ports: vec![5060],
            tls_ports: vec![5061],
            queue: 5060,
            queue_maxlen: 4096,
            fail_open: false,
            monitor: false,
            lan: vec![
                "10.0.0.0/8".parse().unwrap(),
                "172.16.0.0/12".parse().unwrap(),
                "192.168.0.0/16".parse().unwrap(),
                "fc00::/7".parse().unwrap(),
                "fe80::/10".parse().unwrap(),
            ],
            state_dir: PathBuf::from("/etc/sipwall/state"),
            run_dir: PathBuf::from("/var/run/sipwall"),
            log_level: 1,
        }
    }
}

impl Default for Geo {
    fn default() -> Geo {
        Geo {
            enabled: false,
            mode: GeoMode::Block,
            countries: Vec::new(),
            ipv6: true,
            schedule: String::from("@random 4 * * *"),
            ipv4_url: String::from("https://www.ipdeny.com/ipblocks/data/aggregated/{cc}-aggregated.zone"),
            ipv6_url: String::from(
                "https://www.ipdeny.com/ipv6/ipaddresses/aggregated/{cc}-aggregated.zone",
            ),
            fallback_ipv4_url: String::from(
                "https://raw.githubusercontent.com/ipverse/rir-ip/master/country/{cc}/ipv4-aggregated.txt",
            ),
            fallback_ipv6_url: String::from(
                "https://raw.githubusercontent.com/ipverse/rir-ip/master/country/{cc}/ipv6-aggregated.txt",
            ),
        }
    }
}
