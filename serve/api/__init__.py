"""The versioned REST API for CRMs (/v1): one router per resource in routes/, response
models in schemas.py, cursors for pages, and the reference at /docs (docs.py); every answer
comes from serve.service. mount.py adds it to the application."""
