"""The workflow's picture, drawn from its ASL definition as the Step Functions console draws it:
each state a box, each transition an arrow, with an execution's path, visited states and the state
it waits in marked. Pure: definition and marks in, SVG text out."""

from dataclasses import dataclass, field
from html import escape

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 200, 32, 20, 30, 12


@dataclass
class Layout:
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, label)
    width: int = 0
    height: int = 0


def _transitions(state: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for choice in state.get("Choices", []):
        out.append((choice["Next"], ""))
    if "Default" in state:
        out.append((state["Default"], "default"))
    if "Next" in state:
        out.append((state["Next"], ""))
    for catch in state.get("Catch", []):
        out.append((catch["Next"], ", ".join(catch.get("ErrorEquals", []))))
    return out


def diagram_layout(definition: dict) -> Layout:
    """Ranks by longest path from StartAt (back edges of loops ignored), so every arrow of an
    acyclic workflow points down; states of a rank sit side by side in discovery order."""
    states = definition["States"]
    layout = Layout()
    for name, state in states.items():
        layout.edges.extend((name, to, label) for to, label in _transitions(state) if to in states)
    order: list[str] = []
    seen: set[str] = set()
    on_stack: set[str] = set()
    back: set[tuple[str, str]] = set()

    def visit(name: str) -> None:
        seen.add(name)
        on_stack.add(name)
        for to, _ in _transitions(states[name]):
            if to not in states:
                continue
            if to in on_stack:
                back.add((name, to))
            elif to not in seen:
                visit(to)
        on_stack.discard(name)
        order.append(name)

    visit(definition["StartAt"])
    for name in states:  # unreachable states still get drawn
        if name not in seen:
            visit(name)
    rank = dict.fromkeys(states, 0)
    for name in reversed(order):  # topological order of the acyclic part
        for to, _ in _transitions(states[name]):
            if to in states and (name, to) not in back:
                rank[to] = max(rank[to], rank[name] + 1)
    rows: dict[int, list[str]] = {}
    for name in reversed(order):
        rows.setdefault(rank[name], []).append(name)
    widest = max(len(row) for row in rows.values())
    layout.width = 2 * MARGIN + widest * BOX_W + (widest - 1) * GAP_X
    for r, row in rows.items():
        row_width = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = (layout.width - row_width) // 2
        for i, name in enumerate(row):
            layout.positions[name] = (left + i * (BOX_W + GAP_X), MARGIN + r * (BOX_H + GAP_Y))
    layout.height = 2 * MARGIN + (max(rows) + 1) * (BOX_H + GAP_Y) - GAP_Y
    return layout


def diagram_svg(
    *,
    definition: dict,
    path: list[str] | None = None,
    current: str | None = None,
    failed: str | None = None,
) -> str:
    """The SVG: states on `path` (in the order entered) are marked done and the arrows between
    consecutive ones drawn bold; `current` is the state waiting or running; `failed` in red."""
    layout = diagram_layout(definition)
    path = path or []
    visited = set(path)
    taken = set(zip(path, path[1:], strict=False))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" width="{layout.width}" '
        f'height="{layout.height}" viewBox="0 0 {layout.width} {layout.height}" '
        'font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker>'
        '<marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#2e7d32"/></marker>'
        "</defs>",
    ]
    for source, target, label in layout.edges:
        (x1, y1), (x2, y2) = layout.positions[source], layout.positions[target]
        sx, sy = x1 + BOX_W // 2, y1 + BOX_H
        tx, ty = x2 + BOX_W // 2, y2
        if ty <= sy:  # a loop back up: leave from the side
            sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H // 2, x2 + BOX_W, y2 + BOX_H // 2
        bend = max(abs(ty - sy) // 2, 20)
        was_taken = (source, target) in taken
        colour, width, marker = (
            ("#2e7d32", 3, "arrow-taken") if was_taken else ("#aaa", 1.2, "arrow")
        )
        parts.append(
            f'<path class="edge{" taken" if was_taken else ""}" d="M{sx},{sy} C{sx},{sy + bend} '
            f'{tx},{ty - bend} {tx},{ty}" fill="none" stroke="{colour}" stroke-width="{width}" '
            f'marker-end="url(#{marker})"><title>{escape(source)} → {escape(target)}'
            f"{' (' + escape(label) + ')' if label else ''}</title></path>"
        )
    for name, (x, y) in layout.positions.items():
        kind = "state"
        fill, stroke = "#fff", "#999"
        if name in visited:
            kind, fill, stroke = "state visited", "#e8f5e9", "#2e7d32"
        if name == current:
            kind, fill, stroke = "state current", "#e3f2fd", "#1565c0"
        if name == failed:
            kind, fill, stroke = "state failed", "#ffebee", "#c62828"
        label = name if len(name) <= 30 else name[:29] + "…"
        parts.append(
            f'<g class="{kind}" data-state="{escape(name)}"><rect x="{x}" y="{y}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
            f'<text x="{x + BOX_W // 2}" y="{y + BOX_H // 2 + 4}" text-anchor="middle">'
            f"{escape(label)}</text><title>{escape(name)}</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)
