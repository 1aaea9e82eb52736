"""What is computed, away from any request: the champions' outputs and batch scoring
(snapshots with reasons, alerts, flags, levers), their files, what-if rescoring, the reps'
scorecard rows, the support board rows, recommended actions, monitoring, the alert rules'
document, and repeating a recorded run. Pure functions over frames where possible; reads
and writes only in snapshots.py, monitor.py and reproduce.py. Imports settings, never the
service or delivery packages."""
