#!/usr/bin/env python3
"""Open every package that scripts/build-packages.sh produced and check what opkg and a router
would see: archive layout, control fields, conffiles, maintainer scripts, file modes and owners,
and that the binary inside is a static, stripped ELF for the right CPU and byte order.

The expectations come from openwrt/sipwall/Makefile (version, depends per backend, conffiles,
scripts) and from the OpenWrt arch table below, not from the packaging code under test.

Usage: check_packages.py REPO PACKAGES_DIR ARCH...   (prints one line per check; exit 1 on failure)
"""

import gzip
import io
import os
import re
import subprocess
import sys
import tarfile

# OpenWrt arch -> (ELF class, byte order, readelf machine, extra readelf -A needles)
ARCHES = {
    "mips_24kc": ("ELF32", "big endian", "MIPS R3000", ["FP ABI: Soft float", "ISA: MIPS32r2"]),
    "mipsel_24kc": ("ELF32", "little endian", "MIPS R3000", ["FP ABI: Soft float", "ISA: MIPS32r2"]),
    "arm_cortex-a7_neon-vfpv4": ("ELF32", "little endian", "ARM", ["Tag_ABI_VFP_args: VFP registers", "Tag_CPU_arch: v7"]),
    "aarch64_cortex-a53": ("ELF64", "little endian", "AArch64", []),
    "x86_64": ("ELF64", "little endian", "Advanced Micro Devices X86-64", []),
}
QEMU = {"mips_24kc": "qemu-mips-static", "mipsel_24kc": "qemu-mipsel-static",
        "arm_cortex-a7_neon-vfpv4": "qemu-arm-static", "aarch64_cortex-a53": "qemu-aarch64-static",
        "x86_64": "qemu-x86_64-static"}
# apk-package(5): number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}
APK_VERSION = re.compile(r"^\d+(\.\d+)*[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*(~[0-9a-f]+)?-r\d+$")

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")


def makefile(repo):
    text = open(os.path.join(repo, "openwrt/sipwall/Makefile"), encoding="utf-8").read()
    var = dict(re.findall(r"^(PKG_\w+):=(.*)$", text, re.M))
    blocks = dict(re.findall(r"^define (\S+)\n(.*?)^endef$", text, re.M | re.S))
    deps = {}
    for name in ("sipwall", "sipwall-fw3"):
        m = re.search(r"DEPENDS:=(.*)", blocks[f"Package/{name}"])
        deps[name] = [d[1:] for d in m.group(1).split() if d.startswith("+")]
    conffiles = blocks["Package/sipwall/conffiles"].split()
    return var, blocks, deps, conffiles


def members(tar_bytes):
    """name -> (TarInfo, bytes|None). Names as ipkg-build writes them: './x', './dir/', './'
    (Python's tarfile drops the trailing slash of directories and turns './' into '.')."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:*") as t:
        for m in t.getmembers():
            name = "./" if m.name in (".", "./") else m.name + ("/" if m.isdir() else "")
            out[name] = (m, t.extractfile(m).read() if m.isfile() else None)
    return out


def control_fields(text):
    fields, key = {}, None
    for ln in text.splitlines():
        if ln.startswith(" ") and key:
            fields[key] += "\n" + ln
        else:
            key, _, val = ln.partition(":")
            fields[key] = val.strip()
    return fields


def check_binary(arch, path, data, version):
    cls, order, machine, attrs = ARCHES[arch]
    tmp = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sipwall-pkgcheck-{os.getpid()}-{arch}")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o755)
    try:
        hdr = subprocess.run(["readelf", "-h", tmp], capture_output=True, text=True).stdout
        check(f"Class:                             {cls}" in hdr, f"{arch} {path}: {cls}")
        check(order in hdr, f"{arch} {path}: {order}")
        check(re.search(rf"Machine:\s+{re.escape(machine)}", hdr) is not None, f"{arch} {path}: machine {machine}")
        prog = subprocess.run(["readelf", "-lW", tmp], capture_output=True, text=True).stdout
        check("INTERP" not in prog and "DYNAMIC" not in prog, f"{arch} {path}: static (no interpreter, no dynamic section)")
        secs = subprocess.run(["readelf", "-SW", tmp], capture_output=True, text=True).stdout
        check(".symtab" not in secs and ".debug_info" not in secs, f"{arch} {path}: stripped")
        if attrs:
            a = subprocess.run(["readelf", "-A", tmp], capture_output=True, text=True).stdout
            for needle in attrs:
                check(needle in a, f"{arch} {path}: readelf -A says '{needle}'")
        desc = subprocess.run(["file", "-b", tmp], capture_output=True, text=True).stdout.strip()
        print(f"     file: {desc}")
        check(("MSB" if order == "big endian" else "LSB") in desc and "statically linked" in desc,
              f"{arch} {path}: file(1) agrees ({'MSB' if order == 'big endian' else 'LSB'}, static)")
        try:
            run = subprocess.run([QEMU[arch], tmp, "--version"], capture_output=True, text=True, timeout=60)
            check(run.returncode == 0 and version in run.stdout,
                  f"{arch} {path}: runs under {QEMU[arch]}, --version says {version} (got {run.stdout.strip()!r})")
        except FileNotFoundError:
            check(False, f"{arch}: {QEMU[arch]} missing (tests/install/cross.sh)")
    finally:
        os.unlink(tmp)


def check_ipk(repo, arch, path, name, var, blocks, deps, conffiles):
    version = f'{var["PKG_VERSION"]}-r{var["PKG_RELEASE"]}'
    base = os.path.basename(path)
    check(base == f"{name}_{version}_{arch}.ipk", f"{base}: file name is <name>_<version>_<arch>.ipk")
    raw = open(path, "rb").read()
    check(raw[:2] == b"\x1f\x8b", f"{base}: outer file is gzip (opkg-lede has no ar reader)")
    outer = members(gzip.decompress(raw))
    check(set(outer) == {"./", "./debian-binary", "./control.tar.gz", "./data.tar.gz"},
          f"{base}: outer tar holds exactly debian-binary, control.tar.gz, data.tar.gz ({sorted(outer)})")
    check(outer["./debian-binary"][1] == b"2.0\n", f"{base}: debian-binary is '2.0'")
    for m, _ in outer.values():
        check(m.uid == 0 and m.gid == 0, f"{base}: {m.name} owned by 0:0")
    ctl = members(outer["./control.tar.gz"][1])
    data = members(outer["./data.tar.gz"][1])

    f = control_fields(ctl["./control"][1].decode())
    check(f.get("Package") == name, f"{base}: Package: {name}")
    check(f.get("Version") == version, f"{base}: Version: {version} (Makefile PKG_VERSION-rPKG_RELEASE)")
    check(APK_VERSION.match(f.get("Version", "")) is not None, f"{base}: version is valid for apk too")
    check(f.get("Architecture") == arch, f"{base}: Architecture: {arch}")
    got_deps = [d.strip() for d in f.get("Depends", "").split(",") if d.strip()]
    check(got_deps == deps[name], f"{base}: Depends {got_deps} == Makefile {deps[name]}")
    # One of the two can be installed; luci-app-sipwall depends on `sipwall`, which both satisfy.
    if name == "sipwall":
        check(f.get("Conflicts") == "sipwall-fw3", f"{base}: Conflicts: sipwall-fw3")
    else:
        check(f.get("Conflicts") == "sipwall" and f.get("Provides") == "sipwall",
              f"{base}: Provides and Conflicts: sipwall")
    check(f.get("License") == var["PKG_LICENSE"], f"{base}: License: {var['PKG_LICENSE']}")
    check(f.get("Section") == "net", f"{base}: Section: net")
    size = sum(len(d) for m, d in data.values() if d is not None)
    check(f.get("Installed-Size") == str(size), f"{base}: Installed-Size {f.get('Installed-Size')} == payload {size}")
    check("\n " in f.get("Description", "") and "disabled" in f.get("Description", ""),
          f"{base}: Description present, says it ships disabled")

    check(sorted(ctl) == sorted(["./", "./control", "./conffiles", "./postinst", "./prerm",
                                 "./postinst-pkg", "./prerm-pkg"]), f"{base}: control.tar.gz members")
    check(ctl["./conffiles"][1].decode().split() == conffiles, f"{base}: conffiles == Makefile {conffiles}")
    check(b"default_postinst $0 $@" in ctl["./postinst"][1], f"{base}: postinst runs default_postinst")
    check(b"default_prerm $0 $@" in ctl["./prerm"][1], f"{base}: prerm runs default_prerm")
    for s in ("postinst", "prerm"):
        mk = blocks[f"Package/sipwall/{s}"].replace("$$", "$").strip() + "\n"
        check(ctl[f"./{s}-pkg"][1].decode() == mk, f"{base}: {s}-pkg is the Makefile's Package/sipwall/{s}")
        check(ctl[f"./{s}-pkg"][0].mode & 0o111 != 0, f"{base}: {s}-pkg executable")
    check(b"zones cron install" in ctl["./postinst-pkg"][1], f"{base}: postinst adds the zones cron line")
    prerm = ctl["./prerm-pkg"][1].decode()
    check(all(x in prerm for x in ("/etc/init.d/sipwall stop", "sipwall cleanup", "zones cron remove", "PKG_UPGRADE",
                                   "delete firewall.sipwall")),
          f"{base}: prerm stops the daemon, removes leftover rules, the cron line and the firewall include (not on upgrade)")
    for s in ("postinst", "prerm", "postinst-pkg", "prerm-pkg"):
        r = subprocess.run(["sh", "-n"], input=ctl["./" + s][1], capture_output=True)
        check(r.returncode == 0, f"{base}: {s} parses with sh -n")

    want = {"./", "./usr/", "./usr/sbin/", "./usr/sbin/sipwall", "./etc/", "./etc/init.d/",
            "./etc/init.d/sipwall", "./etc/config/", "./etc/config/sipwall", "./etc/uci-defaults/",
            "./etc/uci-defaults/90-sipwall", "./etc/sipwall/", "./usr/share/", "./usr/share/sipwall/",
            "./usr/share/sipwall/firewall.include"}
    check(set(data) == want, f"{base}: data.tar.gz layout {sorted(set(data) ^ want) or 'exact'}")
    for n, (m, d) in data.items():
        if m.uid != 0 or m.gid != 0:
            check(False, f"{base}: {n} owned by 0:0")
    modes = {"./usr/sbin/sipwall": 0o755, "./etc/init.d/sipwall": 0o755, "./etc/config/sipwall": 0o600,
             "./etc/uci-defaults/90-sipwall": 0o755, "./usr/share/sipwall/firewall.include": 0o755}
    for n, mode in modes.items():
        if n in data:
            check(data[n][0].mode == mode, f"{base}: {n} mode {oct(data[n][0].mode)} == {oct(mode)}")
    for c in conffiles:
        if not c.endswith("/"):
            check("." + c in data, f"{base}: conffile {c} is shipped")
    repo_files = {"./etc/init.d/sipwall": "files/etc/init.d/sipwall",
                  "./etc/config/sipwall": os.environ.get("SIPWALL_CONFIG_SRC", "files/etc/config/sipwall"),
                  "./etc/uci-defaults/90-sipwall": "files/etc/uci-defaults/90-sipwall",
                  "./usr/share/sipwall/firewall.include": "files/usr/share/sipwall/firewall.include"}
    for n, src in repo_files.items():
        if n in data:
            check(data[n][1] == open(os.path.join(repo, src), "rb").read(), f"{base}: {n} is the repo's {src}")
    cfg = data.get("./etc/config/sipwall", (None, b""))[1].decode()
    check(re.search(r"option\s+enabled\s+'?0'?", cfg) is not None,
          f"{base}: /etc/config/sipwall ships disabled (option enabled '0')")
    if "./usr/sbin/sipwall" in data:
        return data["./usr/sbin/sipwall"][1]
    return None


def check_apk(apk, arch, path, name, var, deps, conffiles, ipk_binary, work):
    """An .apk (apk v3) read back with apk-tools itself: metadata, payload, OpenWrt's
    /lib/apk/packages files and hook scripts; then installed into an empty root for this arch."""
    import hashlib
    import shutil
    version = f'{var["PKG_VERSION"]}-r{var["PKG_RELEASE"]}'
    base = os.path.basename(path)
    check(base == f"{name}-{version}.apk", f"{base}: file name is <name>-<version>.apk")
    dump = subprocess.run([apk, "adbdump", path], capture_output=True, text=True)
    check(dump.returncode == 0, f"{base}: apk adbdump reads it ({dump.stderr.strip()[:200]})")
    d = dump.stdout
    check(f"\n  name: {name}\n" in d and f"\n  version: {version}\n" in d, f"{base}: name and version")
    check(f"\n  arch: {arch}\n" in d, f"{base}: arch {arch}")
    m = re.search(r"\n  depends: # \d+ items\n((?:    - .*\n)+)", d)
    got = sorted(x.strip()[2:] for x in m.group(1).splitlines()) if m else []
    check(got == sorted(deps[name]), f"{base}: depends {got} == Makefile {sorted(deps[name])}")
    if name == "sipwall-fw3":
        check(f"    - sipwall={version}\n" in d, f"{base}: provides sipwall={version}")
    for hook in ("post-install", "pre-deinstall", "post-upgrade"):
        check(f"\n  {hook}: |" in d or f"\n  {hook}: " in d, f"{base}: {hook} script")
    check("default_postinst" in d and "default_prerm" in d and "zones cron install" in d and "zones cron remove" in d,
          f"{base}: scripts call default_postinst/default_prerm and manage the cron line")
    dest = os.path.join(work, name + "-x")
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    ex = subprocess.run([apk, "extract", "--allow-untrusted", "--destination", dest, path], capture_output=True, text=True)
    check(ex.returncode == 0, f"{base}: apk extract verifies hashes and unpacks it ({ex.stderr.strip()[:200]})")
    listed = open(os.path.join(dest, f"lib/apk/packages/{name}.list")).read().split() if ex.returncode == 0 else []
    want = ["/etc/config/sipwall", "/etc/init.d/sipwall", "/etc/uci-defaults/90-sipwall", "/usr/sbin/sipwall",
            "/usr/share/sipwall/firewall.include"]
    check(listed == want, f"{base}: /lib/apk/packages/{name}.list names the payload ({listed})")
    if ex.returncode == 0:
        cf = open(os.path.join(dest, f"lib/apk/packages/{name}.conffiles")).read().split()
        check(cf == conffiles, f"{base}: .conffiles == Makefile {conffiles}")
        st = open(os.path.join(dest, f"lib/apk/packages/{name}.conffiles_static")).read().split()
        sha = hashlib.sha256(open(os.path.join(dest, "etc/config/sipwall"), "rb").read()).hexdigest()
        check(st == ["/etc/config/sipwall", sha], f"{base}: .conffiles_static has the config's sha256")
        b = open(os.path.join(dest, "usr/sbin/sipwall"), "rb").read()
        check(b == ipk_binary, f"{base}: same /usr/sbin/sipwall as the .ipk")
        check(os.stat(os.path.join(dest, "etc/config/sipwall")).st_mode & 0o777 == 0o600, f"{base}: config mode 0600")
    # Install into an empty root for this arch; the kernel/firewall dependencies are stand-ins.
    repo = os.path.join(work, name + "-deps")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    stubs = []
    for dep in deps[name]:
        empty = os.path.join(repo, "empty")
        os.makedirs(empty, exist_ok=True)
        out = os.path.join(repo, f"{dep}-1.0-r0.apk")
        subprocess.run([apk, "mkpkg", "--info", f"name:{dep}", "--info", "version:1.0-r0", "--info", f"arch:{arch}",
                        "--info", "description:stand-in", "--files", empty, "--output", out], check=True, capture_output=True)
        stubs.append(out)
    root = os.path.join(work, name + "-root")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, "etc/apk"))
    open(os.path.join(root, "etc/apk/arch"), "w").write(arch + "\n")
    add = subprocess.run([apk, "add", "--root", root, "--initdb", "--allow-untrusted", "--no-network", "--no-scripts",
                          "--no-cache", path] + stubs, capture_output=True, text=True)
    check(add.returncode == 0, f"{base}: apk add installs it into an empty {arch} root ({(add.stderr or add.stdout).strip().splitlines()[-1][:160] if (add.stderr or add.stdout).strip() else ''})")
    if add.returncode == 0:
        check(os.path.isfile(os.path.join(root, "usr/sbin/sipwall")) and os.path.isfile(os.path.join(root, "etc/init.d/sipwall")),
              f"{base}: installed /usr/sbin/sipwall and /etc/init.d/sipwall")
    other = os.path.join(root, "etc/apk/arch")
    wrong = "x86_64" if arch != "x86_64" else "mips_24kc"
    root2 = root + "-wrongarch"
    shutil.rmtree(root2, ignore_errors=True)
    os.makedirs(os.path.join(root2, "etc/apk"))
    open(os.path.join(root2, "etc/apk/arch"), "w").write(wrong + "\n")
    bad = subprocess.run([apk, "add", "--root", root2, "--initdb", "--allow-untrusted", "--no-network", "--no-scripts",
                          "--no-cache", path] + stubs, capture_output=True, text=True)
    check(bad.returncode != 0, f"{base}: apk refuses it on a {wrong} root")


def main():
    repo, pkgdir, arches = sys.argv[1], sys.argv[2], sys.argv[3:]
    var, blocks, deps, conffiles = makefile(repo)
    version = var["PKG_VERSION"]
    for arch in arches:
        d = os.path.join(pkgdir, arch)
        ipks = sorted(p for p in os.listdir(d) if p.endswith(".ipk")) if os.path.isdir(d) else []
        check(len(ipks) == 2, f"{arch}: two .ipk (sipwall, sipwall-fw3): {ipks}")
        binary = None
        for name in ("sipwall", "sipwall-fw3"):
            p = os.path.join(d, f"{name}_{version}-r{var['PKG_RELEASE']}_{arch}.ipk")
            if not os.path.exists(p):
                check(False, f"{arch}: {p} exists")
                continue
            b = check_ipk(repo, arch, p, name, var, blocks, deps, conffiles)
            if binary is not None:
                check(b == binary, f"{arch}: both packages carry the same binary")
            binary = b
        apk = os.environ.get("SIPWALL_APK")
        if apk:
            import tempfile
            with tempfile.TemporaryDirectory() as work:
                for name in ("sipwall", "sipwall-fw3"):
                    p = os.path.join(d, f"{name}-{version}-r{var['PKG_RELEASE']}.apk")
                    if os.path.exists(p):
                        check_apk(apk, arch, p, name, var, deps, conffiles, binary, work)
                    else:
                        check(False, f"{arch}: {p} exists")
        else:
            print(f"NOTE {arch}: no apk-tools 3 (SIPWALL_APK): .apk not built or checked")
        if binary:
            check_binary(arch, "/usr/sbin/sipwall", binary, version)
            print(f"     {arch}: binary {len(binary)} bytes; packages " +
                  ", ".join(f"{p} {os.path.getsize(os.path.join(d, p))} bytes" for p in sorted(os.listdir(d))))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
