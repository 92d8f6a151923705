/**
 * State of the Runs view: every run of the server as a row of the runs table
 * (sorted, filtered, columns chosen, sweeps grouped), the selection it shares
 * with the Jobs sidebar, and the overlay of the selected runs' metrics.
 *
 * Talks to the server only through `JobsClient`; knows no widgets.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ACTIVE_STATUSES,
  ICompare,
  IJob,
  IRun,
  isFinal,
  JobsClient,
  MetricX
} from './api';
import { ChartModel } from './chartmodel';
import { errorText } from './errors';
import { JobsModel, LoadState } from './model';
import {
  hiddenByDefault,
  IColumn,
  IFilterTerm,
  ISort,
  matchesFilter,
  parseFilter,
  runColumns,
  sortRuns
} from './runtable';
import { ClickMode, JobSelection } from './selection';
import { isSystemMetric, TELEMETRY_NOTICE } from './telemetry';

/** A row of the table: a run, or the heading of a sweep's runs. */
export type RunsRow =
  | { kind: 'run'; run: IRun; grouped: boolean }
  | {
      kind: 'group';
      sweep: string;
      /** The sweep's runs passing the filter. */
      ids: string[];
      collapsed: boolean;
    };

export class RunsModel implements IDisposable {
  constructor(options: RunsModel.IOptions) {
    this.jobs = options.jobs;
    this.client = options.jobs.client;
    this._pageSize = options.pageSize ?? 1000;
    this._maxRuns = options.maxRuns ?? 50000;
    this._pollMs = options.pollMs ?? 5000;
    this._batchMs = options.batchMs ?? 300;
    this.jobs.jobChanged.connect(this._onJobChanged, this);
    this.jobs.jobDeleted.connect(this._onJobDeleted, this);
    this.selection.changed.connect(() => this._changed.emit(), this);
  }

  readonly jobs: JobsModel;
  readonly client: JobsClient;

  /** Emitted when the rows, the columns, the selection or the state change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted with the ids of runs whose data was updated. */
  get runsUpdated(): ISignal<this, ReadonlyArray<string>> {
    return this._runsUpdated;
  }

  /** The selection, the same object as the Jobs sidebar's. */
  get selection(): JobSelection {
    return this.jobs.selection;
  }

  get state(): LoadState {
    return this._state;
  }

  get error(): string | null {
    return this._error;
  }

  /** How many runs the server has. */
  get total(): number {
    return Math.max(this._total, this._runs.size);
  }

  get(id: string): IRun | undefined {
    return this._runs.get(id);
  }

  /** The name of a run (or of a job not loaded here yet). */
  label(id: string): string {
    return this._runs.get(id)?.name ?? this.jobs.get(id)?.name ?? id;
  }

  /** Every run loaded. */
  get allRuns(): IterableIterator<IRun> {
    return this._runs.values();
  }

  /** Every column the runs fill, visible or not. */
  get columns(): ReadonlyArray<IColumn> {
    if (this._columns === null) {
      this._columns = runColumns(this._runs.values());
    }
    return this._columns;
  }

  /** The columns shown, in order (the same array until they change). */
  get visibleColumns(): ReadonlyArray<IColumn> {
    const all = this.columns;
    if (this._visible === null || this._visibleOf !== all) {
      this._visible = all.filter(column => this.isVisible(column));
      this._visibleOf = all;
    }
    return this._visible;
  }

  isVisible(column: IColumn): boolean {
    return this._shown.has(column.key)
      ? this._shown.get(column.key)!
      : !hiddenByDefault(column);
  }

  setVisible(key: string, visible: boolean): void {
    this._shown.set(key, visible);
    this._visible = null;
    this._changed.emit();
  }

  get sort(): ISort {
    return this._sort;
  }
  set sort(value: ISort) {
    this._sort = { ...value };
    this._invalidate();
  }

  /**
   * Sort by a column: first ascending (descending for a maximised metric's
   * best value and for numbers people look at the top of), again to flip.
   */
  sortBy(key: string): void {
    if (this._sort.key === key) {
      this.sort = {
        key,
        direction: this._sort.direction === 'asc' ? 'desc' : 'asc'
      };
      return;
    }
    const column = this.columns.find(c => c.key === key);
    const descending =
      column?.kind === 'peak' ||
      column?.kind === 'started' ||
      column?.kind === 'duration';
    this.sort = { key, direction: descending ? 'desc' : 'asc' };
  }

  /** The filter's text (see `parseFilter`). */
  get filter(): string {
    return this._filterText;
  }
  set filter(text: string) {
    this._filterText = text;
    this._terms = parseFilter(text);
    this._invalidate();
  }

  /** Whether a sweep's runs are shown together under its heading. */
  get groupBySweep(): boolean {
    return this._group;
  }
  set groupBySweep(value: boolean) {
    this._group = value;
    this._invalidate();
  }

  isCollapsed(sweep: string): boolean {
    return this._collapsed.has(sweep);
  }

  toggleGroup(sweep: string): void {
    if (!this._collapsed.delete(sweep)) {
      this._collapsed.add(sweep);
    }
    this._invalidate();
  }

  /** The rows to show, in order. */
  get rows(): ReadonlyArray<RunsRow> {
    if (this._rows === null) {
      this._computeRows();
    }
    return this._rows!;
  }

  /** The runs passing the filter, sorted (collapsed groups included). */
  get filteredRuns(): ReadonlyArray<IRun> {
    if (this._rows === null) {
      this._computeRows();
    }
    return this._filtered!;
  }

  /** A click on a run of the table. */
  click(id: string, mode: ClickMode): void {
    this.selection.click(
      id,
      mode,
      this.filteredRuns.map(run => run.id)
    );
  }

  /** Select a sweep's runs (those passing the filter), or add them. */
  selectGroup(sweep: string, add = false): void {
    const ids = this.filteredRuns
      .filter(run => run.sweep_id === sweep)
      .map(run => run.id);
    this.selection.set(
      add ? [...this.selection.ids, ...ids] : ids,
      ids[0] ?? null
    );
  }

  /**
   * Show one sweep: the filter narrows to it, its group is open, its runs
   * are selected.
   */
  async showSweep(sweep: string): Promise<void> {
    this._collapsed.delete(sweep);
    this._group = true;
    this.filter = `sweep=${sweep}`;
    if (this._state !== 'ready') {
      await this.refresh();
    }
    this.selectGroup(sweep);
  }

  /**
   * Whether the view is shown: while it is, running runs are polled (their
   * metrics and peaks change without a job event).
   */
  get active(): boolean {
    return this._active;
  }
  set active(value: boolean) {
    this._active = value;
    this._restartPoll();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Load every run (page by page); one load at a time. */
  refresh(): Promise<void> {
    if (!this._loading) {
      this._loading = this._load().finally(() => {
        this._loading = null;
      });
    }
    return this._loading;
  }

  /** Fetch the newest state of some runs now. */
  async update(ids: ReadonlyArray<string>): Promise<void> {
    if (!ids.length) {
      return;
    }
    try {
      const list = await this.client.runs({ ids, limit: ids.length });
      this._merge(list.runs);
    } catch {
      // the next poll or refresh catches up
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._active = false;
    this._restartPoll();
    if (this._batchTimer !== null) {
      clearTimeout(this._batchTimer);
    }
    Signal.clearData(this);
  }

  /**
   * The first page is shown as soon as it comes (the newest runs), the
   * others as they follow.
   */
  private async _load(): Promise<void> {
    const loaded = new Map<string, IRun>();
    try {
      let total = Infinity;
      while (loaded.size < Math.min(total, this._maxRuns)) {
        const page = await this.client.runs({
          limit: this._pageSize,
          offset: loaded.size
        });
        if (this._isDisposed) {
          return;
        }
        total = page.total;
        for (const run of page.runs) {
          loaded.set(run.id, run);
        }
        this._runs = loaded;
        this._total = total;
        this._state = 'ready';
        this._error = null;
        this._columns = null;
        if (!page.runs.length) {
          break;
        }
        if (loaded.size < Math.min(total, this._maxRuns)) {
          this._invalidate();
        }
      }
    } catch (error) {
      if (this._isDisposed) {
        return;
      }
      this._state = 'error';
      this._error = errorText(error);
    }
    this._restartPoll();
    this._invalidate();
  }

  private _merge(runs: ReadonlyArray<IRun>): void {
    if (this._isDisposed || !runs.length) {
      return;
    }
    for (const run of runs) {
      if (!this._runs.has(run.id)) {
        this._total++;
      }
      this._runs.set(run.id, run);
    }
    this._columns = null;
    this._restartPoll();
    this._invalidate();
    this._runsUpdated.emit(runs.map(run => run.id));
  }

  private _onJobChanged(_: JobsModel, job: IJob): void {
    if (this._state !== 'ready') {
      return;
    }
    this._pending.add(job.id);
    if (this._batchTimer === null) {
      this._batchTimer = setTimeout(() => {
        this._batchTimer = null;
        const ids = Array.from(this._pending);
        this._pending.clear();
        void this.update(ids);
      }, this._batchMs);
    }
  }

  private _onJobDeleted(_: JobsModel, id: string): void {
    if (this._runs.delete(id)) {
      this._total = Math.max(0, this._total - 1);
      this._columns = null;
      this._invalidate();
    }
  }

  private _hasActive(): boolean {
    for (const run of this._runs.values()) {
      if (!isFinal(run.status)) {
        return true;
      }
    }
    return false;
  }

  private _restartPoll(): void {
    const wanted =
      this._active &&
      !this._isDisposed &&
      this._pollMs > 0 &&
      this._hasActive();
    if (wanted && this._pollTimer === null) {
      this._pollTimer = setInterval(() => void this._poll(), this._pollMs);
    } else if (!wanted && this._pollTimer !== null) {
      clearInterval(this._pollTimer);
      this._pollTimer = null;
    }
  }

  private async _poll(): Promise<void> {
    try {
      const list = await this.client.runs({
        status: ACTIVE_STATUSES,
        limit: this._pageSize
      });
      this._merge(list.runs);
    } catch {
      // the next poll tries again
    }
  }

  private _invalidate(): void {
    this._rows = null;
    this._filtered = null;
    this._changed.emit();
  }

  private _computeRows(): void {
    const terms = this._terms;
    const runs = Array.from(this._runs.values()).filter(
      run => !terms.length || matchesFilter(run, terms)
    );
    const column =
      this.columns.find(c => c.key === this._sort.key) ?? this.columns[1];
    const direction = this._sort.direction;
    const sorted = sortRuns(runs, column, direction);
    const rows: RunsRow[] = [];
    if (!this._group) {
      for (const run of sorted) {
        rows.push({ kind: 'run', run, grouped: false });
      }
    } else {
      const members = new Map<string, IRun[]>();
      for (const run of sorted) {
        if (run.sweep_id) {
          const list = members.get(run.sweep_id) ?? [];
          list.push(run);
          members.set(run.sweep_id, list);
        }
      }
      for (const run of sorted) {
        if (!run.sweep_id) {
          rows.push({ kind: 'run', run, grouped: false });
          continue;
        }
        const group = members.get(run.sweep_id);
        if (!group || group[0] !== run) {
          continue; // placed with its sweep, at the sweep's first run
        }
        const collapsed = this._collapsed.has(run.sweep_id);
        rows.push({
          kind: 'group',
          sweep: run.sweep_id,
          ids: group.map(r => r.id),
          collapsed
        });
        if (!collapsed) {
          for (const member of group) {
            rows.push({ kind: 'run', run: member, grouped: true });
          }
        }
      }
    }
    this._rows = rows;
    let filtered = sorted;
    if (this._group) {
      filtered = [];
      for (const row of rows) {
        if (row.kind === 'run') {
          filtered.push(row.run);
        } else if (row.collapsed) {
          filtered.push(...row.ids.map(id => this._runs.get(id)!));
        }
      }
    }
    this._filtered = filtered;
  }

  private _runs = new Map<string, IRun>();
  private _total = 0;
  private _state: LoadState = 'loading';
  private _error: string | null = null;
  private _pageSize: number;
  private _maxRuns: number;
  private _pollMs: number;
  private _batchMs: number;
  private _loading: Promise<void> | null = null;
  private _columns: IColumn[] | null = null;
  private _shown = new Map<string, boolean>();
  private _visible: IColumn[] | null = null;
  private _visibleOf: ReadonlyArray<IColumn> | null = null;
  private _sort: ISort = { key: 'started', direction: 'desc' };
  private _filterText = '';
  private _terms: IFilterTerm[] = [];
  private _group = true;
  private _collapsed = new Set<string>();
  private _rows: RunsRow[] | null = null;
  private _filtered: IRun[] | null = null;
  private _active = false;
  private _pollTimer: ReturnType<typeof setInterval> | null = null;
  private _pending = new Set<string>();
  private _batchTimer: ReturnType<typeof setTimeout> | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _runsUpdated = new Signal<this, ReadonlyArray<string>>(this);
}

export namespace RunsModel {
  export interface IOptions {
    jobs: JobsModel;
    /** Runs asked per request (default 1000). */
    pageSize?: number;
    /** The most runs loaded (default 50,000). */
    maxRuns?: number;
    /** Poll period of running runs while the view is shown, ms (default 5 s; 0: none). */
    pollMs?: number;
    /** Job events are gathered this long into one request, ms (default 300). */
    batchMs?: number;
  }
}

/**
 * The selected runs' metrics overlaid: one chart per metric, one line per
 * run, with the job view's x-axis, smoothing and log scale.
 */
export class CompareModel extends ChartModel<ICompare> {
  constructor(options: CompareModel.IOptions) {
    super({
      maxPoints: options.maxPoints ?? 1000,
      minIntervalMs: options.minIntervalMs
    });
    this.runs = options.runs;
    this.runs.selection.changed.connect(this._onSelection, this);
    this.runs.runsUpdated.connect(this._onRunsUpdated, this);
    this._maxRuns = options.maxRuns ?? 50;
    this._ids = this._chosen();
    if (this._ids.length) {
      // runs already selected (in the sidebar) when the view opens
      this.schedule();
    }
  }

  readonly runs: RunsModel;

  /** The runs overlaid: the selection, in the order it was made. */
  get ids(): ReadonlyArray<string> {
    return this._ids;
  }

  /** Selected runs left out of the overlay (past `maxRuns`). */
  get omitted(): number {
    return Math.max(0, this.runs.selection.size - this._ids.length);
  }

  /** Whether the `sys/…` telemetry series are charted too. */
  get showSystem(): boolean {
    return this._showSystem;
  }
  set showSystem(value: boolean) {
    this._showSystem = value;
    this.emitChanged();
    void this.refresh();
  }

  protected async load(x: MetricX): Promise<ICompare | null | undefined> {
    const ids = this._ids.slice();
    if (!ids.length) {
      return null;
    }
    const names = this._names(ids);
    const data =
      names && !names.length
        ? { x, series: [] }
        : await this.runs.client.compare({
            ids,
            names,
            x,
            max_points: this.maxPoints
          });
    if (!sameIds(ids, this._ids)) {
      return undefined;
    }
    if (!this._showSystem) {
      data.series = data.series.filter(s => !isSystemMetric(s.name));
    }
    return data;
  }

  /** The metric names to ask for: those the selected runs report. */
  private _names(ids: ReadonlyArray<string>): string[] | undefined {
    const names = new Set<string>();
    for (const id of ids) {
      const run = this.runs.get(id);
      if (!run) {
        return undefined; // not loaded yet: ask for all
      }
      for (const name in run.metrics ?? {}) {
        if (
          name !== TELEMETRY_NOTICE &&
          (this._showSystem || !isSystemMetric(name))
        ) {
          names.add(name);
        }
      }
    }
    return Array.from(names);
  }

  private _chosen(): string[] {
    return this.runs.selection.ids.slice(0, this._maxRuns);
  }

  private _onSelection(): void {
    const ids = this._chosen();
    if (sameIds(ids, this._ids)) {
      this.emitChanged(); // the count of those left out may have changed
      return;
    }
    this._ids = ids;
    this.emitChanged();
    this.schedule();
  }

  private _onRunsUpdated(_: RunsModel, ids: ReadonlyArray<string>): void {
    if (ids.some(id => this._ids.includes(id))) {
      this.schedule();
    }
  }

  private _ids: string[];
  private _maxRuns: number;
  private _showSystem = false;
}

function sameIds(a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

export namespace CompareModel {
  export interface IOptions {
    runs: RunsModel;
    /** The most runs overlaid, the first selected (default 50). */
    maxRuns?: number;
    /** Points per series asked of the server (default 1000). */
    maxPoints?: number;
    /** Least time between two fetches, ms (default 1000). */
    minIntervalMs?: number;
  }
}
