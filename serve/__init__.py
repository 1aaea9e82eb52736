"""What users touch, and what the service computes for them. Imports features and models.

Inside, one direction, lowest first (tests/test_architecture.py holds it):

- `serve.settings`, `serve.playbook`: the one settings object and the playbook's actions.
- `serve.batch`: what is computed, away from any request: scoring and its snapshots,
  levers and what-if, the reps' scorecard rows, the support board, recommended actions,
  monitoring. New computing (retention programs and budget plans, say) goes here.
- `serve.service`: the served state (snapshots and champions in memory) and the documents
  answered from it; the API and the dashboard both take their answers from here, so a
  page and a JSON answer never differ.
- `serve.web`: what the API and the dashboard share over HTTP: request dependencies, API
  keys and roles, responses, metrics.
- `serve.api` (JSON for CRMs) and `serve.dashboard` (pages for managers): delivery; neither
  imports the other.
- `serve.app` (the FastAPI application) and `serve.cli` (the `dealer-risk` command line):
  the entry points, which put the rest together. Pushing work to people (messages, tasks)
  is delivery too, beside these two.
"""
