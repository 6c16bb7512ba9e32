import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import type { BatchResults, ItemResult } from './batch-results.ts'

export type BatchStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export const FINISHED: ReadonlySet<BatchStatus> = new Set(['succeeded', 'failed', 'cancelled'])

/** A batch job as stored: what was asked, where it stands, and (once succeeded) its results. */
export interface BatchJobRecord {
  id: string
  model: string
  dataset: string
  limit: number | null
  /** The images it evaluates, fixed when it was submitted (a resumed job does the same ones). */
  images: string[]
  status: BatchStatus
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  error: { code: string; message: string } | null
  results: BatchResults | null
  /** How many times a gateway started running it (more than 1: it was resumed after a restart). */
  runs: number
  /** Running time over all runs, ms. */
  runningMs: number
  /** Who submitted it: the name of its token (`anonymous` without tokens). */
  owner: string
}

export interface BatchProgress {
  done: number
  errors: number
}

interface JobRow {
  id: string
  model: string
  dataset: string
  image_limit: number | null
  images: string
  status: BatchStatus
  created_at: string
  started_at: string | null
  finished_at: string | null
  error_code: string | null
  error_message: string | null
  results: string | null
  runs: number
  running_ms: number
  owner: string
}

interface ItemRow {
  image: string
  truth: string | null
  ok: number
  label: string | null
  top5: string | null
  latency_ms: number | null
  queue_ms: number | null
  error_code: string | null
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batch_jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  model TEXT NOT NULL,
  dataset TEXT NOT NULL,
  image_limit INTEGER,
  images TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  error_code TEXT,
  error_message TEXT,
  results TEXT,
  runs INTEGER NOT NULL DEFAULT 0,
  running_ms REAL NOT NULL DEFAULT 0,
  owner TEXT NOT NULL DEFAULT 'anonymous'
);
CREATE TABLE IF NOT EXISTS batch_items (
  job_id TEXT NOT NULL,
  image TEXT NOT NULL,
  run INTEGER NOT NULL,
  truth TEXT,
  ok INTEGER NOT NULL,
  label TEXT,
  top5 TEXT,
  latency_ms REAL,
  queue_ms REAL,
  error_code TEXT,
  PRIMARY KEY (job_id, image)
) WITHOUT ROWID;
`

/**
 * Batch jobs in SQLite (`node:sqlite`, built into Node 24: no native add-on to build, one file to back up), in
 * `<dataDir>/batch.sqlite`. Every image's outcome is one row keyed by (job, image), written as it completes, in the
 * same transaction as the job's running time: a gateway killed at any point restarts with exactly the images
 * already done, and an image can be counted at most once. WAL with synchronous=NORMAL: a committed row survives the
 * process being killed (not necessarily a power cut, which loses at most the last rows: they are evaluated again).
 */
export class BatchStore {
  readonly path: string
  readonly #db: DatabaseSync

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true })
    this.path = join(dataDir, 'batch.sqlite')
    this.#db = new DatabaseSync(this.path)
    // Another gateway on the same data directory (a restart that overlaps the old process) waits for the lock.
    this.#db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;')
    this.#db.exec(SCHEMA)
    // A store written before jobs had owners: its jobs become the anonymous client's.
    const columns = this.#db.prepare('PRAGMA table_info(batch_jobs)').all() as { name: string }[]
    if (!columns.some((c) => c.name === 'owner'))
      this.#db.exec("ALTER TABLE batch_jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'anonymous'")
    this.#db.exec('CREATE INDEX IF NOT EXISTS batch_jobs_owner_status ON batch_jobs (owner, status)')
  }

  /** Queues a job (owned by `anonymous` unless an owner is given). */
  insert(
    job: Pick<BatchJobRecord, 'id' | 'model' | 'dataset' | 'limit' | 'images' | 'createdAt'> & { owner?: string },
  ): void {
    this.#db
      .prepare(
        'INSERT INTO batch_jobs (id, model, dataset, image_limit, images, status, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        job.id,
        job.model,
        job.dataset,
        job.limit,
        JSON.stringify(job.images),
        'queued',
        job.createdAt,
        job.owner ?? 'anonymous',
      )
  }

  /** Queued and running jobs of one owner (what its quota counts). */
  activeCount(owner: string): number {
    const row = this.#db
      .prepare("SELECT COUNT(*) AS n FROM batch_jobs WHERE owner = ? AND status IN ('queued', 'running')")
      .get(owner) as { n: number }
    return row.n
  }

  /** Every finished job with when it ended (what retention looks at). */
  finishedJobs(): { id: string; finishedAt: string }[] {
    const rows = this.#db
      .prepare("SELECT id, finished_at FROM batch_jobs WHERE status NOT IN ('queued', 'running')")
      .all() as { id: string; finished_at: string }[]
    return rows.map((row) => ({ id: row.id, finishedAt: row.finished_at }))
  }

  /** Deletes finished jobs and their per-image outcomes (never a queued or running one). Returns how many went. */
  deleteFinished(ids: readonly string[]): number {
    if (ids.length === 0) return 0
    const items = this.#db.prepare('DELETE FROM batch_items WHERE job_id = ?')
    const job = this.#db.prepare("DELETE FROM batch_jobs WHERE id = ? AND status NOT IN ('queued', 'running')")
    let deleted = 0
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      for (const id of ids) {
        const { changes } = job.run(id)
        if (changes === 1) {
          items.run(id)
          deleted++
        }
      }
      this.#db.exec('COMMIT')
      return deleted
    } catch (error) {
      this.#db.exec('ROLLBACK')
      throw error
    }
  }

  get(id: string): BatchJobRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM batch_jobs WHERE id = ?').get(id) as JobRow | undefined
    return row && toRecord(row)
  }

  /** The newest jobs first (of one owner, when given). */
  list(max: number, owner?: string): BatchJobRecord[] {
    const rows = (owner === undefined
      ? this.#db.prepare('SELECT * FROM batch_jobs ORDER BY seq DESC LIMIT ?').all(max)
      : this.#db
          .prepare('SELECT * FROM batch_jobs WHERE owner = ? ORDER BY seq DESC LIMIT ?')
          .all(owner, max)) as unknown as JobRow[]
    return rows.map(toRecord)
  }

  /** Jobs to run, in the order to run them: the ones a gateway had started first, then the queued, oldest first. */
  unfinished(): string[] {
    const rows = this.#db
      .prepare(
        "SELECT id FROM batch_jobs WHERE status IN ('running', 'queued') ORDER BY status = 'running' DESC, seq ASC",
      )
      .all() as { id: string }[]
    return rows.map((row) => row.id)
  }

  /** The newest succeeded job with these settings (a gate can reuse its results instead of evaluating again). */
  latestSucceeded(query: { model: string; dataset: string; limit: number | null }): BatchJobRecord | undefined {
    const row = this.#db
      .prepare(
        "SELECT * FROM batch_jobs WHERE status = 'succeeded' AND model = ? AND dataset = ? AND image_limit IS ? ORDER BY seq DESC LIMIT 1",
      )
      .get(query.model, query.dataset, query.limit) as JobRow | undefined
    return row && toRecord(row)
  }

  /** Marks a run's start: running, started (once), runs + 1. Returns the run's number. */
  beginRun(id: string, now: string): number {
    const row = this.#db
      .prepare(
        "UPDATE batch_jobs SET status = 'running', started_at = COALESCE(started_at, ?), runs = runs + 1 WHERE id = ? RETURNING runs",
      )
      .get(now, id) as { runs: number }
    return row.runs
  }

  /**
   * Records one image's outcome and the job's running time so far, at once. False when that image was already
   * recorded (it is not counted again).
   */
  recordItem(id: string, run: number, item: ItemResult, runningMs: number): boolean {
    const insert = this.#db.prepare(
      'INSERT OR IGNORE INTO batch_items (job_id, image, run, truth, ok, label, top5, latency_ms, queue_ms, error_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    const fields = item.ok
      ? [1, item.label, JSON.stringify(item.top5), item.latencyMs, item.queueMs, null]
      : [0, null, null, null, null, item.errorCode]
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      const { changes } = insert.run(id, item.image, run, item.truth ?? null, ...fields)
      this.#db.prepare('UPDATE batch_jobs SET running_ms = ? WHERE id = ?').run(runningMs, id)
      this.#db.exec('COMMIT')
      return changes === 1
    } catch (error) {
      this.#db.exec('ROLLBACK')
      throw error
    }
  }

  /** The images of a job that already have an outcome. */
  doneImages(id: string): Set<string> {
    const rows = this.#db.prepare('SELECT image FROM batch_items WHERE job_id = ?').all(id) as { image: string }[]
    return new Set(rows.map((row) => row.image))
  }

  progress(id: string): BatchProgress {
    const row = this.#db
      .prepare('SELECT COUNT(*) AS done, COALESCE(SUM(1 - ok), 0) AS errors FROM batch_items WHERE job_id = ?')
      .get(id) as { done: number; errors: number }
    return { done: row.done, errors: row.errors }
  }

  /** Every recorded outcome of a job, with the run that recorded it. */
  items(id: string): (ItemResult & { run: number })[] {
    const rows = this.#db
      .prepare('SELECT * FROM batch_items WHERE job_id = ? ORDER BY image')
      .all(id) as unknown as (ItemRow & { run: number })[]
    return rows.map((row) => {
      const base = { image: row.image, truth: row.truth ?? undefined, run: row.run }
      return row.ok
        ? {
            ...base,
            ok: true as const,
            label: row.label!,
            top5: JSON.parse(row.top5!) as string[],
            latencyMs: row.latency_ms!,
            queueMs: row.queue_ms!,
          }
        : { ...base, ok: false as const, errorCode: row.error_code! }
    })
  }

  /** Ends a job: succeeded (with results), failed (with the reason) or cancelled. Only an unfinished job changes. */
  finish(
    id: string,
    outcome:
      | { status: 'succeeded'; results: BatchResults }
      | { status: 'failed'; code: string; message: string }
      | { status: 'cancelled' },
    now: string,
  ): boolean {
    const results = outcome.status === 'succeeded' ? JSON.stringify(outcome.results) : null
    const [code, message] = outcome.status === 'failed' ? [outcome.code, outcome.message] : [null, null]
    const { changes } = this.#db
      .prepare(
        "UPDATE batch_jobs SET status = ?, results = ?, error_code = ?, error_message = ?, finished_at = ? WHERE id = ? AND status IN ('queued', 'running')",
      )
      .run(outcome.status, results, code, message, now, id)
    return changes === 1
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }
}

function toRecord(row: JobRow): BatchJobRecord {
  return {
    id: row.id,
    model: row.model,
    dataset: row.dataset,
    limit: row.image_limit,
    images: JSON.parse(row.images) as string[],
    status: row.status,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    results: row.results ? (JSON.parse(row.results) as BatchResults) : null,
    runs: row.runs,
    runningMs: row.running_ms,
    owner: row.owner,
  }
}
