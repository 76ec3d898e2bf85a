"""A stand-in for an Ollama server, for tests: there is no Ollama binary on this machine.

It speaks the part of Ollama's HTTP API that the `ollama` client and langchain-ollama
use (GET /api/tags, POST /api/chat with NDJSON streaming and a JSON-schema `format`),
and answers with the embedded llama.cpp model, so the real client code runs for real.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

MODEL_NAME = "wegwijzer-standin:latest"


def create_standin_app(model_path: Path, threads: int = 2) -> FastAPI:
    from llama_cpp import Llama

    llama = Llama(model_path=str(model_path), n_ctx=4096, n_threads=threads, verbose=False)
    lock = threading.Lock()
    app = FastAPI()
    app.state.requests = []

    @app.get("/api/tags")
    def tags() -> dict:
        return {"models": [{"name": MODEL_NAME, "model": MODEL_NAME, "size": 1}]}

    @app.post("/api/chat")
    async def chat(request: Request):
        body = await request.json()
        app.state.requests.append(body)
        options = body.get("options") or {}
        kwargs = {
            "messages": body["messages"],
            "max_tokens": options.get("num_predict") or 256,
            "temperature": options.get("temperature", 0.0),
        }
        if isinstance(body.get("format"), dict):
            kwargs["response_format"] = {"type": "json_object", "schema": body["format"]}
        elif body.get("format") == "json":
            kwargs["response_format"] = {"type": "json_object"}
        if not body.get("stream", True):
            with lock:
                out = llama.create_chat_completion(**kwargs)
            return JSONResponse(_final(out["choices"][0]["message"]["content"], out["usage"]))
        return StreamingResponse(_stream(llama, lock, kwargs), media_type="application/x-ndjson")

    return app


def _stream(llama, lock: threading.Lock, kwargs: dict) -> Iterator[bytes]:
    count = 0
    with lock:
        for chunk in llama.create_chat_completion(stream=True, **kwargs):
            delta = chunk["choices"][0]["delta"].get("content") or ""
            if delta:
                count += 1
                line = {
                    "model": MODEL_NAME,
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "message": {"role": "assistant", "content": delta},
                    "done": False,
                }
                yield (json.dumps(line) + "\n").encode()
    yield (json.dumps(_final("", {"prompt_tokens": 0, "completion_tokens": count})) + "\n").encode()


def _final(content: str, usage: dict) -> dict:
    return {
        "model": MODEL_NAME,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": usage.get("prompt_tokens", 0),
        "eval_count": usage.get("completion_tokens", 0),
    }


class StandinServer:
    """Runs the stand-in on a loopback port in a background thread."""

    def __init__(self, model_path: Path, port: int) -> None:
        self.app = create_standin_app(model_path)
        self.port = port
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StandinServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the Ollama stand-in did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
