"""Draw `compose bench compare`'s overlaid plots: one PNG per figure, one trace per run.

Usage: python compare_plot.py FIGURES_JSON OUT_DIR. FIGURES_JSON is {"figures": [{file, title,
x_title, y_title, traces: [{name, x, y}]}]}, made by composer/bench_compare.py. It runs in the
aiperf venv (plotly and kaleido are AIPerf's own plotting stack): it must not import composer.
One browser draws every figure instead of one per figure.
"""

import json
import sys
from pathlib import Path

import kaleido
import plotly.graph_objects as go


def figure(spec: dict) -> go.Figure:
    fig = go.Figure(layout={"template": "plotly_white"})
    for trace in spec["traces"]:
        fig.add_trace(go.Scatter(x=trace["x"], y=trace["y"], name=trace["name"], mode="lines+markers"))
    fig.update_layout(
        title=spec["title"],
        xaxis_title=spec["x_title"],
        yaxis_title=spec["y_title"],
        legend={"orientation": "h", "y": -0.2},
        width=900,
        height=500,
    )
    return fig


def main(spec_file: str, out: str) -> int:
    figures = json.loads(Path(spec_file).read_text())["figures"]
    # one browser for all of them; without one it raises (ChromeNotFoundError), saying so
    kaleido.write_fig_from_object_sync(
        [{"fig": figure(spec), "path": str(Path(out) / spec["file"])} for spec in figures]
    )
    for spec in figures:
        print(f"wrote {spec['file']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
