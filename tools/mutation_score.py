"""The score of the last `make mutation` run, read from mutmut's results in `mutants/`.

Prints killed / total per module and overall, and names every surviving mutant; writes the
survivors' diffs to `mutants/survivors.diff`. Works on a run cut short by the time budget too:
mutants not reached count in the total and are reported as not checked.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")
#: mutmut's exit codes (mutmut/stats.py), grouped the way the score counts them.
KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
          37: "caught by type check"}
SURVIVED = {0: "survived", 5: "no tests", 33: "no tests"}
NOT_CHECKED = {None: "not checked", 2: "interrupted"}


def status(exit_code: int | None) -> str:
    """What a mutant's exit code means for the score: killed, survived, not checked, or other."""
    if exit_code in KILLED:
        return "killed"
    if exit_code in SURVIVED:
        return "survived"
    if exit_code in NOT_CHECKED:
        return "not checked"
    return "other"  # suspicious, segfault: counted in the total, neither killed nor a survivor


def _diff(name: str, source: Path) -> str:
    try:
        from mutmut.mutation.diff_apply import get_diff_for_mutant

        return get_diff_for_mutant(name, path=source)
    except Exception as exc:  # noqa: BLE001 - a missing diff must not hide the score
        return f"(no diff: {exc})"


def main() -> int:
    metas = sorted(MUTANTS.glob("**/*.py.meta"))
    if not metas:
        print("mutation: no results under mutants/ (mutmut stopped before testing any mutant)")
        return 1
    totals: Counter[str] = Counter()
    survivors: list[tuple[str, str, Path]] = []
    print("mutation results per module (killed / total):")
    for meta in metas:
        source = meta.relative_to(MUTANTS).with_suffix("")
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        counts = Counter(status(code) for code in codes.values())
        totals.update(counts)
        totals["total"] += len(codes)
        print(f"  {source}: {counts['killed']} / {len(codes)}"
              f" (survived {counts['survived']}, not checked {counts['not checked']}, other {counts['other']})")
        survivors += [(name, SURVIVED[code], source) for name, code in sorted(codes.items()) if code in SURVIVED]
    total, killed = totals["total"], totals["killed"]
    checked = total - totals["not checked"]
    print(f"mutation score: {killed} killed / {total} total = {100 * killed / total:.1f}%"
          f" ({checked} checked{'' if checked == total else ', the rest not reached within the time budget'};"
          f" {100 * killed / checked if checked else 0:.1f}% of those checked)")
    print(f"surviving mutants ({len(survivors)}; diffs in {MUTANTS}/survivors.diff):")
    with (MUTANTS / "survivors.diff").open("w", encoding="utf-8") as out:
        for name, why, source in survivors:
            print(f"  {name}  [{why}]")
            out.write(f"# {name} [{why}]\n{_diff(name, source)}\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
