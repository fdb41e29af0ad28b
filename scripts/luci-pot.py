#!/usr/bin/env python3
"""Regenerate openwrt/luci-app-sipwall/po/templates/sipwall.pot from the views' _('...') strings.

LuCI's own tool is build/i18n-scan.pl in the luci tree; this does the same for our two views so
the template can be kept in step without a LuCI checkout. `--check` exits 1 when the committed
template is stale (tests/suite-luci.sh runs it).
"""

import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "openwrt", "luci-app-sipwall")
VIEWS = os.path.join(ROOT, "htdocs/luci-static/resources/view/sipwall")
POT = os.path.join(ROOT, "po/templates/sipwall.pot")
CALL = re.compile(r"""\b_\(\s*'((?:[^'\\]|\\.)*)'\s*\)""")


def po_escape(s):
    return s.replace("\\'", "'").replace("\\", "\\\\").replace('"', '\\"')


def render():
    found = {}
    for name in sorted(os.listdir(VIEWS)):
        path = os.path.join(VIEWS, name)
        for no, line in enumerate(open(path, encoding="utf-8"), 1):
            for m in CALL.finditer(line):
                found.setdefault(m.group(1), []).append(f"htdocs/luci-static/resources/view/sipwall/{name}:{no}")
    out = ['msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8"', ""]
    for msg in sorted(found):
        out += ["#: " + " ".join(found[msg]), f'msgid "{po_escape(msg)}"', 'msgstr ""', ""]
    return "\n".join(out)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        current = open(POT, encoding="utf-8").read() if os.path.exists(POT) else ""
        if current != text:
            sys.exit("po/templates/sipwall.pot is stale: run scripts/luci-pot.py")
        print("po/templates/sipwall.pot is up to date")
    else:
        os.makedirs(os.path.dirname(POT), exist_ok=True)
        open(POT, "w", encoding="utf-8").write(text)
        print(f"wrote {POT}")
