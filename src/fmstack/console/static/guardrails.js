// Guardrails: list, create and edit (each save is a new version), and test any text against one.
import { api, h, saveJson, t, toast, translate } from "./app.js";
import { policyForm } from "./guardform.js";

const TEMPLATE = {
  name: "my-guardrail",
  blocked_input_message: "Sorry, I can't help with that request.",
  blocked_output_message: "Sorry, that answer was withheld by a content policy.",
  topics: [{ name: "investment advice", definition: "Recommendations about which stocks or crypto to buy or sell.",
    examples: ["Which stocks should I buy now?", "现在应该买哪只股票？"], action: "block" }],
  words: { words: ["Project Falcon"], profanity: true, action: "block" },
  pii: { types: { email: "mask", phone: "mask", credit_card: "block", cn_id: "mask" } },
  attacks: { action: "block" },
  harm: { categories: { hate: "medium", insults: "medium", sexual: "medium", violence: "medium", misconduct: "medium" } },
};

export async function guardrailsView(main, [selected]) {
  const list = h("tbody", { "data-testid": "guardrails" });
  const editor = h("textarea", { rows: 18, spellcheck: "false", "aria-label": "configuration", "data-testid": "guard-config",
    style: "font-family: ui-monospace, monospace; font-size: 13px" });
  const title = h("h3", {});
  const form = h("div", { class: "policy-form", "data-testid": "guard-form" });
  const nameInput = h("input", { type: "text", "aria-label": "name", "data-testid": "guard-name" });
  const save = h("button", { class: "primary", "data-i18n": "guard.save", "data-testid": "guard-save" });
  const newBtn = h("button", { "data-i18n": "guard.new" });
  const del = h("button", { class: "danger", "data-i18n": "guard.delete" });
  const sample = h("textarea", { rows: 3, "data-i18n-placeholder": "guard.sample", "aria-label": "text to test", "data-testid": "guard-text" });
  const source = h("select", { "aria-label": "source" }, ...["input", "output", "context"].map((s) => h("option", { value: s }, s)));
  const test = h("button", { "data-i18n": "guard.test", "data-testid": "guard-test" });
  const result = h("div", { "data-testid": "guard-result" });
  let current = null;  // name being edited, or null for a new one
  let config = {};  // the configuration the form and the JSON editor both show

  function sync() {
    editor.value = JSON.stringify(config, null, 2);
    policyForm(form, config, () => { editor.value = JSON.stringify(config, null, 2); });
  }
  nameInput.addEventListener("input", () => { config.name = nameInput.value; editor.value = JSON.stringify(config, null, 2); });
  editor.addEventListener("change", () => {  // edits in the JSON show in the form
    try { config = JSON.parse(editor.value); nameInput.value = config.name || ""; sync(); } catch { /* reported on save */ }
  });

  main.append(h("div", { class: "page" },
    h("div", { class: "panel table-wrap" }, h("table", {}, h("thead", {}, h("tr", {},
      ...["guard.name", "guard.version", "guard.policies"].map((k) => h("th", { "data-i18n": k })))), list), h("div", { class: "row" }, newBtn)),
    h("div", { class: "panel" }, title, h("label", {}, h("span", { "data-i18n": "guard.name" }), nameInput), form,
      h("details", {}, h("summary", { "data-i18n": "guard.as_json" }), editor),
      h("div", { class: "row" }, save, h("span", { class: "grow" }), del)),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "guard.try" }), sample, h("div", { class: "row" }, source, test), result)));

  function edit(rec) {
    current = rec ? rec.name : null;
    title.textContent = rec ? `${rec.name} · v${rec.version}` : t("guard.new");
    config = structuredClone(rec ? rec.config : TEMPLATE);
    nameInput.value = config.name;
    nameInput.disabled = !!rec;
    sync();
    del.classList.toggle("hidden", !rec);
    result.replaceChildren();
  }

  async function load(pick) {
    try {
      const res = await api("/api/guardrails");
      list.replaceChildren(...res.data.map((g) => h("tr", {},
        h("td", {}, h("a", { href: `#/guardrails/${encodeURIComponent(g.name)}` }, g.name)), h("td", { class: "num" }, g.version),
        h("td", {}, ["topics", "words", "pii", "attacks", "harm", "grounding"].filter((k) => {
          const v = g.config[k]; return Array.isArray(v) ? v.length : v;
        }).join(", ")))));
      const rec = res.data.find((g) => g.name === pick);
      edit(rec || null);
    } catch (e) { toast(e.message, "error"); }
  }

  save.addEventListener("click", async () => {
    try {
      const rec = await saveJson("/api/guardrails", current, editor.value);
      toast(t("guard.saved", { name: rec.name, version: rec.version }));
      if (location.hash !== `#/guardrails/${encodeURIComponent(rec.name)}`) location.hash = `#/guardrails/${encodeURIComponent(rec.name)}`;
      else load(rec.name);
    } catch (e) { toast(e.message, "error"); }
  });
  newBtn.addEventListener("click", () => { location.hash = "#/guardrails"; edit(null); });
  del.addEventListener("click", async () => {
    if (!current || !confirm(t("guard.confirm_delete", { name: current }))) return;
    try { await api(`/api/guardrails/${encodeURIComponent(current)}`, { method: "DELETE" }); location.hash = "#/guardrails"; }
    catch (e) { toast(e.message, "error"); }
  });
  test.addEventListener("click", async () => {
    if (!current) { toast(t("guard.save_first"), "error"); return; }
    if (!sample.value.trim()) return;
    try {
      const r = await api(`/api/guardrails/${encodeURIComponent(current)}/apply`, { method: "POST", body: { text: sample.value, source: source.value } });
      result.replaceChildren(
        h("p", {}, h("strong", { "data-testid": "guard-action" }, r.action), ` · v${r.version} · ${r.latency_ms} ms`),
        r.action === "masked" || r.action === "blocked" ? h("pre", { class: "code" }, r.text) : "",
        h("ul", {}, ...r.findings.map((f) => h("li", {}, `${f.policy}: ${f.name} → ${f.action}`
          + (f.start !== undefined ? ` [${f.start}–${f.end}]` : "") + (f.score !== undefined ? ` (${f.score})` : "")
          + (f.detail ? ` — ${f.detail}` : "")))));
    } catch (e) { toast(e.message, "error"); }
  });
  translate(main);
  await load(selected);
  return {};
}
