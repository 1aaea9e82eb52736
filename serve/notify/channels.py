"""Each platform's request and how to read its answer.

- WeCom (企业微信) group robot: POST {"msgtype": "markdown", "markdown": {"content"}} to its
  webhook; the key is in the URL. Markdown at most 4,096 bytes; 20 messages a minute
  (errcode 45009 when exceeded).
- DingTalk (钉钉) custom robot, "加签" security: the URL gains `timestamp` (ms) and `sign`,
  base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")), URL-encoded. 20 messages
  a minute; beyond it errcode 130101 and the robot is blocked for 10 minutes.
- Feishu / Lark (飞书) custom bot, signature check on: the body carries `timestamp`
  (seconds) and `sign`, base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")); an
  interactive card whose text is lark_md. 100 a minute and 5 a second (code 11232).
- E-mail over SMTP: HTML with a plain-text alternative.

Every robot answers HTTP 200 with its own error code in the body; HTTP 429 and 5xx come
from gateways in front of it. `Outcome` says whether to retry, after how long, and whether
the destination is blocked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage

import requests

from serve.settings import Destination, SmtpSettings

RATE_LIMITED = {"wecom": {45009}, "dingtalk": {130101}, "feishu": {11232}}
"""The robots' own codes for 'too many messages': retried (DingTalk's blocks the robot)."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None
    retry: bool = False
    wait: float | None = None  # seconds the answer asked for (Retry-After)
    block: bool = False  # the destination refuses everything for a while


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def robot_request(dest: Destination, body: dict, now: float | None = None) -> tuple[str, dict]:
    """The URL and JSON to POST for a digest (`body`: title and markdown)."""
    now = time.time() if now is None else now
    url = dest.url.get_secret_value()
    if dest.kind == "wecom":
        return url, {"msgtype": "markdown", "markdown": {"content": body["markdown"]}}
    if dest.kind == "dingtalk":
        stamp = int(now * 1000)
        sign = urllib.parse.quote_plus(dingtalk_sign(dest.secret.get_secret_value(), stamp))
        joiner = "&" if "?" in url else "?"
        return (f"{url}{joiner}timestamp={stamp}&sign={sign}",
                {"msgtype": "markdown",
                 "markdown": {"title": body["title"], "text": body["markdown"]}})
    card = {"msg_type": "interactive", "card": {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": body["title"]},
                   "template": "orange"},
        "elements": [{"tag": "div", "text": {"tag": "lark_md",
                                             "content": body["markdown"]}}]}}
    if dest.secret is not None:
        stamp = int(now)
        card = {"timestamp": str(stamp),
                "sign": feishu_sign(dest.secret.get_secret_value(), stamp), **card}
    return url, card


def read_answer(kind: str, status: int, headers, payload: dict | None) -> Outcome:
    """What a robot's HTTP answer means for this message."""
    if status == 429 or status >= 500:
        after = headers.get("Retry-After")
        wait = float(after) if after and after.replace(".", "", 1).isdigit() else None
        return Outcome(False, f"HTTP {status}", retry=True, wait=wait)
    if status >= 400:
        return Outcome(False, f"HTTP {status}")
    payload = payload or {}
    code = payload.get("errcode", payload.get("code", payload.get("StatusCode", 0)))
    if code in (0, None):
        return Outcome(True)
    message = payload.get("errmsg") or payload.get("msg") or ""
    error = f"{kind} error {code}: {message}".strip()
    if code in RATE_LIMITED.get(kind, set()):
        return Outcome(False, error, retry=True, block=kind == "dingtalk")
    return Outcome(False, error)


def post_robot(dest: Destination, body: dict, session: requests.Session,
               timeout: float) -> Outcome:
    url, payload = robot_request(dest, body)
    try:
        response = session.post(url, json=payload, timeout=timeout)
    except requests.RequestException as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}", retry=True)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    return read_answer(dest.kind, response.status_code, response.headers, answer)


def send_email(dest: Destination, smtp: SmtpSettings, subject: str, body: dict) -> Outcome:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = smtp.sender
    message["To"] = ", ".join(dest.to)
    message.set_content(body["plain"])
    message.add_alternative(f"<html><body>{body['html']}</body></html>", subtype="html")
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.user:
                server.login(smtp.user, smtp.password.get_secret_value()
                             if smtp.password else "")
            server.send_message(message)
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                       retry=400 <= exc.smtp_code < 500)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}", retry=True)
    return Outcome(True)
