/**
 * An overlay chart's data: the series of several runs for one metric, on one
 * shared x-axis, as uPlot draws them (pure functions).
 */
import type { ICompare, ICompareSeries } from './api';
import { positiveOnly, smooth } from './format';
import { isSystemMetric } from './telemetry';

/**
 * A value of one run's line: a number, null (a gap: NaN or Infinity printed),
 * or undefined (no point of this run at that x: the line goes on across it).
 */
export type OverlayValue = number | null | undefined;

export interface IOverlayLine {
  job: string;
  label: string;
  y: OverlayValue[];
  /** The points the run has (before downsampling, as the server counts them). */
  count: number;
}

export interface IOverlay {
  name: string;
  x: number[];
  lines: IOverlayLine[];
}

/** The metric names of an answer: the user's metrics first, then `sys/…`. */
export function overlayNames(data: ICompare | null): string[] {
  const names = new Set<string>();
  for (const series of data?.series ?? []) {
    names.add(series.name);
  }
  return Array.from(names).sort(
    (a, b) =>
      Number(isSystemMetric(a)) - Number(isSystemMetric(b)) ||
      a.localeCompare(b)
  );
}

/**
 * One line per run that has the metric, in the order of `ids`, on the sorted
 * union of their x values; smoothing (per run, over its own points) and the
 * log scale's dropping of values ≤ 0 are applied first.
 */
export function buildOverlay(
  data: ICompare,
  name: string,
  ids: ReadonlyArray<string>,
  label: (id: string) => string,
  options: { smoothing?: number; logScale?: boolean } = {}
): IOverlay {
  const byJob = new Map<string, ICompareSeries>();
  for (const series of data.series) {
    if (series.name === name && !byJob.has(series.job)) {
      byJob.set(series.job, series);
    }
  }
  const chosen = ids.filter(id => byJob.has(id)).map(id => byJob.get(id)!);
  const xs = new Set<number>();
  for (const series of chosen) {
    for (const x of series.x) {
      xs.add(x);
    }
  }
  const x = Array.from(xs).sort((a, b) => a - b);
  const index = new Map(x.map((value, i) => [value, i]));
  const lines = chosen.map(series => {
    let ys: (number | null)[] = options.logScale
      ? positiveOnly(series.y)
      : series.y.slice();
    if (options.smoothing && options.smoothing > 0) {
      ys = smooth(ys, options.smoothing);
    }
    const y: OverlayValue[] = new Array(x.length).fill(undefined);
    series.x.forEach((at, i) => {
      y[index.get(at)!] = ys[i];
    });
    return {
      job: series.job,
      label: label(series.job),
      y,
      count: series.count
    };
  });
  return { name, x, lines };
}

/**
 * A run's value at a position of the shared x-axis: its own point there, or
 * the last one before (what the line shows at that x).
 */
export function valueAt(
  y: ReadonlyArray<OverlayValue>,
  index: number
): number | null {
  for (let i = Math.min(index, y.length - 1); i >= 0; i--) {
    if (y[i] !== undefined) {
      return y[i] as number | null;
    }
  }
  return null;
}
