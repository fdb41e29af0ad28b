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
    check(all(x in prerm for x in ("/etc/init.d/sipwall stop", "sipwall cleanup", "zones cron remove", "PKG_UPGRADE")),
          f"{base}: prerm stops the daemon, removes leftover rules and the cron line (not on upgrade)")
    for s in ("postinst", "prerm", "postinst-pkg", "prerm-pkg"):
        r = subprocess.run(["sh", "-n"], input=ctl["./" + s][1], capture_output=True)
        check(r.returncode == 0, f"{base}: {s} parses with sh -n")

    want = {"./", "./usr/", "./usr/sbin/", "./usr/sbin/sipwall", "./etc/", "./etc/init.d/",
            "./etc/init.d/sipwall", "./etc/config/", "./etc/config/sipwall", "./etc/uci-defaults/",
            "./etc/uci-defaults/90-sipwall", "./etc/sipwall/"}
    check(set(data) == want, f"{base}: data.tar.gz layout {sorted(set(data) ^ want) or 'exact'}")
    for n, (m, d) in data.items():
        if m.uid != 0 or m.gid != 0:
            check(False, f"{base}: {n} owned by 0:0")
    modes = {"./usr/sbin/sipwall": 0o755, "./etc/init.d/sipwall": 0o755, "./etc/config/sipwall": 0o600,
             "./etc/uci-defaults/90-sipwall": 0o755}
    for n, mode in modes.items():
        if n in data:
            check(data[n][0].mode == mode, f"{base}: {n} mode {oct(data[n][0].mode)} == {oct(mode)}")
    for c in conffiles:
        if not c.endswith("/"):
            check("." + c in data, f"{base}: conffile {c} is shipped")
    repo_files = {"./etc/init.d/sipwall": "files/etc/init.d/sipwall",
                  "./etc/config/sipwall": os.environ.get("SIPWALL_CONFIG_SRC", "files/etc/config/sipwall"),
                  "./etc/uci-defaults/90-sipwall": "files/etc/uci-defaults/90-sipwall"}
    for n, src in repo_files.items():
        if n in data:
            check(data[n][1] == open(os.path.join(repo, src), "rb").read(), f"{base}: {n} is the repo's {src}")
    cfg = data.get("./etc/config/sipwall", (None, b""))[1].decode()
    check(re.search(r"option\s+enabled\s+'?0'?", cfg) is not None,
          f"{base}: /etc/config/sipwall ships disabled (option enabled '0')")
    if "./usr/sbin/sipwall" in data:
        return data["./usr/sbin/sipwall"][1]
    return None


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
        if binary:
            check_binary(arch, "/usr/sbin/sipwall", binary, version)
            print(f"     {arch}: binary {len(binary)} bytes; packages " +
                  ", ".join(f"{p} {os.path.getsize(os.path.join(d, p))} bytes" for p in sorted(os.listdir(d))))
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
