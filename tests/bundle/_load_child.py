"""Child process of the hostile-bundle suite: load each bundle of a manifest, report how.

Usage: ``python -m tests.bundle._load_child MANIFEST.json``. The manifest lists cases
``{"case", "path", "key", "kwargs"}``; for each, one JSON line goes to stdout with the
exception type (``null`` when the load succeeded), its message, the bundle and member the
error names, and this process's peak resident memory so far (``ru_maxrss``, KiB).

Linux carries a process's peak RSS across ``exec``, so a child started straight from pytest
would report pytest's own peak. The script therefore starts itself once more from this
small interpreter, and the grandchild does the loads and the measuring.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

_FLAG = "RECOLAB_HOSTILE_GRANDCHILD"


def _peak_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(manifest: str) -> int:
    """Run every case of ``manifest``; return 0."""
    if os.environ.get(_FLAG) != "1":
        env = {**os.environ, _FLAG: "1"}
        return subprocess.call(
            [sys.executable, "-m", "tests.bundle._load_child", manifest], env=env
        )
    import recolab.bundle  # imported before measuring: the baseline

    with open(manifest, encoding="utf-8") as fh:
        cases = json.load(fh)
    print(json.dumps({"case": "(baseline)", "peak_kib": _peak_kib()}), flush=True)
    for case in cases:
        if case.get("key"):
            os.environ["RECOLAB_BUNDLE_KEY"] = case["key"]
        else:
            os.environ.pop("RECOLAB_BUNDLE_KEY", None)
        start = time.perf_counter()
        row = {"case": case["case"], "type": None, "message": "", "member": None}
        try:
            recolab.bundle.load(case["path"], **case.get("kwargs", {}))
        except BaseException as exc:  # the point: see every kind
            row.update(
                type=type(exc).__name__,
                message=str(exc)[:500],
                member=getattr(exc, "member", None),
                bundle=getattr(exc, "bundle", None),
            )
        row["seconds"] = round(time.perf_counter() - start, 3)
        row["peak_kib"] = _peak_kib()
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
