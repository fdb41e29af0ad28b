//! Running the firewall tools (`nft`, `iptables-restore`, `ipset`,
//! `conntrack`), optionally inside a named network namespace.
//!
//! The namespace prefix exists for tests and the demo, which drive a router
//! namespace from outside; on a real router it is empty. Input goes in on
//! stdin from a thread so a tool that prints a lot of errors while reading a
//! large script (a 25k-prefix geo load) can never deadlock us.

use std::io::Write;
use std::process::{Command, Stdio};

use super::FwError;

#[derive(Clone, Debug, Default)]
pub struct Tools {
    netns: Option<String>,
}

impl Tools {
    /// Tools of this system, in our own network namespace.
    pub fn host() -> Tools {
        Tools { netns: None }
    }

    /// Tools run as `ip netns exec NAME ...`.
    pub fn in_netns(name: &str) -> Tools {
        Tools {
            netns: Some(name.to_string()),
        }
    }

    /// The namespace the tools run in, if not our own.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    pub fn command(&self, prog: &str) -> Command {
        match &self.netns {
            None => Command::new(prog),
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, prog]);
                c
            }
        }
    }

    /// Runs `prog args`, feeding `input`; returns stdout, or the tool's own
    /// words when it exits non-zero.
    pub fn run(
        &self,
        prog: &str,
        args: &[&str],
        input: Option<&[u8]>,
        action: &str,
    ) -> Result<String, FwError> {
        let mut cmd = self.command(prog);
        cmd.args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| spawn_error(prog, e))?;
        let writer = match (input, child.stdin.take()) {
            (Some(bytes), Some(mut stdin)) => {
                let bytes = bytes.to_vec();
                Some(std::thread::spawn(move || stdin.write_all(&bytes)))
            }
            _ => None,
        };
        let out = child.wait_with_output().map_err(|err| FwError::Io {
            tool: prog.to_string(),
            err,
        })?;
        if let Some(w) = writer {
            // A write error (EPIPE) only means the tool stopped reading; its
            // exit status and stderr say why.
            let _ = w.join();
        }
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let mut detail = String::from_utf8_lossy(&out.stderr).into_owned();
            if detail.trim().is_empty() {
                detail = format!("exit status {}", out.status);
            }
            Err(FwError::Failed {
                tool: prog.to_string(),
                action: action.to_string(),
                detail: shorten(&detail),
            })
        }
    }
}

pub fn spawn_error(prog: &str, e: std::io::Error) -> FwError {
    if e.kind() == std::io::ErrorKind::NotFound {
        FwError::Missing {
            tool: prog.to_string(),
            hint: hint(prog),
        }
    } else {
        FwError::Io {
            tool: prog.to_string(),
            err: e,
        }
    }
}

fn hint(prog: &str) -> &'static str {
    match prog {
        "nft" => "install nftables (OpenWrt: nftables, kmod-nft-queue)",
        "ipset" => "install ipset (OpenWrt: ipset, kmod-ipt-ipset)",
        "conntrack" => "install conntrack-tools (OpenWrt: conntrack)",
        "ip" => "install iproute2",
        _ => "install iptables (OpenWrt: iptables, iptables-mod-nfqueue)",
    }
}

/// Keeps error messages to a screenful: a 34k-line geo script that fails
/// would otherwise flood the log.
fn shorten(s: &str) -> String {
    const MAX_LINES: usize = 12;
    let lines: Vec<&str> = s.lines().collect();
    if lines.len() <= MAX_LINES {
        return s.to_string();
    }
    let mut out = lines[..MAX_LINES].join("\n");
    out.push_str(&format!("\n... ({} more lines)", lines.len() - MAX_LINES));
    out
}
