// Playground: one prompt, one or two model/parameter sets side by side, with tokens and speed.
import { chatModels, h, stream, t, toast, translate } from "./app.js";

const PARAMS = [
  // name, min, max, step, default (empty: the model's own default)
  ["temperature", 0, 2, 0.1, ""], ["top_p", 0, 1, 0.05, ""], ["top_k", 0, 200, 1, ""],
  ["max_tokens", 1, 4096, 1, 128], ["presence_penalty", -2, 2, 0.1, ""], ["frequency_penalty", -2, 2, 0.1, ""],
  ["seed", 0, 2 ** 31 - 1, 1, ""],
];

function column(label, models) {
  const model = h("select", { "aria-label": `${label} model`, "data-testid": `model-${label}` },
    ...models.map((m) => h("option", { value: m.value }, m.label)));
  const inputs = {};
  const fields = PARAMS.map(([name, min, max, step, def]) => {
    inputs[name] = h("input", { type: "number", min, max, step, value: def, name, "data-testid": `${name}-${label}` });
    return h("label", {}, name, inputs[name]);
  });
  inputs.stop = h("input", { type: "text", "data-i18n-placeholder": "pg.stop_hint", "data-testid": `stop-${label}` });
  const output = h("div", { class: "output panel", "data-testid": `output-${label}` });
  const stats = h("div", { class: "stats", "data-testid": `stats-${label}` });
  const el = h("div", { class: "panel" },
    h("div", { class: "row" }, h("strong", {}, label), model),
    h("details", { open: true }, h("summary", { "data-i18n": "pg.parameters" }),
      h("div", { class: "params" }, ...fields, h("label", {}, "stop", inputs.stop))),
    output, stats);
  return {
    el, output, stats,
    request(messages) {
      const body = { model: model.value, messages, stream: true, stream_options: { include_usage: true } };
      for (const [name, min, max] of PARAMS) {
        const raw = inputs[name].value.trim();
        if (raw === "") continue;
        const v = Number(raw);
        if (Number.isNaN(v) || v < min || v > max) throw new Error(t("pg.range", { name, min, max }));
        body[name] = v;
      }
      const stop = inputs.stop.value.split(",").map((s) => s.trim()).filter(Boolean);
      if (stop.length) body.stop = stop;
      return body;
    },
  };
}

async function run(col, body) {
  col.output.textContent = "";
  col.stats.textContent = t("pg.running");
  const started = performance.now();
  let first = null;
  let usage = null;
  let text = "";
  try {
    await stream("/v1/chat/completions", {
      body,
      onEvent(_, chunk) {
        if (chunk.error) throw new Error(chunk.error.message);
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (delta && delta.content) {
          if (first === null) first = performance.now();
          text += delta.content;
          col.output.textContent = text;
        }
        if (chunk.usage) usage = chunk.usage;
      },
    });
  } catch (e) {
    col.stats.textContent = "";
    col.stats.append(h("span", { class: "error" }, e.message));
    return;
  }
  const total = (performance.now() - started) / 1000;
  const tokens = usage ? usage.completion_tokens : 0;
  const decode = first !== null ? (performance.now() - first) / 1000 : 0;
  col.stats.replaceChildren(
    h("span", { "data-testid": "tokens" }, t("pg.tokens", { prompt: usage ? usage.prompt_tokens : "?", completion: tokens })),
    h("span", {}, t("pg.latency", { s: total.toFixed(2) })),
    h("span", {}, t("pg.ttft", { ms: first !== null ? Math.round(first - started) : "–" })),
    h("span", {}, t("pg.speed", { tps: decode > 0 && tokens > 1 ? ((tokens - 1) / decode).toFixed(1) : "–" })));
}

function snippets(body) {
  const origin = location.origin;
  const json = JSON.stringify({ ...body, stream: false, stream_options: undefined }, null, 2);
  const args = Object.entries(body).filter(([k]) => !["messages", "stream", "stream_options"].includes(k))
    .map(([k, v]) => `    ${k}=${JSON.stringify(v)},`).join("\n");
  return {
    curl: `curl ${origin}/v1/chat/completions \\\n  -H "Content-Type: application/json" \\\n  -H "Authorization: Bearer $FMSTACK_API_KEY" \\\n  -d '${json.replace(/'/g, "'\\''")}'`,
    python: `from openai import OpenAI\n\nclient = OpenAI(base_url="${origin}/v1", api_key="YOUR_KEY")\nresponse = client.chat.completions.create(\n    messages=${JSON.stringify(body.messages, null, 4).replace(/\n/g, "\n    ")},\n${args}\n)\nprint(response.choices[0].message.content)`,
  };
}

export async function playgroundView(main) {
  let models = [];
  try { models = await chatModels(); } catch (e) { toast(e.message, "error"); }
  const system = h("textarea", { rows: 2, "data-i18n-placeholder": "pg.system", "aria-label": "system prompt", "data-testid": "system" });
  const prompt = h("textarea", { rows: 4, "data-i18n-placeholder": "pg.prompt", "aria-label": "prompt", "data-testid": "prompt" });
  const compare = h("input", { type: "checkbox", "data-testid": "compare" });
  const a = column("A", models);
  const b = column("B", models);
  const cols = h("div", { class: "pg-cols single" }, a.el, b.el);
  b.el.classList.add("hidden");
  const runBtn = h("button", { class: "primary", "data-i18n": "pg.run", "data-testid": "run" });
  const codeBtn = h("button", { "data-i18n": "pg.code", "data-testid": "view-code" });
  const code = h("div", { class: "hidden", "data-testid": "code" });
  compare.addEventListener("change", () => {
    b.el.classList.toggle("hidden", !compare.checked);
    cols.classList.toggle("single", !compare.checked);
  });
  const messages = () => {
    const m = [];
    if (system.value.trim()) m.push({ role: "system", content: system.value.trim() });
    m.push({ role: "user", content: prompt.value.trim() });
    return m;
  };
  runBtn.addEventListener("click", async () => {
    if (!prompt.value.trim()) { toast(t("pg.need_prompt"), "error"); return; }
    let bodies;
    try { bodies = [a.request(messages()), ...(compare.checked ? [b.request(messages())] : [])]; }
    catch (e) { toast(e.message, "error"); return; }
    runBtn.disabled = true;
    // One after the other: a local model serves one request at a time, and timings stay comparable.
    try { await run(a, bodies[0]); if (bodies[1]) await run(b, bodies[1]); } finally { runBtn.disabled = false; }
  });
  codeBtn.addEventListener("click", () => {
    let body;
    try { body = a.request(messages()); } catch (e) { toast(e.message, "error"); return; }
    const s = snippets(body);
    code.replaceChildren(h("h4", {}, "curl"), h("pre", { class: "code" }, s.curl), h("h4", {}, "Python (openai)"),
      h("pre", { class: "code" }, s.python));
    code.classList.toggle("hidden");
  });
  main.append(h("div", { class: "page" },
    h("div", { class: "panel" }, system, prompt,
      h("div", { class: "row" }, h("label", { class: "check" }, compare, h("span", { "data-i18n": "pg.compare" })),
        h("span", { class: "grow" }), codeBtn, runBtn)),
    code, cols));
  translate(main);
  return {};
}
