"""The run journal: one SQLite database (WAL) per run folder, written as each item completes.

Tables (one run per journal; ``run`` holds its single row):

- ``run``          spec JSON + hash, status, start/finish times, fireform version
- ``events``       one row per step: the greppable summary line the loop printed
- ``forms``        canonical JSON by form hash
- ``proposals``    iteration, proposer, action, rationale, JSON, status keep|discard|reject|crash,
                   reasons, form hash
- ``fits``         one :class:`~fireform.fitting.FitResult` per row (its JSON record), by its
                   unique fit key, with its role and the headline columns
- ``scores``       tidy score vectors: fit, period (train|holdout), region, component, value
- ``shapley``      Shapley tables (JSON records) by form hash and kind
- ``holdout_reads`` every read of the sealed holdout: which fit was scored, when, why, which
                   years, the holdout data's fingerprint
- ``input_checks`` the InputReport of the run's drivers
- ``messages``     prompts and responses of LLM proposers, tokens, estimated cost
- ``arrays``       small numpy arrays for the report (residual maps, seasonal cycles, grid)
- ``state``        key -> JSON (deployment check, win decision, final form, ...)

Every write is its own transaction (``with self.db``), so a SIGKILL at any point loses at most
the item being written; WAL with ``synchronous=FULL`` keeps committed rows across a crash.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fireform.exceptions import FireformError, SpecError
from fireform.fitting import FitResult, HoldoutRead
from fireform.forms import Form
from fireform.loop.spec import Spec, parse_spec, spec_diff
from fireform.version import __version__

__all__ = ["Journal", "STATUSES", "JOURNAL_NAME"]

JOURNAL_NAME = "journal.sqlite"
STATUSES = ("keep", "discard", "reject", "crash", "pending")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
  id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT, spec_json TEXT NOT NULL, spec_hash TEXT NOT NULL,
  status TEXT NOT NULL, started REAL, finished REAL, version TEXT, resumes INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY, t REAL, step TEXT, line TEXT);
CREATE TABLE IF NOT EXISTS forms (
  hash TEXT PRIMARY KEY, name TEXT, json TEXT, n_params INTEGER, terms TEXT);
CREATE TABLE IF NOT EXISTS proposals (
  id INTEGER PRIMARY KEY, iteration INTEGER UNIQUE, proposer TEXT, action TEXT, rationale TEXT,
  json TEXT, status TEXT, reasons TEXT, form_hash TEXT, parent_hash TEXT, t REAL);
CREATE TABLE IF NOT EXISTS fits (
  id INTEGER PRIMARY KEY, key TEXT UNIQUE, role TEXT, form_hash TEXT, seed INTEGER, trials INTEGER,
  value REAL, theta TEXT, noise REAL, wall REAL, sampler_time REAL, eval_time REAL, extra TEXT, t REAL,
  record TEXT);
CREATE TABLE IF NOT EXISTS scores (
  fit_id INTEGER, period TEXT, region TEXT, component TEXT, value REAL,
  PRIMARY KEY (fit_id, period, region, component));
CREATE TABLE IF NOT EXISTS shapley (
  form_hash TEXT, kind TEXT, json TEXT, t REAL, PRIMARY KEY (form_hash, kind));
CREATE TABLE IF NOT EXISTS holdout_reads (
  id INTEGER PRIMARY KEY, fit_id INTEGER, form_hash TEXT, purpose TEXT, t REAL, years TEXT,
  fingerprint TEXT);
CREATE TABLE IF NOT EXISTS input_checks (
  id INTEGER PRIMARY KEY, json TEXT, ok INTEGER, t REAL);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY, iteration INTEGER, proposer TEXT, role TEXT, content TEXT,
  tokens_in INTEGER, tokens_out INTEGER, cost_usd REAL, model TEXT, t REAL);
CREATE TABLE IF NOT EXISTS arrays (name TEXT PRIMARY KEY, blob BLOB);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, json TEXT);
"""


class Journal:
    """The journal of one run folder (``<run>/journal.sqlite``)."""

    def __init__(self, path: str | Path, *, create: bool = False, readonly: bool = False) -> None:
        p = Path(path)
        if p.is_dir():
            p = p / JOURNAL_NAME
        if not p.exists() and not create:
            raise FireformError(f"no journal at {str(p)!r} (is this a fireform run folder?)")
        self.path = p
        if readonly:
            self.db = _connect_readonly(p)
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(p), timeout=30.0, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
        except sqlite3.OperationalError as e:
            raise FireformError(f"cannot write the journal {p}: {e} (is the run folder read-only or the "
                                "disk full?)") from None

    @property
    def folder(self) -> Path:
        return self.path.parent

    def close(self) -> None:
        self.db.close()

    def _many(self, sql: str, rows: list[tuple]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(sql, rows)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _one(self, sql: str, args: Iterable = ()) -> sqlite3.Row | None:
        return self.db.execute(sql, tuple(args)).fetchone()

    def _all(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, tuple(args)).fetchall()

    # -- run --------------------------------------------------------------------------------
    def start(self, spec: Spec) -> None:
        """Freeze ``spec`` into a new journal; on an existing one refuse a different spec."""
        row = self._one("SELECT * FROM run WHERE id = 1")
        if row is None:
            self._exec(
                "INSERT INTO run (id, name, spec_json, spec_hash, status, started, version) "
                "VALUES (1, ?, ?, ?, 'running', ?, ?)",
                (spec.name, spec.canonical_json(), spec.hash, time.time(), __version__),
            )
            return
        self.check_spec(spec)
        self._exec("UPDATE run SET status = 'running', resumes = resumes + 1, finished = NULL WHERE id = 1")

    def check_spec(self, spec: Spec) -> None:
        """Refuse ``spec`` if it differs from the frozen one. A journal interrupted before its
        first record (Ctrl-C as the run opened it) has nothing frozen: any spec may start it."""
        row = self._one("SELECT * FROM run WHERE id = 1")
        if row is not None and row["spec_hash"] != spec.hash:
            diff = spec_diff(json.loads(row["spec_json"]), spec)
            raise SpecError(
                f"{self.path.parent}: the spec differs from the one frozen when the run started "
                f"(frozen hash {row['spec_hash']}, given {spec.hash}); refusing to resume. "
                "Differences (frozen -> given):\n  " + "\n  ".join(diff)
            )

    def run(self) -> sqlite3.Row:
        row = self._one("SELECT * FROM run WHERE id = 1")
        if row is None:
            raise FireformError(f"journal {self.path} has no run: it was interrupted before the run "
                                f"started (nothing was computed); start it with: fireform resume "
                                f"{self.path.parent}, or anew with fireform run")
        return row

    def frozen_spec(self) -> Spec:
        return parse_spec(json.loads(self.run()["spec_json"]), source=str(self.path))

    def set_status(self, status: str) -> None:
        fin = time.time() if status in ("finished", "failed", "stopped") else None
        self._exec("UPDATE run SET status = ?, finished = ? WHERE id = 1", (status, fin))

    def _exec(self, sql: str, args: Iterable = ()) -> sqlite3.Cursor:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(sql, tuple(args))
            self.db.execute("COMMIT")
            return cur
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # -- events -----------------------------------------------------------------------------
    def event(self, step: str, line: str) -> None:
        self._exec("INSERT INTO events (t, step, line) VALUES (?, ?, ?)", (time.time(), step, line))

    def events(self) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self._all("SELECT * FROM events ORDER BY id")],
                            columns=["id", "t", "step", "line"])

    # -- forms ------------------------------------------------------------------------------
    def put_form(self, form: Form) -> str:
        self._exec(
            "INSERT OR IGNORE INTO forms (hash, name, json, n_params, terms) VALUES (?, ?, ?, ?, ?)",
            (form.hash, form.name, form.to_json(indent=None), len(form.params), ",".join(form.term_ids)),
        )
        return form.hash

    def form(self, form_hash: str) -> Form:
        row = self._one("SELECT json FROM forms WHERE hash = ?", (form_hash,))
        if row is None:
            raise FireformError(f"journal {self.path}: no form {form_hash}")
        return Form.from_json(row["json"])

    def forms(self) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self._all("SELECT hash, name, n_params, terms FROM forms")],
                            columns=["hash", "name", "n_params", "terms"])

    # -- proposals --------------------------------------------------------------------------
    def add_proposal(self, iteration: int, *, proposer: str, action: str, rationale: str,
                     data: Mapping | str, status: str = "pending", reasons: Iterable[str] = (),
                     form_hash: str | None = None, parent_hash: str | None = None) -> None:
        if status not in STATUSES:
            raise FireformError(f"proposal status {status!r}; valid: {STATUSES}")
        text = data if isinstance(data, str) else json.dumps(data, sort_keys=True)
        self._exec(
            "INSERT OR REPLACE INTO proposals (iteration, proposer, action, rationale, json, status, "
            "reasons, form_hash, parent_hash, t) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (iteration, proposer, action, rationale, text, status, json.dumps(list(reasons)),
             form_hash, parent_hash, time.time()),
        )

    def set_proposal(self, iteration: int, *, status: str, reasons: Iterable[str] = ()) -> None:
        if status not in STATUSES:
            raise FireformError(f"proposal status {status!r}; valid: {STATUSES}")
        self._exec("UPDATE proposals SET status = ?, reasons = ? WHERE iteration = ?",
                   (status, json.dumps(list(reasons)), iteration))

    def proposal(self, iteration: int) -> dict | None:
        row = self._one("SELECT * FROM proposals WHERE iteration = ?", (iteration,))
        if row is None:
            return None
        d = dict(row)
        d["reasons"] = json.loads(d["reasons"] or "[]")
        return d

    def proposals(self) -> pd.DataFrame:
        rows = [dict(r) for r in self._all("SELECT * FROM proposals ORDER BY iteration")]
        cols = ["id", "iteration", "proposer", "action", "rationale", "json", "status", "reasons",
                "form_hash", "parent_hash", "t"]
        df = pd.DataFrame(rows, columns=cols)
        if not df.empty:
            df["reasons"] = df["reasons"].map(lambda s: json.loads(s or "[]"))
        return df

    # -- fits and scores --------------------------------------------------------------------
    def get_fit(self, key: str) -> FitResult | None:
        row = self._one("SELECT id, record FROM fits WHERE key = ?", (key,))
        return None if row is None else _fit(row)

    def fit_by_id(self, fit_id: int) -> FitResult:
        row = self._one("SELECT id, record FROM fits WHERE id = ?", (int(fit_id),))
        if row is None:
            raise FireformError(f"journal {self.path}: no fit {fit_id}")
        return _fit(row)

    def add_fit(self, result: FitResult, *, role: str, noise: float | None = None) -> FitResult:
        """Journal a finished fit and (same transaction) its training score vector; returns it
        with its journal id."""
        record = result.to_dict()  # serialised once: the trials frame is the bulk of it
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(
                "INSERT INTO fits (key, role, form_hash, seed, trials, value, theta, noise, wall, "
                "sampler_time, eval_time, extra, t, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.cache_key, role, result.form_hash, int(result.seed), int(result.trials_requested),
                 float(result.value), json.dumps(result.params), noise, float(result.wall_seconds),
                 float(result.sampler_seconds), float(result.eval_seconds),
                 json.dumps({"n_trials": result.n_trials, "stopped_early": result.stopped_early,
                             "sampler": result.sampler, **record["extra"]}),
                 time.time(), json.dumps(record)),
            )
            fit_id = cur.lastrowid
            assert fit_id is not None  # set by the INSERT just run
            self.db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?, 'train', ?, ?, ?)",
                [(fit_id, r.region, r.component, _num(r.value))
                 for r in result.scores.to_frame().itertuples()],
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return result.with_journal_id(fit_id)

    def fits(self) -> pd.DataFrame:
        rows = [dict(r) for r in self._all("SELECT * FROM fits ORDER BY id")]
        return pd.DataFrame(rows, columns=["id", "key", "role", "form_hash", "seed", "trials", "value",
                                           "theta", "noise", "wall", "sampler_time", "eval_time",
                                           "extra", "t"])

    def add_scores(self, fit_id: int, period: str, frame: pd.DataFrame) -> None:
        self._many("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)",
                   [(fit_id, period, r.region, r.component, _num(r.value)) for r in frame.itertuples()])

    def scores(self, fit_id: int | None = None, period: str | None = None) -> pd.DataFrame:
        sql = "SELECT * FROM scores WHERE 1=1"
        args: list[object] = []
        if fit_id is not None:
            sql += " AND fit_id = ?"
            args.append(fit_id)
        if period is not None:
            sql += " AND period = ?"
            args.append(period)
        rows = [dict(r) for r in self._all(sql, args)]
        df = pd.DataFrame(rows, columns=["fit_id", "period", "region", "component", "value"])
        df["value"] = df["value"].astype(float)
        return df

    def vector(self, fit_id: int, period: str = "train", region: str = "global") -> dict[str, float]:
        df = self.scores(fit_id, period)
        df = df[df.region == region]
        return {r.component: (np.nan if r.value is None else float(r.value)) for r in df.itertuples()}

    # -- holdout ----------------------------------------------------------------------------
    def add_holdout_scores(self, read: HoldoutRead, scored: Iterable[tuple[int, str, pd.DataFrame]],
                           state: Mapping[str, Any] | None = None) -> None:
        """One holdout read (one unseal) and the scores it produced, in one transaction: a kill
        before the commit leaves neither (the read had no effect), after it both, so a resumed
        run never reads the holdout a second time. One read row per fit scored. ``state``: more
        results of the same read (intervals, reasons), written in the same transaction."""
        years = json.dumps(list(read.years))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for key, value in (state or {}).items():
                self.db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)",
                                (key, json.dumps(value, default=_default)))
            for fid, form_hash, frame in scored:
                self.db.execute("INSERT INTO holdout_reads (fit_id, form_hash, purpose, t, years, fingerprint) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                (int(fid), form_hash, read.reason, read.time, years, read.fingerprint))
                self.db.executemany("INSERT OR REPLACE INTO scores VALUES (?, 'holdout', ?, ?, ?)",
                                    [(int(fid), r.region, r.component, _num(r.value)) for r in frame.itertuples()])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def holdout_reads(self) -> pd.DataFrame:
        rows = [dict(r) for r in self._all("SELECT * FROM holdout_reads ORDER BY id")]
        return pd.DataFrame(rows, columns=["id", "fit_id", "form_hash", "purpose", "t", "years",
                                           "fingerprint"])

    # -- shapley ----------------------------------------------------------------------------
    def put_shapley(self, form_hash: str, kind: str, frame: pd.DataFrame) -> None:
        self._exec("INSERT OR REPLACE INTO shapley VALUES (?, ?, ?, ?)",
                   (form_hash, kind, frame.to_json(orient="records"), time.time()))

    def shapley(self, form_hash: str | None = None, kind: str = "values") -> pd.DataFrame | None:
        if form_hash is None:
            row = self._one("SELECT json FROM shapley WHERE kind = ? ORDER BY t DESC LIMIT 1", (kind,))
        else:
            row = self._one("SELECT json FROM shapley WHERE form_hash = ? AND kind = ?", (form_hash, kind))
        return None if row is None else pd.read_json(io.StringIO(row["json"]), orient="records")

    # -- input checks -----------------------------------------------------------------------
    def put_input_check(self, report) -> None:
        self._exec("INSERT INTO input_checks (json, ok, t) VALUES (?, ?, ?)",
                   (report.to_json(), int(report.ok), time.time()))

    def input_check(self) -> dict | None:
        row = self._one("SELECT json FROM input_checks ORDER BY id DESC LIMIT 1")
        return None if row is None else json.loads(row["json"])

    # -- messages (LLM prompts and responses) -------------------------------------------------
    def add_message(self, iteration: int, *, proposer: str, role: str, content: str,
                    tokens_in: int = 0, tokens_out: int = 0, cost_usd: float = 0.0,
                    model: str = "") -> None:
        self._exec(
            "INSERT INTO messages (iteration, proposer, role, content, tokens_in, tokens_out, "
            "cost_usd, model, t) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (iteration, proposer, role, content, int(tokens_in), int(tokens_out), float(cost_usd),
             model, time.time()),
        )

    def messages(self) -> pd.DataFrame:
        rows = [dict(r) for r in self._all("SELECT * FROM messages ORDER BY id")]
        return pd.DataFrame(rows, columns=["id", "iteration", "proposer", "role", "content",
                                           "tokens_in", "tokens_out", "cost_usd", "model", "t"])

    # -- arrays and state -------------------------------------------------------------------
    def put_array(self, name: str, a: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(a), allow_pickle=False)
        self._exec("INSERT OR REPLACE INTO arrays VALUES (?, ?)", (name, buf.getvalue()))

    def get_array(self, name: str) -> np.ndarray | None:
        row = self._one("SELECT blob FROM arrays WHERE name = ?", (name,))
        return None if row is None else np.load(io.BytesIO(row["blob"]), allow_pickle=False)

    def array_names(self) -> list[str]:
        return [r["name"] for r in self._all("SELECT name FROM arrays ORDER BY name")]

    def put_state(self, key: str, value: Any) -> None:
        self._exec("INSERT OR REPLACE INTO state VALUES (?, ?)", (key, json.dumps(value, default=_default)))

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._one("SELECT json FROM state WHERE key = ?", (key,))
        return default if row is None else json.loads(row["json"])


def _connect_readonly(p: Path) -> sqlite3.Connection:
    """A connection that never writes, so runs in read-only folders can be read; a folder where
    not even the WAL index can be created is opened as immutable."""
    for query in ("mode=ro", "mode=ro&immutable=1"):
        try:
            db = sqlite3.connect(f"file:{p}?{query}", uri=True, timeout=30.0, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("SELECT 1 FROM run LIMIT 1").fetchall()
            return db
        except sqlite3.OperationalError as e:
            err = e
    raise FireformError(f"cannot read the journal {p}: {err}")


def _fit(row: sqlite3.Row) -> FitResult:
    return FitResult.from_dict(json.loads(row["record"])).with_journal_id(row["id"])


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def _default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
