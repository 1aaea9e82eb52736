"""Real local stand-ins for the group robots and an SMTP server, on the loopback address.

`Robots` is one HTTP server answering as WeCom, DingTalk and Feishu robots do: it checks
each platform's signature, message size and rate limit and answers with the platform's
error codes; a test can script the next answers (429, 500, a robot's own code). `Mail`
is aiosmtpd's SMTP server keeping what it receives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import deque
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller

WECOM_KEY, DING_TOKEN, DING_SECRET = "wk-1", "dt-1", "SECd1"
FEISHU_HOOK, FEISHU_SECRET = "fh-1", "fs-1"


class Robots:
    def __init__(self):
        self.received: list[dict] = []  # kind, payload, accepted
        self.script: deque = deque()  # (status, json or None, headers) for the next calls
        self.sends: dict[str, list[float]] = {"wecom": [], "dingtalk": [], "feishu": []}
        self.lock = threading.Lock()
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                status, answer, headers = robots.answer(self.path, payload)
                body = json.dumps(answer).encode() if answer is not None else b"oops"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def urls(self) -> dict[str, str]:
        return {"wecom": f"{self.base}/cgi-bin/webhook/send?key={WECOM_KEY}",
                "dingtalk": f"{self.base}/robot/send?access_token={DING_TOKEN}",
                "feishu": f"{self.base}/open-apis/bot/v2/hook/{FEISHU_HOOK}"}

    def accepted(self, kind: str) -> list[dict]:
        return [r["payload"] for r in self.received if r["kind"] == kind and r["accepted"]]

    def answer(self, path: str, payload: dict) -> tuple[int, dict | None, dict]:
        url = urlparse(path)
        query = parse_qs(url.query)
        kind = ("wecom" if url.path == "/cgi-bin/webhook/send" else
                "dingtalk" if url.path == "/robot/send" else "feishu")
        with self.lock:
            if self.script:
                status, answer, headers = self.script.popleft()
                self.received.append({"kind": kind, "payload": payload, "accepted": False})
                return status, answer, headers
            verdict = self._check(kind, query, url.path, payload)
            self.received.append({"kind": kind, "payload": payload,
                                  "accepted": verdict is None})
            if verdict is None:
                self.sends[kind].append(time.time())
                return 200, ({"code": 0, "msg": "success"} if kind == "feishu"
                             else {"errcode": 0, "errmsg": "ok"}), {}
            return 200, verdict, {}

    def _check(self, kind: str, query: dict, path: str, payload: dict) -> dict | None:
        """None when the platform would take it; else its error answer."""
        now = time.time()
        recent = [t for t in self.sends[kind] if t > now - 60]
        if kind == "wecom":
            if query.get("key") != [WECOM_KEY]:
                return {"errcode": 93000, "errmsg": "invalid webhook url"}
            content = payload.get("markdown", {}).get("content", "")
            if payload.get("msgtype") != "markdown" or not content:
                return {"errcode": 40008, "errmsg": "invalid message type"}
            if len(content.encode()) > 4096:
                return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
            if len(recent) >= 20:
                return {"errcode": 45009, "errmsg": "api freq out of limit"}
            return None
        if kind == "dingtalk":
            stamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            expected = base64.b64encode(hmac.new(
                DING_SECRET.encode(), f"{stamp}\n{DING_SECRET}".encode(),
                hashlib.sha256).digest()).decode()
            if query.get("access_token") != [DING_TOKEN] or not hmac.compare_digest(
                    sign, expected) or abs(now * 1000 - int(stamp or 0)) > 3_600_000:
                return {"errcode": 310000, "errmsg": "sign not match"}
            if payload.get("msgtype") != "markdown" or not payload["markdown"].get("title"):
                return {"errcode": 40035, "errmsg": "missing parameter"}
            if len(recent) >= 20:
                return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
            return None
        stamp = payload.get("timestamp", "0")
        expected = base64.b64encode(hmac.new(f"{stamp}\n{FEISHU_SECRET}".encode(), b"",
                                             hashlib.sha256).digest()).decode()
        if not path.endswith(FEISHU_HOOK) or payload.get("sign") != expected \
                or abs(now - int(stamp)) > 3600:
            return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        card = payload.get("card", {})
        if payload.get("msg_type") != "interactive" or \
                card["elements"][0]["text"]["tag"] != "lark_md":
            return {"code": 9499, "msg": "Bad Request"}
        if len([t for t in recent if t > now - 1]) >= 5 or len(recent) >= 100:
            return {"code": 11232, "msg": "frequency limited"}
        return None


class _Keep:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos,
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


class Mail:
    def __init__(self):
        self.handler = _Keep()
        with socket.socket() as probe:  # aiosmtpd checks its port by connecting: not 0
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def messages(self):
        return self.handler.messages
