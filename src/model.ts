/**
 * State of the frontend, with signals: the list of jobs (kept current by the
 * server's pushed events), and per job its log, metrics and results.
 *
 * Models talk to the server only through `JobsClient`, and know no widgets.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IJob,
  IJobEvent,
  IMetrics,
  IResources,
  IResults,
  isFinal,
  JOB_STATUSES,
  JobsClient,
  JobStatus,
  MetricX
} from './api';
import { ChartModel } from './chartmodel';
import { errorText } from './errors';
import { JobSelection } from './selection';
import { TerminalBuffer } from './terminal';

export type LoadState = 'loading' | 'ready' | 'error';

/** How often the GPUs' holders are looked at again (ms). */
export const RESOURCES_MS = 5000;

/** The order of the jobs list: newest first, then by id. */
export function compareJobs(a: IJob, b: IJob): number {
  if (a.created_at !== b.created_at) {
    return a.created_at < b.created_at ? 1 : -1;
  }
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Statuses only move forward: queued → running → stopping → ended.
 */
export function statusRank(status: JobStatus): number {
  const ended = JOB_STATUSES.findIndex(isFinal);
  const rank = JOB_STATUSES.indexOf(status);
  return rank < 0 || isFinal(status) ? ended : rank;
}

/**
 * Whether `job` is older news than `before`: within an attempt statuses only move
 * forward; a retried attempt (running → queued again, before the job is final) is
 * newer than any state of an earlier one. A final job never moves again.
 */
export function isOlder(job: IJob, before: IJob): boolean {
  if (isFinal(before.status)) {
    return !isFinal(job.status);
  }
  const attempt = job.attempt ?? 1;
  const beforeAttempt = before.attempt ?? 1;
  if (attempt !== beforeAttempt) {
    return attempt < beforeAttempt;
  }
  return statusRank(job.status) < statusRank(before.status);
}

/**
 * Read a pushed event: jupyter_server sends the event's data at the top level
 * of the message, beside `schema_id`; accept a nested `data` as well.
 */
export function parseJobEvent(message: unknown): IJobEvent | null {
  if (!message || typeof message !== 'object') {
    return null;
  }
  const raw = message as { [key: string]: any };
  const data =
    raw.data && typeof raw.data === 'object' && raw.data.action
      ? raw.data
      : raw;
  if (
    !['created', 'status', 'deleted'].includes(data.action) ||
    typeof data.job_id !== 'string'
  ) {
    return null;
  }
  return {
    action: data.action,
    job_id: data.job_id,
    status: data.status,
    job: data.job && typeof data.job === 'object' ? (data.job as IJob) : null
  };
}

/**
 * The jobs of the server, newest first.
 */
export class JobsModel implements IDisposable {
  constructor(options: JobsModel.IOptions) {
    this.client = options.client;
    this._limit = options.limit ?? 500;
    this._refreshMs = options.refreshMs ?? 30000;
    this.selection.changed.connect(() => this._changed.emit(), this);
    this._resourcesMs = options.resourcesMs ?? 0;
  }

  readonly client: JobsClient;

  /** Emitted when the list, the filter, the selection or the state change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted with a job each time it is created or changes. */
  get jobChanged(): ISignal<this, IJob> {
    return this._jobChanged;
  }

  /** Emitted with a job's id when it is deleted. */
  get jobDeleted(): ISignal<this, string> {
    return this._jobDeleted;
  }

  /** Emitted once when a job seen unfinished ends (completed, failed, stopped). */
  get finished(): ISignal<this, IJob> {
    return this._finished;
  }

  get state(): LoadState {
    return this._state;
  }

  get error(): string | null {
    return this._error;
  }

  /** How many jobs the server has in all. */
  get total(): number {
    return Math.max(this._total, this._jobs.size);
  }

  /** Statuses shown; empty: all. */
  get filter(): ReadonlyArray<JobStatus> {
    return this._filter;
  }
  set filter(value: ReadonlyArray<JobStatus>) {
    this._filter = value.slice();
    this._sorted = null;
    this._changed.emit();
  }

  /** The highlighted job: the one clicked last. */
  get selected(): string | null {
    return this.selection.current;
  }
  set selected(id: string | null) {
    if (id !== this.selection.current || this.selection.size > 1) {
      this.selection.set(id ? [id] : []);
    }
  }

  /** The selected jobs (ctrl/shift-click), shared with the Runs view. */
  readonly selection = new JobSelection();

  /** Every known job, newest first. */
  get allJobs(): ReadonlyArray<IJob> {
    if (!this._sorted) {
      this._sorted = Array.from(this._jobs.values()).sort(compareJobs);
    }
    return this._sorted;
  }

  /** The jobs passing the filter, newest first. */
  get jobs(): ReadonlyArray<IJob> {
    const all = this.allJobs;
    if (!this._filter.length) {
      return all;
    }
    return all.filter(job => this._filter.includes(job.status));
  }

  /** How many known jobs have each status. */
  get counts(): Partial<Record<JobStatus, number>> {
    const counts: Partial<Record<JobStatus, number>> = {};
    for (const job of this._jobs.values()) {
      counts[job.status] = (counts[job.status] ?? 0) + 1;
    }
    return counts;
  }

  get(id: string): IJob | undefined {
    return this._jobs.get(id);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Load the list, then refresh it now and then as a safety net (the pushed
   * events do the live work).
   */
  start(): Promise<void> {
    this._started = true;
    this._restartTimer();
    if (this._resourcesMs > 0) {
      void this.refreshResources();
    }
    return this.refresh();
  }

  /**
   * The server's GPUs and who holds each; null until loaded. Other users' jobs send
   * no events here, so they are looked at again every `resourcesMs` (the sidebar's
   * model uses RESOURCES_MS).
   */
  get resources(): IResources | null {
    return this._resources;
  }

  async refreshResources(): Promise<void> {
    try {
      const resources = await this.client.resources();
      if (!this._isDisposed) {
        this._resources = resources;
        this._changed.emit();
      }
    } catch {
      // shown as unknown until the next look
    }
  }

  /** The safety refresh period in ms (0: none). */
  get refreshMs(): number {
    return this._refreshMs;
  }
  set refreshMs(value: number) {
    this._refreshMs = Math.max(0, value);
    this._restartTimer();
  }

  private _restartTimer(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
    if (this._started && !this._isDisposed && this._refreshMs > 0) {
      this._timer = setInterval(() => {
        void this.refresh();
      }, this._refreshMs);
    }
    if (this._resourcesTimer !== null) {
      clearInterval(this._resourcesTimer);
      this._resourcesTimer = null;
    }
    if (this._started && !this._isDisposed && this._resourcesMs > 0) {
      this._resourcesTimer = setInterval(() => {
        void this.refreshResources();
      }, this._resourcesMs);
    }
  }

  /**
   * Fetch the newest jobs from the server and merge them in.
   */
  async refresh(): Promise<void> {
    const seqAtStart = this._seq;
    try {
      const list = await this.client.listJobs({ limit: this._limit });
      if (this._isDisposed) {
        return;
      }
      const fresh = new Map(list.jobs.map(job => [job.id, job]));
      for (const id of Array.from(this._jobs.keys())) {
        if (!fresh.has(id) && (this._touched.get(id) ?? -1) <= seqAtStart) {
          this._jobs.delete(id);
        }
      }
      for (const job of list.jobs) {
        if ((this._touched.get(job.id) ?? -1) > seqAtStart) {
          continue; // an event newer than this answer already updated it
        }
        if (this._deleted.has(job.id)) {
          continue;
        }
        this._update(job);
      }
      this._total = list.total;
      this._state = 'ready';
      this._error = null;
    } catch (error) {
      if (this._isDisposed) {
        return;
      }
      this._state = 'error';
      this._error = errorText(error);
    }
    this._sorted = null;
    this._changed.emit();
  }

  /**
   * Apply a pushed event.
   */
  handleEvent(event: IJobEvent): void {
    this._seq++;
    this._touched.set(event.job_id, this._seq);
    if (event.action === 'deleted') {
      this._deleted.add(event.job_id);
      this.selection.remove(event.job_id);
      if (this._jobs.delete(event.job_id)) {
        this._total = Math.max(0, this._total - 1);
        this._sorted = null;
        this._jobDeleted.emit(event.job_id);
        this._changed.emit();
      }
      return;
    }
    if (!event.job) {
      void this._fetchOne(event.job_id);
      return;
    }
    if (event.action === 'created' && !this._jobs.has(event.job_id)) {
      this._total++;
    }
    if (
      this._resourcesMs > 0 &&
      event.job.status !== this._jobs.get(event.job_id)?.status
    ) {
      void this.refreshResources();
    }
    this._update(event.job);
    this._sorted = null;
    this._changed.emit();
  }

  /**
   * Apply a job the caller just got from the server (e.g. after submit).
   */
  upsert(job: IJob): void {
    this._seq++;
    this._touched.set(job.id, this._seq);
    if (!this._jobs.has(job.id)) {
      this._total++;
    }
    this._update(job);
    this._sorted = null;
    this._changed.emit();
  }

  async stop(id: string): Promise<IJob> {
    const job = await this.client.stop(id);
    this.upsert(job);
    return job;
  }

  async rerun(id: string): Promise<IJob> {
    const job = await this.client.rerun(id);
    this.upsert(job);
    return job;
  }

  async remove(id: string): Promise<void> {
    await this.client.remove(id);
    this.handleEvent({
      action: 'deleted',
      job_id: id,
      status: this._jobs.get(id)?.status ?? 'completed',
      job: null
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
    if (this._resourcesTimer !== null) {
      clearInterval(this._resourcesTimer);
      this._resourcesTimer = null;
    }
    Signal.clearData(this);
  }

  private async _fetchOne(id: string): Promise<void> {
    const seq = this._seq;
    try {
      const job = await this.client.getJob(id);
      if (!this._isDisposed && (this._touched.get(id) ?? -1) <= seq) {
        this._update(job);
        this._sorted = null;
        this._changed.emit();
      }
    } catch {
      // the safety refresh will catch up
    }
  }

  private _update(job: IJob): void {
    const before = this._jobs.get(job.id);
    if (before && isOlder(job, before)) {
      // an answer older than an event already applied (a job never goes back)
      return;
    }
    this._jobs.set(job.id, job);
    if (before && JSON.stringify(before) === JSON.stringify(job)) {
      return;
    }
    this._jobChanged.emit(job);
    const wasSeenRunning =
      (before && !isFinal(before.status)) ||
      (!before && this._state === 'ready');
    if (isFinal(job.status) && wasSeenRunning && !this._notified.has(job.id)) {
      this._notified.add(job.id);
      this._finished.emit(job);
    }
    if (isFinal(job.status)) {
      this._notified.add(job.id);
    }
  }

  private _jobs = new Map<string, IJob>();
  private _sorted: IJob[] | null = null;
  private _total = 0;
  private _limit: number;
  private _refreshMs: number;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _resourcesTimer: ReturnType<typeof setInterval> | null = null;
  private _resources: IResources | null = null;
  private _resourcesMs: number;
  private _started = false;
  private _state: LoadState = 'loading';
  private _error: string | null = null;
  private _filter: JobStatus[] = [];
  private _seq = 0;
  private _touched = new Map<string, number>();
  private _deleted = new Set<string>();
  private _notified = new Set<string>();
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _jobChanged = new Signal<this, IJob>(this);
  private _jobDeleted = new Signal<this, string>(this);
  private _finished = new Signal<this, IJob>(this);
}

export namespace JobsModel {
  export interface IOptions {
    client: JobsClient;
    /** How many of the newest jobs to load (default 500). */
    limit?: number;
    /** Safety refresh period in ms (default 30 s; 0: none). */
    refreshMs?: number;
    /** How often the GPUs' holders are looked at (ms; default 0: never). */
    resourcesMs?: number;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/**
 * Follows a job's log by offset with long polls, into a terminal buffer.
 */
export class LogFollower implements IDisposable {
  constructor(options: LogFollower.IOptions) {
    this._client = options.client;
    this.jobId = options.jobId;
    this.terminal = options.terminal ?? new TerminalBuffer();
    this._chunk = options.chunkBytes ?? 256 * 1024;
    this._wait = options.waitSeconds ?? 25;
    this._tail = options.tailBytes ?? 4 * 1024 * 1024;
    this._retryMs = options.retryMs ?? 2000;
    this._idleMs = options.idleMs ?? 250;
  }

  readonly jobId: string;
  readonly terminal: TerminalBuffer;

  /** Emitted when text was added to the terminal (or the state changed). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The byte offset read up to. */
  get offset(): number {
    return this._offset;
  }

  /** Bytes at the start of a huge log that were not loaded. */
  get skipped(): number {
    return this._skipped;
  }

  /** Whether the job ended and its whole log was read. */
  get eof(): boolean {
    return this._eof;
  }

  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._abort.signal.aborted;
  }

  /**
   * Start following; resolves when the log is read to its end or on dispose.
   */
  start(): Promise<void> {
    if (!this._running) {
      this._running = this._loop();
    }
    return this._running;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._abort.abort();
    Signal.clearData(this);
  }

  private async _loop(): Promise<void> {
    let caughtUp = false;
    let first = true;
    while (!this.isDisposed && !this._eof) {
      const asked = Date.now();
      try {
        const chunk = await this._client.log(
          this.jobId,
          {
            offset: this._offset,
            limit: this._chunk,
            wait: caughtUp ? this._wait : 0
          },
          this._abort.signal
        );
        if (this.isDisposed) {
          return;
        }
        if (
          first &&
          chunk.size &&
          chunk.size > this._tail &&
          this._offset === 0
        ) {
          // a huge log: show its tail only (the download has it all)
          first = false;
          this._offset = this._skipped = chunk.size - this._tail;
          continue;
        }
        first = false;
        if (chunk.text) {
          this.terminal.write(chunk.text);
        }
        const read = chunk.next_offset - this._offset;
        this._offset = chunk.next_offset;
        this._eof = chunk.eof;
        caughtUp = read < this._chunk;
        this._error = null;
        this._changed.emit();
        if (read === 0 && !this._eof && Date.now() - asked < this._idleMs) {
          // nothing new and no long poll on the server's side: do not spin
          await sleep(this._idleMs);
        }
      } catch (error) {
        if (this.isDisposed) {
          return;
        }
        this._error = errorText(error);
        this._changed.emit();
        await sleep(this._retryMs);
      }
    }
  }

  private _client: JobsClient;
  private _chunk: number;
  private _wait: number;
  private _tail: number;
  private _retryMs: number;
  private _idleMs: number;
  private _offset = 0;
  private _skipped = 0;
  private _eof = false;
  private _error: string | null = null;
  private _running: Promise<void> | null = null;
  private _abort = new AbortController();
  private _changed = new Signal<this, void>(this);
}

export namespace LogFollower {
  export interface IOptions {
    client: JobsClient;
    jobId: string;
    terminal?: TerminalBuffer;
    /** Bytes asked per read (default 256 KiB). */
    chunkBytes?: number;
    /** Long-poll seconds once caught up (default 25). */
    waitSeconds?: number;
    /** Logs larger than this start at their tail (default 4 MiB). */
    tailBytes?: number;
    /** Pause after an error, in ms (default 2000). */
    retryMs?: number;
    /** Least time between two reads that brought nothing (default 250). */
    idleMs?: number;
  }
}

/**
 * A job's metrics, downsampled by the server, with the chart options.
 */
export class MetricsModel extends ChartModel<IMetrics> {
  constructor(options: MetricsModel.IOptions) {
    super({
      maxPoints: options.maxPoints ?? 1500,
      minIntervalMs: options.minIntervalMs
    });
    this._client = options.client;
    this.jobId = options.jobId;
  }

  readonly jobId: string;

  protected load(x: MetricX): Promise<IMetrics> {
    return this._client.metrics(this.jobId, { x, max_points: this.maxPoints });
  }

  private _client: JobsClient;
}

export namespace MetricsModel {
  export interface IOptions {
    client: JobsClient;
    jobId: string;
    maxPoints?: number;
    minIntervalMs?: number;
  }
}

/**
 * Everything one job view shows: the job, its log, metrics and results.
 */
export class JobViewModel implements IDisposable {
  constructor(options: JobViewModel.IOptions) {
    this.jobs = options.jobs;
    this.jobId = options.jobId;
    const client = this.jobs.client;
    this.log = new LogFollower({ client, jobId: this.jobId });
    this.metrics = new MetricsModel({ client, jobId: this.jobId });
    this._job = this.jobs.get(this.jobId) ?? null;
    this.jobs.jobChanged.connect(this._onJobChanged, this);
    this.jobs.jobDeleted.connect(this._onJobDeleted, this);
    this.log.changed.connect(() => this.metrics.schedule(), this);
  }

  readonly jobs: JobsModel;
  readonly jobId: string;
  readonly log: LogFollower;
  readonly metrics: MetricsModel;

  /** Emitted when the job, its results or the view state change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get job(): IJob | null {
    return this._job;
  }

  /** Whether the server no longer knows the job. */
  get gone(): boolean {
    return this._gone;
  }

  get error(): string | null {
    return this._error;
  }

  get results(): IResults | null {
    return this._results;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Load the job, follow its log, fetch its metrics and results.
   */
  async start(): Promise<void> {
    void this.log.start();
    void this.metrics.refresh();
    try {
      this._setJob(await this.jobs.client.getJob(this.jobId));
    } catch (error) {
      if (this._isDisposed) {
        return;
      }
      this._error = errorText(error);
      this._gone = (error as { status?: number }).status === 404;
      this._changed.emit();
    }
    await this.refreshResults();
  }

  async refreshResults(): Promise<void> {
    try {
      const results = await this.jobs.client.results(this.jobId);
      if (!this._isDisposed) {
        this._results = results;
        this._changed.emit();
      }
    } catch {
      // results are optional: the list stays as it was
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.log.dispose();
    this.metrics.dispose();
    Signal.clearData(this);
  }

  private _setJob(job: IJob): void {
    if (this._job && isOlder(job, this._job)) {
      return; // older than what is shown
    }
    const wasFinal = this._job ? isFinal(this._job.status) : false;
    this._job = job;
    this._error = null;
    this._changed.emit();
    if (isFinal(job.status) && !wasFinal) {
      void this.metrics.refresh();
      void this.refreshResults();
    }
  }

  private _onJobChanged(_: JobsModel, job: IJob): void {
    if (job.id === this.jobId) {
      this._setJob(job);
    }
  }

  private _onJobDeleted(_: JobsModel, id: string): void {
    if (id === this.jobId) {
      this._gone = true;
      this._changed.emit();
    }
  }

  private _job: IJob | null;
  private _gone = false;
  private _error: string | null = null;
  private _results: IResults | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

export namespace JobViewModel {
  export interface IOptions {
    jobs: JobsModel;
    jobId: string;
  }
}
