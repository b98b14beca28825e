"""Name the installed releases that differ from the test lock, so a red newest-releases run says which
package and version broke it. Usage: python requirements/newer.py [LOCK]; prints one line per package."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path


def pinned(lock: Path) -> dict[str, str]:
    """Package -> version pinned in a pip requirements lock for this Python and platform."""
    from packaging.markers import Marker

    pins: dict[str, str] = {}
    for match in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)(?: ; ([^\\\n]+))?", lock.read_text("utf-8"), re.M):
        name, version, marker = match.groups()
        if marker is None or Marker(marker.strip()).evaluate():
            pins[normalise(name)] = version
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    lock = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("test.txt")
    pins = pinned(lock)
    installed = {normalise(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}
    changed = sorted((n, v, pins[n]) for n, v in installed.items() if n in pins and pins[n] != v)
    for name, version, locked in changed:
        print(f"  {name} {version} (the lock has {locked})")
    if not changed:
        print("  none: every installed release is the lock's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
