// Agents: definitions (JSON editor), run a task and watch the trace stream in, stored runs with
// their traces, approve or reject a pending tool call, replay a run from its recorded tool results.
import { api, h, saveJson, stream, t, toast, translate } from "./app.js";

const TEMPLATE = {
  name: "my-agent",
  instructions: "You help users with the tools. Never invent results.",
  model: "default",
  tools: [{ type: "openapi", spec_url: "http://127.0.0.1:9000/openapi.json", base_url: "http://127.0.0.1:9000", confirm: ["POST"] }],
  knowledge_bases: [],
  limits: { max_steps: 6, max_tool_calls: 12, timeout_s: 120 },
};

// A model step's tool decision: what it called (or that it answered directly) and why, with each
// tool's probability and similarity, likeliest first.
function decisionLine(d) {
  const scores = Object.entries(d.scores || {}).sort((a, b) => b[1] - a[1]).slice(0, 6)
    .map(([name, p]) => `${name} ${p.toFixed(2)} (${t("agents.similarity")} ${(d.similarity?.[name] ?? 0).toFixed(2)})`);
  const calls = d.calls?.length ? d.calls.join(", ") : t("agents.no_call");
  const why = scores.length ? [`${t("agents.threshold")} ${d.threshold}`, ...scores] : [];
  return h("p", { class: "muted", "data-testid": "decision" }, [`${t("agents.decision")}: ${calls} — ${d.reason}`, ...why].join(" · "));
}

// One step of a trace as a card: what happened, with its arguments, result, tokens and time.
function stepCard(step) {
  const label = step.kind === "tool" ? `${t("agents.kind.tool")} · ${step.tool}` : t(`agents.kind.${step.kind}`);
  const meta = [step.tokens ? `${step.tokens} ${t("agents.tokens")}` : "", step.latency_ms ? `${Math.round(step.latency_ms)} ms` : ""]
    .filter(Boolean).join(" · ");
  return h("li", { class: `step step-${step.kind}${step.ok === false ? " failed" : ""}`, "data-testid": "step", "data-kind": step.kind },
    h("div", { class: "row" }, h("strong", {}, `${step.index}. ${label}`), h("span", { class: "grow" }), h("span", { class: "muted" }, meta)),
    step.arguments ? h("pre", { class: "code" }, step.arguments) : "",
    step.content ? h("pre", { class: "code step-content" }, step.content) : "",
    step.guardrail ? h("p", { class: "muted" }, `${t("agents.guardrail")}: ${step.guardrail.action}`) : "",
    step.decision ? decisionLine(step.decision) : "");
}

export async function agentsView(main, [selected, runId]) {
  const list = h("tbody", { "data-testid": "agents" });
  const editor = h("textarea", { rows: 14, spellcheck: "false", "aria-label": "definition", "data-testid": "agent-config",
    style: "font-family: ui-monospace, monospace; font-size: 13px" });
  const title = h("h3", {});
  const save = h("button", { class: "primary", "data-i18n": "agents.save", "data-testid": "agent-save" });
  const newBtn = h("button", { "data-i18n": "agents.new" });
  const task = h("textarea", { rows: 2, "data-i18n-placeholder": "agents.task", "aria-label": "task", "data-testid": "agent-task" });
  const keepSession = h("input", { type: "checkbox", "data-testid": "agent-session" });
  const runBtn = h("button", { class: "primary", "data-i18n": "agents.run", "data-testid": "agent-run" });
  const runs = h("tbody", { "data-testid": "agent-runs" });
  const trace = h("ol", { class: "trace", "data-testid": "trace" });
  const runTitle = h("h3", { "data-testid": "run-title" });
  const runActions = h("div", { class: "row" });
  let current = null;  // agent being edited, or null for a new one
  let session = null;  // the conversation of the last run, when "continue" is ticked

  main.append(h("div", { class: "page" },
    h("div", { class: "panel table-wrap" }, h("table", {}, h("thead", {}, h("tr", {},
      ...["agents.name", "agents.model", "agents.tools"].map((k) => h("th", { "data-i18n": k })))), list), h("div", { class: "row" }, newBtn)),
    h("div", { class: "panel" }, title, editor, h("div", { class: "row" }, save)),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "agents.try" }), task,
      h("div", { class: "row" }, h("label", { class: "check" }, keepSession, " ", h("span", { "data-i18n": "agents.continue" })), h("span", { class: "grow" }), runBtn)),
    h("div", { class: "panel table-wrap" }, h("h3", { "data-i18n": "agents.runs" }), h("table", {}, h("thead", {}, h("tr", {},
      ...["agents.when", "agents.task_col", "agents.status"].map((k) => h("th", { "data-i18n": k })))), runs)),
    h("div", { class: "panel" }, runTitle, runActions, trace)));

  function edit(rec) {
    current = rec ? rec.name : null;
    title.textContent = rec ? rec.name : t("agents.new");
    editor.value = JSON.stringify(rec || TEMPLATE, null, 2);
  }

  async function loadRuns() {
    if (!current) { runs.replaceChildren(); return; }
    const res = await api(`/api/agent-runs?agent=${encodeURIComponent(current)}&limit=30`);
    runs.replaceChildren(...res.data.map((r) => h("tr", {},
      h("td", {}, new Date(r.created_at).toLocaleString()),
      h("td", {}, h("a", { href: `#/agents/${encodeURIComponent(r.agent)}/${r.id}` }, r.input.slice(0, 80))),
      h("td", { "data-testid": "run-status" }, t(`agents.status.${r.status}`)))));
  }

  function showRun(run) {
    runTitle.textContent = `${t("agents.run_title")} ${run.id} · ${t(`agents.status.${run.status}`)}`;
    runTitle.dataset.status = run.status;
    trace.replaceChildren(...(run.steps || []).map(stepCard));
    runActions.replaceChildren();
    if (run.replay_of) runActions.append(h("span", { class: "muted" }, `${t("agents.replay_of")} ${run.replay_of}`));
    if (run.status === "waiting" && run.pending) {
      const note = h("input", { type: "text", "data-i18n-placeholder": "agents.note", "aria-label": "note" });
      const decide = (approve) => follow(`/api/agent-runs/${run.id}/confirm`, { approve, note: note.value, stream: true });
      runActions.append(h("div", { class: "pending", "data-testid": "pending" },
        h("p", {}, t("agents.pending", { tool: run.pending.name })), h("pre", { class: "code" }, run.pending.arguments),
        h("div", { class: "row" }, note,
          h("button", { class: "primary", "data-testid": "approve", onclick: () => decide(true) }, t("agents.approve")),
          h("button", { class: "danger", "data-testid": "reject", onclick: () => decide(false) }, t("agents.reject")))));
    } else if (run.status !== "running") {
      runActions.append(h("button", { "data-testid": "replay", onclick: () => follow(`/api/agent-runs/${run.id}/replay`, { stream: true }) },
        t("agents.replay")));
    }
    translate(runActions);
  }

  // Stream a run (new, resumed or replayed): steps appear as they happen, then the stored run.
  async function follow(path, body) {
    runBtn.disabled = true;
    trace.replaceChildren();
    runActions.replaceChildren();
    runTitle.textContent = t("agents.running");
    delete runTitle.dataset.status;
    try {
      await stream(path, { body, onEvent(name, data) {
        if (name === "step") trace.append(stepCard(data));
        else if (name === "run") {
          session = data.session;
          showRun(data);
          history.replaceState(null, "", `#/agents/${encodeURIComponent(data.agent)}/${data.id}`);
        }
      } });
      await loadRuns();
    } catch (e) { toast(e.message, "error"); runTitle.textContent = ""; }
    finally { runBtn.disabled = false; }
  }

  async function load(pick) {
    try {
      const res = await api("/api/agents");
      list.replaceChildren(...res.data.map((a) => h("tr", {},
        h("td", {}, h("a", { href: `#/agents/${encodeURIComponent(a.name)}` }, a.name)), h("td", {}, a.model || "default"),
        h("td", {}, [...a.tools.map((x) => x.type), ...a.knowledge_bases.map((k) => `kb:${k}`)].join(", ")))));
      edit(res.data.find((a) => a.name === pick) || null);
      await loadRuns();
    } catch (e) { toast(e.message, "error"); }
  }

  save.addEventListener("click", async () => {
    try {
      const rec = await saveJson("/api/agents", current, editor.value);
      toast(t("agents.saved", { name: rec.name }));
      location.hash = `#/agents/${encodeURIComponent(rec.name)}`;
      if (current === rec.name) await load(rec.name);
    } catch (e) { toast(e.message, "error"); }
  });
  newBtn.addEventListener("click", () => { location.hash = "#/agents"; edit(null); });
  runBtn.addEventListener("click", () => {
    if (!current) { toast(t("agents.save_first"), "error"); return; }
    if (!task.value.trim()) return;
    const body = { input: task.value, stream: true };
    if (keepSession.checked) body.session = session || "new";
    follow(`/api/agents/${encodeURIComponent(current)}/runs`, body);
  });

  translate(main);
  await load(selected);
  if (runId) {
    try { showRun(await api(`/api/agent-runs/${encodeURIComponent(runId)}`)); } catch (e) { toast(e.message, "error"); }
  }
  return {};
}
