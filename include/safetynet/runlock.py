"""One run at a time per warehouse from ``check_raw`` to ``publish_feed`` (issue 20).

The intermediate tables hold one date, so two runs that build side by side (a backfill
beside today's run: ``max_active_runs`` does not bound backfills; ``make run`` beside
the scheduler) would build one date's marts from the other's rows. The steps are
separate processes, so a pool slot or a session advisory lock cannot span them: the
lease is a row of ``audit.run_lease`` in the warehouse itself, whatever starts the runs.

- a load waits while another run of its date holds it (``wait_for_same_date``: the
  load would truncate the raw partitions that run reads);
- ``check_raw`` takes it (``acquire``), waiting up to ``SAFETYNET_LEASE_WAIT`` seconds
  while another run holds it, and marks it ``building`` once the raw checks passed;
- ``dbt_build`` and ``publish_feed`` (its marts checks, then its feed) renew it first
  (``renew``), and fail when their run lost it;
- ``publish_feed`` releases it; on failure ``discard_day`` does (``release``);
- (issue 23) ``compact_history`` takes it again after the feed, in phase ``compacting``,
  so folding old dates never runs beside a check or a build; when it stays busy past
  ``SAFETYNET_LEASE_WAIT`` the compaction is deferred to the next run;
- a lease not renewed for ``SAFETYNET_LEASE_TTL`` seconds (its holder died: a killed
  ``airflow dags test``, a lost worker) is taken over, with a warning naming it.

``python -m safetynet.runlock [status|release]`` shows it or frees it by hand.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from datetime import date
from typing import Any

from safetynet import warehouse
from safetynet.config import Settings

log = logging.getLogger(__name__)

LEASE = "warehouse"  # one lease per warehouse
CHECKING, BUILDING, COMPACTING = "checking", "building", "compacting"


class LeaseTimeout(Exception):
    """Another run held the warehouse for longer than SAFETYNET_LEASE_WAIT."""


class LeaseLost(Exception):
    """This run no longer holds the lease (it expired and another run took it)."""


def lease_ttl() -> int:
    return int(os.environ.get("SAFETYNET_LEASE_TTL") or 3600)


def lease_wait() -> int:
    return int(os.environ.get("SAFETYNET_LEASE_WAIT") or 3600)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def current(url: str) -> dict[str, Any] | None:
    with warehouse.connect(url) as conn:
        cur = conn.execute(
            """select run_id, extract_date, phase, holder, acquired_at, renewed_at, expires_at,
                      expires_at < now() as expired
               from audit.run_lease where lease = %s""",
            (LEASE,),
        )
        row = cur.fetchone()
        names = [c.name for c in cur.description or []]
    return dict(zip(names, row, strict=True)) if row else None


def acquire(
    url: str,
    run_id: str,
    extract_date: date,
    wait: float | None = None,
    ttl: int | None = None,
    poll: float = 2.0,
    phase: str = CHECKING,
) -> None:
    """Take the lease for (run_id, D) in ``phase``; wait while another live run holds it."""
    warehouse.ensure_schema(url)
    wait = lease_wait() if wait is None else wait
    ttl = lease_ttl() if ttl is None else ttl
    deadline = time.monotonic() + wait
    announced = None
    while True:
        with warehouse.connect(url, autocommit=True) as conn:
            before = conn.execute(
                "select run_id, extract_date, holder, expires_at < now() from audit.run_lease "
                "where lease = %s",
                (LEASE,),
            ).fetchone()
            taken = conn.execute(
                """insert into audit.run_lease as l (lease, run_id, extract_date, phase, holder,
                       acquired_at, renewed_at, expires_at)
                   values (%s, %s, %s, %s, %s, now(), now(), now() + make_interval(secs => %s))
                   on conflict (lease) do update
                   set run_id = excluded.run_id, extract_date = excluded.extract_date,
                       phase = excluded.phase, holder = excluded.holder,
                       acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at,
                       expires_at = excluded.expires_at
                   where (l.run_id = excluded.run_id and l.extract_date = excluded.extract_date)
                      or l.expires_at < now()
                   returning run_id""",
                (LEASE, run_id, extract_date, phase, _holder(), ttl),
            ).fetchone()
        if taken:
            if before and before[3] and (before[0], before[1]) != (run_id, extract_date):
                log.warning(
                    "warehouse lease of run %s (%s, %s) expired unreleased: taken over",
                    before[0],
                    before[1],
                    before[2],
                )
            log.info("warehouse lease taken by run %s for %s", run_id, extract_date)
            return
        if before and before[:2] != announced:
            announced = before[:2]
            log.info(
                "warehouse held by run %s (%s, %s): waiting up to %ss",
                before[0],
                before[1],
                before[2],
                int(wait),
            )
        if time.monotonic() >= deadline:
            holder = f"run {before[0]} ({before[1]})" if before else "another run"
            raise LeaseTimeout(
                f"warehouse busy: {holder} held it for more than {int(wait)}s "
                "(SAFETYNET_LEASE_WAIT); nothing of "
                f"{extract_date} was built. Re-run the day when it has finished."
            )
        time.sleep(poll)


def renew(
    url: str, run_id: str, extract_date: date, phase: str | None = None, ttl: int | None = None
) -> None:
    """Extend the lease of (run_id, D) (and set its phase); LeaseLost when not held."""
    ttl = lease_ttl() if ttl is None else ttl
    with warehouse.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """update audit.run_lease
               set renewed_at = now(), expires_at = now() + make_interval(secs => %s),
                   holder = %s, phase = coalesce(%s, phase)
               where lease = %s and run_id = %s and extract_date = %s
               returning phase""",
            (ttl, _holder(), phase, LEASE, run_id, extract_date),
        ).fetchone()
    if not row:
        other = current(url)
        by = f"run {other['run_id']} ({other['extract_date']})" if other else "no run"
        raise LeaseLost(
            f"run {run_id} ({extract_date}) no longer holds the warehouse lease (now held by "
            f"{by}): it expired (SAFETYNET_LEASE_TTL); re-run the day"
        )


def wait_for_same_date(
    url: str, run_id: str | None, extract_date: date, wait: float | None = None, poll: float = 2.0
) -> None:
    """Before a load: while another run of the same date holds the lease (it reads D's raw
    partitions, which a load truncates), wait; LeaseTimeout after ``wait`` seconds."""
    wait = lease_wait() if wait is None else wait
    deadline = time.monotonic() + wait
    announced = False
    while True:
        with warehouse.connect(url) as conn:
            exists = conn.execute("select to_regclass('audit.run_lease')").fetchone()
            if not exists or not exists[0]:
                return
            other = conn.execute(
                """select run_id from audit.run_lease where lease = %s and extract_date = %s
                   and run_id is distinct from %s and expires_at >= now()""",
                (LEASE, extract_date, run_id),
            ).fetchone()
        if not other:
            return
        if not announced:
            announced = True
            log.info("run %s builds %s: this load waits up to %ss", other[0], extract_date, wait)
        if time.monotonic() >= deadline:
            raise LeaseTimeout(
                f"run {other[0]} builds {extract_date} for more than {int(wait)}s "
                "(SAFETYNET_LEASE_WAIT): its raw data are not reloaded under it"
            )
        time.sleep(poll)


def phase_of(url: str, run_id: str, extract_date: date) -> str | None:
    """The lease's phase when (run_id, D) holds it, else None."""
    with warehouse.connect(url) as conn:
        exists = conn.execute("select to_regclass('audit.run_lease')").fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute(
            "select phase from audit.run_lease where lease = %s and run_id = %s "
            "and extract_date = %s",
            (LEASE, run_id, extract_date),
        ).fetchone()
    return str(row[0]) if row else None


def release(url: str, run_id: str, extract_date: date) -> bool:
    """Give the lease up; only the run holding it can (True when it did)."""
    with warehouse.connect(url, autocommit=True) as conn:
        exists = conn.execute("select to_regclass('audit.run_lease')").fetchone()
        if not exists or not exists[0]:
            return False
        row = conn.execute(
            "delete from audit.run_lease where lease = %s and run_id = %s and extract_date = %s "
            "returning run_id",
            (LEASE, run_id, extract_date),
        ).fetchone()
    if row:
        log.info("warehouse lease released by run %s for %s", run_id, extract_date)
    return row is not None


def main(argv: list[str]) -> int:
    url = Settings.from_env().warehouse_url
    command = argv[0] if argv else "status"
    lease = current(url)
    if command == "status":
        print(lease or "free")
        return 0
    if command == "release" and lease:
        # by hand: a holder known dead before its lease expires
        release(url, str(lease["run_id"]), lease["extract_date"])
        print(f"released the lease of run {lease['run_id']} ({lease['extract_date']})")
        return 0
    if command == "release":
        print("free")
        return 0
    print("usage: python -m safetynet.runlock [status|release]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
