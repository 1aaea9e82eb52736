"""Known situations in the store, on SQLite and on a real PostgreSQL: when a hold runs,
the audit trail, the schema that the migrations build, concurrent writers, and another
process seeing a change."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from serve.service.errors import Conflict, Invalid, NotFound
from serve.service.situations import Situations, SituationStore, credential_of
from serve.settings import Settings
from serve.store import open_engine
from serve.store.schema import metadata

DAY = date(2026, 3, 2)


@pytest.fixture
def settings(tmp_path, store_url):
    return Settings(work_dir=tmp_path, store={"url": store_url, "refresh_seconds": 0})


@pytest.fixture
def store(settings):
    return SituationStore.from_settings(settings)


def test_the_migrations_build_exactly_the_schema_the_code_uses(store):
    with store.engine.connect() as c:
        assert compare_metadata(MigrationContext.configure(c), metadata) == []
        assert c.exec_driver_sql("select version_num from alembic_version").scalar() == "0003"


def test_opening_again_migrates_nothing_and_keeps_the_records(settings, store):
    made = store.add("D1", "dispute", "invoice", DAY + timedelta(days=10), by="Wang",
                     credential=credential_of("k"), day=DAY)
    open_engine.cache_clear()
    again = SituationStore.from_settings(settings)
    assert again.get(made.id) == made


def test_a_hold_runs_from_today_until_its_expiry_or_its_early_end(store):
    s = store.add("D1", "store_refit", "showroom refit", DAY + timedelta(days=30),
                  by="Wang", credential=credential_of("k"), day=DAY)
    assert s.runs_on(DAY) and s.runs_on(DAY + timedelta(days=29))
    assert not s.runs_on(DAY + timedelta(days=30))  # the expiry: alerts fire again
    assert not s.runs_on(DAY - timedelta(days=1))
    assert set(store.running(DAY)) == {"D1"}
    assert store.running(DAY + timedelta(days=30)) == {}
    ended = store.change(s.id, by="Li", credential="open", end=True, day=DAY + timedelta(days=5))
    assert ended.ended_on == DAY + timedelta(days=5)
    assert not ended.runs_on(DAY + timedelta(days=5))
    assert store.running(DAY + timedelta(days=5)) == {}
    with pytest.raises(Conflict, match="is over"):
        store.change(s.id, by="Li", credential="open", note="late", day=DAY + timedelta(days=6))


def test_every_change_is_in_the_trail_with_who_and_what(store):
    s = store.add("D7", "owner_change", "son takes over", DAY + timedelta(days=60),
                  by="Wang", credential=credential_of("field-key-1"), day=DAY)
    li = credential_of("field-key-2")
    store.change(s.id, by="Li", credential=li, expires_on=DAY + timedelta(days=90),
                 note="son takes over; new contract in May", day=DAY)
    store.change(s.id, by="Li", credential=li, note="son takes over; new contract in May",
                 day=DAY)  # nothing changes: nothing recorded
    store.change(s.id, by="Zhao", credential="open", end=True, day=DAY + timedelta(days=3))
    trail = store.events("D7")
    assert [e["action"] for e in trail] == ["created", "changed", "ended"]
    assert [e["by"] for e in trail] == ["Wang", "Li", "Zhao"]
    assert trail[0]["credential"] == credential_of("field-key-1") != "field-key-1"
    assert trail[2]["credential"] == "open"
    assert trail[1]["changes"] == {
        "note": ["son takes over", "son takes over; new contract in May"],
        "expires_on": [(DAY + timedelta(days=60)).isoformat(),
                       (DAY + timedelta(days=90)).isoformat()]}
    assert trail[2]["changes"] == {"ended_on": [None, (DAY + timedelta(days=3)).isoformat()]}


def test_bad_records_are_refused_with_what_is_wrong(store):
    with pytest.raises(Invalid, match="kind: 'holiday'"):
        store.add("D1", "holiday", "", DAY + timedelta(days=3), by="W", credential="open", day=DAY)
    with pytest.raises(Invalid, match="expires_on: 2026-03-02 must fall after today"):
        store.add("D1", "other", "", DAY, by="W", credential="open", day=DAY)
    with pytest.raises(Invalid, match="within 366 days"):
        store.add("D1", "other", "", DAY + timedelta(days=400), by="W", credential="open", day=DAY)
    with pytest.raises(Invalid, match="by: the name"):
        store.add("D1", "other", "", DAY + timedelta(days=3), by="  ", credential="open", day=DAY)
    with pytest.raises(Invalid, match="note: at most 500"):
        store.add("D1", "other", "x" * 501, DAY + timedelta(days=3), by="W", credential="open",
                  day=DAY)
    with pytest.raises(Invalid, match="note: control characters"):
        store.add("D1", "other", "a\x00b", DAY + timedelta(days=3), by="W",
                  credential="open", day=DAY)
    with pytest.raises(Invalid, match="by: control characters"):
        store.add("D1", "other", "", DAY + timedelta(days=3), by="W\x00",
                  credential="open", day=DAY)
    with pytest.raises(NotFound):
        store.change(99, by="W", credential="open", end=True, day=DAY)
    store.add("D1", "other", "", DAY + timedelta(days=3), by="W", credential="open", day=DAY)
    with pytest.raises(Conflict, match="already has a known situation"):
        store.add("D1", "dispute", "", DAY + timedelta(days=9), by="W", credential="open", day=DAY)
    assert len(store.for_dealer("D1")) == 1 and len(store.events("D1")) == 1


def test_concurrent_writers_lose_nothing(settings, store):
    """Four writers at once (server workers): SQLite serializes them (the engine waits
    for the lock), PostgreSQL runs them side by side; every record and its trail arrive."""
    errors = []

    def write(worker: int) -> None:
        own = SituationStore(open_engine(settings.store.url),
                             settings.contract.timezone, 366)
        try:
            for i in range(25):
                s = own.add(f"W{worker}-{i}", "other", f"n{i}", DAY + timedelta(days=5),
                            by=f"w{worker}", credential="open", day=DAY)
                own.change(s.id, by=f"w{worker}", credential="open", note=f"n{i}!", day=DAY)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.running(DAY)) == 100
    assert sum(len(store.events(f"W{w}-{i}")) for w in range(4) for i in range(25)) == 200


def test_two_workers_recording_the_same_dealer_at_once_record_one(settings, store):
    outcomes = []
    barrier = threading.Barrier(6)

    def record(worker: int) -> None:
        barrier.wait()
        try:
            store.add("D9", "dispute", f"w{worker}", DAY + timedelta(days=5), by=f"w{worker}",
                      credential="open", day=DAY)
            outcomes.append("recorded")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=record, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["recorded"] + ["refused"] * 5
    assert len(store.for_dealer("D9")) == 1


def test_another_process_sees_a_change_at_its_next_check(settings):
    a, b = Situations(settings), Situations(settings)
    assert b.running() == {}
    day = a.store.today()
    a.store.add("D5", "dispute", "", day + timedelta(days=3), by="W", credential="open")
    assert set(b.running()) == {"D5"}  # refresh_seconds = 0: checked every time
