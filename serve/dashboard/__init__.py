"""The managers' dashboard: server-rendered pages in the API's process (worklist, dealer,
overview, reps, support, sign-in), in English and Chinese, with inline SVG charts and no
external assets. Pages take their documents from serve.service, as the API does; base.py
is the page machinery, mount.py adds the pages to the application."""
