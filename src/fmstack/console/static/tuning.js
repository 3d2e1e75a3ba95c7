// Customization: datasets (upload a file or collect rated chat answers, with every dropped row's
// reason), fine-tuning jobs (start, follow, cancel, the evaluation report) and aliases (promote a
// tuned model, see the history, roll back).
import { api, h, t, toast, translate } from "./app.js";

const num = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v ?? "");

export async function tuningView(main) {
  const datasets = h("tbody", { "data-testid": "datasets" });
  const problems = h("div", { "data-testid": "dataset-problems" });
  const jobs = h("tbody", { "data-testid": "tuning-jobs" });
  const aliases = h("tbody", { "data-testid": "aliases" });
  const history = h("tbody", { "data-testid": "alias-history" });

  const dsName = h("input", { type: "text", "data-testid": "dataset-name", "data-i18n-placeholder": "tune.dataset_name", "aria-label": "dataset name" });
  const dsFile = h("input", { type: "file", accept: ".jsonl,.csv,.json", "data-testid": "dataset-file", "aria-label": "file" });
  const dsUpload = h("button", { "data-testid": "dataset-upload", "data-i18n": "tune.upload" });
  const dsFeedback = h("button", { "data-testid": "dataset-feedback", "data-i18n": "tune.from_feedback" });

  const jobModel = h("select", { "data-testid": "tune-model", "aria-label": "model" });
  const jobData = h("select", { "data-testid": "tune-dataset", "aria-label": "dataset" });
  const jobEpochs = h("input", { type: "number", min: 1, max: 100, value: 3, "aria-label": "epochs", "data-testid": "tune-epochs" });
  const jobStart = h("button", { "data-testid": "tune-start", "data-i18n": "tune.start" });

  const aliasName = h("input", { type: "text", value: "default", "aria-label": "alias", "data-testid": "alias-name" });
  const aliasModel = h("select", { "aria-label": "model", "data-testid": "alias-model" });
  const aliasNote = h("input", { type: "text", "data-i18n-placeholder": "tune.note", "aria-label": "note", "data-testid": "alias-note" });
  const aliasSet = h("button", { "data-testid": "alias-set", "data-i18n": "tune.promote" });

  main.append(h("div", { class: "page" },
    h("div", { class: "panel table-wrap" }, h("h3", { "data-i18n": "tune.datasets" }),
      h("div", { class: "row" }, dsName, dsFile, dsUpload, dsFeedback),
      h("table", {}, h("thead", {}, h("tr", {}, ...["tune.dataset", "tune.kind", "tune.rows", "tune.tokens", "tune.splits", "tune.dropped"]
        .map((k) => h("th", { "data-i18n": k })))), datasets), problems),
    h("div", { class: "panel table-wrap" }, h("h3", { "data-i18n": "tune.jobs" }),
      h("div", { class: "row" }, jobModel, jobData, h("label", {}, h("span", { "data-i18n": "tune.epochs" }), " ", jobEpochs), jobStart),
      h("table", {}, h("thead", {}, h("tr", {}, ...["tune.job", "tune.base", "tune.status", "tune.progress", "tune.model", ""]
        .map((k) => h("th", k ? { "data-i18n": k } : {})))), jobs)),
    h("div", { class: "panel table-wrap" }, h("h3", { "data-i18n": "tune.aliases" }),
      h("div", { class: "row" }, aliasName, aliasModel, aliasNote, aliasSet),
      h("table", {}, h("thead", {}, h("tr", {}, ...["tune.alias", "tune.model", ""].map((k) => h("th", k ? { "data-i18n": k } : {})))), aliases),
      h("h4", { "data-i18n": "tune.history" }),
      h("table", {}, h("thead", {}, h("tr", {}, ...["tune.when", "tune.alias", "tune.from", "tune.to", "tune.by", "tune.note"]
        .map((k) => h("th", { "data-i18n": k })))), history))));

  function showProblems(ds) {
    problems.replaceChildren(h("h4", {}, `${ds.name}:${ds.version}`),
      ...(ds.problems.length ? ds.problems.slice(0, 200).map((p) => h("div", { class: "muted" }, `${t("tune.row")} ${p.row}: ${p.action} — ${p.reason}`))
        : [h("div", { class: "muted" }, t("tune.no_problems"))]));
  }

  async function load() {
    const [ds, js, al, models] = await Promise.all([api("/api/datasets"), api("/api/fine-tuning"), api("/api/aliases"), api("/v1/models")]);
    datasets.replaceChildren(...ds.data.map((d) => h("tr", { "data-dataset": `${d.name}:${d.version}` },
      h("td", {}, h("a", { href: "#/tuning", onclick: (e) => { e.preventDefault(); showProblems(d); } }, `${d.name}:${d.version}`)),
      h("td", {}, d.kind), h("td", { class: "num" }, d.rows), h("td", { class: "num" }, d.stats.tokens ?? ""),
      h("td", {}, Object.entries(d.stats.splits || {}).map(([k, v]) => `${k} ${v}`).join(" · ")), h("td", { class: "num" }, d.stats.dropped ?? 0))));
    jobData.replaceChildren(...ds.data.filter((d) => d.kind === "chat").map((d) => h("option", { value: d.id }, `${d.name}:${d.version}`)));
    const names = models.data.map((m) => m.id);
    jobModel.replaceChildren(...names.filter((n) => !n.startsWith("ft:")).map((n) => h("option", { value: n }, n)));
    aliasModel.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
    jobs.replaceChildren(...js.data.map((j) => {
      const p = j.metrics.progress || {};
      const progress = j.status === "running" && p.step ? `${p.step}/${p.total_steps} · loss ${num(p.train_loss)} · ${num(p.tokens_per_second)} tok/s`
        : j.metrics.valid_loss !== undefined ? `valid loss ${num(j.metrics.valid_loss)} (base ${num(j.metrics.base_valid_loss)})` : (j.error?.message || "");
      const cancel = ["queued", "running"].includes(j.status)
        ? h("button", { "data-i18n": "tune.cancel", onclick: async () => { try { await api(`/api/fine-tuning/${j.id}/cancel`, { method: "POST" }); await load(); } catch (e) { toast(e.message, "error"); } } }) : null;
      const report = j.metrics.evaluation ? h("a", { href: `/api/fine-tuning/${j.id}/report`, target: "_blank", "data-i18n": "tune.report" }) : null;
      return h("tr", { "data-job": j.id }, h("td", {}, j.id), h("td", {}, j.base_model), h("td", {}, j.status),
        h("td", {}, progress), h("td", {}, j.fine_tuned_model || ""), h("td", {}, cancel, report));
    }));
    aliases.replaceChildren(...al.data.map((a) => h("tr", { "data-alias": a.alias }, h("td", {}, a.alias), h("td", {}, a.model || ""),
      h("td", {}, h("button", { "data-i18n": "tune.rollback", onclick: async () => {
        try { await api(`/api/aliases/${encodeURIComponent(a.alias)}/rollback`, { method: "POST", body: {} }); toast(t("tune.rolled_back")); await load(); }
        catch (e) { toast(e.message, "error"); }
      } })))));
    history.replaceChildren(...al.history.map((c) => h("tr", {}, h("td", {}, new Date(c.created_at).toLocaleString()), h("td", {}, c.alias),
      h("td", {}, c.previous || ""), h("td", {}, c.target || t("tune.configured")), h("td", {}, c.actor || ""), h("td", {}, c.note))));
    translate(main);
  }

  dsUpload.addEventListener("click", async () => {
    if (!dsName.value || !dsFile.files.length) { toast(t("tune.need_name_file"), "error"); return; }
    const form = new FormData();
    form.append("name", dsName.value);
    form.append("file", dsFile.files[0]);
    try { const ds = await api("/api/datasets", { method: "POST", form }); showProblems(ds); toast(t("tune.dataset_made", { rows: ds.rows })); await load(); }
    catch (e) { toast(e.message, "error"); }
  });
  dsFeedback.addEventListener("click", async () => {
    try {
      const ds = await api("/api/datasets/collect", { method: "POST", body: { name: dsName.value || "feedback", source: "feedback" } });
      showProblems(ds); toast(t("tune.dataset_made", { rows: ds.rows })); await load();
    } catch (e) { toast(e.message, "error"); }
  });
  jobStart.addEventListener("click", async () => {
    if (!jobData.value) { toast(t("tune.need_dataset"), "error"); return; }
    try {
      await api("/api/fine-tuning", { method: "POST", body: { model: jobModel.value, dataset: jobData.value, hyperparameters: { epochs: Number(jobEpochs.value) || 3 } } });
      toast(t("tune.started")); await load();
    } catch (e) { toast(e.message, "error"); }
  });
  aliasSet.addEventListener("click", async () => {
    try {
      await api(`/api/aliases/${encodeURIComponent(aliasName.value)}`, { method: "PUT", body: { model: aliasModel.value, note: aliasNote.value } });
      toast(t("tune.promoted")); await load();
    } catch (e) { toast(e.message, "error"); }
  });

  translate(main);
  try { await load(); } catch (e) { toast(e.message, "error"); }
  const timer = setInterval(() => { if (document.body.contains(jobs)) load().catch(() => {}); else clearInterval(timer); }, 3000);
  return {};
}
