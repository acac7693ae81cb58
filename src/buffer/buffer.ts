import type { Clock } from "../core/clock.js";
import { HubError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Reading } from "../core/reading.js";
import { admitReadings, everyReadingRefused, type RefusedReading } from "./admit.js";
import { type Alert, type AlertListener, Alerts } from "./alerts.js";
import { inChunks } from "./chunks.js";
import { checkpoint, type Db, type OpenResult, openDatabase, translateSqliteError } from "./db.js";
import { HeldReadings, type ReleaseResult } from "./held.js";
import { Outbox, type StoredDocument } from "./outbox.js";
import { DiskReserve, isFull, retryWhenFull } from "./reserve.js";
import { pruneDelivered, pruneKeys, reclaimIfNoted, usedBytes } from "./retention.js";
import { type BufferStats, buildStats, ensureOutboxCounts } from "./stats.js";
import { BufferTimebase } from "./timebase.js";

export interface HubBufferOptions {
  file: string;
  clock: Clock;
  logger: Logger;
  /** The route a patient's readings go to; undefined = the patient is unknown (reading refused). */
  routeOf: (patient: string) => string | undefined;
  maxSizeBytes: number;
  retentionMs: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  leaseMs: number;
  /** Readings arriving within this window share one transaction (0 = same event-loop turn). */
  groupCommitMs: number;
  /** Flush at once when this many readings are waiting. */
  maxBatch?: number;
  onAlert?: AlertListener;
  random?: () => number;
  /** Disk space held back so delivery keeps working on a full disk (default: scaled to the cap). */
  reserveBytes?: number;
  /**
   * `tool`: opened by a command beside a possibly running agent. It reads and changes rows, but
   * never repairs, salvages, vacuums or recounts the file, nor takes or gives back the disk
   * reserve: those are the agent's (see openDatabase). Default `agent`.
   */
  role?: "agent" | "tool";
  /** Largest document stored, as its JSON (base64 content included); default MAX_DOCUMENT_BODY_BYTES. */
  maxDocumentBodyBytes?: number;
}

/** The stored size (JSON, base64) of a document of `pdfBytes`, with room for its other fields. */
export function documentBodyBytes(pdfBytes: number): number {
  return Math.ceil(pdfBytes / 3) * 4 + 64 * 1024;
}

/** Default cap of one stored document: a 100 MiB PDF (the most routes.hl7.maxDocumentBytes allows). */
export const MAX_DOCUMENT_BODY_BYTES = documentBodyBytes(100 * 1024 * 1024);

export interface IngestResult {
  stored: number;
  duplicates: number;
  /** Readings of the call refused one by one (the others were stored), by index; see RefusedReading. */
  refused: RefusedReading[];
  /** From ingest() call to commit on disk. */
  durableMs: number;
}

interface Waiting {
  /** The call's readings that passed admission, their stored text, and their index in the call. */
  readings: Reading[];
  bodies: string[];
  indices: number[];
  /** How many readings the call had, and those refused before the transaction. */
  total: number;
  refused: RefusedReading[];
  t0: number;
  /** Wall and monotonic time when ingest() was called: a held reading's monotonic receive time is
   * derived from them, so a clock step between ingest() and the (group) commit cannot shift it. */
  wallMs: number;
  monoMs: number;
  /** Buffer time at ingest(): the rows are available from then. */
  availableMs: number;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

/** One caller's share of a group commit: its counts, and the readings refused inside the transaction. */
interface CallerResult {
  stored: number;
  duplicates: number;
  refused: RefusedReading[];
}

/**
 * A failure that belongs to one caller's readings (a constraint, a value SQLite refuses, a reading
 * that cannot be serialised). Anything else — full disk, I/O, corruption, a busy database — is the
 * storage's and aborts the whole group commit (handled by onStoreFailure).
 */
function callerFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return !(err instanceof HubError);
  return ["SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_TOOBIG", "SQLITE_RANGE"].some((c) =>
    code.startsWith(c),
  );
}

/** Refusing readings starts at the cap; pruning under pressure frees down to this share of it. */
const LOW_WATER = 0.9;
const LATENCY_SAMPLES = 1024;
const KIB = 1024;
const MIB = 1024 * KIB;
const clamp = (n: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, Math.floor(n)));
const DISK_FULL_MESSAGE =
  "the disk is full: new readings are refused until space returns; delivery continues on space held in reserve";
/** Rows per housekeeping transaction: a few ms on a Pi, so the event loop is never blocked for long. */
const HOUSEKEEPING_CHUNK = 500;
/** …and never more than this much work per transaction (the commit's fsync comes on top). */
const CHUNK_BUDGET_MS = 20;

/**
 * The store-and-forward buffer: readings and their outbox rows are written in one transaction, and
 * `ingest` resolves only after that commit is on disk (WAL, synchronous=FULL). Readings arriving
 * close together share a transaction (group commit).
 */
export class HubBuffer {
  readonly db: Db;
  readonly outbox: Outbox;
  readonly alerts: Alerts;
  private readonly log: Logger;
  private queue: Waiting[] = [];
  private queuedReadings = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly latencies: number[] = [];
  /** Transactions committed by ingest (group commit makes this far lower than ingest calls). */
  commits = 0;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private readonly insertBatch: (batch: Waiting[]) => CallerResult[];
  private readonly stmts;
  private readonly reserve: DiskReserve;
  private readonly held: HeldReadings;
  /** Buffer time: what every outbox deadline is measured in (monotonic within a boot). */
  readonly timebase: BufferTimebase;
  private releasing: Promise<ReleaseResult> | undefined;
  /** Told how many held readings were released (the agent wakes the routes). */
  onReleased: ((released: number) => void) | undefined;
  private heldAfterSync = false;

  constructor(private readonly options: HubBufferOptions) {
    this.log = options.logger.child({ component: "buffer" });
    const cap = options.maxSizeBytes;
    const reserveBytes = options.reserveBytes ?? clamp(cap / 64, 256 * KIB, 8 * MIB);
    this.reserve = new DiskReserve(`${options.file}.reserve`, reserveBytes);
    // The WAL stays within the reserve: on a full disk, releasing the reserve is then always enough
    // room to checkpoint the WAL into the database and truncate it (which frees the WAL's space too).
    const tool = options.role === "tool";
    const opened = openDatabase(options.file, {
      nowMs: options.clock.nowMs(),
      routeOf: options.routeOf,
      walLimitBytes: clamp(Math.min(cap / 16, reserveBytes || cap), 64 * KIB, 4 * MIB),
      tool,
    });
    this.db = opened.db;
    this.alerts = new Alerts(this.db, options.onAlert);
    this.reportDamage(opened);
    if (!tool) this.checkCounts();
    this.timebase = new BufferTimebase(this.db, options.clock);
    // Claims and completions must work on a full disk: a SQLITE_FULL there releases the reserve and retries.
    this.outbox = retryWhenFull(
      new Outbox(this.db, {
        clock: options.clock,
        timebase: this.timebase,
        backoff: { baseMs: options.backoffBaseMs, maxMs: options.backoffMaxMs },
        maxAttempts: options.maxAttempts,
        leaseMs: options.leaseMs,
        alerts: this.alerts,
        ...(options.random ? { random: options.random } : {}),
      }),
      // A command on a full disk fails with DISK_FULL: the reserve is the agent's, for delivery.
      () => !tool && this.makeRoom(),
    );
    if (!tool && !this.reserve.restore()) this.diskFull();
    // Salvaged readings whose delivery record was lost wait as ambiguous: a person is told.
    if (opened.salvage && opened.salvage.rebuilt > 0) this.outbox.refreshAmbiguousAlert();
    this.stmts = {
      reading: this.db.prepare(
        `INSERT INTO readings (key, patient, device_id, kind, measured_at, time_source, boot_id, mono_ms, body, created_ms)
         VALUES (@key, @patient, @deviceId, @kind, @measuredAt, @timeSource, @bootId, @monoMs, @body, @now)
         ON CONFLICT(key) DO NOTHING`,
      ),
      outbox: this.db.prepare(
        `INSERT INTO outbox (reading_id, document_id, route, patient, state, reason, available_ms, created_ms, done_ms)
         VALUES (@readingId, @documentId, @route, @patient, @state, @reason, @available, @now, @doneMs)`,
      ),
      document: this.db.prepare(
        `INSERT INTO documents (key, patient, kind, body, created_ms) VALUES (@key, @patient, @kind, @body, @now)
         ON CONFLICT(key) DO NOTHING`,
      ),
      counter: this.db.prepare(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
      ),
    };
    this.held = new HeldReadings(this.db, options.clock, this.timebase);
    // Each caller's readings go in their own savepoint inside the shared transaction: a failure that
    // belongs to the readings (a constraint, a route gone since admission) rolls back that caller alone,
    // whose readings are then tried one by one, each in its own savepoint, so only the bad one is
    // refused; a failure of the storage itself (full disk, I/O, corruption) aborts the whole commit.
    const insertCaller = this.db.transaction((w: Waiting, now: number): CallerResult => {
      const r: CallerResult = { stored: 0, duplicates: 0, refused: [] };
      w.readings.forEach((_, i) => {
        if (this.insertReading(w, i, now)) r.stored++;
        else r.duplicates++;
      });
      return r;
    });
    const insertOne = this.db.transaction((w: Waiting, i: number, now: number) =>
      this.insertReading(w, i, now),
    );
    const oneByOne = (w: Waiting, now: number): CallerResult => {
      const r: CallerResult = { stored: 0, duplicates: 0, refused: [] };
      w.readings.forEach((_, i) => {
        try {
          if (insertOne(w, i, now)) r.stored++;
          else r.duplicates++;
        } catch (err) {
          if (!callerFault(err)) throw err;
          const index = w.indices[i] as number;
          const message = `reading ${index} of ${w.total}: not stored: ${translateSqliteError(err).message}`;
          // Not foreseen by validation, so not known to be the reading's own: the device may send it again.
          const error = new HubError("READING_INVALID", message, {
            cause: err,
            details: { index, field: "(refused by the database)" },
            retryable: true,
          });
          r.refused.push({ index, error });
        }
      });
      return r;
    };
    this.insertBatch = this.db.transaction((batch: Waiting[]) => {
      const now = this.options.clock.nowMs();
      let dupTotal = 0;
      let refused = 0;
      const results = batch.map((w): CallerResult => {
        let r: CallerResult;
        try {
          r = insertCaller(w, now);
        } catch (err) {
          if (!callerFault(err)) throw err;
          r = oneByOne(w, now);
        }
        dupTotal += r.duplicates;
        refused += r.refused.length + w.refused.length;
        return r;
      });
      if (dupTotal > 0) this.stmts.counter.run("duplicates", dupTotal);
      if (refused > 0) this.stmts.counter.run("refused", refused);
      return results;
    });
  }

  private insertReading(w: Waiting, i: number, now: number): boolean {
    const r = w.readings[i] as Reading;
    const route = this.options.routeOf(r.patient) as string;
    const unsynced = r.timeSource === "hub-unsynced";
    const info = this.stmts.reading.run({
      key: r.key,
      patient: r.patient,
      deviceId: r.deviceId,
      kind: r.kind,
      measuredAt: r.measuredAt,
      timeSource: r.timeSource,
      bootId: unsynced ? this.options.clock.bootId : null,
      monoMs: unsynced ? w.monoMs - Math.max(0, w.wallMs - Date.parse(r.receivedAt)) : null,
      body: w.bodies[i],
      now,
    });
    if (info.changes === 0) return false;
    // A physically impossible value is kept for a person to see, never forwarded (quarantine wins over
    // held: it is never sent, whatever its time). A reading stamped by an unsynchronised hub clock waits
    // until its time can be corrected.
    const quarantine = typeof r.quarantine === "string" && r.quarantine !== "" ? r.quarantine : undefined;
    // Finished before the clock synchronised, committed after: release it right after this commit.
    if (unsynced && quarantine === undefined && this.options.clock.isSynced()) this.heldAfterSync = true;
    this.stmts.outbox.run({
      readingId: info.lastInsertRowid,
      documentId: null,
      route,
      patient: r.patient,
      state: quarantine !== undefined ? "quarantined" : unsynced ? "held" : "pending",
      reason: quarantine ?? null,
      doneMs: quarantine !== undefined ? now : null,
      available: w.availableMs,
      now,
    });
    return true;
  }

  /**
   * Stores readings durably (with their outbox rows); resolves after commit. Duplicates are counted,
   * not stored. Each reading is checked on its own: a bad one is refused alone (listed in `refused`,
   * by index) and the others are stored. Rejects when none of the call's readings was stored: the
   * storage failed (DISK_FULL, BUFFER_FULL, STORAGE_IO…: the whole commit) or every reading was refused.
   */
  ingest(readings: Reading[]): Promise<IngestResult> {
    if (this.closed) return Promise.reject(new HubError("BUFFER_CLOSED", "buffer is closed"));
    let admitted: ReturnType<typeof admitReadings>;
    try {
      admitted = admitReadings(readings, this.options.routeOf);
    } catch (err) {
      return Promise.reject(err);
    }
    if (admitted.readings.length === 0 && admitted.refused.length > 0) {
      this.countRefused(admitted.refused.length);
      return Promise.reject(everyReadingRefused(admitted.refused, readings.length));
    }
    return new Promise((resolve, reject) => {
      const clock = this.options.clock;
      const t0 = performance.now();
      this.queue.push({
        ...admitted,
        total: readings.length,
        t0,
        wallMs: clock.nowMs(),
        monoMs: clock.monotonicMs(),
        availableMs: this.timebase.nowMs(),
        resolve,
        reject,
      });
      this.queuedReadings += admitted.readings.length;
      if (this.queuedReadings >= (this.options.maxBatch ?? 1000)) this.flush();
      else this.schedule();
    });
  }

  /** Readings refused with no transaction to count them in. */
  private countRefused(n: number): void {
    try {
      this.stmts.counter.run("refused", n);
    } catch (err) {
      this.log.error(
        { code: translateSqliteError(err).code, refused: n },
        "could not count refused readings",
      );
    }
  }

  /**
   * At most one commit per `groupCommitMs`: a reading arriving after a quiet spell is committed on
   * the next turn of the event loop (no added latency); under load, arrivals within the window
   * share the next transaction.
   */
  private schedule(): void {
    if (this.timer || this.immediate) return;
    const wait = this.lastFlushAt + this.options.groupCommitMs - performance.now();
    if (wait > 0) this.timer = setTimeout(() => this.flush(), wait);
    else this.immediate = setImmediate(() => this.flush());
  }

  /** Commits everything waiting now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const batch = this.queue;
    this.queue = [];
    this.queuedReadings = 0;
    if (batch.length === 0) return;
    this.lastFlushAt = performance.now();
    let results: CallerResult[];
    try {
      this.ensureCapacity();
      results = this.insertBatch(batch);
      this.commits++;
    } catch (err) {
      const e = translateSqliteError(err);
      const refused = batch.reduce((n, w) => n + w.total, 0);
      this.onStoreFailure(e, refused);
      for (const w of batch) w.reject(e);
      return;
    }
    this.alerts.clear("DISK_FULL");
    this.alerts.clear("STORAGE_IO");
    if (this.heldAfterSync) {
      this.heldAfterSync = false;
      this.releaseHeld().catch((err: unknown) =>
        this.log.error({ code: translateSqliteError(err).code }, "releasing held readings failed"),
      );
    }
    const t1 = performance.now();
    batch.forEach((w, i) => {
      const durableMs = t1 - w.t0;
      this.recordLatency(durableMs);
      const r = results[i] as CallerResult;
      const refused = [...w.refused, ...r.refused].sort((a, b) => a.index - b.index);
      if (r.stored + r.duplicates === 0 && refused.length > 0)
        w.reject(everyReadingRefused(refused, w.total));
      else w.resolve({ stored: r.stored, duplicates: r.duplicates, refused, durableMs });
    });
  }

  private onStoreFailure(e: HubError, refused: number): void {
    const now = this.options.clock.nowMs();
    if (isFull(e.cause)) this.makeRoom();
    else if (e.code === "DISK_FULL") this.diskFull();
    else if (e.code === "STORAGE_IO" || e.code === "BUFFER_FULL") this.alerts.raise(e.code, e.message, now);
    try {
      this.stmts.counter.run("refused", refused);
    } catch {
      // the disk may be full; the count is also in the log line below
    }
    this.log.error({ code: e.code, refused }, "readings not stored");
  }

  /** A damaged file found at open: repaired in place, or moved aside with its rows salvaged. */
  private reportDamage(opened: OpenResult): void {
    const now = this.options.clock.nowMs();
    if (opened.repaired !== undefined) {
      this.log.error({ problem: opened.repaired }, "buffer damaged: indexes rebuilt in place");
      this.alerts.raise(
        "BUFFER_REPAIRED",
        "the buffer file had damaged indexes and was repaired in place (REINDEX); nothing was lost; check the storage",
        now,
      );
    }
    if (opened.corruptMovedTo === undefined) return;
    const s = opened.salvage;
    const salvaged = s
      ? s.problem === undefined
        ? `; salvaged ${s.unsent} undelivered rows (${s.rebuilt} re-queued as ambiguous: they may have been sent), at least ${s.unreadable} rows unreadable`
        : `; nothing could be salvaged: ${s.problem}`
      : "";
    this.log.error({ movedTo: opened.corruptMovedTo, salvage: s }, "buffer corrupt: moved aside");
    this.alerts.raise(
      "BUFFER_CORRUPT",
      `buffer file failed its integrity check and was moved aside to ${opened.corruptMovedTo} (kept); a fresh buffer was started${salvaged}`,
      now,
    );
  }

  private diskFull(): void {
    this.alerts.raise("DISK_FULL", DISK_FULL_MESSAGE, this.options.clock.nowMs());
  }

  /**
   * The disk is full: give the reserve back to the filesystem (so claims, completions, the
   * checkpoint and a route's rotated tokens have room) and refuse new readings until it can be
   * re-created. Returns whether anything was freed, i.e. whether a retry can succeed.
   */
  makeRoom(): boolean {
    this.diskFull();
    if (!this.reserve.release()) return false;
    this.log.error({ bytes: this.reserve.bytes }, "disk full: reserve released for delivery");
    checkpoint(this.db, "TRUNCATE");
    return true;
  }

  /**
   * Before new readings are written: the disk reserve must be in place (re-created once space has
   * returned; refused while it cannot be), and the size cap — WAL included — is enforced: prune
   * delivered data first; refuse (never drop) when only unsent data is left.
   */
  private ensureCapacity(): void {
    if (!this.reserve.held() && !this.reserve.restore()) {
      // Delivered data is what can go: its pages go back to the filesystem, then try again.
      if (pruneDelivered(this.db, Number.MAX_SAFE_INTEGER) === 0 || !this.reserve.restore()) {
        throw new HubError("DISK_FULL", DISK_FULL_MESSAGE);
      }
    }
    const cap = this.options.maxSizeBytes;
    if (usedBytes(this.db) >= cap) checkpoint(this.db, "TRUNCATE");
    if (usedBytes(this.db) < cap) {
      this.alerts.clear("BUFFER_FULL");
      return;
    }
    const target = cap * LOW_WATER;
    while (usedBytes(this.db) >= target) {
      const pruned =
        pruneDelivered(this.db, Number.MAX_SAFE_INTEGER, 5000) > 0 || pruneKeys(this.db, 5000) > 0;
      if (!pruned) break;
      // Pruning itself writes to the WAL: fold it back so the next measure sees the space it freed.
      checkpoint(this.db, "TRUNCATE");
    }
    if (usedBytes(this.db) >= cap) {
      throw new HubError(
        "BUFFER_FULL",
        "buffer is at its size cap with only unsent data: new readings are refused",
      );
    }
    this.alerts.clear("BUFFER_FULL");
  }

  /** Stores a document (e.g. an MDM^T02 PDF) for a route; idempotent by key. Resolves after commit. */
  enqueueDocument(doc: StoredDocument, route: string): boolean {
    const body = this.documentBody(doc, route);
    try {
      this.ensureCapacity();
      return this.db.transaction(() => {
        const now = this.options.clock.nowMs();
        const info = this.stmts.document.run({
          key: doc.key,
          patient: doc.patient,
          kind: doc.kind,
          body,
          now,
        });
        if (info.changes === 0) return false;
        this.stmts.outbox.run({
          readingId: null,
          documentId: info.lastInsertRowid,
          route,
          patient: doc.patient,
          state: "pending",
          reason: null,
          doneMs: null,
          available: this.timebase.nowMs(),
          now,
        });
        return true;
      })();
    } catch (err) {
      throw translateSqliteError(err);
    }
  }

  /**
   * A document's stored form, checked here whatever prepared it (a route's own check is one caller
   * among others): key, patient, kind and route non-empty strings, JSON that can be written, and
   * not over the document cap (a huge body would crowd out readings and cost its size many times
   * over when built into a message).
   */
  private documentBody(doc: StoredDocument, route: string): string {
    const invalid = (why: string) => new HubError("DOCUMENT_INVALID", `document refused: ${why}`);
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw invalid("not an object");
    for (const field of ["key", "patient", "kind"] as const)
      if (typeof doc[field] !== "string" || doc[field] === "")
        throw invalid(`${field} must be non-empty text`);
    if (typeof route !== "string" || route === "") throw invalid("no route");
    let body: string | undefined;
    try {
      body = JSON.stringify(doc);
    } catch {
      body = undefined;
    }
    if (body === undefined) throw invalid(`document ${doc.key} cannot be stored as JSON`);
    const max = this.options.maxDocumentBodyBytes ?? MAX_DOCUMENT_BODY_BYTES;
    const bytes = Buffer.byteLength(body, "utf8");
    if (bytes > max)
      throw new HubError(
        "DOCUMENT_TOO_LARGE",
        `document ${doc.key} is ${bytes} bytes stored; the buffer takes at most ${max}`,
      );
    return body;
  }

  /**
   * The hub clock is synchronised: readings held with an unsynchronised hub time are re-timed from
   * the monotonic clock (same boot only) and released; those from an earlier boot cannot be re-timed
   * and become dead letters with the reason (see `HeldReadings`). Called on clock sync and by every
   * housekeeping pass, so a reading that commits just after a sync release is not held forever.
   * One short transaction per chunk, yielding between chunks. Concurrent calls share one run.
   */
  releaseHeld(): Promise<ReleaseResult> {
    this.releasing ??= this.releaseAllHeld().finally(() => {
      this.releasing = undefined;
    });
    return this.releasing;
  }

  private async releaseAllHeld(): Promise<ReleaseResult> {
    const total = { released: 0, unrecoverable: 0 };
    await inChunks(() => {
      if (this.closed) return 0;
      const r = this.held.releaseChunk(HOUSEKEEPING_CHUNK, CHUNK_BUDGET_MS);
      total.released += r.released;
      total.unrecoverable += r.unrecoverable;
      return r.released + r.unrecoverable;
    });
    if (total.released > 0) this.onReleased?.(total.released);
    return total;
  }

  /** Outbox counts drifted from the rows (e.g. a salvage copied an old file's counters): recounted, logged. */
  private checkCounts(): void {
    try {
      if (ensureOutboxCounts(this.db)) this.log.warn("outbox counts did not match the rows: recounted");
    } catch (err) {
      this.log.error({ code: translateSqliteError(err).code }, "could not check the outbox counts");
    }
  }

  /**
   * Periodic housekeeping: release held rows once the clock is synchronised, reclaim expired leases,
   * prune delivered rows past retention, all in short transactions with yields between them.
   */
  async housekeeping(): Promise<{ pruned: number; reclaimed: number } & ReleaseResult> {
    const released = await this.releaseHeld();
    if (this.closed) return { pruned: 0, reclaimed: 0, ...released };
    this.timebase.checkpoint();
    const reclaimed = this.outbox.reclaimExpired();
    // Rows can become ambiguous without a completion (a salvage re-queues them so): the alert follows the rows.
    this.outbox.refreshAmbiguousAlert();
    const before = this.options.clock.nowMs() - this.options.retentionMs;
    const pruned = await inChunks(() =>
      this.closed ? 0 : pruneDelivered(this.db, before, HOUSEKEEPING_CHUNK),
    );
    // A forgotten HL7 message (its rows still open, or delivered but not yet pruned) leaves the WAL too.
    if (!this.closed) reclaimIfNoted(this.db);
    return { pruned, reclaimed, ...released };
  }

  private recordLatency(ms: number): void {
    if (this.latencies.length >= LATENCY_SAMPLES) this.latencies.shift();
    this.latencies.push(ms);
  }

  /** Recent durable-ingest latency percentile, ms. */
  latencyPercentile(p: number): number {
    if (this.latencies.length === 0) return 0;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
  }

  stats(): BufferStats {
    return buildStats(
      this.db,
      this.options.clock.nowMs(),
      this.alerts.list(),
      usedBytes(this.db),
      this.options.maxSizeBytes,
    );
  }

  kvGet(k: string): string | undefined {
    return (
      (this.db.prepare("SELECT v FROM kv WHERE k = ?").pluck().get(k) as string | undefined) ?? undefined
    );
  }

  kvSet(k: string, v: string): void {
    this.db
      .prepare(
        "INSERT INTO kv (k, v, updated_ms) VALUES (?, ?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v, updated_ms = excluded.updated_ms",
      )
      .run(k, v, this.options.clock.nowMs());
  }

  kvDelete(k: string): void {
    this.db.prepare("DELETE FROM kv WHERE k = ?").run(k);
  }

  /** Commits what is waiting, then closes. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.timebase.checkpoint();
    this.db.close();
  }

  activeAlerts(): Alert[] {
    return this.alerts.list();
  }
}
