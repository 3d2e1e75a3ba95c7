"""Screenshots of every console page at desktop and phone width, in English and Chinese.

Starts `fmstack serve` on a scratch data folder, fills it (a conversation with Markdown and a cited
answer, a knowledge base with documents), then captures each page with Debian's Chromium.

    python scripts/screenshots.py [--out screenshots/]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"desktop": (1366, 850), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(http: httpx.Client) -> dict:
    docs = ROOT / "bench" / "data" / "retrieval" / "docs"
    http.post("/api/knowledge-bases", json={"name": "handbook", "chunking": {"chunk_size": 120}})
    files = [("files", (p.name, p.read_bytes())) for p in sorted(docs.glob("*.md"))]
    files.append(("files", ("broken.pdf", b"%PDF-1.4 broken")))
    http.post("/api/knowledge-bases/handbook/documents", files=files)
    conv = http.post("/api/conversations", json={"title": "Release checklist"}).json()
    http.post(
        f"/api/conversations/{conv['id']}/messages",
        json={
            "content": "Write a short Python function that adds two numbers, and a table of two test cases.",
            "max_tokens": 120,
            "temperature": 0,
        },
    )
    kb_conv = http.post("/api/conversations", json={"title": "熊猫问答"}).json()
    http.post(
        f"/api/conversations/{kb_conv['id']}/messages",
        json={"content": "大熊猫吃什么？", "knowledge_base": "handbook", "max_tokens": 80, "temperature": 0},
    )
    for i in range(12):
        http.post("/api/conversations", json={"title": f"Draft {i + 1}"})
    http.post(
        "/api/agents",
        json={
            "name": "handbook-helper",
            "instructions": "Answer from the handbook.",
            "knowledge_bases": ["handbook"],
            "limits": {"max_steps": 3},
        },
    )
    run = http.post("/api/agents/handbook-helper/runs", json={"input": "What do pandas eat?"}).json()
    job = http.post(
        "/api/evaluations",
        json={
            "name": "handbook-qa",
            "dataset": [
                {"question": "What do pandas eat?", "answer": "Bamboo"},
                {"question": "大熊猫吃什么？", "answer": "竹子"},
            ],
            "metrics": ["token_f1", "chrf"],
            "configurations": [
                {"name": "short", "params": {"max_tokens": 16}},
                {"name": "long", "params": {"max_tokens": 48}},
            ],
        },
    ).json()
    for _ in range(600):
        state = http.get(f"/api/jobs/{job['id']}").json()
        if state["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    return {
        "conv": conv["id"],
        "kb_conv": kb_conv["id"],
        "run": run["id"],
        "eval": (state.get("result") or {}).get("runs", [""])[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="fmstack-shots-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FMSTACK_")} | {"FMSTACK_DATA_DIR": str(data)}
    server = subprocess.Popen(
        [sys.executable, "-m", "fmstack", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=300) as http:
            for _ in range(600):
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            ids = seed(http)
        from playwright.sync_api import sync_playwright

        pages = {
            "chat": f"chat/{ids['conv']}",
            "chat-kb": f"chat/{ids['kb_conv']}",
            "playground": "playground",
            "kb": "kb",
            "kb-detail": "kb/handbook",
            "guardrails": "guardrails",
            "agents": f"agents/handbook-helper/{ids['run']}",
            "evals": f"evals/{ids['eval']}",
            "settings": "settings",
        }
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            for lang in ("en", "zh"):
                for size, (w, h) in SIZES.items():
                    ctx = browser.new_context(
                        viewport={"width": w, "height": h},
                        locale="zh-CN" if lang == "zh" else "en-US",
                        is_mobile=size == "phone",
                        device_scale_factor=1,
                    )
                    page = ctx.new_page()
                    for name, route in pages.items():
                        page.goto(f"{base}/#/{route}")
                        page.wait_for_selector(f"body[data-ready='{route.split('/')[0]}']")
                        if name == "playground":
                            page.get_by_test_id("prompt").fill(
                                "Name three colours." if lang == "en" else "说出三种颜色。"
                            )
                            page.get_by_test_id("compare").check()
                            page.get_by_test_id("max_tokens-A").fill("24")
                            page.get_by_test_id("max_tokens-B").fill("24")
                            page.get_by_test_id("temperature-B").fill("1")
                            page.get_by_test_id("run").click()
                            page.get_by_test_id("stats-B").get_by_test_id("tokens").wait_for(timeout=120_000)
                        if name == "kb-detail":
                            page.get_by_test_id("kb-query").fill("panda bamboo" if lang == "en" else "大熊猫 竹子")
                            page.get_by_test_id("kb-query").press("Enter")
                            page.locator("[data-testid=results] [data-mode=hybrid]").wait_for()
                        page.wait_for_timeout(300)
                        path = out / f"{name}-{size}-{lang}.png"
                        page.screenshot(path=str(path), full_page=True)
                        print(path)
                    ctx.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
