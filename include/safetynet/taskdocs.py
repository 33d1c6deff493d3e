"""Task documentation shown in the Airflow UI (Task → Details → doc)."""

TASK_DOCS = {
    "check_arrivals": """Fails the day as *incomplete* when a source's manifest
did not arrive, naming the missing sources (it runs beside check_raw, which then
blocks the day too: its delivery check finds no batch). **Fix:** re-deliver, clear
the run.""",
    "load": """Waits (reschedule mode: no worker slot held between pokes) for the
source's `_manifest.json` for the logical date, up to `SAFETYNET_SOURCE_TIMEOUT`
seconds; arrival times are recorded in `audit.source_arrivals`. `load_casework` waits
for the case system's dispositions (案件处置结果): it sends a folder every day, a
header-only file on a day without decisions. **If it times out:** the source is late
(`check_arrivals` names it); ask the agency (for casework, the case system's team),
then clear the task.
Then, in the same poke, checks every file against the manifest (rows, sha256) and the
contract header, COPYs it into `raw` (one transaction per source and date)
and writes invalid rows to `audit.rejected_rows`. More than 1% rejected rows
fails the source, except casework (`load_casework`): its rejected rows (status not
one of VERIFYING/CONFIRMED/DISMISSED/RESOLVED, decided_on not a date, an exact
repeat of an earlier line) never block the day and show as a warning of
`check_raw`. A corrupt or missing delivery (manifest, sha256, rows, header) fails
every source, casework too. Retries only on database errors; a corrupt file fails at
once. **Fix:** read the error (file and check), get a corrected delivery,
clear the task.""",
    "check_raw": """Great Expectations checks of the day's deliveries and raw
batches (`expectations/delivery.yml`, `expectations/raw/*.yml`). Critical
failures block the day; warnings are reported. Data Docs are rebuilt.
Runs even when a load failed, so the Data Docs show why the day is blocked.
First it takes the **warehouse lease** (`audit.run_lease`, `safetynet.runlock`): one
run at a time from here to `publish_feed` (the intermediate tables hold one date), so
a backfill beside today's run, or `make run` beside the scheduler, waits here (log:
"warehouse held by run ...") up to `SAFETYNET_LEASE_WAIT` seconds (default 3600), then
fails without building anything. A lease not renewed for `SAFETYNET_LEASE_TTL` seconds
(its run died) is taken over; `python -m safetynet.runlock status|release` shows or
frees it by hand.""",
    "dbt_build": """`dbt build` (models + tests) of the warehouse for the
logical date (env `SAFETYNET_AS_OF_DATE`, read by the `as_of_date()` macro, so
dbt's partial parse survives from day to day), through astronomer-cosmos with 2
threads, each keeping one database session from node to node (`safetynet.dbtrun`,
issue 23; dbt-postgres alone logs in again for every node). The claims model is
incremental: an in-order day merges only that day's claims; a re-run or an earlier
date rebuilds it as of D. After dbt ran, the run's git commit and the model checksums
of its manifest go to `audit.rule_versions` (issue 21: `make explain` shows an alert
with the rule as it was that day).""",
    "discard_day": """Runs only when something failed. When this run built the day
(its raw checks passed, so `dbt_build` started) and then its build, a critical marts
check or its feed failed, removes the day's mart rows (alerts,
population, households, summary, alert_cases, alert_followup_daily; for a date older
than the window also its calendar rows in `audit.history_days`, issue 23) and its feed
folder so nothing half-built is visible. A run that failed before building (a load,
`check_raw`, waiting for the warehouse) removes nothing: the day's earlier
publication stays. Then releases the warehouse lease. Earlier days are untouched. A
re-run of the date rebuilds them.""",
    "publish_feed": """The marts gate, then the feed (one task since issue 23: one
scheduler pass less per day). **Marts gate:** first copies the day's casework
decisions that dbt rejected (`intermediate.int_casework__checked`: unknown or
malformed alert_id, decided_on after the date or before the episode) into
`audit.rejected_rows` (file, line, reason; a re-run replaces them). Then Great
Expectations checks of the day's marts (`expectations/marts/*.yml`): alert keys unique,
evidence present, no raw ids, population within the band of the previous day, and a
*warning* counting the rejected casework rows (they never block the day). A critical
failure fails the task before anything is written: no feed, and `discard_day` removes
the day's marts. **If only the casework warning fails:** the feed is published; tell
the case system's team which lines were rejected (`audit.rejected_rows`, source
casework).
**Feed:** writes `alerts.csv` (new alerts of D, with alert_id and episode_start),
`overdue.csv` (alerts newly overdue on D, 新增逾期, from `marts.alert_cases`, with their
due date) and `_manifest.json` (rows and sha256 of both) to a temporary folder and
renames it into `$SAFETYNET_FEED_DIR/<D>`: the feed appears complete or not at all.
Then releases the warehouse lease.""",
    "compact_history": """(issue 23) After the feed is out: folds every processed
date older than the newest `SAFETYNET_SNAPSHOT_WINDOW_DAYS` (窗口 the window, default
14) into the change history (变更历史, `safetynet.history`): per table and date one
transaction, verified (row count and md5 of the rows' text, 时点查询 the point-in-time
rows equal the snapshot) before the raw partition is dropped or the mart's
`__recent` rows deleted; the public marts (`marts.low_income_population`, ...) still
give every processed date. Runs under the warehouse lease (phase `compacting`): when
another run holds it past `SAFETYNET_LEASE_WAIT` the compaction is *deferred* (the
task succeeds, `audit.run_summaries` stage `compaction_deferred`) and the next run
folds what is left. A failure never withdraws the published feed.
**If it fails:** read the error (a verification names the table and date: nothing of
that date was dropped); `make compact` folds by hand once fixed.""",
}
