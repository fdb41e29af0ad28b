//! The command line: `sipwall <command> [options]`.
//!
//! Each command lives in its own file and gets the remaining arguments; this
//! file only dispatches and prints the top-level help. Hand-rolled parsing
//! keeps the router binary small (no argument-parsing crate).

mod args;
mod check_config;
mod cleanup;
pub mod control;
mod replay;
pub mod run;
mod zones;

pub use args::Args;

const HELP: &str = "\
sipwall — per-IP firewall for a SIP PBX (Asterisk, FreePBX) behind OpenWrt or on a Linux host

USAGE:
    sipwall <COMMAND> [OPTIONS]

COMMANDS:
    run                 run the filter (NFQUEUE + kernel sets) in the foreground
    check-config        validate the configuration and print the effective policy
    replay PCAP...      run the policy over recorded packets and print each verdict
    status [--json]     show the running daemon: bans, doors, counters, zones
    bans                list banned sources
    doors               list open doors
    ban IP [--for DUR]  ban a source (default: until unbanned)
    unban IP            release a banned source
    zones refresh       download country zones and load them into the kernel
    zones status|load|cron   stored zones, boot load, the refresh cron line
    cleanup             remove sipwall's kernel rules when no daemon is running
    help                print this help

Common options:
    --config PATH       configuration file (default: /etc/config/sipwall if present,
                        else /etc/sipwall/sipwall.toml); UCI or TOML by content

Run `sipwall <COMMAND> --help` for a command's own options.
";

/// Entry point of the binary; returns the process exit code.
pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let mut args = Args::new(args);
    // `--version` is an option, so the positional reader skips it; OpenWrt's package CI runs it.
    if args.flag("version") {
        println!("sipwall {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let cmd = match args.next_positional() {
        Some(c) => c,
        None => {
            eprint!("{HELP}");
            return 2;
        }
    };
    let result = match cmd.as_str() {
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        "run" => run::main(args),
        "status" | "bans" | "doors" | "ban" | "unban" => control::main(&cmd, args),
        "--version" | "-V" => {
            println!("sipwall {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "check-config" => check_config::run(args),
        "cleanup" => cleanup::run(args),
        "zones" => zones::run(args),
        "replay" => replay::run(args),
        other => Err(format!(
            "unknown command '{other}'; run `sipwall help` to see the commands"
        )),
    };
    match result {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("sipwall: {msg}");
            1
        }
    }
}
