/**
 * The columns of the runs table and what a run shows in each: pure functions
 * to list the columns of a set of runs, read, format, sort and filter cells.
 */
import { IRun, JOB_STATUSES } from './api';
import {
  formatBytes,
  formatDate,
  formatDuration,
  formatNumber,
  formatValue
} from './format';
import { trans } from './i18n';
import { isSystemMetric } from './telemetry';

export type ColumnKind =
  | 'status'
  | 'name'
  | 'duration'
  | 'started'
  | 'sweep'
  | 'param'
  | 'last'
  | 'best'
  | 'peak';

export type PeakField = 'cpu_percent' | 'rss_bytes' | 'gpu_memory_bytes';

export interface IColumn {
  /** Unique: `name`, `param:lr`, `last:loss`, `best:loss`, `peak:rss_bytes`. */
  key: string;
  kind: ColumnKind;
  /** The param, metric or peak field the column shows. */
  field?: string;
  label: string;
  /** A longer title for the header's tooltip. */
  title: string;
  width: number;
  numeric: boolean;
}

export type SortDirection = 'asc' | 'desc';

export interface ISort {
  key: string;
  direction: SortDirection;
}

const MAXIMISED =
  /acc|precision|recall|f1|auc|score|iou|map|bleu|rouge|reward|return|r2|top/i;

/**
 * Whether a larger value of the metric is better: accuracy-like names
 * (accuracy, f1, auc, reward…) are maximised, everything else (loss, error,
 * perplexity…) minimised.
 */
export function bestIsMax(metric: string): boolean {
  return (
    !/loss|err|perplexity|mse|mae|rmse/i.test(metric) && MAXIMISED.test(metric)
  );
}

const PEAKS: { field: PeakField; label: () => string; title: () => string }[] =
  [
    {
      field: 'cpu_percent',
      label: () => trans.__('peak CPU %'),
      title: () => trans.__('Peak CPU use of the job (100 = one core)')
    },
    {
      field: 'rss_bytes',
      label: () => trans.__('peak memory'),
      title: () => trans.__('Peak resident memory of the job’s processes')
    },
    {
      field: 'gpu_memory_bytes',
      label: () => trans.__('peak GPU memory'),
      title: () => trans.__('Peak GPU memory used by the job’s processes')
    }
  ];

/** A column wide enough for its label (up to a point), in px. */
function widthFor(label: string, least: number): number {
  return Math.min(220, Math.max(least, 7 * label.length + 26));
}

/**
 * Every column the runs can fill: the fixed ones, each param, each metric's
 * last and best value, and the telemetry peaks.
 */
export function runColumns(runs: Iterable<IRun>): IColumn[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const run of runs) {
    for (const name in run.params ?? {}) {
      params.add(name);
    }
    for (const name in run.metrics ?? {}) {
      metrics.add(name);
    }
  }
  const byName = (a: string, b: string) => a.localeCompare(b);
  const columns: IColumn[] = [
    {
      key: 'status',
      kind: 'status',
      label: trans.__('status'),
      title: trans.__('Status'),
      width: 112,
      numeric: false
    },
    {
      key: 'name',
      kind: 'name',
      label: trans.__('name'),
      title: trans.__('Name'),
      width: 200,
      numeric: false
    },
    {
      key: 'duration',
      kind: 'duration',
      label: trans.__('duration'),
      title: trans.__('How long the job ran'),
      width: 84,
      numeric: true
    },
    {
      key: 'started',
      kind: 'started',
      label: trans.__('started'),
      title: trans.__('When the job started'),
      width: 150,
      numeric: false
    },
    {
      key: 'sweep',
      kind: 'sweep',
      label: trans.__('sweep'),
      title: trans.__('The sweep the job belongs to'),
      width: 110,
      numeric: false
    }
  ];
  for (const name of Array.from(params).sort(byName)) {
    columns.push({
      key: `param:${name}`,
      kind: 'param',
      field: name,
      label: name,
      title: trans.__('Parameter %1', name),
      width: widthFor(name, 70),
      numeric: false
    });
  }
  const ordered = Array.from(metrics).sort(
    (a, b) =>
      Number(isSystemMetric(a)) - Number(isSystemMetric(b)) || byName(a, b)
  );
  for (const name of ordered) {
    const best = bestIsMax(name) ? trans.__('max') : trans.__('min');
    columns.push(
      {
        key: `last:${name}`,
        kind: 'last',
        field: name,
        label: trans.__('%1 last', name),
        title: trans.__('The last value of %1', name),
        width: widthFor(trans.__('%1 last', name), 90),
        numeric: true
      },
      {
        key: `best:${name}`,
        kind: 'best',
        field: name,
        label: trans.__('%1 best', name),
        title: trans.__('The best value of %1 (its %2)', name, best),
        width: widthFor(trans.__('%1 best', name), 90),
        numeric: true
      }
    );
  }
  for (const peak of PEAKS) {
    columns.push({
      key: `peak:${peak.field}`,
      kind: 'peak',
      field: peak.field,
      label: peak.label(),
      title: peak.title(),
      width: 110,
      numeric: true
    });
  }
  return columns;
}

/** The columns hidden until chosen: the start time and the `sys/…` metrics. */
export function hiddenByDefault(column: IColumn): boolean {
  return (
    column.kind === 'started' ||
    ((column.kind === 'last' || column.kind === 'best') &&
      isSystemMetric(column.field ?? ''))
  );
}

/** The best value of a metric of a run. */
export function bestValue(run: IRun, metric: string): number | null {
  const summary = run.metrics?.[metric];
  if (!summary) {
    return null;
  }
  return (bestIsMax(metric) ? summary.max : summary.min) ?? null;
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && isFinite(value) ? value : null;
}

/**
 * The value of a run in a column, as sorted and filtered: a number, a string
 * or null (empty).
 */
export function cellValue(run: IRun, column: IColumn): number | string | null {
  const field = column.field ?? '';
  switch (column.kind) {
    case 'status':
      return run.status;
    case 'name':
      return run.name;
    case 'duration':
      return finite(run.duration);
    case 'started':
      return run.started_at ?? null;
    case 'sweep':
      return run.sweep_id ?? null;
    case 'param':
      return run.params?.[field] ?? null;
    case 'last':
      return finite(run.metrics?.[field]?.last);
    case 'best':
      return finite(bestValue(run, field));
    case 'peak':
      return finite(run.peak?.[field as PeakField]);
  }
}

/** The text of a run's cell. */
export function formatCell(run: IRun, column: IColumn): string {
  const value = cellValue(run, column);
  if (value === null) {
    return '';
  }
  switch (column.kind) {
    case 'duration':
      return formatDuration(value as number);
    case 'started':
      return formatDate(value as string);
    case 'peak':
      return column.field === 'cpu_percent'
        ? `${formatNumber(value as number, { maximumFractionDigits: 0 })}%`
        : formatBytes(value as number);
    case 'last':
    case 'best':
      return formatValue(value);
    default:
      return String(value);
  }
}

/** A number when the text is one ("0.01", "1e-3"), else null. */
function asNumber(value: number | string | null): number | null {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return isFinite(n) ? n : null;
  }
  return null;
}

/** One collator for every comparison of words (`localeCompare` makes one a call). */
const COLLATOR = new Intl.Collator(undefined, { numeric: true });

function compareValues(a: number | string, b: number | string): number {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x !== null && y !== null) {
    return x - y;
  }
  if (x !== null || y !== null) {
    return x !== null ? -1 : 1; // numbers before words
  }
  return COLLATOR.compare(String(a), String(b));
}

/** What a run is sorted by in a column, read once per run. */
interface ISortKey {
  run: IRun;
  /** null: an empty cell. */
  text: string | null;
  num: number | null;
}

function sortKey(run: IRun, column: IColumn): ISortKey {
  const value =
    column.kind === 'status'
      ? JOB_STATUSES.indexOf(run.status)
      : cellValue(run, column);
  return {
    run,
    text: value === null ? null : String(value),
    num: asNumber(value)
  };
}

function compareKeys(
  a: ISortKey,
  b: ISortKey,
  direction: SortDirection
): number {
  if (a.text === null || b.text === null) {
    if (a.text !== b.text) {
      return a.text === null ? 1 : -1;
    }
  } else {
    const order =
      a.num !== null && b.num !== null
        ? a.num - b.num
        : a.num !== null
          ? -1
          : b.num !== null
            ? 1
            : COLLATOR.compare(a.text, b.text);
    if (order !== 0) {
      return direction === 'asc' ? order : -order;
    }
  }
  return (
    COLLATOR.compare(a.run.name, b.run.name) ||
    (a.run.id < b.run.id ? -1 : a.run.id > b.run.id ? 1 : 0)
  );
}

/**
 * Order two runs by a column; empty cells go last whichever the direction,
 * ties by name then id.
 */
export function compareRuns(
  a: IRun,
  b: IRun,
  column: IColumn,
  direction: SortDirection
): number {
  return compareKeys(sortKey(a, column), sortKey(b, column), direction);
}

/** The runs sorted by a column (as `compareRuns`), each cell read once. */
export function sortRuns(
  runs: ReadonlyArray<IRun>,
  column: IColumn,
  direction: SortDirection
): IRun[] {
  return runs
    .map(run => sortKey(run, column))
    .sort((a, b) => compareKeys(a, b, direction))
    .map(key => key.run);
}

export interface IFilterTerm {
  /** A param or metric name, or `status`, `name`, `sweep`, `id`; none: any text. */
  key: string | null;
  op: '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';
  value: string;
}

const TERM = /^([^<>=!~]+?)(<=|>=|!=|=|<|>|~|:)(.*)$/;

/**
 * Read a filter: words separated by spaces, all of which must match.
 * `lr=0.01`, `batch_size>=64`, `loss<0.5` (a metric: its best value),
 * `loss.last<0.5`, `status:running`, `sweep=ab12`; any other word is looked
 * for in the name, id, status, sweep and param values.
 */
export function parseFilter(text: string): IFilterTerm[] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map(word => {
      const m = word.match(TERM);
      if (!m || !m[3]) {
        return { key: null, op: '~', value: word.toLowerCase() };
      }
      const op = m[2] === ':' ? '=' : (m[2] as IFilterTerm['op']);
      return { key: m[1], op, value: m[3] };
    });
}

function termValue(run: IRun, key: string): number | string | null {
  switch (key) {
    case 'status':
      return run.status;
    case 'name':
      return run.name;
    case 'id':
      return run.id;
    case 'sweep':
      return run.sweep_id ?? null;
  }
  if (run.params && key in run.params) {
    return run.params[key];
  }
  const dot = key.lastIndexOf('.');
  if (dot > 0 && key.slice(dot + 1) === 'last') {
    return finite(run.metrics?.[key.slice(0, dot)]?.last);
  }
  return finite(bestValue(run, key));
}

function matchesTerm(run: IRun, term: IFilterTerm): boolean {
  if (term.key === null) {
    const haystack = [run.name, run.id, run.status, run.sweep_id ?? '']
      .concat(Object.values(run.params ?? {}))
      .join('\n')
      .toLowerCase();
    return haystack.includes(term.value);
  }
  const value = termValue(run, term.key);
  if (value === null) {
    return term.op === '!=';
  }
  if (term.op === '~') {
    return String(value).toLowerCase().includes(term.value.toLowerCase());
  }
  const order = compareValues(value, term.value);
  switch (term.op) {
    case '=':
      return asNumber(value) !== null && asNumber(term.value) !== null
        ? order === 0
        : String(value) === term.value;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

export function matchesFilter(
  run: IRun,
  terms: ReadonlyArray<IFilterTerm>
): boolean {
  return terms.every(term => matchesTerm(run, term));
}
