//! `sipwall zones cron install|remove` on a temporary crontab, through the
//! real binary as the package's postinst/prerm call it.

mod zones_support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use zones_support::{temp_dir, Cleanup};

fn sipwall(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sipwall"))
        .args(args)
        .output()
        .expect("run sipwall");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn write_config(dir: &Path, schedule: &str) -> String {
    let p = dir.join("sipwall.toml");
    fs::write(
        &p,
        format!(
            "[sipwall]\nstate_dir = \"{}\"\n\n[geo]\nenabled = true\ncountry = [\"xa\"]\nschedule = \"{schedule}\"\n",
            dir.join("state").display()
        ),
    )
    .unwrap();
    p.to_string_lossy().into_owned()
}

fn ours(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.ends_with("# sipwall-zones"))
        .collect()
}

#[test]
fn install_is_idempotent_keeps_admin_lines_and_replaces_by_rename() {
    let dir = temp_dir("cron");
    let _c = Cleanup(dir.clone());
    let cfg = write_config(&dir, "@random 4 * * *");
    let tab = dir.join("crontabs").join("root");
    fs::create_dir_all(tab.parent().unwrap()).unwrap();
    let admin = "0 3 * * * /etc/init.d/banip reload\n*/5 * * * * /usr/bin/something\n";
    fs::write(&tab, admin).unwrap();
    let tab_s = tab.to_string_lossy().into_owned();

    let (ok, out) = sipwall(&[
        "zones",
        "cron",
        "install",
        "--crontab",
        &tab_s,
        "--config",
        &cfg,
    ]);
    assert!(ok, "{out}");
    let text = fs::read_to_string(&tab).unwrap();
    assert!(
        text.starts_with(admin),
        "admin lines lost or reordered:\n{text}"
    );
    let line = ours(&text);
    assert_eq!(line.len(), 1, "{text}");
    let fields: Vec<&str> = line[0].split_whitespace().collect();
    let minute: u32 = fields[0].parse().expect("a concrete minute, not @random");
    assert!(minute < 60);
    assert_eq!(&fields[1..5], &["4", "*", "*", "*"]);
    assert!(line[0].contains("zones refresh --config"), "{}", line[0]);
    assert!(line[0].contains(&cfg), "{}", line[0]);

    // Again: nothing changes, not even the inode or the random minute.
    let inode = fs::metadata(&tab).unwrap().ino();
    let (ok, out) = sipwall(&[
        "zones",
        "cron",
        "install",
        "--crontab",
        &tab_s,
        "--config",
        &cfg,
    ]);
    assert!(ok && out.contains("already"), "{out}");
    assert_eq!(fs::read_to_string(&tab).unwrap(), text);
    assert_eq!(fs::metadata(&tab).unwrap().ino(), inode);

    // A new schedule replaces the line (same random minute) by rename: BusyBox
    // crond notices a new directory mtime, not an in-place append.
    let cfg = write_config(&dir, "@random 5 * * 1");
    let (ok, out) = sipwall(&[
        "zones",
        "cron",
        "install",
        "--crontab",
        &tab_s,
        "--config",
        &cfg,
    ]);
    assert!(ok, "{out}");
    let text2 = fs::read_to_string(&tab).unwrap();
    let line2 = ours(&text2);
    assert_eq!(line2.len(), 1, "{text2}");
    assert!(
        line2[0].starts_with(&format!("{minute} 5 * * 1 ")),
        "{}",
        line2[0]
    );
    assert_ne!(
        fs::metadata(&tab).unwrap().ino(),
        inode,
        "crontab was edited in place"
    );
    assert!(text2.starts_with(admin));

    // Remove: only our line goes.
    let (ok, out) = sipwall(&["zones", "cron", "remove", "--crontab", &tab_s]);
    assert!(ok, "{out}");
    assert_eq!(fs::read_to_string(&tab).unwrap(), admin);
    let (ok, out) = sipwall(&["zones", "cron", "remove", "--crontab", &tab_s]);
    assert!(ok && out.contains("already"), "{out}");
}

#[test]
fn first_crontab_is_created_and_cron_d_gets_a_user_field() {
    let dir = temp_dir("cron-new");
    let _c = Cleanup(dir.clone());
    let cfg = write_config(&dir, "30 */6 * * *");
    let tab = dir.join("crontabs").join("root");
    let (ok, out) = sipwall(&[
        "zones",
        "cron",
        "install",
        "--crontab",
        &tab.to_string_lossy(),
        "--config",
        &cfg,
    ]);
    assert!(ok, "{out}");
    let text = fs::read_to_string(&tab).unwrap();
    assert!(text.starts_with("30 */6 * * * /"), "{text}");

    let crond = dir.join("cron.d").join("sipwall");
    let (ok, out) = sipwall(&[
        "zones",
        "cron",
        "install",
        "--crontab",
        &crond.to_string_lossy(),
        "--config",
        &cfg,
    ]);
    assert!(ok, "{out}");
    let text = fs::read_to_string(&crond).unwrap();
    assert!(text.starts_with("30 */6 * * * root /"), "{text}");
}

#[test]
fn status_and_load_speak_plainly_without_zones() {
    let dir = temp_dir("cron-status");
    let _c = Cleanup(dir.clone());
    let cfg = write_config(&dir, "@random 4 * * *");
    let (ok, out) = sipwall(&["zones", "status", "--config", &cfg]);
    assert!(ok, "{out}");
    assert!(
        out.contains("xa v4: none stored") && out.contains("xa v6: none stored"),
        "{out}"
    );
    let (ok, out) = sipwall(&["zones", "status", "--json", "--config", &cfg]);
    assert!(ok, "{out}");
    let v = sipwall::json::parse(&out).expect("status --json is JSON");
    let arr = v.as_array().expect("an array");
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0].get("country").and_then(|c| c.as_str()), Some("xa"));
    assert_eq!(arr[0].get("stored").and_then(|c| c.as_bool()), Some(false));
    let (ok, out) = sipwall(&["zones", "frobnicate", "--config", &cfg]);
    assert!(!ok && out.contains("unknown zones subcommand"), "{out}");
}

#[test]
fn install_drops_the_line_while_zones_are_off() {
    let dir = temp_dir("cron-off");
    let _c = Cleanup(dir.clone());
    let cfg = write_config(&dir, "@random 4 * * *");
    let tab = dir.join("crontabs").join("root");
    let tab_s = tab.to_string_lossy().into_owned();
    let (ok, out) = sipwall(&[
        "zones",
        "cron",
        "install",
        "--crontab",
        &tab_s,
        "--config",
        &cfg,
    ]);
    assert!(ok, "{out}");
    assert_eq!(ours(&fs::read_to_string(&tab).unwrap()).len(), 1);
    // The admin turns zones off: the next install (init script start) removes the line.
    let off = dir.join("off.toml");
    fs::write(&off, "[geo]\nenabled = false\n").unwrap();
    let (ok, out) = sipwall(&[
        "zones",
        "cron",
        "install",
        "--crontab",
        &tab_s,
        "--config",
        &off.to_string_lossy(),
    ]);
    assert!(ok && out.contains("zones are off"), "{out}");
    assert!(ours(&fs::read_to_string(&tab).unwrap()).is_empty());
}
