"""Prints the benchmark table from the figures bench/*.sh recorded.

    python3 bench/table.py bench/out/results.tsv [--markdown]

Each line of the input is one figure: section, name, unit, which way is
better (higher or lower), the reference's name, Torsion's rounds, the
reference's rounds (space-separated). The table shows, for each side, the
median of the rounds and their spread (min..max), then Torsion / reference
and whether Torsion is ahead (within 1%: even). When both sides have the same
number of rounds, the rounds are pairs measured back to back, and the ratio
is the median of the per-round ratios rather than the ratio of the medians:
on a shared machine whose load drifts, that compares like with like.
"""

import statistics
import sys


def fmt(x):
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cell(values):
    if not values:
        return "-"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}..{fmt(max(values))})"


def rows(path):
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 7:
            continue
        section, name, unit, better, ref, t, r = parts
        tv = [float(v) for v in t.split()]
        rv = [float(v) for v in r.split()]
        if not tv or not rv:
            yield section, [name, unit, cell(tv), ref, cell(rv), "", ""]
            continue
        tm, rm = statistics.median(tv), statistics.median(rv)
        if len(tv) == len(rv) and len(tv) > 1 and all(rv):
            # Rounds are paired (the two sides measured back to back): the
            # median of the per-round ratios cancels drift in the machine's load.
            ratio = statistics.median(t / r for t, r in zip(tv, rv))
        else:
            ratio = tm / rm if rm else float("inf")
        ahead = (ratio > 1) if better == "higher" else (ratio < 1)
        verdict = "even" if abs(ratio - 1) < 0.01 else ("ahead" if ahead else "behind")
        yield section, [name, unit, cell(tv), ref, cell(rv), f"{ratio:.2f}", verdict]


HEAD = ["figure", "unit", "Torsion: median (min..max)", "reference", "reference: median (min..max)", "T/ref", ""]


def main():
    path = sys.argv[1]
    markdown = "--markdown" in sys.argv[2:]
    table = list(rows(path))
    if markdown:
        print("| " + " | ".join(HEAD[:-1] + ["Torsion is"]) + " |")
        print("|" + "---|" * len(HEAD))
        last = None
        for section, row in table:
            if section != last:
                print(f"| **{section}** |" + " |" * (len(HEAD) - 1))
                last = section
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(HEAD[i]), *(len(r[i]) for _, r in table)) for i in range(len(HEAD))]
    line = "  ".join(h.ljust(w) for h, w in zip(HEAD, widths))
    print()
    print(line.rstrip())
    print("-" * len(line.rstrip()))
    last = None
    for section, row in table:
        if section != last:
            print(f"[{section}]")
            last = section
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [row[2].rjust(widths[2]), row[3].ljust(widths[3]), row[4].rjust(widths[4])]
        cells += [row[5].rjust(widths[5]), row[6]]
        print("  ".join(cells).rstrip())


if __name__ == "__main__":
    main()
