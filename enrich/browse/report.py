"""`enrich report`: one self-contained HTML page of plots (plotly, its JavaScript inlined).

``render`` turns a :class:`ReportData` (plain numbers the store gathered) into
the page; plotly and numpy are imported only here, only when a report is made.
The page records any script error in ``#errors`` and, once every plot is
drawn, sets ``data-points`` on each plot and ``data-drawn`` on the body, so
a headless browser can check it.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any

# Colours for the map's genres (the rest are grey).
MAP_GENRES = 12


@dataclass(frozen=True)
class ReportData:
    db: str
    stats: dict[str, Any]
    first_genres: list[tuple[str, int]]          # genre, tracks having it first
    parents: dict[str, str | None]               # the canonical tree: genre -> parent
    bpm_bins: list[tuple[float, int]]            # (bin start BPM, tracks)
    loudness_bins: list[tuple[float, int]]       # (bin start LUFS, tracks)
    camelot: dict[str, int]                      # '8A' -> tracks
    map_total: int                               # tracks with a feature vector
    map_names: list[str]                         # vector element names
    map_rows: list[tuple[Any, ...]]              # (artist, title, first genre, vector bytes), a sample
    runs: list[dict[str, Any]] = field(default_factory=list)
    generated_at: float = field(default_factory=time.time)


def project(vectors: Any) -> Any:
    """2-D PCA of the feature vectors (each column standardised first)."""
    import numpy as np

    x = np.asarray(vectors, dtype=np.float64)
    if len(x) < 2:
        return np.zeros((len(x), 2))
    x = np.where(np.isfinite(x), x, 0.0)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    # The two main axes are the top eigenvectors of the small (features x features) scatter
    # matrix: the same plane as an SVD of the whole sample, for a fraction of its work.
    _, vectors_by_variance = np.linalg.eigh(x.T @ x)
    points = x @ vectors_by_variance[:, ::-1][:, :2]
    if points.shape[1] < 2:
        points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
    return points


def genre_figure(data: ReportData) -> Any:
    """Tracks by first genre, as the tree (sunburst): a genre's ring holds its sub-genres."""
    import plotly.graph_objects as go

    counts = dict(data.first_genres)
    nodes: dict[str, int] = {}
    for genre in counts:
        nodes[genre] = nodes.get(genre, 0)
        up = data.parents.get(genre)
        while up:  # ancestors appear even when no track has them first
            nodes.setdefault(up, 0)
            up = data.parents.get(up)
    ids = sorted(nodes)
    return go.Figure(go.Sunburst(
        ids=ids, labels=ids, parents=[data.parents.get(g) or "" for g in ids],
        values=[counts.get(g, 0) for g in ids], branchvalues="remainder",
        hovertemplate="%{label}: %{value} tracks first in it<extra></extra>", maxdepth=3,
    ), layout={"title": "Genres (first genre of each track, in the tree)", "height": 560})


def top_genres_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go

    top = data.stats["top_genres"][::-1]
    return go.Figure(go.Bar(x=[t["tracks"] for t in top], y=[t["genre"] for t in top], orientation="h",
                            hovertemplate="%{y}: %{x} tracks<extra></extra>"),
                     layout={"title": "Most common genres (any rank)", "height": 120 + 22 * len(top),
                             "xaxis": {"title": "tracks"}, "margin": {"l": 160}})


def histogram_figure(bins: list[tuple[float, int]], width: float, title: str, unit: str) -> Any:
    import plotly.graph_objects as go

    return go.Figure(go.Bar(x=[b + width / 2 for b, _ in bins], y=[n for _, n in bins], width=width * 0.95,
                            hovertemplate=f"%{{x}} {unit}: %{{y}} tracks<extra></extra>"),
                     layout={"title": title, "xaxis": {"title": unit}, "yaxis": {"title": "tracks"},
                             "bargap": 0.02, "height": 380})


def camelot_figure(data: ReportData) -> Any:
    """Keys on the Camelot wheel: minor (A) and major (B) as two rings of bars."""
    import plotly.graph_objects as go

    numbers = [str(n) for n in range(1, 13)]
    traces = [go.Barpolar(theta=numbers, r=[data.camelot.get(f"{n}{letter}", 0) for n in numbers], name=name,
                          customdata=[f"{n}{letter}" for n in numbers],
                          hovertemplate="%{customdata}: %{r} tracks<extra>" + name + "</extra>")
              for letter, name in (("A", "minor (A)"), ("B", "major (B)"))]
    figure = go.Figure(traces)
    figure.update_layout(title="Keys on the Camelot wheel (minor and major stacked at each number)", height=480,
                         polar={"barmode": "stack",
                                "angularaxis": {"direction": "clockwise", "rotation": 90, "type": "category"}})
    return figure


def map_figure(data: ReportData) -> Any:
    """Each sampled track a point, placed by PCA of its features, coloured by first genre."""
    import numpy as np
    import plotly.graph_objects as go

    dims = len(data.map_names)
    vectors = np.frombuffer(b"".join(r[3] for r in data.map_rows), dtype="<f4").reshape(-1, dims)
    points = project(vectors)
    genres = [r[2] or "(no genre)" for r in data.map_rows]
    common = [g for g, _ in sorted(((g, genres.count(g)) for g in set(genres)), key=lambda x: -x[1])][:MAP_GENRES]
    labels = np.array([g if g in common else "other genres" for g in genres])
    hover = np.array([f"{r[0] or '?'} - {r[1] or '?'}" for r in data.map_rows])
    figure = go.Figure()
    for genre in [*common, "other genres"]:
        mask = labels == genre
        if mask.any():
            figure.add_trace(go.Scatter(
                x=points[mask, 0].round(3).tolist(), y=points[mask, 1].round(3).tolist(), mode="markers",
                name=genre, text=hover[mask].tolist(), hovertemplate="%{text}<extra>" + html.escape(genre) + "</extra>",
                marker={"size": 4, "opacity": 0.7, **({"color": "#bbbbbb"} if genre == "other genres" else {})}))
    figure.update_layout(title="The library by sound (PCA of the stored feature vectors)", height=620,
                         xaxis={"title": "first component"}, yaxis={"title": "second component"})
    return figure


def coverage_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go

    tracks = data.stats["tracks"]["present"]
    g = data.stats["genres"]
    sources = dict(g["tracks_by_source"])
    labels = ["with genres", *[f"genres from {s}" for s in sources], "with features", "without genres",
              "without features"]
    with_features = data.stats["features"]["tracks_with_features"]
    values = [g["tracks_with_genres"], *sources.values(), with_features, max(0, tracks - g["tracks_with_genres"]),
              max(0, tracks - with_features)]
    return go.Figure(go.Bar(x=values, y=labels, orientation="h", hovertemplate="%{y}: %{x} tracks<extra></extra>"),
                     layout={"title": f"Coverage of the {tracks} present tracks", "height": 160 + 28 * len(labels),
                             "xaxis": {"title": "tracks"}, "margin": {"l": 190}})


def runs_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    for status in sorted({r["status"] for r in data.runs}):
        runs = [r for r in data.runs if r["status"] == status]
        figure.add_trace(go.Scatter(
            x=[time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["started_at"])) for r in runs],
            y=[r["command"] for r in runs], mode="markers", name=status, marker={"size": 11},
            text=[f"run {r['run']}: {duration(r)}" for r in runs], hovertemplate="%{text}<extra>%{y}</extra>"))
    figure.update_layout(title="Run history (each run when it started, by how it ended)", height=360,
                         xaxis={"title": "started"})
    return figure


def duration(run: dict[str, Any]) -> str:
    if not run.get("finished_at"):
        return "did not finish"
    seconds = run["finished_at"] - run["started_at"]
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>enrich report: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.5em; }} .note {{ color: #555; }} .plot {{ margin: 2em 0; }}
table {{ border-collapse: collapse; }} td {{ padding: 0.1em 1em 0.1em 0; }}
#errors:empty {{ display: none; }} #errors {{ color: #b00; white-space: pre-wrap; }}
</style>
<script>
window.reportErrors = [];
window.addEventListener("error", function (e) {{ window.reportErrors.push(String(e.message)); }});
(function () {{ var original = console.error; console.error = function () {{
  window.reportErrors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); }}; }})();
</script>
<script>{plotly_js}</script>
</head><body>
<h1>What enrich knows about {title}</h1>
<p class="note">Made {made} from <code>{db}</code>.</p>
<table>{summary}</table>
<div id="errors"></div>
{plots}
<script>
(function () {{
  var plots = document.querySelectorAll(".plot");
  var drawn = 0;
  plots.forEach(function (div) {{
    var graph = div.querySelector(".js-plotly-plot");
    var points = 0;
    (graph && graph.data || []).forEach(function (trace) {{
      ["x", "r", "values", "y"].some(function (key) {{
        if (trace[key] && trace[key].length) {{ points += trace[key].length; return true; }} return false; }});
    }});
    div.setAttribute("data-points", points);
    if (graph && graph.querySelector(".main-svg")) drawn += 1;
  }});
  document.getElementById("errors").textContent = window.reportErrors.join("\\n");
  document.body.setAttribute("data-drawn", drawn + "/" + plots.length);
}})();
</script>
</body></html>
"""


def render(data: ReportData) -> str:
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    sections: list[tuple[str, Any, str]] = []
    s = data.stats
    if data.first_genres:
        sections.append(("genres", genre_figure(data), ""))
        sections.append(("top-genres", top_genres_figure(data), ""))
    if data.bpm_bins:
        sections.append(("bpm", histogram_figure(data.bpm_bins, 2.0, "Tempo", "BPM"), ""))
    if data.camelot:
        sections.append(("keys", camelot_figure(data), ""))
    if data.loudness_bins:
        sections.append(("loudness", histogram_figure(data.loudness_bins, 0.5, "Loudness (integrated)", "LUFS"), ""))
    if data.map_rows and data.map_names:
        shown = len(data.map_rows)
        note = (f"Every one of the {shown} tracks with features is shown." if shown >= data.map_total else
                f"A sample of {shown} of the {data.map_total} tracks with features is shown (evenly spread"
                " over the library), to keep the page small and quick.")
        sections.append(("map", map_figure(data), note))
    sections.append(("coverage", coverage_figure(data), ""))
    if data.runs:
        sections.append(("runs", runs_figure(data), ""))
    plots = []
    for name, figure, note in sections:
        div = pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=f"plot-{name}",
                          config={"displaylogo": False, "responsive": True})
        note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
        plots.append(f'<section class="plot" id="{name}">{note_html}{div}</section>')
    t, g, f = s["tracks"], s["genres"], s["features"]
    summary_rows = [
        ("tracks", f"{t['tracks']} ({t['missing_files']} files missing)"),
        ("with genres", str(g["tracks_with_genres"])),
        ("with features", str(f["tracks_with_features"])),
        ("failures", ", ".join(f"{cmd} {sum(r['count'] for r in rows)}" for cmd, rows in s["failures"].items())),
    ]
    summary = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in summary_rows)
    title = data.db.rsplit("/", 1)[-1]
    return PAGE.format(
        title=html.escape(title), db=html.escape(data.db), summary=summary, plots="\n".join(plots),
        made=time.strftime("%Y-%m-%d %H:%M", time.localtime(data.generated_at)),
        plotly_js=get_plotlyjs().replace("</script", "<\\/script"),
    )
