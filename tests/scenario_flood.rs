//! Under attack (forged sources, floods): the phones keep working and
//! forged evidence cannot turn sipwall against the people it protects.
//! Real `sipwall run` in the bed's router; a raw-socket generator
//! (benches/net) forges source addresses inside the WAN namespace.
//! Needs root and tests/install/bed.sh; otherwise SKIP (a failure under
//! SIPWALL_STRICT=1).

#[path = "bed/mod.rs"]
mod bed;

use bed::{Bed, Setup, DOMAIN, OFFICE, PHONE, ROUTER};

#[test]
fn forged_scanners_and_failures_cannot_ban_a_phone_the_allowlist_or_the_lan() {
    let setup = Setup {
        allow: vec![format!("{OFFICE}/32")],
        ..Setup::default()
    };
    let Some(mut bed) = Bed::up("forg", setup) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        bed.phone(&[]),
        "the phone did not register before the forgeries"
    );
    let dst = format!("{ROUTER}:5060");
    for victim in [PHONE, OFFICE, "192.168.50.77"] {
        // A scanner's User-Agent, then forged failed logins, "from" the victim.
        bed.netgen(&[
            "spoof",
            "--dst",
            &dst,
            "--base",
            victim,
            "--sources",
            "1",
            "--count",
            "20",
            "--ua",
            "friendly-scanner",
        ]);
        bed.netgen(&[
            "spoof",
            "--dst",
            &dst,
            "--base",
            victim,
            "--sources",
            "1",
            "--count",
            "20",
            "--ruri",
            DOMAIN,
            "--auth",
            "--rate",
            "50",
        ]);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    for victim in [PHONE, OFFICE, "192.168.50.77"] {
        assert!(
            !bed.is_banned(victim),
            "forged packets got {victim} banned:\n{}",
            bed.ctl(&["bans"]).1
        );
    }
    assert!(
        bed.phone(&[]),
        "the registered phone lost service after forged packets in its name"
    );
    assert!(
        bed.phone(&[
            "--from",
            OFFICE,
            "--user",
            "1004",
            "--pass",
            "office-pw",
            "--ruri",
            ROUTER
        ]),
        "the allowlisted office lost service after forged packets in its name"
    );
}

#[test]
fn flood_from_many_forged_sources_fails_closed_and_the_phone_keeps_registering() {
    let Some(mut bed) = Bed::up("fld", Setup::default()) else {
        return;
    };
    let (ok, out) = bed.exec(
        "rtr",
        &[
            "sysctl",
            "-qw",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.r-wan.rp_filter=0",
        ],
    );
    assert!(ok, "{out}");
    bed.start_sipwall();
    assert!(
        bed.phone(&[]),
        "the phone did not register before the flood"
    );
    bed.count_reset();
    // Requests to the router's IP from 50,000 forged sources, as fast as
    // the generator goes, for at most 8 s; none may pass: inspected ones
    // fail the domain gate, and overload must drop, not wave through.
    let dst = format!("{ROUTER}:5060");
    let flood = std::thread::spawn({
        let name = bed.name.clone();
        let run = bed.run.clone();
        let gen = bed::netgen();
        move || {
            std::process::Command::new("ip")
                .args(["netns", "exec", &format!("{name}-wan")])
                .arg(gen)
                .args([
                    "spoof",
                    "--dst",
                    &dst,
                    "--base",
                    "198.18.0.0",
                    "--sources",
                    "50000",
                    "--count",
                    "400000",
                    "--max-secs",
                    "8",
                ])
                .env("BED_RUN", run)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let during = bed.phone(&["--count", "5", "--rate", "2", "--timeout", "15"]);
    let sent = flood.join().unwrap_or_default();
    eprintln!("[{}] flood: {}", bed.name, sent.trim());
    let (_, status) = bed.ctl(&["status"]);
    eprintln!("[{}] status after the flood:\n{status}", bed.name);
    assert_eq!(
        bed.count("spoofed"),
        0,
        "forged requests to sip:{ROUTER} reached the PBX during the flood"
    );
    assert!(
        during,
        "the registered phone could not re-register during the flood"
    );
    assert!(bed.sipwall_running(), "sipwall died under the flood");
}
