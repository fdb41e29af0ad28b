#!/usr/bin/env python3
"""Assemble OpenWrt packages of sipwall from a release binary, without the SDK.

Everything a package says about itself (version, depends per backend, conffiles, maintainer
scripts, description) is read from openwrt/sipwall/Makefile, so the SDK build and this one cannot
drift apart. Files come from files/ laid out exactly as the Makefile's install section lays them.

.ipk is shaped like OpenWrt's own scripts/ipkg-build + include/package-pack.mk, because
opkg-lede only reads that shape: the outer file is a gzip'ed tar (not a Debian `ar`) holding
./debian-binary, ./control.tar.gz and ./data.tar.gz; every tar is GNU format, numeric owner 0/0,
sorted names, one mtime (SOURCE_DATE_EPOCH) and gzip without a name or time, so a rebuild is
byte-identical. The generated postinst/prerm call default_postinst/default_prerm, which enable and
start /etc/init.d/sipwall, run /etc/uci-defaults and then source our postinst-pkg/prerm-pkg.

.apk (apk v3, OpenWrt 25.12+) is written by the real `apk mkpkg` of apk-tools 3 when --apk names
one: the ADB format is tied to apk-tools' C structures, so it is not hand-written here.

Usage: mkpkg.py --repo DIR --arch PKGARCH --bin SIPWALL_ELF --out DIR [--apk APK_TOOLS_3]
"""

import argparse
import gzip
import io
import os
import stat
import subprocess
import sys
import tarfile


def mtime():
    return int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def tar_info(name, mode, size=0, kind=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.mode = mode
    ti.size = size
    ti.type = kind
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.mtime = mtime()
    return ti


def tar_gz(entries):
    """entries: list of (name, mode, bytes|None for a directory); returns .tar.gz bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, mode, data in sorted(entries, key=lambda e: e[0]):
            if data is None:
                tar.addfile(tar_info(name, mode, kind=tarfile.DIRTYPE))
            else:
                tar.addfile(tar_info(name, mode, len(data)), io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def makefile_defs(path):
    """Simple `VAR:=value` assignments and `define NAME ... endef` blocks of an OpenWrt Makefile
    (with `$$` unescaped), plus `NAME=$(OTHER)` aliases resolved."""
    simple, blocks = {}, {}
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("define "):
            name = ln[len("define "):].strip()
            body = []
            i += 1
            while lines[i] != "endef":
                body.append(lines[i])
                i += 1
            blocks[name] = "\n".join(body).replace("$$", "$")
        elif ":=" in ln and not ln.startswith(("\t", "#")):
            k, v = ln.split(":=", 1)
            simple[k.strip()] = v.strip()
        elif "=$(" in ln and not ln.startswith(("\t", "#")) and ln.endswith(")"):
            k, v = ln.split("=", 1)
            if v[2:-1] in blocks:
                blocks[k.strip()] = blocks[v[2:-1]]
        i += 1
    return simple, blocks


def package_fields(block):
    """`  KEY:=value` and `  KEY+= value` lines of a `define Package/x` block."""
    out = {}
    for ln in block.splitlines():
        ln = ln.strip()
        if ln.startswith("$(call "):
            continue
        if "+=" in ln:
            k, v = ln.split("+=", 1)
            out[k.strip()] = out.get(k.strip(), "") + " " + v.strip()
        elif ":=" in ln:
            k, v = ln.split(":=", 1)
            out[k.strip()] = v.strip()
    return out


def packages(repo):
    """[(name, control-dict, scripts-dict)] for every package the Makefile builds."""
    simple, blocks = makefile_defs(os.path.join(repo, "openwrt/sipwall/Makefile"))
    base = package_fields(blocks["Package/sipwall/Default"])
    version = f'{simple["PKG_VERSION"]}-r{simple["PKG_RELEASE"]}'
    out = []
    for name in ("sipwall", "sipwall-fw3"):
        f = dict(base)
        own = package_fields(blocks[f"Package/{name}"])
        if "TITLE" in own:
            f["TITLE"] = f.get("TITLE", "") + own["TITLE"]
        f.update({k: v for k, v in own.items() if k != "TITLE"})
        deps = [d.lstrip("+") for d in f["DEPENDS"].split()
                if not d.startswith(("$(", "@"))]
        desc = blocks[f"Package/{name}/description"]
        control = {
            "Package": name,
            "Version": version,
            "Depends": ", ".join(deps),
            "Conflicts": f.get("CONFLICTS", ""),
            "Provides": f.get("PROVIDES", ""),
            "Source": "feeds/sipwall/sipwall",
            "SourceName": simple["PKG_NAME"],
            "License": simple["PKG_LICENSE"],
            "Section": f["SECTION"],
            "SourceDateEpoch": str(mtime()),
            "Maintainer": simple["PKG_MAINTAINER"],
            "Title": f["TITLE"].strip(),
            "Description": desc,
        }
        scripts = {
            "conffiles": blocks[f"Package/{name}/conffiles"].strip() + "\n",
            "postinst-pkg": blocks[f"Package/{name}/postinst"].strip() + "\n",
            "prerm-pkg": blocks[f"Package/{name}/prerm"].strip() + "\n",
        }
        out.append((name, control, scripts))
    return out


def payload(repo, binary):
    """(path, mode, bytes|None) of the installed files, as Package/sipwall/install lays them."""
    def rd(p):
        with open(p, "rb") as fh:
            return fh.read()
    f = os.path.join(repo, "files")
    return [
        ("./usr/", 0o755, None), ("./usr/sbin/", 0o755, None),
        ("./usr/sbin/sipwall", 0o755, rd(binary)),
        ("./etc/", 0o755, None), ("./etc/init.d/", 0o755, None),
        ("./etc/init.d/sipwall", 0o755, rd(f + "/etc/init.d/sipwall")),
        ("./etc/config/", 0o755, None),
        ("./etc/config/sipwall", 0o600, rd(os.environ.get("SIPWALL_CONFIG_SRC", f + "/etc/config/sipwall"))),
        ("./etc/uci-defaults/", 0o755, None),
        ("./etc/uci-defaults/90-sipwall", 0o755, rd(f + "/etc/uci-defaults/90-sipwall")),
        ("./etc/sipwall/", 0o755, None),
        ("./usr/share/", 0o755, None), ("./usr/share/sipwall/", 0o755, None),
        ("./usr/share/sipwall/firewall.include", 0o755, rd(f + "/usr/share/sipwall/firewall.include")),
    ]


def control_text(c, arch, installed):
    keys = ["Package", "Version", "Depends", "Conflicts", "Provides", "Source", "SourceName", "License",
            "Section", "SourceDateEpoch", "Maintainer"]
    lines = [f"{k}: {c[k]}" for k in keys if c[k]]
    lines += [f"Architecture: {arch}", f"Installed-Size: {installed}"]
    # As package-pack.mk writes it: every description line indented by exactly one space.
    desc = "\n".join(" " + ln.lstrip() for ln in c["Description"].splitlines())
    return "\n".join(lines) + "\nDescription:" + desc + "\n"


POSTINST = """#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
"""

PRERM = """#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
"""


def build_ipk(name, control, scripts, files, arch, out_dir):
    installed = sum(len(d) for _, _, d in files if d is not None)
    ctl = [("./", 0o755, None),
           ("./control", 0o644, control_text(control, arch, installed).encode()),
           ("./conffiles", 0o644, scripts["conffiles"].encode()),
           ("./postinst", 0o755, POSTINST.encode()),
           ("./prerm", 0o755, PRERM.encode()),
           ("./postinst-pkg", 0o755, scripts["postinst-pkg"].encode()),
           ("./prerm-pkg", 0o755, scripts["prerm-pkg"].encode())]
    data = [("./", 0o755, None)] + files
    outer = tar_gz([
        ("./", 0o755, None),
        ("./debian-binary", 0o644, b"2.0\n"),
        ("./data.tar.gz", 0o644, tar_gz(data)),
        ("./control.tar.gz", 0o644, tar_gz(ctl)),
    ])
    path = os.path.join(out_dir, f"{name}_{control['Version']}_{arch}.ipk")
    with open(path, "wb") as fh:
        fh.write(outer)
    return path


def apk_scripts(name, scripts):
    """The apk hook scripts, generated from the same definitions as package-pack.mk does."""
    def body(s):
        return "".join(ln + "\n" for ln in s.splitlines() if not ln.lstrip().startswith("#!"))
    head = ('#!/bin/sh\n'
            '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n'
            '. ${IPKG_INSTROOT}/lib/functions.sh\n'
            'export root="${IPKG_INSTROOT}"\n'
            f'export pkgname="{name}"\n')
    post_install = ('#!/bin/sh\n[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0\n' + head[len("#!/bin/sh\n"):]
                    + "add_group_and_user\ndefault_postinst\n" + body(scripts["postinst-pkg"]))
    return {
        "post-install": post_install,
        "post-upgrade": "#!/bin/sh\nexport PKG_UPGRADE=1\n" + body(post_install),
        "pre-deinstall": head + "default_prerm\n" + body(scripts["prerm-pkg"]),
    }


def build_apk(apk, name, control, scripts, files, arch, out_dir, work):
    """apk v3 through the real `apk mkpkg` (apk-tools 3), with the OpenWrt payload that
    default_postinst/default_prerm and sysupgrade read: /lib/apk/packages/<pkg>.list,
    .conffiles and .conffiles_static (path + sha256)."""
    import hashlib
    import shutil
    root = os.path.join(work, name, "root")
    shutil.rmtree(os.path.join(work, name), ignore_errors=True)
    os.makedirs(root)
    for path, mode, data in files:
        full = os.path.join(root, path[2:])
        if data is None:
            os.makedirs(full, exist_ok=True)
            os.chmod(full, mode)
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(data)
            os.chmod(full, mode)
    meta = os.path.join(root, "lib/apk/packages")
    os.makedirs(meta)
    listed = sorted("/" + p[2:] for p, _, d in files if d is not None)
    conffiles = scripts["conffiles"].split()
    static = []
    for c in conffiles:
        data = next((d for p, _, d in files if p == "." + c and d is not None), None)
        if data is not None:
            static.append(f"{c} {hashlib.sha256(data).hexdigest()}")
    for suffix, text in ((".list", listed), (".conffiles", conffiles), (".conffiles_static", static)):
        with open(os.path.join(meta, name + suffix), "w") as fh:
            fh.write("".join(x + "\n" for x in text))
    # apk mkpkg records each file's mtime: make it SOURCE_DATE_EPOCH, as in the .ipk.
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for n in filenames + dirnames:
            os.utime(os.path.join(dirpath, n), (mtime(), mtime()))
    os.utime(root, (mtime(), mtime()))
    cmd = [apk, "mkpkg",
           "--info", f"name:{name}", "--info", f"version:{control['Version']}",
           "--info", "description:" + " ".join(control["Description"].split()),
           "--info", f"arch:{arch}", "--info", f"license:{control['License']}",
           "--info", f"origin:{control['Source']}", "--info", "url:",
           "--info", f"maintainer:{control['Maintainer']}"]
    if control.get("Provides"):
        cmd += ["--info", f"provides:{control['Provides']}={control['Version']}"]
    for hook, text in apk_scripts(name, scripts).items():
        path = os.path.join(work, name, hook)
        with open(path, "w") as fh:
            fh.write(text)
        cmd += ["--script", f"{hook}:{path}"]
    cmd += ["--info", "depends:" + " ".join(d.strip() for d in control["Depends"].split(",")),
            "--files", root, "--output", os.path.join(out_dir, f"{name}-{control['Version']}.apk")]
    subprocess.run(cmd, check=True)
    return cmd[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--arch", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--apk", help="apk-tools 3 binary: also build .apk with `apk mkpkg`")
    a = ap.parse_args()
    if not all(c.isalnum() or c in "_.+-" for c in a.arch):
        sys.exit(f"mkpkg: bad package arch '{a.arch}'")
    os.makedirs(a.out, exist_ok=True)
    files = payload(a.repo, a.bin)
    for name, control, scripts in packages(a.repo):
        print(build_ipk(name, control, scripts, files, a.arch, a.out))
        if a.apk:
            import tempfile
            with tempfile.TemporaryDirectory() as work:
                print(build_apk(a.apk, name, control, scripts, files, a.arch, a.out, work))


if __name__ == "__main__":
    main()
