// Chat: conversations on the left, the thread on the right; answers stream in as Markdown.
import { api, chatModels, h, icon, markdown, showDialog, stream, t, toast, translate } from "./app.js";

export async function chatView(main, [conversationId]) {
  const state = { id: conversationId || null, controller: null, search: "" };
  const list = h("ul", { class: "conv-list", "data-testid": "conversations" });
  const search = h("input", { type: "search", "data-i18n-placeholder": "chat.search", "aria-label": "search" });
  const messages = h("div", { class: "messages", "data-testid": "messages" });
  const input = h("textarea", { rows: 3, "data-i18n-placeholder": "chat.placeholder", "aria-label": "message" });
  const modelSel = h("select", { "aria-label": "model", "data-testid": "model" });
  const kbSel = h("select", { "aria-label": "knowledge base", "data-testid": "kb" });
  const send = h("button", { class: "primary", "data-i18n": "chat.send", "data-testid": "send" });
  const stop = h("button", { class: "danger hidden", "data-i18n": "chat.stop", "data-testid": "stop" });
  const newBtn = h("button", { class: "primary", "data-i18n": "chat.new", "data-testid": "new-chat" });

  main.append(h("div", { class: "chat" },
    h("aside", { class: "sidebar" }, h("div", { class: "tools" }, newBtn, search), list),
    h("section", { class: "thread" }, messages,
      h("div", { class: "composer" }, input,
        h("div", { class: "row" }, modelSel, kbSel, h("span", { class: "grow" }), stop, send)))));

  async function loadLists() {
    try {
      const [models, kbs] = await Promise.all([chatModels(), api("/api/knowledge-bases")]);
      modelSel.replaceChildren(...models.map((m) => h("option", { value: m.value }, m.label)));
      kbSel.replaceChildren(h("option", { value: "" }, t("chat.no_kb")),
        ...kbs.data.map((k) => h("option", { value: k.name }, k.name)));
      const savedKb = localStorage.getItem("fmstack.chat.kb");
      if (savedKb && kbs.data.some((k) => k.name === savedKb)) kbSel.value = savedKb;
    } catch (e) { toast(e.message, "error"); }
  }

  let listRequest = 0;  // only the newest request may fill the list: answers can arrive out of order
  async function loadConversations() {
    const mine = ++listRequest;
    try {
      const q = state.search ? `&q=${encodeURIComponent(state.search)}` : "";
      const res = await api(`/api/conversations?limit=200${q}`);
      if (mine !== listRequest) return;
      list.replaceChildren(...res.data.map((c) => h("li", { class: c.id === state.id ? "active" : "", "data-id": c.id },
        h("a", { href: `#/chat/${c.id}`, title: c.title }, c.title),
        h("button", { title: t("chat.rename"), "aria-label": t("chat.rename"), onclick: () => rename(c) }, icon("edit")),
        h("button", { title: t("chat.delete"), "aria-label": t("chat.delete"), onclick: () => remove(c) }, icon("trash")))));
    } catch (e) { toast(e.message, "error"); }
  }

  async function rename(c) {
    const title = prompt(t("chat.rename"), c.title);
    if (!title || title === c.title) return;
    try { await api(`/api/conversations/${c.id}`, { method: "PATCH", body: { title } }); loadConversations(); }
    catch (e) { toast(e.message, "error"); }
  }

  async function remove(c) {
    if (!confirm(t("chat.confirm_delete", { title: c.title }))) return;
    try {
      await api(`/api/conversations/${c.id}`, { method: "DELETE" });
      if (c.id === state.id) location.hash = "#/chat"; else loadConversations();
    } catch (e) { toast(e.message, "error"); }
  }

  function citationChips(citations) {
    if (!citations || !citations.length) return null;
    return h("div", { class: "chips", "data-testid": "citations" }, ...citations.map((c) => h("button", {
      class: "chip", type: "button", title: c.title,
      onclick: () => showDialog(h("h3", {}, `[${c.number}] ${c.title}`),
        h("p", { class: "muted" }, [c.source, c.page ? t("kb.page", { page: c.page }) : "", c.heading].filter(Boolean).join(" · ")),
        h("pre", { "data-testid": "citation-text" }, c.text)),
    }, `[${c.number}] ${c.title}${c.page ? ` p.${c.page}` : ""}`)));
  }

  function feedbackBar(msg) {
    const up = h("button", { "data-testid": "thumbs-up", title: t("chat.good"), "aria-label": t("chat.good"),
      class: msg.rating === 1 ? "on" : "" }, icon("up"));
    const down = h("button", { "data-testid": "thumbs-down", title: t("chat.bad"), "aria-label": t("chat.bad"),
      class: msg.rating === -1 ? "on" : "" }, icon("down"));
    const rate = async (value) => {
      const rating = msg.rating === value ? null : value;
      const comment = rating === null ? null : prompt(t("chat.comment")) || null;
      const correction = rating === -1 ? prompt(t("chat.correction")) || null : null;
      try {
        const saved = await api(`/api/messages/${msg.id}/feedback`, { method: "POST", body: { rating, comment, correction } });
        msg.rating = saved.rating;
        up.classList.toggle("on", saved.rating === 1);
        down.classList.toggle("on", saved.rating === -1);
        toast(t("chat.thanks"));
      } catch (e) { toast(e.message, "error"); }
    };
    up.addEventListener("click", () => rate(1));
    down.addEventListener("click", () => rate(-1));
    const stats = [msg.model, msg.completion_tokens ? `${msg.completion_tokens} tok` : "", msg.latency_ms ? `${msg.latency_ms} ms` : ""];
    return h("div", { class: "actions" }, up, down, h("span", { class: "muted" }, stats.filter(Boolean).join(" · ")));
  }

  function messageEl(msg) {
    const body = h("div", { class: "body" });
    body.innerHTML = markdown(msg.content);
    const el = h("div", { class: `msg ${msg.role}`, "data-role": msg.role },
      h("div", { class: "who" }, msg.role === "user" ? t("chat.you") : t("chat.assistant")), body);
    if (msg.finish_reason === "cancelled") el.append(h("div", { class: "status" }, t("chat.stopped")));
    if (msg.error) el.append(h("div", { class: "status error" }, msg.error));
    if (msg.role === "assistant") {
      const chips = citationChips(msg.meta && msg.meta.citations);
      if (chips) el.append(chips);
      if (msg.id) el.append(feedbackBar(msg));
    }
    return el;
  }

  async function openConversation() {
    messages.replaceChildren();
    if (!state.id) {
      messages.append(h("div", { class: "empty" }, t("chat.empty")));
      return;
    }
    try {
      const conv = await api(`/api/conversations/${state.id}`);
      if (conv.model) modelSel.value = conv.model;
      messages.replaceChildren(...conv.messages.filter((m) => m.role !== "system").map(messageEl));
      messages.scrollTop = messages.scrollHeight;
    } catch (e) {
      messages.append(h("div", { class: "empty error" }, e.message));
    }
  }

  async function sendMessage() {
    const content = input.value.trim();
    if (!content || state.controller) return;
    try {
      if (!state.id) {
        const conv = await api("/api/conversations", { method: "POST", body: { model: modelSel.value || null } });
        state.id = conv.id;
        history.replaceState(null, "", `#/chat/${conv.id}`);
        messages.replaceChildren();
      }
    } catch (e) { toast(e.message, "error"); return; }
    input.value = "";
    messages.querySelector(".empty")?.remove();
    messages.append(messageEl({ role: "user", content }));
    const body = h("div", { class: "body streaming", "data-testid": "streaming" });
    const answer = h("div", { class: "msg assistant", "data-role": "assistant" }, h("div", { class: "who" }, t("chat.assistant")), body);
    messages.append(answer);
    messages.scrollTop = messages.scrollHeight;
    let text = "";
    let saved = null;
    let citations = null;
    let failed = null;
    state.controller = new AbortController();
    send.disabled = true;
    stop.classList.remove("hidden");
    const kb = kbSel.value || null;
    localStorage.setItem("fmstack.chat.kb", kbSel.value);
    try {
      await stream(`/api/conversations/${state.id}/messages`, {
        body: { content, stream: true, model: modelSel.value || null, knowledge_base: kb },
        signal: state.controller.signal,
        onEvent(name, data) {
          if (name === "text") { text += data.text; body.innerHTML = markdown(text); messages.scrollTop = messages.scrollHeight; }
          else if (name === "citations") citations = data.citations;
          else if (name === "error") failed = data.message;
          else if (name === "saved") saved = data.assistant_message;
        },
      });
    } catch (e) {
      if (e.name !== "AbortError") failed = e.message;
    } finally {
      state.controller = null;
      send.disabled = false;
      stop.classList.add("hidden");
    }
    if (saved) {
      answer.replaceWith(messageEl(saved));
    } else {
      body.classList.remove("streaming");
      // The server stores what was said before a stop or a lost connection; show the stored copy.
      answer.append(h("div", { class: "status error", "data-testid": "stream-error" }, failed || t("chat.stopped")));
      if (citations) answer.append(citationChips(citations));
      setTimeout(() => refreshIfStored(answer), 800);
    }
    loadConversations();
  }

  async function refreshIfStored(answer) {
    try {
      const conv = await api(`/api/conversations/${state.id}`);
      const last = conv.messages[conv.messages.length - 1];
      if (last && last.role === "assistant") {
        const note = answer.querySelector(".status.error")?.textContent;
        const fresh = messageEl(last);
        if (note && !last.error) fresh.append(h("div", { class: "status error", "data-testid": "stream-error" }, note));
        answer.replaceWith(fresh);
      }
    } catch { /* the server may still be down: the error shown stays */ }
  }

  send.addEventListener("click", sendMessage);
  stop.addEventListener("click", () => state.controller && state.controller.abort());
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  newBtn.addEventListener("click", () => { location.hash = "#/chat"; if (!conversationId) { state.id = null; openConversation(); } });
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.search = search.value.trim(); loadConversations(); }, 250);
  });

  translate(main);
  await Promise.all([loadLists(), loadConversations(), openConversation()]);
  input.focus();
  return { leave() { if (state.controller) state.controller.abort(); } };
}
