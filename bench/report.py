"""The Markdown summary of a `python -m bench` run, with one chart per scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def chart_time_to_page(result: dict[str, Any], path: Path) -> str:
    waits = result["latencies_ms"]
    fig, (hist, cdf) = plt.subplots(1, 2, figsize=(10, 4))
    hist.hist(waits, bins=50)
    hist.set(xlabel="alert POST → first page received (ms)", ylabel="alerts")
    cdf.plot(waits, [(i + 1) / len(waits) for i in range(len(waits))])
    for name in ("p50_ms", "p99_ms"):
        cdf.axvline(result[name], linestyle=":", color="grey")
    cdf.set(xlabel="ms", ylabel="fraction of alerts", xscale="log")
    fig.suptitle(f"Time to page: {len(waits)} alerts at {result['rate_per_s']:g}/s")
    return _save(fig, path)


def chart_fanout(result: dict[str, Any], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 4))
    for n, row in enumerate(result["rounds"], 1):
        times = row["arrivals_ms"]
        ax.step(times, range(1, len(times) + 1), where="post", label=f"round {n}")
    ax.set(xlabel="ms since the alert was POSTed", ylabel="deliveries received")
    ax.set_title(
        f"Fan-out: one P0 to {result['responders']} responders, "
        f"{len(result['channels_each'])} channels each"
    )
    ax.legend()
    return _save(fig, path)


def chart_escalation(result: dict[str, Any], path: Path) -> str:
    series = result["lateness"]["series_due_s_lateness_s"]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter([s[0] for s in series], [s[1] * 1000 for s in series], s=4)
    ax.set(xlabel="when the step was due (s into the run)", ylabel="lateness (ms)")
    ax.set_title(f"Escalation: {len(series)} level-2 steps")
    return _save(fig, path)


def chart_ingest(result: dict[str, Any], path: Path) -> str:
    s = result["scenarios"]
    fig, ax = plt.subplots(figsize=(8, 4))
    bars: list[tuple[str, float]] = []
    for name, key in (
        ("Vigil", "1_throughput_vigil"),
        ("baseline", "4_throughput_baseline"),
    ):
        bars += [
            (f"{name}\nc={r['connections']}", r["events_per_s"])
            for r in s[key]["levels"]
        ]
    bars.append(("storm\n(one key)", s["3_dedup_storm"]["events_per_s"]))
    ax.bar([b[0] for b in bars], [b[1] for b in bars])
    ax.set(ylabel="accepted events/s")
    ax.set_title("Ingest: sustained throughput (wrk) and dedup storm (ab)")
    return _save(fig, path)


def chart_memory(result: dict[str, Any], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(10, 5))
    for role, samples in result["series"].items():
        ax.plot([t for t, _ in samples], [mb for _, mb in samples], label=role)
    ax.axhline(250, linestyle=":", color="red")
    ax.set(xlabel="s since the run started", ylabel="RSS (MB)")
    ax.set_title("Resident memory of each process")
    ax.legend(fontsize="x-small", ncol=2)
    return _save(fig, path)


def chart_cadence(result: dict[str, Any], path: Path) -> str:
    rows = [
        ("SELECT 1", result["baseline_select_1"]),
        ("sweep", result["sweep"]),
        ("sweep, no index", result["sweep_without_index"]),
    ]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar([name for name, _ in rows], [r["p50_ms"] for _, r in rows])
    ax.set(ylabel="p50 (ms)", yscale="log")
    ax.set_title(
        f"Cadence sweep over {result['setup']['open_incidents']} open incidents"
    )
    return _save(fig, path)


def chart_storm_isolation(result: dict[str, Any], path: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 4))
    for label, key in (("A silent", "b_quiet"), ("A storming", "b_storm")):
        waits = result[key]["latencies_ms"]
        ax.plot(waits, [(i + 1) / len(waits) for i in range(len(waits))], label=label)
    ax.set(xlabel="B's P0 POST → first page received (ms)", ylabel="fraction")
    ax.set_xscale("log")
    ax.set_title(
        f"Storm isolation: B's P0s while A sends "
        f"{result['a_storm']['events_per_s']} events/s"
    )
    ax.legend()
    return _save(fig, path)


def chart_metrics(result: dict[str, Any], path: Path) -> str:
    names = list(result["endpoints"])
    fig, ax = plt.subplots(figsize=(10, 0.4 * len(names) + 1))
    ax.barh(names, [result["endpoints"][n]["p99_ms"] for n in names])
    ax.axvline(100, linestyle=":", color="grey")
    ax.set(xlabel=f"p99 ms over {result['incidents']} incidents", xscale="log")
    ax.invert_yaxis()
    return _save(fig, path)


def chart_statuspage(result: dict[str, Any], path: Path) -> str:
    f = result["figures"]
    bars = [
        (f"{name}\n{who}", f[name][key])
        for name in ("page", "summary")
        for who, key in (("Vigil", "rate"), ("constant", "baseline_rate"))
    ]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar([b[0] for b in bars], [b[1] for b in bars])
    ax.set(ylabel="responses/s (wrk)")
    ax.set_title("Status page: throughput against a constant body of its length")
    return _save(fig, path)


CHARTS = {
    "cadence": chart_cadence,
    "time-to-page": chart_time_to_page,
    "fanout": chart_fanout,
    "escalation": chart_escalation,
    "ingest": chart_ingest,
    "memory": chart_memory,
    "storm-isolation": chart_storm_isolation,
    "metrics": chart_metrics,
    "statuspage": chart_statuspage,
}


def _targets(result: dict[str, Any]) -> list[str]:
    rows = ["| figure | value | target | |", "|---|---|---|---|"]
    for name, t in result.get("targets", {}).items():
        verdict = "pass" if t["pass"] else "**FAIL**"
        rows.append(f"| {name} | {t['value']} | {t['target']} | {verdict} |")
    return rows if len(rows) > 2 else []


def _figures(name: str, r: dict[str, Any]) -> list[str]:
    if name == "time-to-page":
        return [
            f"{r['alerts']} alerts at {r['rate_per_s']:g}/s: p50 {r['p50_ms']} ms, "
            f"p90 {r['p90_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms; "
            f"lost {r['lost']}, duplicates {r['duplicates']}."
        ]
    if name == "fanout":
        return [
            f"Round {n}: first {row['first_ms']} ms, last {row['last_ms']} ms, "
            f"{row['received']} of {r['deliveries_per_round']} received, "
            f"{row['duplicates']} duplicates."
            for n, row in enumerate(r["rounds"], 1)
        ]
    if name == "escalation":
        lt = r["lateness"]
        return [
            f"{lt['steps_fired']} of {lt['steps_due']} steps: p50 "
            f"{lt['p50_lateness_s']} s, p99 {lt['p99_lateness_s']} s, max "
            f"{lt['max_lateness_s']} s; {lt['pages_received']} pages received."
        ]
    if name == "ingest":
        s = r["scenarios"]
        half = s["2_latency_half_load"]
        return [
            f"Vigil {s['1_throughput_vigil']['max_events_per_s']} events/s, "
            f"baseline {s['4_throughput_baseline']['max_events_per_s']}/s; "
            f"p99 {half['latency_ms']['p99']:.1f} ms at {half['target_rate']}/s; "
            f"storm {s['3_dedup_storm']['events_per_s']} events/s."
        ]
    if name == "cadence":
        sw, base = r["sweep"], r["baseline_select_1"]
        return [
            f"Sweep p50 {sw['p50_ms']} ms, p99 {sw['p99_ms']} ms; SELECT 1 p50 "
            f"{base['p50_ms']} ms, p99 {base['p99_ms']} ms; without the partial "
            f"index p50 {r['sweep_without_index']['p50_ms']} ms."
        ]
    if name == "storm-isolation":
        a = r["a_storm"]
        return [
            f"B's P0 time to page, {key}: p50 {b['p50_ms']} ms, p99 {b['p99_ms']} ms, "
            f"max {b['max_ms']} ms; lost {b['lost']}, duplicates {b['duplicates']}."
            for key, b in (("A silent", r["b_quiet"]), ("A storming", r["b_storm"]))
        ] + [
            f"A: {a['events_per_s']} events/s "
            f"({a.get('ratio_to_ingest_alone', 'not measured')} of bench.ingest "
            f"alone), lost {a['lost']}, duplicates {a['duplicates']}."
        ]
    if name == "metrics":
        return [
            f"{r['incidents']} incidents over {r['years']} years; "
            + "; ".join(f"{n}: p99 {e['p99_ms']} ms" for n, e in r["endpoints"].items())
        ]
    if name == "statuspage":
        f = r["figures"]
        return [
            f"{r['incidents']} incidents, {r['public_services']} public services: "
            + "; ".join(
                f"{n} {f[n]['rate']}/s (constant {f[n]['baseline_rate']}/s), p99 "
                f"{f[n]['half_load']['latency_ms']['p99']:.1f} ms at half load"
                for n in ("page", "summary")
            )
            + f"; an update shows in {f['update_visible_s']:.2f} s."
        ]
    if name == "memory":
        rows = ["| process | peak RSS (MB) |", "|---|---|"]
        rows += [f"| {p['role']} | {p['peak_mb']} |" for p in r["processes"]]
        return rows
    return []


def summary(results: dict[str, dict[str, Any]], directory: Path, header: str) -> Path:
    """Write the charts and `summary.md` into `directory`; return its path."""
    lines = ["# Benchmark summary", "", header, ""]
    for name, result in results.items():
        chart = CHARTS[name](result, directory / f"{name}.png")
        lines += [f"## {name}", "", *_figures(name, result), ""]
        lines += [*_targets(result), "", f"![{name}]({chart})", ""]
        lines += [f"Details: `{name}.json`.", ""]
    path = directory / "summary.md"
    path.write_text("\n".join(lines))
    return path
