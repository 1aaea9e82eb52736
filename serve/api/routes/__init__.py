"""One router per resource: thin handlers that parse the request and answer with a
serve.service document."""
