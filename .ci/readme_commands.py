"""Print command N (1-based) of the README's "Set up" block, verbatim, so that CI runs exactly what a new user runs.

The block is the first ```bash fence after the "## Set up" heading; its commands are its non-comment lines.
"""

import re
import sys
from pathlib import Path

text = (Path(__file__).parent.parent / "README.md").read_text()
section = text.split("\n## Set up", 1)[1]
block = re.search(r"```bash\n(.*?)```", section, re.S)
if not block:
    sys.exit("readme_commands.py: no ```bash block under '## Set up' in README.md")
commands = [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]
n = int(sys.argv[1])
if not 1 <= n <= len(commands):
    sys.exit(f"readme_commands.py: the README's Set up block has {len(commands)} commands, not {n}")
print(commands[n - 1])
