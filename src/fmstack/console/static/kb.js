// Knowledge bases: create, upload (files and folders, drag and drop) with per-file outcomes,
// documents, re-sync, delete, and a search tester comparing BM25, dense and hybrid.
import { api, ApiError, h, icon, stream, t, toast, translate } from "./app.js";

function upload(name, files, onProgress) {
  // XMLHttpRequest, not fetch: it reports upload progress.
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const f of files) form.append("files", f, f.webkitRelativePath || f.name);
    form.append("background", "true");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/knowledge-bases/${encodeURIComponent(name)}/documents`);
    const key = localStorage.getItem("fmstack.key");
    if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, xhr.status === 401 ? t("error.key")
        : (body && body.error ? body.error.message : `${xhr.status} ${xhr.statusText}`)));
    };
    xhr.onerror = () => reject(new ApiError(0, t("error.network")));
    xhr.send(form);
  });
}

async function listPage(main) {
  const name = h("input", { "data-i18n-placeholder": "kb.name", "aria-label": "name", "data-testid": "kb-name", required: true });
  const size = h("input", { type: "number", min: 20, max: 2000, value: 200, "aria-label": "chunk size" });
  const strategy = h("select", { "aria-label": "strategy" },
    ...["recursive", "fixed", "hierarchical"].map((s) => h("option", { value: s }, s)));
  const create = h("button", { class: "primary", "data-i18n": "kb.create", "data-testid": "kb-create" });
  const table = h("tbody");
  main.append(h("div", { class: "page" },
    h("div", { class: "panel row" }, name, h("label", {}, t("kb.chunk_size"), size), h("label", {}, t("kb.strategy"), strategy), create),
    h("div", { class: "panel table-wrap" }, h("table", {}, h("thead", {}, h("tr", {},
      ...["kb.name", "kb.documents", "kb.chunks", "kb.model"].map((k) => h("th", { "data-i18n": k })))), table))));
  async function load() {
    try {
      const res = await api("/api/knowledge-bases");
      table.replaceChildren(...res.data.map((k) => h("tr", {},
        h("td", {}, h("a", { href: `#/kb/${encodeURIComponent(k.name)}` }, k.name)),
        h("td", { class: "num" }, k.documents), h("td", { class: "num" }, k.chunks), h("td", {}, k.embedding_model))));
      if (!res.data.length) table.append(h("tr", {}, h("td", { colspan: 4, class: "muted" }, t("kb.none"))));
    } catch (e) { toast(e.message, "error"); }
  }
  create.addEventListener("click", async () => {
    try {
      const kb = await api("/api/knowledge-bases", { method: "POST", body: {
        name: name.value.trim(), chunking: { strategy: strategy.value, chunk_size: Number(size.value) } } });
      location.hash = `#/kb/${encodeURIComponent(kb.name)}`;
    } catch (e) { toast(e.message, "error"); }
  });
  await load();
  return {};
}

async function detailPage(main, kbName) {
  let kb;
  try { kb = await api(`/api/knowledge-bases/${encodeURIComponent(kbName)}`); }
  catch (e) { main.append(h("div", { class: "page" }, h("p", { class: "error" }, e.message))); return {}; }
  const fileInput = h("input", { type: "file", multiple: true, class: "hidden", "data-testid": "file-input" });
  const folderInput = h("input", { type: "file", multiple: true, webkitdirectory: true, class: "hidden" });
  const drop = h("div", { class: "drop", "data-testid": "drop" }, h("p", { "data-i18n": "kb.drop" }),
    h("div", { class: "row", style: "justify-content:center" },
      h("button", { type: "button", "data-i18n": "kb.choose_files", onclick: () => fileInput.click() }),
      h("button", { type: "button", "data-i18n": "kb.choose_folder", onclick: () => folderInput.click() })));
  const progress = h("div", { class: "panel hidden", "data-testid": "upload-progress" });
  const docs = h("tbody", { "data-testid": "documents" });
  const query = h("input", { class: "grow", "data-i18n-placeholder": "kb.query", "aria-label": "query", "data-testid": "kb-query" });
  const searchBtn = h("button", { class: "primary", "data-i18n": "kb.search" });
  const results = h("div", { class: "results", "data-testid": "results" });
  const syncPath = h("input", { class: "grow", "data-i18n-placeholder": "kb.sync_path", "aria-label": "server folder" });
  const syncBtn = h("button", { "data-i18n": "kb.sync" });
  const delBtn = h("button", { class: "danger", "data-i18n": "kb.delete" });

  main.append(h("div", { class: "page" },
    h("div", { class: "row" }, h("h2", { class: "grow title" }, kb.name), h("span", { class: "muted" },
      `${kb.embedding_model} · ${kb.chunking.strategy} ${kb.chunking.chunk_size}`), delBtn),
    drop, fileInput, folderInput, progress,
    h("div", { class: "panel" }, h("h3", { "data-i18n": "kb.documents" }), h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {},
      ...["kb.source", "kb.format", "kb.status", "kb.chunks", ""].map((k) => h("th", k ? { "data-i18n": k, class: k === "kb.format" ? "hide-phone" : null } : {})))), docs)),
      h("div", { class: "row" }, syncPath, syncBtn)),
    h("div", { class: "panel" }, h("h3", { "data-i18n": "kb.tester" }), h("div", { class: "row" }, query, searchBtn), results)));

  async function loadDocs() {
    try {
      const res = await api(`/api/knowledge-bases/${encodeURIComponent(kb.name)}/documents`);
      docs.replaceChildren(...res.data.map((d) => h("tr", {},
        h("td", {}, d.source), h("td", { class: "hide-phone" }, d.format),
        h("td", { class: `status-${d.status}`, title: d.error || "" }, d.status === "ready" ? t("kb.ready") : `${t("kb.error")}: ${d.error}`),
        h("td", { class: "num" }, d.n_chunks),
        h("td", {}, h("button", { class: "danger", title: t("kb.delete_doc"), onclick: async () => {
          try { await api(`/api/knowledge-bases/${encodeURIComponent(kb.name)}/documents/${d.id}`, { method: "DELETE" }); loadDocs(); }
          catch (e) { toast(e.message, "error"); }
        } }, icon("trash"))))));
      if (!res.data.length) docs.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("kb.no_docs"))));
    } catch (e) { toast(e.message, "error"); }
  }

  async function follow(job, bar, lines) {
    // Progress arrives as server-sent events until the job is done; the page stays usable meanwhile.
    let last = job;
    await stream(`/api/jobs/${job.id}/events?interval=0.3`, { method: "GET", onEvent(name, data) {
      last = data;
      const p = data.progress || {};
      bar.value = p.percent || 0;
      lines.replaceChildren(...(p.files || []).map((f) => h("li", { class: `status-${f.status}`, "data-status": f.status },
        `${f.source}: ${t(`kb.file_${f.status}`)}${f.reason ? ` — ${f.reason}` : ""}`)));
    } });
    return last;
  }

  async function ingest(files) {
    if (!files.length) return;
    const bar = h("progress", { max: 100, value: 0 });
    const lines = h("ul", { "data-testid": "file-results" });
    const label = h("div", { class: "muted" }, t("kb.uploading", { n: files.length }));
    progress.replaceChildren(label, bar, lines);
    progress.classList.remove("hidden");
    try {
      const job = await upload(kb.name, files, (share) => { bar.value = Math.round(share * 100); });
      label.textContent = t("kb.indexing");
      bar.value = 0;
      const done = await follow(job, bar, lines);
      label.textContent = done.status === "succeeded" ? t("kb.done") : `${t("kb.job")} ${done.status}: ${done.error || ""}`;
      label.dataset.testid = "upload-done";
    } catch (e) {
      label.textContent = e.message;
      label.className = "error";
      label.dataset.testid = "upload-error";
    }
    loadDocs();
  }

  fileInput.addEventListener("change", () => { ingest([...fileInput.files]); fileInput.value = ""; });
  folderInput.addEventListener("change", () => { ingest([...folderInput.files]); folderInput.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    ingest(await droppedFiles(e.dataTransfer));
  });
  syncBtn.addEventListener("click", async () => {
    const path = syncPath.value.trim();
    if (!path) return;
    try {
      const job = await api(`/api/knowledge-bases/${encodeURIComponent(kb.name)}/ingest`, { method: "POST", body: { paths: [path], sync: true } });
      const bar = h("progress", { max: 100, value: 0 });
      const lines = h("ul");
      progress.replaceChildren(h("div", { class: "muted" }, t("kb.indexing")), bar, lines);
      progress.classList.remove("hidden");
      await follow(job, bar, lines);
      loadDocs();
    } catch (e) { toast(e.message, "error"); }
  });
  delBtn.addEventListener("click", async () => {
    if (!confirm(t("kb.confirm_delete", { name: kb.name }))) return;
    try { await api(`/api/knowledge-bases/${encodeURIComponent(kb.name)}`, { method: "DELETE" }); location.hash = "#/kb"; }
    catch (e) { toast(e.message, "error"); }
  });
  const search = async () => {
    const q = query.value.trim();
    if (!q) return;
    results.replaceChildren();
    // bm25, dense and hybrid as they are, then hybrid reranked (the knowledge base's reranker, or
    // its embedding model): the reranker's score, and the fused score it replaced
    const reranker = (kb.retrieval && kb.retrieval.rerank) || "embedding";
    const runs = [["bm25", {}], ["dense", {}], ["hybrid", { rerank: null }], ["rerank", { rerank: reranker }]];
    const columns = await Promise.all(runs.map(async ([name, extra]) => {
      const body = { query: q, mode: name === "rerank" ? "hybrid" : name, top_k: 5 };
      if (extra.rerank) body.rerank = extra.rerank;
      const title = name === "rerank" ? `${t("kb.reranked")} (${reranker})` : name;
      try {
        const res = await api(`/api/knowledge-bases/${encodeURIComponent(kb.name)}/retrieve`, { method: "POST", body });
        return h("div", { "data-mode": name }, h("h4", {}, title), ...(res.data.length ? res.data.map((r) => h("div", { class: "hit" },
          h("span", { class: "score", title: JSON.stringify(r.scores) }, r.score.toFixed(4)),
          r.scores && r.scores.fused !== undefined ? h("span", { class: "muted", "data-testid": "fused" }, ` ← ${r.scores.fused.toFixed(4)}`) : "",
          " ", h("strong", {}, r.title), r.page ? ` p.${r.page}` : "",
          h("div", { class: "muted" }, r.text.slice(0, 240)))) : [h("p", { class: "muted" }, t("kb.no_hits"))]));
      } catch (e) { return h("div", {}, h("h4", {}, title), h("p", { class: "error" }, e.message)); }
    }));
    results.replaceChildren(...columns);
  };
  searchBtn.addEventListener("click", search);
  query.addEventListener("keydown", (e) => { if (e.key === "Enter") search(); });
  translate(main);
  await loadDocs();
  return {};
}

// Files of a drop, folders walked (webkitGetAsEntry), each keeping its relative path.
async function droppedFiles(transfer) {
  const entries = [...transfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...transfer.files];
  const out = [];
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push(new File([file], prefix + file.name, { type: file.type }));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
      }
    }
  }
  for (const e of entries) await walk(e, "");
  return out;
}

export async function kbView(main, [name]) {
  return name ? detailPage(main, name) : listPage(main);
}
