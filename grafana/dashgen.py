"""Generate hashwatch's Grafana dashboards (grafana/dashboards/*.json) from ``boards/``.

    python grafana/dashgen.py          # rewrite grafana/dashboards/*.json
    python grafana/dashgen.py --check  # exit 1 if a committed file differs

Run as a script, Python puts this directory first on the import path, so ``boards`` is found
as an ordinary package (no path edits); the code lives there.
"""

from __future__ import annotations

from boards.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
