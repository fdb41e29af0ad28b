//! Host mode: sipwall on the PBX host itself (input path). The bed's PBX
//! then owns the public address 198.51.100.1 and sipwall runs beside it.
//! Needs root and tests/install/bed.sh; otherwise SKIP (a failure under
//! SIPWALL_STRICT=1).

#[path = "bed/mod.rs"]
mod bed;

use bed::{Bed, Setup, ATTACKER, DOMAIN, KNOCK, ROUTER};

#[test]
fn on_the_pbx_host_phones_get_in_and_scanners_are_banned() {
    let setup = Setup {
        mode_host: true,
        ..Setup::default()
    };
    let Some(mut bed) = Bed::up("host", setup) else {
        return;
    };
    bed.start_sipwall();
    assert!(
        bed.phone(&["--proto", "udp"]),
        "UDP REGISTER via the secret domain failed on the host"
    );
    assert!(
        bed.phone(&[
            "--proto", "tcp", "--ruri", ROUTER, "--knock", KNOCK, "--user", "1002", "--pass",
            "hunter2"
        ]),
        "TCP REGISTER with the knock failed on the host"
    );
    assert!(!bed.attack("svmap", &[]), "svmap found the PBX host");
    assert!(
        bed.wait_for(2, || bed.is_banned(ATTACKER)),
        "svmap was not banned on the host"
    );
    assert!(
        !bed.attack("svcrack", &["--domain", DOMAIN]),
        "svcrack cracked a password on the host"
    );
    assert_eq!(
        bed.count("attacker"),
        0,
        "the scanner's packets reached Kamailio on the host"
    );
}
