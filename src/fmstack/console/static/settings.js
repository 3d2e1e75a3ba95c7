// Settings: this browser's API key, the server's models, and API keys.
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
  main.append(h("div", { class: "page" },
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.this_browser" }), h("div", { class: "row" }, keyInput, saveKey)),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.models" }), h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {},
      ...["settings.model", "settings.kind", "settings.provider", "settings.context"].map((k) => h("th", { "data-i18n": k })))), models)),
      h("p", { class: "muted", "data-i18n": "settings.providers_hint" })),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "settings.keys" }), h("div", { class: "table-wrap" }, h("table", {}, keys)),
      h("div", { class: "row" }, keyName, createKey), created)));

  saveKey.addEventListener("click", () => {
    const v = keyInput.value.trim();
    if (v) localStorage.setItem("fmstack.key", v); else localStorage.removeItem("fmstack.key");
    toast(t("settings.saved"));
    load();
  });

  async function load() {
    try {
      const res = await api("/api/models");
      models.replaceChildren(...res.models.map((m) => h("tr", {}, h("td", {}, m.name), h("td", {}, m.kind),
        h("td", {}, m.provider), h("td", { class: "num" }, m.context_window || m.dimensions || ""))));
    } catch (e) { models.replaceChildren(h("tr", {}, h("td", { class: "error", colspan: 4 }, e.message))); }
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
