"""Alerts pushed where managers work: `dealer-risk notify` sends digests of new and changed
alerts to WeCom, DingTalk and Feishu/Lark group robots and to e-mail.

- digest: which alerts each destination is due (routing, severity, held by a known
  situation, already told) and the messages that carry them, within each platform's size;
- channels: each platform's request (signature, body) and how to read its answer;
- outbox: every message kept in the store (pending / sent / failed with the error), what
  each destination was told, the pace of each destination;
- run: the command's work from the snapshots to the answers.

Why the robots are written here and not sent through Apprise: Apprise fixes each robot's
host (qyapi.weixin.qq.com, oapi.dingtalk.com, open.feishu.cn), so neither a company proxy
nor the tests' local servers can stand in; its WeCom robot sends text only and its Feishu
robot signs nothing. The robots are one signed JSON POST each (requests, already installed
with MLflow); e-mail is the standard library's smtplib. Pacing, retries, the outbox and
de-duplication are ours in any case: no library keeps them across runs.
"""
