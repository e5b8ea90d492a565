#!/usr/bin/env python3
"""Turns the raw outputs of scripts/bench.sh into a results table and an SVG chart.

Usage: bench_report.py OUT_DIR [--svg docs/bench.svg] [--markdown docs/PERFORMANCE.md]

Prints the table; with --markdown, replaces the text between the
`<!-- bench:begin -->` and `<!-- bench:end -->` markers of that file (appending
a section with them if absent); with --svg, writes the chart. Standard library only.
"""

import argparse
import json
import math
import pathlib
import re
import sys

UNITS = {"ps": 1e-12, "ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def read(out, name):
    path = out / f"{name}.txt"
    return path.read_text(errors="replace") if path.exists() else ""


def criterion(text):
    """{benchmark name: median seconds} from criterion's console output."""
    found, name = {}, None
    for line in text.splitlines():
        if "time:" in line:
            head = line.split("time:")[0].strip()
            name = head or name
            m = re.search(r"\[\s*\S+\s+\S+\s+([\d.]+)\s*(\S+)\s+\S+\s+\S+\s*\]", line)
            if name and m and m.group(2) in UNITS:
                found[name] = float(m.group(1)) * UNITS[m.group(2)]
        elif line.strip() and not line.startswith((" ", "\t")) and ":" not in line:
            name = line.strip()
    return found


def first_json(text):
    for i, line in enumerate(text.splitlines()):
        if line.startswith("{"):
            try:
                return json.JSONDecoder().raw_decode("\n".join(text.splitlines()[i:]))[0]
            except ValueError:
                continue
    return None


def number(pattern, text):
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


def fmt_time(seconds):
    if seconds is None:
        return "not run"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e12:.3g} ps"


def rows(out):
    """(figure, verity text, anchor text, times better than the anchor or None, note)."""
    result = []
    crypto = criterion(read(out, "crypto"))
    agg = crypto.get("aggregate/verify3+consensus+sign_final")
    result.append(("consensus + verification per job (verify 3 reports, consensus, sign final)",
                   fmt_time(agg), "~5 s (seed)", 5.0 / agg if agg else None, "criterion median"))

    for enclaves, anchor in ((1, 15.0), (3, 20.0)):
        j = first_json(read(out, f"e2e-{enclaves}"))
        if j and j.get("decided"):
            p50 = j["uploadToVerdictMs"]["p50"] / 1000
            p99 = j["uploadToVerdictMs"]["p99"] / 1000
            note = (f"p99 {fmt_time(p99)}; {j['decided']} jobs at {j['targetRate']:g}/s, "
                    f"{j['lostJobs']} lost, {j['uploadErrors']} upload errors")
            result.append((f"end-to-end upload→verdict, {enclaves} enclave{'s' * (enclaves > 1)} (p50)",
                           fmt_time(p50), f"~{anchor:g} s (seed)", anchor / p50, note))
        else:
            result.append((f"end-to-end upload→verdict, {enclaves} enclave(s)", "not run",
                           f"~{anchor:g} s (seed)", None, "see e2e output"))

    q = read(out, "queue")
    v = number(r"verity \(Redis Streams\)\s+\d+ tasks\s+[\d.]+ s\s+([\d.]+) tasks/s", q)
    b = number(r"bullmq\s+\d+ tasks\s+[\d.]+ s\s+([\d.]+) tasks/s", q)
    jobs = number(r"queue benchmark: (\d+) fan-outs", q)
    result.append(("queue fan-out (tasks leased + acked/s, 3 groups)",
                   f"{v:,.0f} tasks/s" if v else "not run",
                   f"BullMQ {b:,.0f} tasks/s (same Redis, same run)" if b else "BullMQ not run",
                   v / b if v and b else None, f"{jobs:.0f} fan-outs" if jobs else q.strip()[:80]))

    ledger = number(r"([\d.]+) appends/s", read(out, "ledger"))
    result.append(("transparency-log appends/s (SQLite, batched)",
                   f"{ledger:,.0f} appends/s" if ledger else "not run", "—", None, ""))

    c = read(out, "cluster")
    cm = re.search(r"([\d.]+) jobs/s, upload→verdict p50 (\d+) ms, p99 (\d+) ms", c)
    if cm:
        result.append(("distributed cluster (api + 3 workers; PG, Redis, S3): jobs/s",
                       f"{float(cm.group(1)):.1f} jobs/s", "—", None,
                       f"p50 {cm.group(2)} ms, p99 {cm.group(3)} ms"))
    else:
        last = c.strip().splitlines()[-1] if c.strip() else "not run"
        result.append(("distributed cluster", "not run", "—", None, last[:100]))
    return result


def detector_rows(out):
    text = read(out, "detectors")
    found = criterion(text)
    if not found:
        return [], text.strip().splitlines()[0] if text.strip() else "not run"
    return sorted(found.items()), ""


def markdown(meta, table, detectors, detector_note):
    lines = [
        f"Run {meta.get('date', '?')}{' (--quick)' if meta.get('quick') else ''}, "
        f"{meta.get('profile', 'release')} profile"
        f"{' (unoptimised: lower bounds)' if meta.get('profile') == 'dev' else ''}, "
        f"{meta.get('cores', '?')} cores, load average at the start {meta.get('load', '?')}. "
        "Generated by `scripts/bench.sh`; chart: [bench.svg](bench.svg).",
        "",
        "| figure | Verity | anchor | better by | note |",
        "|---|---|---|---|---|",
    ]
    for name, value, anchor, ratio, note in table:
        lines.append(f"| {name} | {value} | {anchor} | {ratio_text(ratio)} | {note} |")
    lines.append("")
    if detectors:
        lines += ["| detector (1024² image) | median |", "|---|---|"]
        lines += [f"| {name} | {fmt_time(t)} |" for name, t in detectors]
    else:
        lines.append(f"Detector latency: {detector_note}")
    return "\n".join(lines)


def svg(table, detectors):
    """Bars: how many times better than the anchor (log scale), then detector latencies."""
    width, left, bar, gap = 900, 380, 22, 10
    ranked = [(n, r) for n, _, _, r, _ in table if r]
    height = 70 + len(ranked) * (bar + gap) + (60 + len(detectors) * (bar + gap) if detectors else 0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             '<text x="10" y="22" font-size="15" font-weight="bold">Verity vs anchors '
             '(times better, log scale)</text>']
    top = max([math.log10(max(r, 1.0)) for _, r in ranked] + [1.0])
    span = width - left - 120
    y = 40
    for name, r in ranked:
        w = max(2.0, span * math.log10(max(r, 1.0)) / top) if r >= 1 else 2.0
        color = "#2b8a3e" if r >= 1 else "#c92a2a"
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(name[:58])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{color}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{ratio_text(r)}</text>')
        y += bar + gap
    if detectors:
        y += 20
        parts.append(f'<text x="10" y="{y}" font-size="15" font-weight="bold">'
                     'Detector latency on 1024² images (median)</text>')
        y += 15
        slowest = max(t for _, t in detectors) or 1.0
        for name, t in detectors:
            w = max(2.0, span * t / slowest)
            parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(name[:58])}</text>')
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="#1971c2"/>')
            parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}">{fmt_time(t)}</text>')
            y += bar + gap
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def ratio_text(ratio):
    if not ratio:
        return "—"
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:,.0f}×"


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def update_markdown(path, body):
    doc = path.read_text()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    block = f"{begin}\n{body}\n{end}"
    if begin in doc and end in doc:
        doc = doc[: doc.index(begin)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip() + "\n\n## Side by side (`scripts/bench.sh`)\n\n" + block + "\n"
    path.write_text(doc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path)
    parser.add_argument("--svg", type=pathlib.Path)
    parser.add_argument("--markdown", type=pathlib.Path)
    args = parser.parse_args()
    meta_path = args.out / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    table = rows(args.out)
    detectors, detector_note = detector_rows(args.out)
    body = markdown(meta, table, detectors, detector_note)
    print(body)
    if args.svg:
        args.svg.write_text(svg(table, detectors))
    if args.markdown:
        update_markdown(args.markdown, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
