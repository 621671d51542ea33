"""Charts as inline SVG, drawn on the server: no script, no CDN."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 32, 16, 40

Series = dict[str, list[float | None]]  # name -> one value per label


# Grid steps a person reads at a glance, in seconds: 1 s up to 90 days.
STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
         21600, 43200, 86400, 172800, 604800, 1209600, 2592000, 7776000)  # fmt: skip


def _ticks(top: float) -> list[float]:
    """Five grid lines from 0, in the smallest step that reaches `top`."""
    step = next((s for s in STEPS if s * 4 >= top), STEPS[-1])
    return [float(step * i) for i in range(5)]


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:g} d"
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def line_chart(
    title: str, labels: list[str], series: Series, colors: dict[str, str]
) -> SafeString:
    """Return an SVG line chart of durations (seconds): one line per series,
    one point per label; a missing value breaks the line."""
    values = [v for line in series.values() for v in line if v is not None]
    ticks = _ticks(max(values, default=1.0))
    top = ticks[-1] or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (inner_w * i / max(len(labels) - 1, 1))

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / top)

    parts = [
        format_html(
            '<svg class="metrics-chart" role="img" viewBox="0 0 {} {}" '
            'width="{}" height="{}" xmlns="http://www.w3.org/2000/svg">'
            "<title>{}</title>",
            WIDTH, HEIGHT, WIDTH, HEIGHT, title,
        )
    ]  # fmt: skip
    for tick in ticks:
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/>'
                '<text x="{}" y="{}" font-size="10" text-anchor="end" '
                'fill="#666">{}</text>',
                LEFT, WIDTH - RIGHT, y(tick), y(tick), LEFT - 4, y(tick) + 3,
                _duration(tick),
            )
        )  # fmt: skip
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="10" text-anchor="middle" '
                    'fill="#666">{}</text>',
                    x(i), HEIGHT - BOTTOM + 14, label,
                )
            )  # fmt: skip
    for n, (name, line) in enumerate(series.items()):
        color = colors.get(name, "#333")
        runs: list[list[str]] = [[]]
        for i, value in enumerate(line):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(value):.1f}")
                parts.append(
                    format_html(
                        '<circle cx="{}" cy="{}" r="2.5" fill="{}">'
                        "<title>{} {}: {}</title></circle>",
                        f"{x(i):.1f}", f"{y(value):.1f}", color, name, labels[i],
                        _duration(round(value)),
                    )
                )  # fmt: skip
        for run in runs:
            if len(run) > 1:
                parts.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" '
                        'stroke-width="2"/>',
                        " ".join(run), color,
                    )
                )  # fmt: skip
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
                '<text x="{}" y="{}" font-size="11">{}</text>',
                LEFT + 70 * n, HEIGHT - 14, color, LEFT + 14 + 70 * n,
                HEIGHT - 5, name,
            )
        )  # fmt: skip
    # Every part comes from format_html, which escaped each value in it.
    return mark_safe("".join(parts) + "</svg>")  # noqa: S308
