"""The managers' guide (/dashboard/guide): how to read and use every page, in the reader's
language, with the alert rules in force appended from the settings.

The guide's text lives beside the templates (guides/manager.<lang>.md) so an installed
package serves it on a closed network; docs/zh/ links to the Chinese one.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from serve.dashboard.base import HERE, html_page, language, router, signed_in
from serve.dashboard.i18n import label, translate
from serve.settings import Settings

GUIDES = HERE / "guides"


@functools.cache
def guide_html(lang: str) -> str:
    """The guide as HTML: CommonMark with tables, raw HTML in the text not passed through."""
    text = (GUIDES / f"manager.{lang}.md").read_text(encoding="utf-8")
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def rules_html(settings: Settings, lang: str) -> str:
    """The alert rules in force, as a table: the settings may differ from the defaults."""
    rows = "".join(
        f"<tr><td>{escape(rule.title_zh if lang == 'zh' else rule.title_en)}</td>"
        f"<td>{escape(label('severity', rule.severity, lang))}</td>"
        f"<td><code>{escape(rule.name)}</code></td></tr>"
        for rule in settings.alerts.rules)
    return (f"<h2 id=\"rules\">{escape(translate('guide_rules', lang))}</h2>"
            f"<table><thead><tr><th>{escape(translate('guide_rule', lang))}</th>"
            f"<th>{escape(translate('guide_severity', lang))}</th>"
            f"<th>{escape(translate('guide_rule_name', lang))}</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


@router.get("/guide", response_class=HTMLResponse, dependencies=[Depends(signed_in)])
def guide_page(request: Request, lang: Annotated[str | None, Query()] = None):
    """How to use the dashboard, for managers."""
    lang = language(request, lang)
    settings: Settings = request.app.state.holder.settings
    return html_page(request, "guide.html", lang,
                     body=Markup(guide_html(lang) + rules_html(settings, lang)))
