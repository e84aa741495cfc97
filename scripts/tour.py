"""The README's tour as a shell script: the ```sh blocks between "## A short tour" and
"## Configuration", with the server's port put in and `cargo run --release -p openmyna --`
replaced by a built binary. Commands that wait for a person, a browser or pcscd are left out
(with the lines that continue them) and listed at the end. Used by scripts/tour.sh.

    python3 scripts/tour.py README.md PORT BINARY > tour.sh
"""

import re
import shlex
import sys

readme, port, binary = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(readme, encoding="utf-8").read()
tour = text.split("## A short tour", 1)[1].split("## Configuration", 1)[0]
skip = re.compile(
    r"^\s*(open |pcscd|opensc-tool|pkcs11-tool)|terminal --card|konbini --card|portal login|portal sign|rp bank|"
    r"demo --persons|postgres://\S* serve"
)
# Traced; -e without pipefail: `curl … | head` may end curl early, as it does in a terminal.
out, skipped = ["set -eux"], []
for block in re.findall(r"```sh\n(.*?)```", tour, re.S):
    continuing_skip = False
    for line in block.split("\n"):
        if continuing_skip or skip.search(line):
            if not continuing_skip:
                skipped.append(line.strip())
            continuing_skip = line.rstrip().endswith("\\")
            continue
        for old in ("localhost:8080", "127.0.0.1:8080"):
            line = line.replace(old, f"127.0.0.1:{port}")
        out.append(line.replace("cargo run --release -p openmyna --", shlex.quote(binary)))
out.append("set +x")
out.append("echo 'tour: left out (they wait for a person, a browser or pcscd):'")
out += ["echo " + shlex.quote("  " + s[:100]) for s in skipped]
print("\n".join(out))
