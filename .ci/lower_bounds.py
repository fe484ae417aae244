"""Print pip constraints that pin every dependency of pyproject.toml (and its test extra) to its lowest allowed version.

CI installs the package once with these (`pip install -c <this output> -e ".[test]"`) and runs the tests, so that
the lower bounds in pyproject.toml are tested, not guessed.
"""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
for req in requirements:
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*)", req.strip())
    if not m:
        sys.exit(f"lower_bounds.py: cannot read a lower bound from {req!r} (write it as name>=version)")
    print(f"{m.group(1)}=={m.group(2)}")
