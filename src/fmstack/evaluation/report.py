"""One self-contained HTML report for evaluation runs: the configurations, a table of every metric
(mean and 95% interval), plots (matplotlib, embedded as PNG), and the paired comparison of each
configuration with the first (the baseline): deltas with intervals, win rates, and the examples
whose outputs differ."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

UNIT = ("latency_ms", "tokens", "cost", "human_rating")  # not on the 0-1 scale


def _fig_png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _plots(runs: list[dict], results: dict[str, list[dict]]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = ["DejaVu Sans", "Noto Sans CJK SC", "Noto Sans CJK JP", "sans-serif"]
    metrics = sorted(
        {
            m
            for r in runs
            for m, v in r["aggregates"].items()
            if isinstance(v, dict) and "mean" in v and m not in UNIT and ":" not in m and not m.startswith("robustness")
        }
    )  # robustness is a change, not a 0-1 score
    out = []
    if metrics:
        fig, ax = plt.subplots(figsize=(min(11, max(6, 0.8 * len(metrics) + 2)), 4.2))
        width = 0.8 / len(runs)
        x = np.arange(len(metrics))
        for k, run in enumerate(runs):
            means = [run["aggregates"].get(m, {}).get("mean", np.nan) for m in metrics]
            lo = [means[i] - run["aggregates"].get(m, {}).get("ci95", [np.nan])[0] for i, m in enumerate(metrics)]
            hi = [
                run["aggregates"].get(m, {}).get("ci95", [np.nan, np.nan])[1] - means[i] for i, m in enumerate(metrics)
            ]
            ax.bar(x + k * width - 0.4 + width / 2, means, width, yerr=[lo, hi], capsize=3, label=run["configuration"])
        ax.set_xticks(x, metrics, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("mean score (95% CI)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=min(4, len(runs)), frameon=False)
        ax.set_title("Scores by configuration")
        out.append(("Scores by configuration (bars: mean; whiskers: 95% bootstrap interval)", _fig_png(fig)))

        cols = min(6, len(metrics))
        rows = -(-len(metrics) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.9 * rows), squeeze=False)
        for ax in axes.flat[len(metrics) :]:
            ax.axis("off")
        for ax, m in zip(axes.flat, metrics):
            data = [
                [r["scores"][m] for r in results[run["id"]] if isinstance(r["scores"].get(m), (int, float))]
                for run in runs
            ]
            ax.boxplot([d or [np.nan] for d in data], showmeans=True)
            ax.set_xticks(range(1, len(runs) + 1), [run["configuration"] for run in runs], rotation=30, ha="right")
            ax.set_title(m, fontsize=10)
            ax.set_ylim(-0.05, 1.05)
        fig.suptitle("Per-example scores")
        fig.tight_layout()
        out.append(("Per-example score distributions (box: quartiles; triangle: mean)", _fig_png(fig)))

    fig, ax = plt.subplots(figsize=(6, 3.2))
    lat = [[r["latency_ms"] / 1000 for r in results[run["id"]] if r["latency_ms"]] or [np.nan] for run in runs]
    ax.boxplot(lat, orientation="horizontal", showmeans=True)
    ax.set_yticks(range(1, len(runs) + 1), [run["configuration"] for run in runs])
    ax.set_xlabel("seconds per example")
    ax.set_title("Latency")
    out.append(("Latency per example", _fig_png(fig)))
    return out


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return html.escape(str(v))


def loss_curves(curve: list[dict]) -> tuple[str, str]:
    """A fine-tuning job's training and validation loss by step, as a report figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot([p["step"] for p in curve], [p["train_loss"] for p in curve], label="training loss")
    valid = [p for p in curve if p.get("valid_loss") is not None]
    if valid:
        ax.plot([p["step"] for p in valid], [p["valid_loss"] for p in valid], "o-", label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    return "Fine-tuning loss", _fig_png(fig)


def write_report(service, run_ids: list[str], path: str | Path, figures: list[tuple[str, str]] | None = None) -> Path:
    runs = [service.get(r) for r in run_ids]
    results = {r["id"]: service.results(r["id"]) for r in runs}
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>fmstack evaluation</title><style>",
        "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#0f172a}",
        "table{border-collapse:collapse;margin:12px 0;width:100%}td,th{border:1px solid #cbd5e1;padding:4px 8px;"
        "text-align:left;font-size:14px;vertical-align:top}th{background:#f1f5f9}.num{text-align:right}"
        "img{max-width:100%}.better{color:#15803d}.worse{color:#b91c1c}pre{white-space:pre-wrap;margin:0}",
        "</style></head><body>",
    ]
    parts.append(f"<h1>Evaluation: {html.escape(runs[0]['name'])}</h1>")
    parts.append(
        "<h2>Configurations</h2><table><tr><th>run</th><th>configuration</th><th>model</th><th>prompt</th>"
        "<th>knowledge base</th><th>status</th><th>examples</th></tr>"
    )
    for r in runs:
        cfg = (r["spec"].get("configurations") or [{}])[0]
        parts.append(
            f"<tr><td>{r['id']}</td><td>{html.escape(r['configuration'])}</td><td>{_fmt(cfg.get('model') or 'default')}"
            f"</td><td>{_fmt(cfg.get('prompt') or '')}</td><td>{_fmt(cfg.get('knowledge_base') or '')}</td>"
            f"<td>{r['status']}</td><td class=num>{len(results[r['id']])}/{r['total']}</td></tr>"
        )
    parts.append(
        "</table><h2>Metrics</h2><table><tr><th>metric</th>"
        + "".join(f"<th>{html.escape(r['configuration'])}</th>" for r in runs)
        + "</tr>"
    )
    names = sorted({m for r in runs for m, v in r["aggregates"].items() if isinstance(v, dict) and "mean" in v})
    for m in names:
        cells = []
        for r in runs:
            a = r["aggregates"].get(m)
            cells.append(
                f"<td class=num>{_fmt(a['mean'])} <small>[{_fmt(a['ci95'][0])}, {_fmt(a['ci95'][1])}]</small></td>"
                if a
                else "<td></td>"
            )
        parts.append(f"<tr><td>{html.escape(m)}</td>{''.join(cells)}</tr>")
    parts.append("</table>")
    for title, src in [*(figures or []), *_plots(runs, results)]:
        parts.append(f"<h3>{html.escape(title)}</h3><img alt='{html.escape(title)}' src='{src}'>")
    for other in runs[1:]:  # each configuration against the first (the baseline)
        cmp = service.compare(runs[0]["id"], other["id"])
        a, b = html.escape(runs[0]["configuration"]), html.escape(other["configuration"])
        parts.append(
            f"<h2>{a} → {b}: paired comparison over {cmp['examples']} examples</h2><table><tr><th>metric</th>"
            f"<th>{a}</th><th>{b}</th><th>Δ (95% CI)</th><th>{b} better</th><th>tie</th><th>{b} worse</th></tr>"
        )
        for m, c in cmp["metrics"].items():
            lower = m in ("latency_ms", "tokens", "cost")
            sign = (
                ""
                if abs(c["delta"]) < 1e-12
                else "better"
                if (c["delta"] < 0 if lower else c["delta"] > 0)
                else "worse"
            )
            parts.append(
                f"<tr><td>{html.escape(m)}</td><td class=num>{_fmt(c['a'])}</td><td class=num>{_fmt(c['b'])}</td>"
                f"<td class='num {sign}'>{c['delta']:+.3f} [{c['delta_ci95'][0]:+.3f}, {c['delta_ci95'][1]:+.3f}]</td>"
                f"<td class=num>{c['b_wins']:.0%}</td><td class=num>{c['ties']:.0%}</td>"
                f"<td class=num>{c['b_losses']:.0%}</td></tr>"
            )
        parts.append(
            f"</table><h3>Examples whose outputs differ ({len(cmp['changed'])}, first 30)</h3>"
            f"<table><tr><th>#</th><th>input</th><th>{a}</th><th>{b}</th></tr>"
        )
        for ch in cmp["changed"][:30]:
            parts.append(
                f"<tr><td>{ch['idx']}</td><td>{html.escape(str(ch['input']))}</td>"
                f"<td><pre>{html.escape(ch['a'] or '')}</pre></td><td><pre>{html.escape(ch['b'] or '')}</pre></td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
