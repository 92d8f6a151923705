/**
 * What every chart model shares (the job view's metrics, the Runs view's
 * overlay): the chart options (x-axis, smoothing, log scale), a fetch that
 * folds the calls made while one is in flight into one more, and refreshes
 * scheduled at most once per interval.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type { MetricX } from './api';
import { errorText } from './errors';

export abstract class ChartModel<T> implements IDisposable {
  constructor(options: ChartModel.IOptions) {
    this.maxPoints = options.maxPoints;
    this._minIntervalMs = options.minIntervalMs ?? 1000;
  }

  /** Emitted as a fetch starts and ends, and when an option changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The latest answer (null before the first, and after the x-axis changed). */
  get data(): T | null {
    return this._data;
  }

  get error(): string | null {
    return this._error;
  }

  get loading(): boolean {
    return this._inFlight !== null;
  }

  get x(): MetricX {
    return this._x;
  }
  set x(value: MetricX) {
    if (value !== this._x) {
      this._x = value;
      this._data = null;
      this._changed.emit();
      void this.refresh();
    }
  }

  /** Smoothing weight in [0, 0.99]. */
  get smoothing(): number {
    return this._smoothing;
  }
  set smoothing(value: number) {
    this._smoothing = Math.min(0.99, Math.max(0, value));
    this._changed.emit();
  }

  get logScale(): boolean {
    return this._logScale;
  }
  set logScale(value: boolean) {
    this._logScale = value;
    this._changed.emit();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Fetch now; calls made while one is in flight are folded into one more. */
  async refresh(): Promise<void> {
    if (this._inFlight) {
      this._again = true;
      return this._inFlight;
    }
    this._inFlight = this._fetch();
    this._changed.emit();
    try {
      await this._inFlight;
    } finally {
      this._inFlight = null;
    }
    if (this._again && !this._isDisposed) {
      this._again = false;
      await this.refresh();
    } else if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  /** Refresh soon, at most once per `minIntervalMs`. */
  schedule(): void {
    if (this._timer !== null || this._isDisposed) {
      return;
    }
    const wait = Math.max(0, this._last + this._minIntervalMs - Date.now());
    this._timer = setTimeout(() => {
      this._timer = null;
      void this.refresh();
    }, wait);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    if (this._timer !== null) {
      clearTimeout(this._timer);
    }
    Signal.clearData(this);
  }

  /**
   * The answer along `x`, or `undefined` when what was asked for has changed
   * meanwhile (the answer is then dropped).
   */
  protected abstract load(x: MetricX): Promise<T | null | undefined>;

  /** Points per series asked of the server. */
  protected readonly maxPoints: number;

  protected emitChanged(): void {
    this._changed.emit();
  }

  private async _fetch(): Promise<void> {
    this._last = Date.now();
    const x = this._x;
    try {
      const data = await this.load(x);
      if (this._isDisposed || x !== this._x || data === undefined) {
        return;
      }
      this._data = data;
      this._error = null;
    } catch (error) {
      if (!this._isDisposed) {
        this._error = errorText(error);
      }
    }
  }

  private _minIntervalMs: number;
  private _x: MetricX = 'time';
  private _smoothing = 0;
  private _logScale = false;
  private _data: T | null = null;
  private _error: string | null = null;
  private _inFlight: Promise<void> | null = null;
  private _again = false;
  private _last = 0;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

export namespace ChartModel {
  export interface IOptions {
    /** Points per series asked of the server. */
    maxPoints: number;
    /** Least time between two scheduled fetches, ms (default 1000). */
    minIntervalMs?: number;
  }
}
