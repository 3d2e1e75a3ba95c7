// Settings: signing in (or this browser's API key), the server's models, API keys and usage.
import { api, h, t, toast, translate } from "./app.js";

export async function settingsView(main) {
  const keyInput = h("input", { type: "password", class: "grow", value: localStorage.getItem("fmstack.key") || "",
    "data-i18n-placeholder": "settings.key_hint", "aria-label": "API key", "data-testid": "console-key" });
  const saveKey = h("button", { class: "primary", "data-i18n": "settings.save", "data-testid": "save-key" });
  const models = h("tbody");
  const keys = h("tbody");
  const keyName = h("input", { "data-i18n-placeholder": "settings.key_name", "aria-label": "key name" });
  const createKey = h("button", { "data-i18n": "settings.create_key" });
  const created = h("div", { class: "muted" });
  const epName = h("input", { placeholder: "gpt-4o-mini", "data-testid": "ep-name" });
  const epUrl = h("input", { placeholder: "http://127.0.0.1:11434/v1", "data-testid": "ep-url" });
  const epModel = h("input", { placeholder: "gpt-4o-mini", "data-testid": "ep-model" });
  const epKey = h("input", { type: "password", "data-testid": "ep-key" });
  const epKind = h("select", {}, h("option", { value: "chat" }, "chat"), h("option", { value: "embedding" }, "embedding"));
  const testBtn = h("button", { "data-i18n": "settings.test", "data-testid": "ep-test" });
  const addBtn = h("button", { class: "primary", "data-i18n": "settings.add", "data-testid": "ep-add" });
  const epResult = h("span", { "data-testid": "ep-result" });
  const endpoints = h("tbody", { "data-testid": "endpoints" });
  const user = h("input", { "data-i18n-placeholder": "settings.user", "aria-label": "user", "data-testid": "signin-user" });
  const password = h("input", { type: "password", "data-i18n-placeholder": "settings.password", "aria-label": "password",
    "data-testid": "signin-password" });
  const workspace = h("input", { "data-i18n-placeholder": "settings.workspace", "aria-label": "workspace" });
  const signIn = h("button", { class: "primary", "data-i18n": "settings.signin", "data-testid": "signin" });
  const signOut = h("button", { "data-i18n": "settings.signout", "data-testid": "signout" });
  const whoami = h("div", { class: "muted", "data-testid": "whoami" });
  const usage = h("tbody", { "data-testid": "usage" });
  main.append(h("div", { class: "page" },
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.signin" }), whoami,
      h("div", { class: "row" }, user, password, workspace, signIn, signOut)),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.this_browser" }), h("div", { class: "row" }, keyInput, saveKey)),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.models" }), h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {},
      ...["settings.model", "settings.kind", "settings.provider", "settings.context", "settings.serving"].map((k) => h("th", { "data-i18n": k })))), models)),
      h("h4", { "data-i18n": "settings.add_endpoint" }),
      h("div", { class: "params" }, h("label", {}, t("settings.ep_name"), epName), h("label", {}, t("settings.ep_url"), epUrl),
        h("label", {}, t("settings.ep_model"), epModel), h("label", {}, t("settings.ep_key"), epKey),
        h("label", {}, t("settings.kind"), epKind)),
      h("div", { class: "row" }, testBtn, addBtn, epResult),
      h("div", { class: "table-wrap" }, h("table", {}, endpoints))),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.keys" }), h("div", { class: "table-wrap" }, h("table", {}, keys)),
      h("div", { class: "row" }, keyName, createKey), created),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.usage" }), h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["settings.day", "settings.key", "settings.model", "settings.calls", "settings.tokens", "settings.cost"]
        .map((k) => h("th", { "data-i18n": k })))), usage)))));

  signIn.addEventListener("click", async () => {
    try {
      // the session is an HttpOnly cookie: this page never sees it
      await api("/api/auth/login", { method: "POST", body: { name: user.value.trim(), password: password.value,
        workspace: workspace.value.trim() || null } });
      password.value = "";
      load();
    } catch (e) { toast(e.message, "error"); }
  });
  signOut.addEventListener("click", async () => {
    try { await api("/api/auth/logout", { method: "POST" }); } catch (e) { /* already signed out */ }
    load();
  });

  saveKey.addEventListener("click", () => {
    const v = keyInput.value.trim();
    if (v) localStorage.setItem("fmstack.key", v); else localStorage.removeItem("fmstack.key");
    toast(t("settings.saved"));
    load();
  });

  const endpointBody = () => ({ base_url: epUrl.value.trim(), model: epModel.value.trim() || null, api_key: epKey.value || null });
  testBtn.addEventListener("click", async () => {
    epResult.className = "muted";
    epResult.textContent = t("pg.running");
    try {
      const r = await api("/api/endpoints/test", { method: "POST", body: endpointBody() });
      epResult.className = r.ok ? "status-ready" : "error";
      epResult.textContent = r.ok
        ? t(r.model_listed === false ? "settings.connected_unlisted" : "settings.connected", { ms: r.latency_ms, n: r.models.length })
        : r.error;
    } catch (e) { epResult.className = "error"; epResult.textContent = e.message; }
  });
  addBtn.addEventListener("click", async () => {
    try {
      await api("/api/endpoints", { method: "POST", body: { ...endpointBody(), name: epName.value.trim(), kind: epKind.value,
        model: epModel.value.trim() } });
      toast(t("settings.added", { name: epName.value.trim() }));
      load();
    } catch (e) { toast(e.message, "error"); }
  });

  async function load() {
    try {
      const me = await api("/api/auth/me");
      whoami.textContent = t("settings.whoami", { name: me.name, role: me.role, workspace: me.workspace });
    } catch (e) { whoami.textContent = e.message; }
    try {
      const res = await api("/api/usage");
      usage.replaceChildren(...res.data.map((u) => h("tr", {}, h("td", {}, u.day), h("td", { class: "muted" }, u.key_id || "—"),
        h("td", {}, u.model), h("td", { class: "num" }, u.calls), h("td", { class: "num" }, u.prompt_tokens + u.completion_tokens),
        h("td", { class: "num" }, u.cost.toFixed(4)))));
    } catch (e) { usage.replaceChildren(h("tr", {}, h("td", { class: "muted", colspan: 6 }, e.message))); }
    try {
      const res = await api("/api/endpoints");
      endpoints.replaceChildren(...res.data.map((e) => h("tr", {}, h("td", {}, e.name), h("td", { class: "muted" }, `${e.model} @ ${e.base_url}`),
        h("td", {}, h("button", { class: "danger", onclick: async () => {
          try { await api(`/api/endpoints/${encodeURIComponent(e.name)}`, { method: "DELETE" }); load(); }
          catch (err) { toast(err.message, "error"); }
        } }, t("settings.remove"))))));
    } catch (e) { endpoints.replaceChildren(h("tr", {}, h("td", { class: "error" }, e.message))); }
    try {
      const res = await api("/api/models");
      models.replaceChildren(...res.models.map((m) => h("tr", {}, h("td", {}, m.name), h("td", {}, m.kind),
        h("td", {}, m.provider), h("td", { class: "num" }, m.context_window || m.dimensions || ""), serving(m))));
    } catch (e) { models.replaceChildren(h("tr", {}, h("td", { class: "error", colspan: 5 }, e.message))); }
    try {
      const res = await api("/api/keys");
      keys.replaceChildren(...res.data.map((k) => h("tr", {}, h("td", {}, k.name), h("td", { class: "muted" }, `${k.prefix}…`),
        h("td", { class: "muted" }, k.revoked_at ? t("settings.revoked") : (k.last_used_at || "")),
        h("td", {}, k.revoked_at ? "" : h("button", { class: "danger", onclick: async () => {
          try { await api(`/api/keys/${k.id}`, { method: "DELETE" }); load(); } catch (e) { toast(e.message, "error"); }
        } }, t("settings.revoke"))))));
    } catch (e) { keys.replaceChildren(h("tr", {}, h("td", { class: "error" }, e.message))); }
  }

  createKey.addEventListener("click", async () => {
    try {
      const k = await api("/api/keys", { method: "POST", body: { name: keyName.value.trim() || "console" } });
      created.textContent = t("settings.key_created", { key: k.key });
      load();
    } catch (e) { toast(e.message, "error"); }
  });
  translate(main);
  await load();
  return {};
}

// A router's deployments with their health; any other model's origin and file size.
function serving(m) {
  if (m.routing) {
    return h("td", { class: "routing" }, ...m.routing.deployments.map((d) => h("div", { class: d.healthy ? "" : "error" },
      `${d.healthy ? "●" : "○"} ${d.model} · ${t("settings.served", { n: d.served })}`
      + (d.in_flight ? ` · ${t("settings.in_flight", { n: d.in_flight })}` : "")
      + (d.healthy ? "" : ` · ${t("settings.cooling", { s: d.cooling_for_s })}`))));
  }
  const size = m.size_bytes ? ` · ${Math.round(m.size_bytes / 1e6)} MB` : "";
  return h("td", { class: "muted" }, `${m.origin || ""}${size}`);
}
