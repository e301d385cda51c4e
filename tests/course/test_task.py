"""The worker's own set-up: scratch gradebooks are not synced, other databases are."""

from __future__ import annotations

import sqlite3

import sqlalchemy

from adaptive_lr.course import task


def _synchronous(url: str) -> int:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("PRAGMA synchronous").scalar()
    finally:
        engine.dispose()


def test_only_a_scratch_courses_gradebook_is_written_without_waiting_for_the_disk(tmp_path):
    task._scratch_gradebooks_unsynced()
    task._scratch_gradebooks_unsynced()  # idempotent: one listener
    scratch = tmp_path / f"{task.WORK_PREFIX}abc"
    scratch.mkdir()
    course = tmp_path / "course"
    course.mkdir()
    assert _synchronous(f"sqlite:///{scratch / 'gradebook.db'}") == 0  # OFF
    full = sqlite3.connect(":memory:").execute("PRAGMA synchronous").fetchone()[0]
    assert _synchronous(f"sqlite:///{course / 'gradebook.db'}") == full != 0
    assert _synchronous("sqlite://") == full  # in memory: no file, nothing to decide
