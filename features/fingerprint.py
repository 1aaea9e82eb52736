"""What data a run saw: per table the file's content hash, rows accepted and rejected, and
the date range; logged with every MLflow run so a model can be traced to its inputs."""

from __future__ import annotations

import hashlib

from features.storage import Location, as_location
from features.validation import ValidationReport

HASH_BLOCK = 1 << 20


def file_sha256(path: Location) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(report: ValidationReport) -> dict:
    """Row counts, date ranges and content hashes of the tables in a validation report,
    plus one hash over them all (the data's identity)."""
    tables = {}
    for name, t in report.tables.items():
        tables[name] = {"file": as_location(t.file).name,
                        "sha256": file_sha256(as_location(t.file)),
                        "rows_read": t.rows_read, "accepted": t.accepted,
                        "rejected": t.rejected, "date_min": t.date_min, "date_max": t.date_max}
    combined = hashlib.sha256("".join(f"{k}:{v['sha256']};" for k, v in sorted(
        tables.items())).encode()).hexdigest()
    return {"sha256": combined, "as_of": report.as_of, "tables": tables,
            "absent_tables": list(report.absent_tables)}
