#!/usr/bin/env python
# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make fuzz`: cases tried and failures per test, from pytest --hypothesis-show-statistics output."""

from __future__ import annotations

import re
import sys

counts: dict[str, list[int]] = {}
outcomes: dict[str, str] = {}
test = None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    header = re.match(r"^(\S+::\S+):$", line.strip())
    if header:
        test = header.group(1)
        counts.setdefault(test, [0, 0, 0])
        continue
    figures = re.search(r"(\d+) passing, (\d+) failing, and (\d+) invalid", line)
    if figures and test:
        for index in range(3):
            counts[test][index] += int(figures.group(index + 1))
    outcome = re.match(r"^(PASSED|FAILED|XFAIL|XPASS|SKIPPED|ERROR) (\S+::\S+)", line)
    if outcome:
        outcomes[outcome.group(2)] = outcome.group(1)
print(f"\n{'test':<80} {'tried':>7} {'failing':>7} {'invalid':>7}  outcome")
for name, (passing, failing, invalid) in counts.items():
    print(f"{name:<80} {passing + failing:>7} {failing:>7} {invalid:>7}  {outcomes.get(name, '?')}")
total = [sum(figures[index] for figures in counts.values()) for index in range(3)]
print(f"{'total':<80} {total[0] + total[1]:>7} {total[1]:>7} {total[2]:>7}")
failed = sorted(name for name, result in outcomes.items() if result in ("FAILED", "ERROR", "XPASS"))
print("failed: " + (", ".join(failed) if failed else "none"))
