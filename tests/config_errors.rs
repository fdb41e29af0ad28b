//! Every validation rule, seen the way an admin sees it: the exact error
//! line `sipwall check-config` prints, naming file, line, section and
//! option and saying what is expected. One test per rule.

use std::path::Path;

use sipwall::config::{self, Config};

const FILE: &str = "/etc/config/sipwall";

/// A valid, enabled head that the snippets extend.
const HEAD: &str = "config sipwall 'global'\n\toption enabled '1'\n\nconfig domain\n\toption host 'sip.example.org'\n";

fn ok(extra: &str) -> Config {
    config::parse_uci(&format!("{HEAD}{extra}"), Path::new(FILE)).unwrap_or_else(|e| panic!("{e}"))
}

/// The error for `text` (a whole file).
fn err_file(text: &str) -> String {
    match config::parse_uci(text, Path::new(FILE)) {
        Ok(c) => panic!("accepted:\n{text}\n=> {c:?}"),
        Err(e) => e.to_string(),
    }
}

/// The error for `HEAD` + `extra`; lines of `extra` start at 6.
fn err(extra: &str) -> String {
    err_file(&format!("{HEAD}{extra}"))
}

#[cfg(feature = "toml")]
fn err_toml(text: &str) -> String {
    match config::parse_toml(text, Path::new("/etc/sipwall/sipwall.toml")) {
        Ok(c) => panic!("accepted:\n{text}\n=> {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn enabled_without_domain_or_knock_is_refused() {
    assert_eq!(
        err_file("config sipwall 'global'\n\toption enabled '1'\n"),
        "/etc/config/sipwall:2: option 'enabled' in sipwall 'global': sipwall would drop every SIP request: set a domain or a knock (or keep enabled '0')"
    );
    // Disabled, the same file is fine: nothing is filtered.
    assert!(config::parse_uci("config sipwall\n\toption enabled '0'\n", Path::new(FILE)).is_ok());
    // An empty file is the model's default: disabled.
    assert_eq!(
        config::parse_uci("", Path::new(FILE)).unwrap(),
        Config::default()
    );
}

#[test]
fn a_knock_alone_is_enough_to_enable() {
    let c = config::parse_uci(
        "config sipwall\n\toption enabled 1\nconfig knock 'phones'\n\toption secret 'Zebra-42'\n",
        Path::new(FILE),
    )
    .unwrap();
    assert!(c.global.enabled && c.domains.is_empty() && c.knocks.len() == 1);
}

#[test]
fn door_time_error_names_file_line_section_option_and_range() {
    assert_eq!(
        err("config knock 'phones'\n\toption secret 'Zebra-42'\n\toption door_time '4000x'\n"),
        "/etc/config/sipwall:8: option 'door_time' in knock 'phones': expected a duration in seconds or with a unit s/m/h/d (e.g. 90m, 1h) between 1m and 1d, got '4000x'"
    );
    assert!(
        err("config knock 'phones'\n\toption secret 'Zebra-42'\n\toption door_time '25h'\n")
            .contains("got '25h'")
    );
    assert_eq!(
        ok("config knock 'phones'\n\toption secret 'Zebra-42'\n\toption door_time '4000s'\n")
            .knocks[0]
            .door_secs,
        4000
    );
}

#[test]
fn ports_must_be_1_to_65535() {
    assert_eq!(
        err("config sipwall2\n"),
        "/etc/config/sipwall:6: unknown section type 'sipwall2' (did you mean 'sipwall'?): expected one of sipwall, domain, knock, allow, block, ban_tier, scanners, ratelimit, geo, limits"
    );
    let e = err_file("config sipwall 'global'\n\tlist udp_port '0'\n");
    assert_eq!(e, "/etc/config/sipwall:2: option 'udp_port' in sipwall 'global': expected a port number (1..=65535), got '0'");
    assert!(err_file("config sipwall\n\tlist tcp_port '65536'\n").contains("got '65536'"));
    assert!(
        err_file("config sipwall\n\tlist tcp_port '5060'\n\tlist tcp_port '5060'\n")
            .contains("'5060' is listed twice")
    );
}

#[test]
fn a_tcp_port_cannot_also_be_a_tls_port() {
    assert!(err_file("config sipwall\n\tlist tcp_port '5061'\n")
        .contains("option 'tls_port' in section 'sipwall': port 5061 is also a tcp_port"));
}

#[test]
fn unknown_options_suggest_the_close_name() {
    assert_eq!(
        err("config knock 'phones'\n\toption secret 'Zebra-42'\n\toption door_secs '4000'\n"),
        "/etc/config/sipwall:8: option 'door_secs' in knock 'phones': unknown option (did you mean 'door_time'?)"
    );
    assert!(err("config ratelimit\n\toption burts '3'\n").contains("(did you mean 'burst'?)"));
    // An option of another section says where it belongs.
    assert!(
        err("config knock 'phones'\n\toption secret 'Zebra-42'\n\toption rate '3'\n")
            .ends_with("unknown option here: 'rate' belongs in a 'ratelimit' section")
    );
    // Nothing close: the list of what is allowed.
    assert!(err("config limits\n\toption zzzzzzzz '3'\n")
        .ends_with("unknown option: expected one of doors, bans, sources, pending_auth"));
    assert!(err("config ratelimt\n").contains("(did you mean 'ratelimit'?)"));
}

#[test]
fn single_value_options_refuse_lists() {
    assert!(err("config ratelimit\n\tlist rate '3'\n").contains("takes one value"));
}

#[test]
fn domains_are_host_names_not_ip_literals() {
    assert_eq!(
        err("config domain\n\toption host '203.0.113.7'\n"),
        "/etc/config/sipwall:7: option 'host' in domain @domain[1]: expected a host name, got the IP address '203.0.113.7': scanners address the bare IP, a domain must be a name"
    );
    assert!(err("config domain\n\toption host 'bad_name.example'\n").contains("RFC 1123"));
    assert!(err("config domain\n\toption host 'SIP.example.org.'\n")
        .contains("'sip.example.org' is listed twice"));
    assert!(
        err("config domain\n").contains("option 'host' in domain @domain[1]: missing: The domain")
    );
}

#[test]
fn knock_secrets_must_be_sendable_unique_and_not_scanner_like() {
    assert!(err("config knock 'p'\n\toption secret 'abc'\n")
        .contains("expected a knock secret of 6..64 characters"));
    assert!(err("config knock 'p'\n\toption secret 'has space'\n").contains("no spaces"));
    assert!(err("config knock 'p'\n\toption secret 'say\"hi\"'\n").contains("quotes"));
    assert!(err("config knock 'p'\n\toption secret '123456'\n").contains("trivial"));
    assert!(err("config knock 'p'\n\toption secret 'my-sipvicious-1'\n")
        .contains("contains the scanner signature 'sipvicious'"));
    assert!(err("config knock 'a'\n\toption secret 'Zebra-42'\nconfig knock 'b'\n\toption secret 'Zebra-42'\n")
        .contains("/etc/config/sipwall:9: option 'secret' in knock 'b': is the same as knock 'a'"));
    assert!(err("config knock\n\toption secret 'Zebra-42'\n")
        .contains("expected a name for this section"));
    assert!(
        err("config knock 'p'\n\toption secret 'Zebra-42'\n\tlist look_in 'body'\n")
            .contains("expected one of 'display_name', 'user_agent', 'instance', got 'body'")
    );
}

#[test]
fn allow_and_block_take_networks_and_block_refuses_everything() {
    let c = ok("config allow\n\toption source '192.168.7.9/24'\nconfig allow\n\toption source 'home.example.net'\n");
    assert_eq!(format!("{:?}", c.allow[0]), "Net(192.168.7.0/24)");
    assert!(err("config allow\n\toption source '203.0.113.0/40'\n").contains("CIDR notation"));
    assert!(err("config block\n\toption source 'evil.example'\n")
        .contains("expected an IP address or a network"));
    assert!(err("config block\n\toption source '0.0.0.0/0'\n").contains("blocks every address"));
    assert!(err("config block\n\toption source '::/0'\n").contains("blocks every address"));
    // Allowing everyone leaves the PBX open: refused too.
    assert_eq!(
        err("config allow 'all'\n\toption source '0.0.0.0/0'\n"),
        "/etc/config/sipwall:7: option 'source' in allow 'all': '0.0.0.0/0' allows every address, so sipwall would filter nothing: expected the networks of your phones or trunks"
    );
    assert!(
        err_file("config sipwall\n\tlist lan '::/0'\n").contains("makes the whole internet local")
    );
}

#[test]
fn ban_tiers_must_escalate() {
    let tier = |f: &str, w: &str, b: &str| {
        format!("config ban_tier\n\toption failures '{f}'\n\toption window '{w}'\n\toption ban_time '{b}'\n")
    };
    let c = ok(&(tier("3", "10m", "30m") + &tier("10", "1d", "forever")));
    assert_eq!(c.ban_tiers.len(), 2);
    assert_eq!(c.ban_tiers[1].ban_secs, None);
    assert!(err(&(tier("5", "1h", "1h") + &tier("3", "1h", "1h")))
        .contains("/etc/config/sipwall:11: option 'failures' in ban_tier @ban_tier[1]: expected more failures"));
    assert!(err(&(tier("2", "1h", "forever") + &tier("3", "1h", "1d")))
        .contains("expected a ban at least as long as the tier before (forever), got 1d"));
    assert!(err(&(tier("2", "1d", "1h") + &tier("3", "1h", "1d")))
        .contains("expected a window at least as long"));
    assert!(err(&tier("0", "1h", "1h")).contains("expected a whole number (1..=1000), got '0'"));
    assert!(err("config ban_tier\n\toption failures '2'\n")
        .contains("option 'window' in ban_tier @ban_tier[0]: missing"));
    let nine: String = (1..=9).map(|i| tier(&i.to_string(), "1h", "1h")).collect();
    assert!(err(&nine).contains("expected at most 8 ban tiers"));
}

#[test]
fn scanners_ratelimit_and_limits_are_bounded() {
    let c = ok("config scanners\n\toption builtin '0'\n\tlist signature 'Evil-Dialer'\n\toption ban_time 'forever'\n");
    assert_eq!(c.scanners.signatures, ["evil-dialer"]);
    assert_eq!(c.scanners.ban_secs, None);
    let c = ok("config scanners\n\tlist signature 'evil-dialer'\n");
    assert!(
        c.scanners.signatures.contains(&"sipvicious".to_string())
            && c.scanners.signatures.len() > 10
    );
    assert!(err("config scanners\n\tlist signature 'ab'\n").contains("3..64"));
    assert!(err("config ratelimit\n\toption rate '0'\n").contains("(1..=10000), got '0'"));
    assert!(err("config ratelimit\n\toption rate '50'\n\toption burst '10'\n")
        .contains("option 'burst' in section 'ratelimit': expected a burst of at least the rate (50), got 10"));
    assert!(err("config limits\n\toption doors '8'\n").contains("(16..=1048576), got '8'"));
    assert!(err("config limits\n\toption bans '99999999'\n").contains("got '99999999'"));
    assert!(err("config limits\nconfig limits\n").contains("a second 'limits' section"));
}

#[test]
fn geo_needs_countries_and_a_schedule() {
    let c = ok("config geo\n\toption enabled '1'\n\tlist country 'CN'\n\tlist country 'ru'\n\toption schedule '17 4 * * *'\n");
    assert_eq!(c.geo.countries, ["cn", "ru"]);
    assert!(
        err("config geo\n\toption enabled '1'\n\toption mode 'allow'\n")
            .contains("shut every caller out")
    );
    assert!(err("config geo\n\tlist country 'chn'\n").contains("two-letter country code"));
    assert!(err("config geo\n\toption schedule '0 4 * *'\n").contains("cron schedule of 5 fields"));
    assert!(err("config geo\n\toption ipv4_url 'https://example.net/zones'\n").contains("{cc}"));
    assert!(err("config geo\n\toption mode 'deny'\n")
        .contains("expected one of 'block', 'allow', got 'deny'"));
}

#[test]
fn global_values_are_checked() {
    assert!(err_file("config sipwall\n\toption mode 'bridge'\n")
        .contains("expected one of 'router', 'host'"));
    assert!(err_file("config sipwall\n\toption queue '65535'\n").contains("(0..=65534)"));
    assert!(err_file("config sipwall\n\toption log_level '3'\n").contains("(0..=2)"));
    assert!(err_file("config sipwall\n\toption state_dir 'state'\n").contains("absolute path"));
    assert!(err_file("config sipwall\n\toption enabled 'maybe'\n").contains("expected 0 or 1"));
    assert!(
        err_file("config sipwall\n\tlist lan '10.0.0.0/8'\n\tlist lan 'lan'\n")
            .contains("got 'lan'")
    );
    assert!(err_file("config sipwall\nconfig sipwall\n").contains("a second 'sipwall' section"));
}

#[cfg(feature = "toml")]
#[test]
fn toml_errors_read_the_same() {
    assert_eq!(
        err_toml("[sipwall]\nenabled = true\n[[knock]]\nname = \"phones\"\nsecret = \"Zebra-42\"\ndoor_time = \"4000x\"\n"),
        "/etc/sipwall/sipwall.toml:6: option 'door_time' in knock 'phones': expected a duration in seconds or with a unit s/m/h/d (e.g. 90m, 1h) between 1m and 1d, got '4000x'"
    );
    assert_eq!(
        err_toml("[sipwall]\nenabled = true\n"),
        "/etc/sipwall/sipwall.toml:2: option 'enabled' in section 'sipwall': sipwall would drop every SIP request: set a domain or a knock (or keep enabled '0')"
    );
    assert!(
        err_toml("[[knock]]\nname = \"p\"\nsecret = \"Zebra-42\"\ndoor_tme = 4000\n")
            .contains(":4: unknown option 'door_tme' (did you mean 'door_time'?)")
    );
    assert!(err_toml("[ratelimt]\nrate = 3\n")
        .contains("unknown section 'ratelimt' (did you mean 'ratelimit'?)"));
    assert!(
        err_toml("[[knock]]\nname = \"p\"\nsecret = \"Zebra-42\"\nrate = 3\n")
            .contains("belongs in a [ratelimit] section")
    );
    assert!(err_toml("[[sipwall]]\nenabled = true\n").contains("write [sipwall]"));
    assert_eq!(
        err_toml("monitor = true\n"),
        "/etc/sipwall/sipwall.toml:1: 'monitor' is an option of the sipwall section: put it under a [sipwall] header"
    );
    assert!(err_toml("zzzzzz = 1\n")
        .contains("unknown section 'zzzzzz': expected one of sipwall, scanners"));
    assert!(err_toml("[knock]\nname = \"p\"\n").contains("write [[knock]]"));
    assert!(err_toml("[ratelimit]\nrate = [1, 2]\n").contains("takes one value"));
    assert!(err_toml("[ratelimit]\nrate = 1.5\n").contains("got '1.5'"));
    assert!(err_toml("[sipwall\n").starts_with("/etc/sipwall/sipwall.toml:1: "));
    assert!(
        err_toml("[sipwall]\nudp_port = [{ a = 1 }]\n").contains("a string, a number or a boolean")
    );
}

#[test]
fn validate_rejects_models_built_in_code() {
    let mut c = Config::default();
    c.global.udp_ports = vec![0];
    assert!(config::validate(&c)
        .unwrap_err()
        .to_string()
        .contains("got '0'"));
    let mut c = Config::default();
    c.knocks.push(sipwall::config::Knock {
        name: "p".into(),
        secret: "Zebra-42".into(),
        places: Default::default(),
        door_secs: 4000,
    });
    assert!(config::validate(&c)
        .unwrap_err()
        .to_string()
        .contains("look_in"));
    let mut c = Config::default();
    c.domains.push("Upper.example".into());
    assert!(config::validate(&c)
        .unwrap_err()
        .to_string()
        .contains("lower-case"));
    assert!(config::validate(&Config::default()).is_ok());
}

#[test]
fn a_list_may_be_written_as_one_space_separated_option() {
    let c = config::parse_uci(
        "config sipwall\n\toption udp_port '5060 5080'\n\toption lan '10.0.0.0/8 fd00::/8'\nconfig geo\n\toption country 'cn ru'\n",
        Path::new(FILE),
    )
    .unwrap();
    assert_eq!(c.global.udp_ports, [5060, 5080]);
    assert_eq!(c.global.lan.len(), 2);
    assert_eq!(c.geo.countries, ["cn", "ru"]);
    // Signatures may contain spaces, so they are never split.
    let c = ok("config scanners\n\toption builtin 0\n\toption signature 'evil dialer'\n");
    assert_eq!(c.scanners.signatures, ["evil dialer"]);
}

#[cfg(not(feature = "toml"))]
#[test]
fn router_builds_without_toml_say_so() {
    let e = config::parse_toml("[sipwall]\n", Path::new("/etc/sipwall/sipwall.toml")).unwrap_err();
    assert!(e.to_string().contains("built without TOML support"), "{e}");
    assert!(e.to_string().contains("/etc/config/sipwall"), "{e}");
}
