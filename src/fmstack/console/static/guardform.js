// A form for each guardrail policy, kept in step with the JSON editor: the form edits the same
// configuration object, and any change is written back as JSON (the editor stays the full view).
import { h, t, translate } from "./app.js";

const ACTIONS = ["block", "mask", "flag"];
const PII_TYPES = ["email", "phone", "credit_card", "iban", "cn_id", "us_ssn", "address", "ip_address", "url", "secret", "person", "cn_name", "cn_address"];
const HARM = ["hate", "insults", "sexual", "violence", "misconduct"];
const STRENGTHS = ["none", "low", "medium", "high"];

function select(options, value, onchange, label) {
  const el = h("select", { "aria-label": label }, ...options.map((o) => h("option", { value: o }, o)));
  el.value = value;
  el.addEventListener("change", () => onchange(el.value));
  return el;
}

function lines(value, onchange, label, rows = 3) {
  const el = h("textarea", { rows, "aria-label": label });
  el.value = (value || []).join("\n");
  el.addEventListener("input", () => onchange(el.value.split("\n").map((s) => s.trim()).filter(Boolean)));
  return el;
}

function toggle(config, key, fresh, label, rerender) {
  const box = h("input", { type: "checkbox", "data-testid": `policy-${key}` });
  box.checked = !!config[key];
  box.addEventListener("change", () => {
    if (box.checked) config[key] = fresh(); else delete config[key];
    rerender();
  });
  return h("label", { class: "check" }, box, " ", h("strong", { "data-i18n": label }));
}

// Renders the form for `config` into `root`; `changed()` is called after every edit.
export function policyForm(root, config, changed) {
  const redraw = () => { changed(); policyForm(root, config, changed); };
  const edit = (fn) => (v) => { fn(v); changed(); };
  const text = (obj, key, label) => {
    const el = h("input", { type: "text", value: obj[key] ?? "", "aria-label": label });
    el.addEventListener("input", edit(() => { obj[key] = el.value; }));
    return el;
  };
  const sections = [];

  sections.push(h("fieldset", {}, h("legend", { "data-i18n": "guard.messages" }),
    h("label", {}, h("span", { "data-i18n": "guard.blocked_input" }), text(config, "blocked_input_message", "blocked input message")),
    h("label", {}, h("span", { "data-i18n": "guard.blocked_output" }), text(config, "blocked_output_message", "blocked output message"))));

  const topics = config.topics || (config.topics = []);
  sections.push(h("fieldset", {}, h("legend", { "data-i18n": "guard.topics" }),
    ...topics.map((tp, i) => h("div", { class: "policy-item" },
      text(tp, "name", "topic name"), text(tp, "definition", "topic definition"),
      lines(tp.examples, edit((v) => { tp.examples = v; }), "topic examples"),
      h("div", { class: "row" }, select(ACTIONS, tp.action || "block", edit((v) => { tp.action = v; }), "topic action"),
        h("button", { class: "danger", onclick: () => { topics.splice(i, 1); redraw(); } }, t("guard.remove"))))),
    h("button", { "data-testid": "add-topic", onclick: () => { topics.push({ name: "", definition: "", examples: [], action: "block" }); redraw(); } },
      t("guard.add_topic"))));

  const words = h("fieldset", {}, h("legend", {}, toggle(config, "words", () => ({ words: [], profanity: true, action: "block" }), "guard.words", redraw)));
  if (config.words) {
    words.append(lines(config.words.words, edit((v) => { config.words.words = v; }), "words"),
      h("label", { class: "check" }, (() => {
        const b = h("input", { type: "checkbox", "data-testid": "profanity" });
        b.checked = !!config.words.profanity;
        b.addEventListener("change", edit(() => { config.words.profanity = b.checked; }));
        return b;
      })(), " ", h("span", { "data-i18n": "guard.profanity" })),
      select(ACTIONS, config.words.action || "block", edit((v) => { config.words.action = v; }), "words action"));
  }
  sections.push(words);

  const pii = h("fieldset", {}, h("legend", {}, toggle(config, "pii", () => ({ types: { email: "mask", phone: "mask" } }), "guard.pii", redraw)));
  if (config.pii) {
    const types = config.pii.types || (config.pii.types = {});
    pii.append(h("div", { class: "policy-grid" }, ...PII_TYPES.map((kind) => h("label", {}, h("span", {}, kind),
      select(["off", ...ACTIONS], types[kind] || "off", edit((v) => { if (v === "off") delete types[kind]; else types[kind] = v; }), `pii ${kind}`)))));
  }
  sections.push(pii);

  const attacks = h("fieldset", {}, h("legend", {}, toggle(config, "attacks", () => ({ action: "block" }), "guard.attacks", redraw)));
  if (config.attacks) attacks.append(select(ACTIONS, config.attacks.action || "block", edit((v) => { config.attacks.action = v; }), "attacks action"));
  sections.push(attacks);

  const harm = h("fieldset", {}, h("legend", {}, toggle(config, "harm", () => ({ categories: Object.fromEntries(HARM.map((c) => [c, "medium"])) }), "guard.harm", redraw)));
  if (config.harm) {
    const cats = config.harm.categories || (config.harm.categories = {});
    harm.append(h("div", { class: "policy-grid" }, ...HARM.map((c) => h("label", {}, h("span", {}, c),
      select(STRENGTHS, cats[c] || "none", edit((v) => { cats[c] = v; }), `harm ${c}`))),
      h("label", {}, h("span", {}, "detector"),  // examples (default) or the trained classifier
        select(["examples", "classifier"], config.harm.detector || "examples", edit((v) => { config.harm.detector = v; }), "harm detector"))));
  }
  sections.push(harm);

  const grounding = h("fieldset", {}, h("legend", {}, toggle(config, "grounding", () => ({ grounding_threshold: 0.5, relevance_threshold: 0.5, action: "flag" }), "guard.grounding", redraw)));
  if (config.grounding) {
    const num = (key) => {
      const el = h("input", { type: "number", min: 0, max: 1, step: 0.05, value: config.grounding[key] ?? 0.5, "aria-label": key });
      el.addEventListener("input", edit(() => { config.grounding[key] = Number(el.value); }));
      return h("label", {}, h("span", {}, key), el);
    };
    grounding.append(num("grounding_threshold"), num("relevance_threshold"),
      select(ACTIONS, config.grounding.action || "flag", edit((v) => { config.grounding.action = v; }), "grounding action"));
  }
  sections.push(grounding);

  root.replaceChildren(...sections);
  translate(root);
}
