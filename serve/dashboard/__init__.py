"""The managers' dashboard: server-rendered pages from the API process (worklist, dealer,
overview), in English and Chinese, with inline SVG charts and no external assets."""
