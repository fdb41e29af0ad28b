//! Phones get through: a real SIPp phone registers with the real Kamailio
//! behind the router while the real `sipwall run` filters the port forward.
//! Needs root and tests/install/bed.sh; otherwise prints SKIP (fails under
//! SIPWALL_STRICT=1).

#[path = "bed/mod.rs"]
mod bed;

use bed::{Bed, Setup, DOMAIN, KNOCK, PHONE6, ROUTER, ROUTER6};

#[test]
fn phone_registers_via_the_secret_domain_over_udp_tcp_and_ipv6() {
    let Some(mut bed) = Bed::up("dom", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        bed.phone(&["--proto", "udp", "--ruri", DOMAIN]),
        "UDP REGISTER to sip:{DOMAIN} must get 200 OK through sipwall"
    );
    assert!(
        bed.phone(&["--proto", "tcp", "--ruri", DOMAIN, "--user", "1002", "--pass", "hunter2"]),
        "TCP REGISTER to sip:{DOMAIN} must get 200 OK through sipwall"
    );
    assert!(
        bed.phone(&[
            "--proto",
            "udp",
            "--target",
            ROUTER6,
            "--from",
            PHONE6,
            "--user",
            "1003",
            "--pass",
            "tr0ub4dor"
        ]),
        "IPv6 UDP REGISTER to sip:{DOMAIN} must get 200 OK through sipwall"
    );
    assert!(
        bed.count("phone") > 0,
        "the PBX saw none of the phone's packets"
    );
}

#[test]
fn phone_with_only_a_knock_and_the_router_ip_registers_over_udp_and_tcp() {
    let Some(mut bed) = Bed::up("knk", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    // Control first: the same phone without the knock is turned away (the
    // Request-URI is an IP literal), so the knock is what lets it in.
    assert!(
        !bed.phone(&[
            "--proto",
            "udp",
            "--ruri",
            ROUTER,
            "--knock",
            "Phone 1001",
            "--timeout",
            "4"
        ]),
        "a REGISTER to sip:{ROUTER} without knock must not get through"
    );
    assert_eq!(
        bed.count("phone"),
        0,
        "a request without knock or domain reached the PBX"
    );
    assert!(
        bed.phone(&["--proto", "udp", "--ruri", ROUTER, "--knock", KNOCK]),
        "UDP REGISTER to sip:{ROUTER} with the knock in the display name must get 200 OK"
    );
    assert!(
        bed.phone(&[
            "--proto", "tcp", "--ruri", ROUTER, "--knock", KNOCK, "--user", "1002", "--pass",
            "hunter2"
        ]),
        "TCP REGISTER to sip:{ROUTER} with the knock in the display name must get 200 OK"
    );
}

/// The configs the scenarios run with are valid for this sipwall (runs
/// anywhere, no root): a drift in the config format shows here first, not
/// as a daemon that refuses to start inside a namespace.
#[test]
fn every_scenario_config_passes_check_config() {
    let dir = std::env::temp_dir().join(format!("sipwall-bedcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let setups = [
        Setup::default(),
        Setup {
            scanners: Some(Vec::new()),
            tiers: vec![(3, 3600, 3600)],
            ..Setup::default()
        },
        Setup {
            allow: vec!["198.51.100.20/32".into()],
            ..Setup::default()
        },
        Setup {
            mode_host: true,
            fail_open: true,
            ..Setup::default()
        },
    ];
    for (i, s) in setups.iter().enumerate() {
        let path = dir.join(format!("s{i}.toml"));
        std::fs::write(&path, bed::config_text(s, &dir)).expect("write config");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sipwall"))
            .args(["check-config", "--config"])
            .arg(&path)
            .output()
            .expect("run sipwall check-config");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "scenario config {i} rejected:\n{text}"
        );
        assert!(
            text.contains("valid"),
            "check-config did not say valid for config {i}:\n{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
