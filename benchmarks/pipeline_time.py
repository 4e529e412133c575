"""Wall time and peak memory of the whole default pipeline, as a user runs it.

``python -m recolab train`` with its defaults (30-trial / 60 s study, every mechanism's
validation front, the fine λ grid, the test report and the bundle), each run in its own
process on the machine's threads (2 cores here), on three cases:

- ML-100K ``u1`` (``u1.base`` / ``u1.test`` with ``u.item``; item texts embedded, cached);
- the full Online Retail log with ``--split temporal``;
- issue 16's 1 M interactions × 6,000 users × 3,700 items (``synthetic_interactions``,
  seed 0, written once as a CSV).

Issue 16's targets: the retail log ≤ 2 min, 1 M × 4 k items ≤ 5 min; issue 17's: ML-100K
≤ 60 s, retail ≤ 5 min. The old and new code are measured back to back from clean
``git worktree`` checkouts: first the old commit with ``--json``, then the new one with
``--old`` reading that file, which writes the section with both and their ratio.

Usage::

    git worktree add /tmp/pt_old <old>; git worktree add /tmp/pt_new <new>
    PYTHONPATH=/tmp/pt_old python benchmarks/pipeline_time.py --json /tmp/pt_old.json
    PYTHONPATH=/tmp/pt_new python benchmarks/pipeline_time.py --old /tmp/pt_old.json

(``--new FILE`` rewrites the section from a saved run; ``--note`` adds a paragraph.)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import assemble, markdown_table, save_section  # noqa: E402

log = logging.getLogger("benchmarks.pipeline_time")
SHARED = HERE.parent.parent / "shared" / "datasets"
ML100K = SHARED / "ml-100k"
RETAIL = SHARED / "online-retail" / "online_retail.parquet"


def _ml100k_csv(folder: Path) -> list[str]:
    """``u1.base`` / ``u1.test`` as CSV files with a header (what a user would upload)."""
    paths = []
    for name in ("u1.base", "u1.test"):
        rows = (ML100K / name).read_text().strip().replace("\t", ",")
        path = folder / f"{name}.csv"
        path.write_text("user,item,rating,timestamp\n" + rows + "\n")
        paths.append(str(path))
    return ["--train", paths[0], "--test", paths[1], "--items", str(ML100K / "u.item")]


def _synthetic_csv(folder: Path) -> list[str]:
    from recolab.data.synthetic import synthetic_interactions

    data = synthetic_interactions(6_000, 3_700, 10**6, seed=0)
    path = folder / "synthetic_1m.csv"
    data.frame[["user", "item", "timestamp"]].to_csv(path, index=False)
    return ["--train", str(path)]


def cases(folder: Path) -> dict[str, list[str]]:
    """The ``train`` arguments of each case (input files written under ``folder``)."""
    return {
        "ml100k-u1": _ml100k_csv(folder),
        "retail-temporal": ["--train", str(RETAIL), "--split", "temporal"],
        "synthetic-1M": _synthetic_csv(folder),
    }


def run_train(args: list[str], out: Path, checkout: Path) -> dict[str, float]:
    """One ``recolab train`` of ``checkout`` in a child process: wall seconds and the child's
    peak RSS. The child runs in ``checkout`` (``-m`` puts the working folder first on the
    path, before ``PYTHONPATH``)."""
    cmd = [sys.executable, "-m", "recolab", "train", *args, "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=checkout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({status}):\n{output[-2000:]}")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024}


def commit_of(path: Path) -> str:
    """The short commit of the checkout at ``path``."""
    return subprocess.check_output(
        ["git", "-C", str(path), "rev-parse", "--short", "HEAD"], text=True
    ).strip()


def measure() -> dict[str, Any]:
    import recolab

    checkout = Path(recolab.__file__).resolve().parent.parent
    results: dict[str, Any] = {"commit": commit_of(checkout), "load": [os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, args in cases(folder).items():
            results[name] = run_train(args, folder / f"{name}.zip", checkout)
            log.info("%s: %s", name, results[name])
    results["load"].append(os.getloadavg())
    return results


def section(new: dict[str, Any], old: dict[str, Any], note: str = "") -> str:
    rows = []
    for name in ("ml100k-u1", "retail-temporal", "synthetic-1M"):
        o, n = old[name], new[name]
        rows.append(
            {
                "case": name,
                "old s": o["seconds"],
                "new s": n["seconds"],
                "new/old": f"{n['seconds'] / o['seconds']:.3f}",
                "old peak MiB": o["peak_mib"],
                "new peak MiB": n["peak_mib"],
            }
        )
    loads = "; ".join(
        f"{r['commit']}: {' → '.join('/'.join(f'{x:.2f}' for x in la) for la in r['load'])}"
        for r in (old, new)
    )
    table = markdown_table(rows, list(rows[0]), digits=1)
    return f"""## Whole pipeline: `recolab train` wall time (2 cores, the machine's threads)

`python benchmarks/pipeline_time.py`: `python -m recolab train` with its defaults, one process
per case, tuning, every mechanism's validation front, the fine λ grid, the test report and the
bundle included. ML-100K `u1` with `u.item` (texts embedded, cached), the full retail log with
`--split temporal`, issue 16's 1 M interactions × 6,000 users × 3,700 items. Old commit
`{old["commit"]}`, new `{new["commit"]}`, back to back (load average before → after, 1/5/15
min: {loads}). Targets: retail ≤ 2 min and 1 M × 4 k ≤ 5 min (issue 16), ML-100K ≤ 60 s
(issue 17).

{table}

Read the seconds with the load beside them: the retail study stops at 60 s or 30 trials,
whichever comes first, so a busy machine also changes its trials.
{note and chr(10) + note + chr(10)}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write this checkout's timings here")
    parser.add_argument("--old", type=Path, help="the old checkout's --json; writes the section")
    parser.add_argument("--new", type=Path, help="this checkout's --json: write, not measure")
    parser.add_argument("--note", default="", help="a paragraph on why the times moved")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    results = json.loads(args.new.read_text()) if args.new else measure()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.old:
        old = json.loads(args.old.read_text())
        save_section("pipeline_time", section(results, old, args.note))
        assemble()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
