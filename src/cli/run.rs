//! `sipwall run`: the filter itself, in the foreground (procd and systemd
//! supervise it; there is no self-daemonising fork).

use super::Args;
use crate::daemon::{self, RunOptions};

pub const HELP: &str = "\
sipwall run — run the filter (NFQUEUE + kernel sets) until SIGTERM

USAGE:
    sipwall run [--config PATH] [--log-stderr] [--foreground]

OPTIONS:
    --config PATH    configuration file (UCI or TOML)
    --log-stderr     log to stderr instead of syslog (tests, debugging)
    --foreground     accepted for compatibility: sipwall always runs in the foreground

SIGNALS:
    SIGTERM, SIGINT  remove every rule and set sipwall installed, save bans, exit 0
    SIGHUP           reload the configuration (a bad file keeps the running one)
";

pub fn main(mut args: Args) -> Result<(), String> {
    if args.flag("help") {
        print!("{HELP}");
        return Ok(());
    }
    let config = args.value("config")?.map(Into::into);
    let log_stderr = args.flag("log-stderr");
    let _ = args.flag("foreground");
    args.finish()?;
    daemon::run(RunOptions { config, log_stderr })
}
