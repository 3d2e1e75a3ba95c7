// Evaluations: stored runs with their aggregate scores, a side-by-side comparison of two runs, the
// HTML report, and each run's results with the review queue (a person's 1-5 rating and comment).
import { api, h, headers, t, toast, translate } from "./app.js";

const fmt = (v) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)) : v ?? "");
const HEADLINE = ["token_f1", "rougeL", "accuracy", "faithfulness", "judge:correctness", "latency_ms"];

export async function evalsView(main, [selected]) {
  const runs = h("tbody", { "data-testid": "eval-runs" });
  const compareBtn = h("button", { "data-testid": "eval-compare", "data-i18n": "evals.compare" });
  const reportBtn = h("button", { "data-testid": "eval-report", "data-i18n": "evals.report" });
  const comparison = h("div", { "data-testid": "eval-comparison" });
  const detail = h("div", { "data-testid": "eval-detail" });
  const unratedOnly = h("input", { type: "checkbox", "data-testid": "eval-unrated" });
  const picked = new Set();

  main.append(h("div", { class: "page" },
    h("div", { class: "panel table-wrap" }, h("h3", { "data-i18n": "evals.runs" }),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}),
        ...["evals.when", "evals.name", "evals.configuration", "evals.status", "evals.examples", "evals.scores"]
          .map((k) => h("th", { "data-i18n": k })))), runs),
      h("div", { class: "row" }, compareBtn, reportBtn, h("span", { class: "muted", "data-i18n": "evals.pick_two" }))),
    h("div", { class: "panel table-wrap hidden" }, comparison),
    h("div", { class: "panel table-wrap" }, h("label", { class: "check" }, unratedOnly, " ", h("span", { "data-i18n": "evals.unrated" })), detail)));

  async function load() {
    const res = await api("/api/evaluations?limit=100");
    runs.replaceChildren(...res.data.map((r) => {
      const box = h("input", { type: "checkbox", "aria-label": r.id, onchange: (e) => (e.target.checked ? picked.add(r.id) : picked.delete(r.id)) });
      const head = HEADLINE.filter((m) => r.aggregates[m]).slice(0, 3).map((m) => `${m} ${fmt(r.aggregates[m].mean)}`).join(" · ");
      return h("tr", { "data-run": r.id }, h("td", {}, box), h("td", {}, new Date(r.created_at).toLocaleString()),
        h("td", {}, r.name), h("td", {}, h("a", { href: `#/evals/${r.id}` }, r.configuration)),
        h("td", {}, r.status), h("td", { class: "num" }, r.total), h("td", {}, head));
    }));
  }

  async function showRun(runId) {
    const run = await api(`/api/evaluations/${encodeURIComponent(runId)}`);
    const res = await api(`/api/evaluations/${encodeURIComponent(runId)}/results${unratedOnly.checked ? "?unrated=true" : ""}`);
    const metrics = Object.entries(run.aggregates).filter(([, v]) => v && v.mean !== undefined);
    detail.replaceChildren(
      h("h3", { "data-testid": "eval-run-title" }, `${run.name} · ${run.configuration} · ${run.id}`),
      h("table", {}, h("tr", {}, ...metrics.map(([m]) => h("th", {}, m))),
        h("tr", {}, ...metrics.map(([, v]) => h("td", { class: "num" }, `${fmt(v.mean)} [${fmt(v.ci95[0])}, ${fmt(v.ci95[1])}]`)))),
      h("table", {}, h("thead", {}, h("tr", {}, ...["#", "evals.input", "evals.output", "evals.reference", "evals.scores", "evals.rating"]
        .map((k) => h("th", k.startsWith("evals.") ? { "data-i18n": k } : {}, k.startsWith("evals.") ? "" : k)))),
      h("tbody", { "data-testid": "eval-results" }, ...res.data.map((r) => resultRow(r, runId)))));
    translate(detail);
  }

  function resultRow(r, runId) {
    const rating = h("select", { "aria-label": "rating", "data-testid": "eval-rating" },
      h("option", { value: "" }, "–"), ...[1, 2, 3, 4, 5].map((n) => h("option", { value: n }, String(n))));
    rating.value = r.human_rating ?? "";
    const comment = h("input", { type: "text", value: r.human_comment || "", "data-i18n-placeholder": "evals.comment", "aria-label": "comment" });
    const save = h("button", { "data-testid": "eval-rate", "data-i18n": "evals.save" });
    save.addEventListener("click", async () => {
      if (!rating.value) { toast(t("evals.pick_rating"), "error"); return; }
      try {
        await api(`/api/evaluation-results/${r.id}/rating`, { method: "POST", body: { rating: Number(rating.value), comment: comment.value } });
        toast(t("evals.rated"));
        await showRun(runId);
      } catch (e) { toast(e.message, "error"); }
    });
    const ref = Array.isArray(r.example.reference) ? r.example.reference.join(" | ") : r.example.reference ?? r.example.label ?? "";
    const scores = Object.entries(r.scores).filter(([k, v]) => typeof v === "number" && !k.includes(":")).map(([k, v]) => `${k} ${fmt(v)}`).join("\n");
    return h("tr", { "data-result": r.id }, h("td", {}, r.idx), h("td", {}, r.example.input),
      h("td", {}, h("pre", { class: "code" }, r.error ? `⚠ ${r.error}` : r.output || "")), h("td", {}, String(ref)),
      h("td", {}, h("pre", { class: "code" }, scores)), h("td", {}, h("div", { class: "row" }, rating, comment, save)));
  }

  compareBtn.addEventListener("click", async () => {
    if (picked.size !== 2) { toast(t("evals.pick_two"), "error"); return; }
    const [a, b] = [...picked];
    try {
      const c = await api(`/api/evaluations/compare?a=${a}&b=${b}`);
      comparison.parentElement.classList.remove("hidden");
      comparison.replaceChildren(h("h3", {}, `${c.a.configuration} → ${c.b.configuration} (${c.examples})`),
        h("table", { "data-testid": "eval-compare-table" }, h("tr", {}, ...["evals.metric", "A", "B", "Δ (95% CI)", "evals.b_better", "evals.tie", "evals.b_worse"]
          .map((k) => h("th", k.startsWith("evals.") ? { "data-i18n": k } : {}, k.startsWith("evals.") ? "" : k))),
        ...Object.entries(c.metrics).map(([m, v]) => h("tr", {}, h("td", {}, m), h("td", { class: "num" }, fmt(v.a)), h("td", { class: "num" }, fmt(v.b)),
          h("td", { class: "num" }, `${v.delta >= 0 ? "+" : ""}${fmt(v.delta)} [${fmt(v.delta_ci95[0])}, ${fmt(v.delta_ci95[1])}]`),
          h("td", { class: "num" }, `${Math.round(v.b_wins * 100)}%`), h("td", { class: "num" }, `${Math.round(v.ties * 100)}%`),
          h("td", { class: "num" }, `${Math.round(v.b_losses * 100)}%`)))));
      translate(comparison);
    } catch (e) { toast(e.message, "error"); }
  });

  reportBtn.addEventListener("click", async () => {
    if (!picked.size) { toast(t("evals.pick_two"), "error"); return; }
    const res = await fetch(`/api/evaluations/report?runs=${[...picked].join(",")}`, { headers: headers() });
    if (!res.ok) { toast(`${res.status} ${res.statusText}`, "error"); return; }
    window.open(URL.createObjectURL(new Blob([await res.text()], { type: "text/html" })), "_blank");
  });
  unratedOnly.addEventListener("change", () => selected && showRun(selected));

  translate(main);
  try {
    await load();
    if (selected) await showRun(selected);
  } catch (e) { toast(e.message, "error"); }
  return {};
}
