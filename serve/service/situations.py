"""Known situations: what a rep or a manager knows about a dealer that the data does not
(a store being refitted until March, an owner handing over, a dispute), with an expiry.

While a situation runs, the dealer is still scored and listed, with the note shown, but
its alerts are held: GET /v1/alerts leaves them out unless asked, the dashboard counts
them apart, so the same warning does not fire every week at a team that already knows.
It ends by itself on its expiry date (alerts come back the day after if the rule still
fires), or early by hand. Every creation, change and end is kept with who made it and
what changed (serve.store.schema.situation_events): the trail is the store's, rows are
only added.

One situation runs per dealer at a time: a second is refused while one runs (change or
end the first), so the hold a manager sees is never ambiguous.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select, text, update

from serve.service.errors import Conflict, Invalid, NotFound
from serve.store import open_engine, store_url
from serve.store.schema import situation_events, situations

KINDS: dict[str, tuple[str, str]] = {
    "store_refit": ("Store refit", "门店装修"),
    "owner_change": ("Owner change", "店主变更"),
    "dispute": ("Dispute", "纠纷"),
    "other": ("Other", "其他"),
}
"""Kind -> (English, Chinese) name."""

log = logging.getLogger("dealer_risk.situations")

NOTE_MAX = 500
NAME_MAX = 128


@dataclass(frozen=True)
class Situation:
    id: int
    dealer_id: str
    kind: str
    note: str
    starts_on: date
    expires_on: date
    ended_on: date | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    def runs_on(self, day: date) -> bool:
        """Alerts are held on `day`: started, not expired, not ended."""
        end = min(self.expires_on, self.ended_on) if self.ended_on else self.expires_on
        return self.starts_on <= day < end

    def document(self, lang: str, day: date) -> dict:
        """As the API and the pages show it."""
        return {**asdict(self), "name": KINDS[self.kind][lang == "zh"],
                "active": self.runs_on(day),
                **{k: getattr(self, k).isoformat() for k in
                   ("starts_on", "expires_on", "created_at", "updated_at")},
                "ended_on": self.ended_on.isoformat() if self.ended_on else None}


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were written in UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _situation(row) -> Situation:
    values = row._asdict()
    for name in ("created_at", "updated_at"):
        values[name] = _utc(values[name])
    return Situation(**values)


def credential_of(key: str | None) -> str:
    """What the trail keeps of the key that signed a change: a fingerprint, never the key
    ('open' when the service runs without keys)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else "open"


def _name(by: str) -> str:
    by = (by or "").strip()
    if not by or len(by) > NAME_MAX:
        raise Invalid(f"by: the name of who records this (1 to {NAME_MAX} characters)")
    return printable("by", by)


def printable(field: str, value: str | None) -> str | None:
    """Text a person typed, refused with its field when it holds control characters other
    than line breaks and tabs: PostgreSQL cannot store a NUL, and no name or note needs
    one."""
    if value is not None and any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise Invalid(f"{field}: control characters are not allowed")
    return value


class SituationStore:
    """The situations table and its trail, over one engine (serve.store)."""

    def __init__(self, engine: Engine, timezone: str, max_days: int):
        self.engine = engine
        self.zone = ZoneInfo(timezone)
        self.max_days = max_days

    @classmethod
    def from_settings(cls, settings) -> SituationStore:
        url = store_url(settings.store.url, settings.work_dir)
        return cls(open_engine(url), settings.contract.timezone,
                   settings.store.situation_max_days)

    def today(self) -> date:
        """The manufacturer's calendar day (contract.timezone): when a hold ends."""
        return datetime.now(self.zone).date()

    # reading ---------------------------------------------------------------------------
    def get(self, situation_id: int) -> Situation:
        with self.engine.connect() as c:
            row = c.execute(select(situations).where(situations.c.id == situation_id)).first()
        if row is None:
            raise NotFound(f"no known situation {situation_id}")
        return _situation(row)

    def for_dealer(self, dealer_id: str) -> list[Situation]:
        """The dealer's situations, newest first."""
        with self.engine.connect() as c:
            rows = c.execute(select(situations).where(situations.c.dealer_id == dealer_id)
                             .order_by(situations.c.id.desc())).all()
        return [_situation(r) for r in rows]

    def listed(self, *, day: date, active: bool | None = None,
               dealer_id: list[str] | None = None) -> list[Situation]:
        """Every situation (or those running on `day`, or not), newest first."""
        q = select(situations).order_by(situations.c.id.desc())
        if dealer_id:
            q = q.where(situations.c.dealer_id.in_(dealer_id))
        with self.engine.connect() as c:
            found = [_situation(r) for r in c.execute(q).all()]
        return [s for s in found if active is None or s.runs_on(day) == active]

    def running(self, day: date) -> dict[str, Situation]:
        """Dealer -> its situation running on `day`."""
        q = select(situations).where(situations.c.starts_on <= day,
                                     situations.c.expires_on > day)
        with self.engine.connect() as c:
            found = [_situation(r) for r in c.execute(q).all()]
        return {s.dealer_id: s for s in found if s.runs_on(day)}

    def events(self, dealer_id: str) -> list[dict]:
        """The dealer's audit trail, oldest first."""
        q = (select(situation_events).where(situation_events.c.dealer_id == dealer_id)
             .order_by(situation_events.c.id))
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        # str(): the row's keys are SQLAlchemy's quoted_name, a str subclass orjson refuses
        return [{str(k): v for k, v in r._asdict().items()} | {"at": _utc(r.at).isoformat()}
                for r in rows]

    def stamp(self) -> tuple:
        """Changes whenever any situation does: what a cache compares."""
        with self.engine.connect() as c:
            return tuple(c.execute(select(func.count(), func.max(situations.c.updated_at))
                                   .select_from(situations)).one())

    # writing ---------------------------------------------------------------------------
    def _check(self, kind: str, note: str, expires_on: date, day: date) -> None:
        if kind not in KINDS:
            raise Invalid(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
        if len(note) > NOTE_MAX:
            raise Invalid(f"note: at most {NOTE_MAX} characters (got {len(note)})")
        printable("note", note)
        if not day < expires_on <= day + timedelta(days=self.max_days):
            raise Invalid(f"expires_on: {expires_on.isoformat()} must fall after today "
                          f"({day.isoformat()}) and within {self.max_days} days "
                          "(store.situation_max_days)")

    def add(self, dealer_id: str, kind: str, note: str, expires_on: date, *, by: str,
            credential: str, day: date | None = None) -> Situation:
        """Record a situation starting today; refused while another runs for the dealer."""
        day = day or self.today()
        by = _name(by)
        printable("dealer_id", dealer_id)
        note = (note or "").strip()
        self._check(kind, note, expires_on, day)
        now = datetime.now(UTC)
        with self.engine.begin() as c:
            lock_dealer(c, dealer_id)
            for row in c.execute(select(situations).where(
                    situations.c.dealer_id == dealer_id)).all():
                other = _situation(row)
                if other.runs_on(day):
                    raise Conflict(f"dealer {dealer_id} already has a known situation "
                                   f"({other.kind}, until {other.expires_on.isoformat()}, "
                                   f"id {other.id}): change it or end it first")
            new_id = c.execute(insert(situations).values(
                dealer_id=dealer_id, kind=kind, note=note, starts_on=day,
                expires_on=expires_on, ended_on=None, created_by=by, created_at=now,
                updated_at=now)).inserted_primary_key[0]
            c.execute(insert(situation_events).values(
                situation_id=new_id, dealer_id=dealer_id, at=now, by=by,
                credential=credential, action="created",
                changes={"kind": [None, kind], "note": [None, note],
                         "expires_on": [None, expires_on.isoformat()]}))
        return self.get(new_id)

    def change(self, situation_id: int, *, by: str, credential: str,
               kind: str | None = None, note: str | None = None,
               expires_on: date | None = None, end: bool = False,
               day: date | None = None) -> Situation:
        """Change a running situation's kind, note or expiry, or end it today."""
        day = day or self.today()
        by = _name(by)
        old = self.get(situation_id)
        if not old.runs_on(day):
            raise Conflict(f"known situation {situation_id} is over (expired "
                           f"{old.expires_on.isoformat()}"
                           + (f", ended {old.ended_on.isoformat()}" if old.ended_on else "")
                           + "): record a new one")
        values = {"kind": old.kind if kind is None else kind,
                  "note": old.note if note is None else note.strip(),
                  "expires_on": old.expires_on if expires_on is None else expires_on}
        if not end:
            self._check(values["kind"], values["note"], values["expires_on"], day)
        else:
            values["ended_on"] = day
        changes = {k: [_plain(getattr(old, k)), _plain(v)] for k, v in values.items()
                   if getattr(old, k) != v}
        if not changes:
            return old
        now = datetime.now(UTC)
        with self.engine.begin() as c:
            c.execute(update(situations).where(situations.c.id == situation_id)
                      .values(**values, updated_at=now))
            c.execute(insert(situation_events).values(
                situation_id=situation_id, dealer_id=old.dealer_id, at=now, by=by,
                credential=credential, action="ended" if end else "changed",
                changes=changes))
        return self.get(situation_id)


def lock_dealer(connection, dealer_id: str) -> None:
    """Serialize the writers of one dealer's records until the transaction ends, so that
    "one running at a time" holds when two workers record at once. PostgreSQL: an advisory
    lock on the dealer. SQLite: a write statement takes the database's write lock at once
    (it would otherwise wait for the insert, after both had read)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:d))"),
                           {"d": dealer_id})
    else:
        connection.execute(update(situations).where(situations.c.dealer_id == dealer_id)
                           .values(dealer_id=situations.c.dealer_id))


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


class RunningSituations:
    """The situations running today, per dealer, for the pages and the lookups that show
    them on every request: re-read from the store when it changed, checked at most every
    `refresh_seconds` (another worker's change shows within that time; this worker's at
    once, as its writes call `invalidate`)."""

    def __init__(self, store: SituationStore, refresh_seconds: float):
        self.store = store
        self.refresh = refresh_seconds
        self._lock = threading.Lock()
        self._checked = -1e18
        self._stamp: tuple | None = None
        self._day: date | None = None
        self._running: dict[str, Situation] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._checked = -1e18

    def get(self) -> dict[str, Situation]:
        now = time.monotonic()
        if now - self._checked < self.refresh:
            return self._running
        with self._lock:
            if now - self._checked >= self.refresh:
                day, stamp = self.store.today(), self.store.stamp()
                if stamp != self._stamp or day != self._day:
                    self._running = self.store.running(day)
                    self._stamp, self._day = stamp, day
                self._checked = now
        return self._running


class Situations:
    """One server process's store and cache of running situations, opened on first use
    (opening migrates the schema: a process that never records or shows one never touches
    the database)."""

    def __init__(self, settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._store: SituationStore | None = None
        self._running: RunningSituations | None = None

    @property
    def store(self) -> SituationStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = SituationStore.from_settings(self.settings)
                    self._running = RunningSituations(self._store,
                                                      self.settings.store.refresh_seconds)
        return self._store

    def running(self) -> dict[str, Situation]:
        """Dealer -> its situation running today. A store that cannot be read (a database
        down) holds nothing and is logged: scores and alerts are served as if no situation
        ran, rather than not at all."""
        try:
            self.store  # noqa: B018 - opens the store on first use
            return self._running.get()
        except Exception:  # noqa: BLE001 - any driver error: serve without the holds
            log.exception("known situations unavailable: alerts are not held")
            return {}

    def written(self) -> None:
        """This process changed the store: show it at once."""
        if self._running is not None:
            self._running.invalidate()
