//! sipwall's life in the kernel: fail-closed when killed, bans back after a
//! restart, nothing left behind after SIGTERM. Real `sipwall run` in the
//! router namespace of the test bed; needs root and tests/install/bed.sh
//! (otherwise SKIP, or a failure under SIPWALL_STRICT=1).

#[path = "bed/mod.rs"]
mod bed;

use std::time::Duration;

use bed::{Bed, Setup, ATTACKER, STRANGER};

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

#[test]
fn kill_9_under_traffic_fails_closed_and_bans_come_back_after_restart() {
    let Some(mut bed) = Bed::up("k9", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    assert!(!bed.attack("svmap", &[]), "svmap found the PBX");
    assert!(
        bed.wait_for(2, || bed.is_banned(ATTACKER)),
        "the scanner was not banned"
    );
    // Traffic: strangers (no door, not allowlisted) ask the PBX 50 times a
    // second, each request a new UDP flow (fresh source port), so every one
    // needs inspection; the domain is right, so a live sipwall lets them in.
    let dst = format!("{}:5060", bed::ROUTER);
    let mut traffic = bed.netgen_bg(&[
        "spoof",
        "--dst",
        &dst,
        "--base",
        STRANGER,
        "--sources",
        "10",
        "--vary-port",
        "--ruri",
        bed::DOMAIN,
        "--rate",
        "50",
        "--count",
        "1000",
        "--max-secs",
        "20",
    ]);
    assert!(
        bed.wait_for(5, || bed.count("stranger") >= 10),
        "the stranger's registrations did not reach the PBX while sipwall ran"
    );
    bed.signal_sipwall("KILL");
    sleep_ms(200);
    bed.count_reset();
    sleep_ms(2000);
    let leaked = bed.count("stranger");
    bed.start_sipwall();
    let after_restart = bed.wait_for(5, || bed.count("stranger") >= 5);
    let banned_again = bed.is_banned(ATTACKER);
    let _ = traffic.kill();
    let _ = traffic.wait();
    assert_eq!(
        leaked, 0,
        "fail-closed: SIP requests reached the PBX while sipwall was dead"
    );
    assert!(
        after_restart,
        "traffic did not flow again after sipwall restarted"
    );
    assert!(
        banned_again,
        "the ban of {ATTACKER} did not survive kill -9 and restart:\n{}",
        bed.ctl(&["bans"]).1
    );
    bed.count_reset();
    assert!(
        !bed.attack("svmap", &[]),
        "svmap found the PBX after the restart"
    );
    assert_eq!(
        bed.count("attacker"),
        0,
        "the banned scanner reached the PBX after the restart"
    );
}

#[test]
fn sigterm_leaves_nothing_behind() {
    let Some(mut bed) = Bed::up("term", Setup::default()) else {
        return;
    };
    let before = bed.netfilter_state();
    bed.start_sipwall();
    let during = bed.netfilter_state();
    assert_ne!(
        before, during,
        "sipwall run installed nothing in the kernel"
    );
    // Give it state to clean: a door (phone), a ban (scanner), conntrack marks.
    assert!(bed.phone(&[]), "the phone did not register");
    assert!(!bed.attack("svmap", &[]), "svmap found the PBX");
    bed.signal_sipwall("TERM");
    let after = bed.netfilter_state();
    assert_eq!(
        before, after,
        "after SIGTERM the router's netfilter state differs from before sipwall started"
    );
    // And the PBX is reachable again without sipwall: the port forward is
    // the router's own, untouched.
    assert!(
        bed.phone(&[]),
        "the phone could not register after sipwall stopped"
    );
}

#[test]
fn sighup_applies_a_new_knock_and_a_bad_config_keeps_the_running_policy() {
    let Some(mut bed) = Bed::up("hup", Setup::default()) else {
        return;
    };
    bed.start_sipwall();
    let new_knock = "Lantern-42-knock";
    let knocked = |bed: &Bed, from: &str, user: &str, pass: &str| {
        bed.phone(&[
            "--from",
            from,
            "--user",
            user,
            "--pass",
            pass,
            "--ruri",
            bed::ROUTER,
            "--knock",
            new_knock,
            "--timeout",
            "4",
        ])
    };
    assert!(
        !knocked(&bed, bed::PHONE, "1001", "secret"),
        "a knock sipwall was not told about opened the door"
    );
    bed.setup.knock = new_knock.to_string();
    bed.rewrite_config();
    bed.signal_sipwall("HUP");
    sleep_ms(1000);
    assert!(
        bed.sipwall_running(),
        "sipwall exited on SIGHUP with a valid config"
    );
    assert!(
        knocked(&bed, bed::PHONE, "1001", "secret"),
        "the knock added by SIGHUP did not open the door"
    );
    // A broken file: sipwall keeps running with the policy it has.
    let before = bed.sipwall_log().len();
    std::fs::write(&bed.config, "[sipwall]\nenabled = perhaps\n").expect("write config");
    bed.signal_sipwall("HUP");
    sleep_ms(1000);
    assert!(
        bed.sipwall_running(),
        "a bad config on SIGHUP stopped sipwall"
    );
    assert!(
        knocked(&bed, bed::OFFICE, "1004", "office-pw"),
        "after a bad config on SIGHUP the running policy (new knock) was lost"
    );
    let said = bed
        .sipwall_log()
        .get(before..)
        .unwrap_or_default()
        .to_string();
    assert!(
        said.contains("sipwall.toml"),
        "on a bad config sipwall did not say which file was wrong; it said:\n{said}"
    );
}

#[test]
fn fail_open_lets_sip_through_while_sipwall_is_dead() {
    let setup = Setup {
        fail_open: true,
        ..Setup::default()
    };
    let Some(mut bed) = Bed::up("fopn", setup) else {
        return;
    };
    bed.start_sipwall();
    bed.signal_sipwall("KILL");
    bed.count_reset();
    let dst = format!("{}:5060", bed::ROUTER);
    bed.netgen(&[
        "spoof",
        "--dst",
        &dst,
        "--base",
        STRANGER,
        "--sources",
        "10",
        "--vary-port",
        "--ruri",
        bed::DOMAIN,
        "--rate",
        "100",
        "--count",
        "100",
    ]);
    sleep_ms(300);
    assert!(
        bed.count("stranger") >= 90,
        "fail-open: requests did not pass while sipwall was dead (the admin chose fail_open = true)"
    );
}
