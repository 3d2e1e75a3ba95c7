// The console shell: API client, server-sent events, language, routing, toasts, dialogs.
import { STRINGS } from "./i18n.js";
import { chatView } from "./chat.js";
import { playgroundView } from "./playground.js";
import { kbView } from "./kb.js";
import { settingsView } from "./settings.js";
import { guardrailsView } from "./guardrails.js";
import { agentsView } from "./agents.js";
import { evalsView } from "./evals.js";
import { tuningView } from "./tuning.js";

// -- language -------------------------------------------------------------------------------------
export let lang = localStorage.getItem("fmstack.lang")
  || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");

export function t(key, vars = {}) {
  const s = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));
}

export function translate(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}

// -- small DOM helpers ----------------------------------------------------------------------------
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c.nodeType ? c : String(c));
  return el;
}

// Icons as inline SVG: emoji depend on fonts a server or a phone may not have.
const ICONS = {
  up: "M7 10v11H3V10h4zm2 11h8.3a2 2 0 0 0 2-1.6l1.3-7A2 2 0 0 0 18.6 10H14l.7-4.2A2 2 0 0 0 12.7 3L9 10v11z",
  down: "M17 14V3h4v11h-4zm-2-11H6.7a2 2 0 0 0-2 1.6l-1.3 7A2 2 0 0 0 5.4 14H10l-.7 4.2a2 2 0 0 0 2 2.8L15 14V3z",
  trash: "M9 3h6l1 2h4v2H4V5h4l1-2zm-3 6h12l-1 12H7L6 9z",
  edit: "M4 17.3V21h3.7L18.6 10l-3.7-3.7L4 17.3zM20.7 8a1 1 0 0 0 0-1.4l-2.3-2.3a1 1 0 0 0-1.4 0l-1.8 1.8 3.7 3.7L20.7 8z",
};

export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

export function markdown(text) {
  return DOMPurify.sanitize(marked.parse(text || "", { breaks: true, gfm: true }));
}

export function toast(message, kind = "info") {
  const el = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 3500);
}

export function showDialog(...content) {
  const dlg = document.getElementById("dialog");
  const body = document.getElementById("dialog-body");
  body.replaceChildren(...content);
  translate(dlg);
  dlg.showModal();
  return dlg;
}

// -- API --------------------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code; }
}

export function headers(extra = {}) {
  const key = localStorage.getItem("fmstack.key");
  return key ? { Authorization: `Bearer ${key}`, ...extra } : extra;
}

async function failure(res) {
  let message = `${res.status} ${res.statusText}`;
  let code = null;
  try {
    const body = await res.json();
    if (body.error) { message = body.error.message; code = body.error.code; }
    else if (body.detail) message = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch { /* not JSON */ }
  if (res.status === 401) message = t("error.key");
  return new ApiError(res.status, message, code);
}

export async function api(path, { method = "GET", body, form, signal } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method, signal,
      headers: headers(body !== undefined ? { "Content-Type": "application/json" } : {}),
      body: form || (body !== undefined ? JSON.stringify(body) : undefined),
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, t("error.network"));
  }
  if (!res.ok) throw await failure(res);
  return res.status === 204 ? null : res.json();
}

// Save a definition typed as JSON: create it (POST base) or replace it (PUT base/name).
export async function saveJson(base, current, text) {
  let config;
  try { config = JSON.parse(text); } catch (e) { throw new ApiError(0, t("guard.bad_json", { error: e.message })); }
  return current
    ? api(`${base}/${encodeURIComponent(current)}`, { method: "PUT", body: config })
    : api(base, { method: "POST", body: config });
}

// POST (or GET) a server-sent-events route; calls onEvent(name, data) per event.
export async function stream(path, { body, method = "POST", signal, onEvent }) {
  let res;
  try {
    res = await fetch(path, {
      method, signal, headers: headers(body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, t("error.network"));
  }
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = null;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).replace(/\r$/, "");
        buffer = buffer.slice(nl + 1);
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) {
          const data = line.slice(6);
          if (data !== "[DONE]") onEvent(event, JSON.parse(data));
          event = null;
        }
      }
    }
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, t("error.stream"));
  }
}

// Chat models and the aliases that point at them, for pickers: [{value, label}].
export async function chatModels() {
  const res = await api("/api/models?kind=chat");
  const names = new Set(res.models.map((m) => m.name));
  const aliases = Object.entries(res.aliases || {}).filter(([, target]) => names.has(target))
    .map(([alias, target]) => ({ value: alias, label: `${alias} → ${target}` }));
  return [...aliases, ...res.models.map((m) => ({ value: m.name, label: m.name }))];
}

// -- routing ------------------------------------------------------------------------------------------
const views = { chat: chatView, playground: playgroundView, kb: kbView, guardrails: guardrailsView, agents: agentsView, evals: evalsView, tuning: tuningView, settings: settingsView };
let current = null;
let routing = 0;  // counts navigations: a view that finishes loading after the user has moved on is dropped

async function route() {
  const path = location.hash.replace(/^#\/?/, "") || "chat";
  const [name, ...rest] = path.split("/");
  const view = views[name] || chatView;
  const mine = ++routing;
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === name));
  if (current && current.leave) current.leave();
  current = null;
  delete document.body.dataset.ready;  // set again once the new view has rendered
  delete document.body.dataset.route;
  // each view renders into its own box, so a slow one that is left cannot write into the next
  const box = h("div", { class: "view-box" });
  document.getElementById("view").replaceChildren(box);
  const shown = await view(box, rest.map(decodeURIComponent));
  if (mine !== routing) {
    if (shown && shown.leave) shown.leave();
    box.remove();
    return;
  }
  current = shown;
  translate(box);
  document.body.dataset.ready = name;  // tests and the screenshot script wait for these
  document.body.dataset.route = path;
}

function setLang(value) {
  lang = value;
  localStorage.setItem("fmstack.lang", value);
  document.documentElement.lang = value === "zh" ? "zh-CN" : "en";
  translate();
  route();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("lang");
  select.value = lang;
  select.addEventListener("change", () => setLang(select.value));
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  translate();
  route();
});
