/**
 * Pure helpers to show jobs and metrics: durations, sizes, smoothing.
 */
import type { IJob } from './api';
import { trans, uiLocale } from './i18n';

/**
 * A number in the UI's locale (its digits and decimal sign), without grouping.
 */
export function formatNumber(
  value: number,
  options: Intl.NumberFormatOptions = {}
): string {
  try {
    return value.toLocaleString(uiLocale(), { useGrouping: false, ...options });
  } catch {
    return String(value);
  }
}

/**
 * A duration in seconds as `45s`, `3m 05s`, `2h 04m`, `3d 4h`.
 */
export function formatDuration(seconds: number): string {
  if (!isFinite(seconds) || seconds < 0) {
    return '';
  }
  const s = Math.floor(seconds);
  if (s < 60) {
    return trans.__(
      '%1s',
      seconds < 10 && seconds % 1 !== 0
        ? formatNumber(seconds, {
            minimumFractionDigits: 1,
            maximumFractionDigits: 1
          })
        : formatNumber(s)
    );
  }
  const pad = (n: number) => formatNumber(n, { minimumIntegerDigits: 2 });
  if (s < 3600) {
    return trans.__('%1m %2s', formatNumber(Math.floor(s / 60)), pad(s % 60));
  }
  if (s < 86400) {
    return trans.__(
      '%1h %2m',
      formatNumber(Math.floor(s / 3600)),
      pad(Math.floor((s % 3600) / 60))
    );
  }
  return trans.__(
    '%1d %2h',
    formatNumber(Math.floor(s / 86400)),
    formatNumber(Math.floor((s % 86400) / 3600))
  );
}

/**
 * A short axis label for elapsed seconds: `0`, `30s`, `2m`, `1m30s`, `1h05m`.
 */
export function formatElapsedTick(seconds: number): string {
  if (!isFinite(seconds)) {
    return '';
  }
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  if (s === 0) {
    return '0';
  }
  const pad = (n: number) => formatNumber(n, { minimumIntegerDigits: 2 });
  if (s < 60) {
    return (
      sign +
      trans.__(
        '%1s',
        formatNumber(s, { maximumFractionDigits: s < 10 ? 1 : 0 })
      )
    );
  }
  const whole = Math.round(s);
  if (whole < 3600) {
    const m = formatNumber(Math.floor(whole / 60));
    const rest = whole % 60;
    return (
      sign + (rest ? trans.__('%1m%2s', m, pad(rest)) : trans.__('%1m', m))
    );
  }
  const h = formatNumber(Math.floor(whole / 3600));
  const m = Math.floor((whole % 3600) / 60);
  return sign + (m ? trans.__('%1h%2m', h, pad(m)) : trans.__('%1h', h));
}

/**
 * A byte count as `512 B`, `1.5 KiB`, `3.2 MiB`.
 */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !isFinite(bytes)) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${formatNumber(value)} B`
    : `${formatNumber(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} ${units[unit]}`;
}

function parseTime(iso: string | null | undefined): number | null {
  if (!iso) {
    return null;
  }
  const t = Date.parse(iso);
  return isNaN(t) ? null : t;
}

/**
 * How long a job has run (seconds): until it finished, or until `now`.
 * Null while it has not started.
 */
export function jobDuration(
  job: IJob,
  now: number = Date.now()
): number | null {
  const start = parseTime(job.started_at);
  if (start === null) {
    return null;
  }
  const end = parseTime(job.finished_at) ?? now;
  return Math.max(0, (end - start) / 1000);
}

/**
 * How long a running job has left before its time limit (seconds), or null when
 * it has no limit or is not running.
 */
export function jobTimeLeft(
  job: IJob,
  now: number = Date.now()
): number | null {
  const deadline = parseTime(job.deadline);
  return deadline === null ? null : Math.max(0, (deadline - now) / 1000);
}

/**
 * A duration typed by a person: `2h30m`, `90s`, `1d`, `45` (seconds) → seconds.
 * Null for an empty text; throws for one that is no duration.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim().toLowerCase().replace(/\s+/g, '');
  if (!t) {
    return null;
  }
  if (/^\d+(\.\d+)?$/.test(t)) {
    return parseFloat(t);
  }
  const units: { [unit: string]: number } = { d: 86400, h: 3600, m: 60, s: 1 };
  const part = /(\d+(?:\.\d+)?)([dhms])/g;
  if (t.replace(part, '') !== '') {
    throw new Error(
      trans.__('"%1" is not a duration (e.g. 2h30m, 90s, 45)', text)
    );
  }
  let seconds = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(t)) !== null) {
    seconds += parseFloat(m[1]) * units[m[2]];
  }
  return seconds;
}

/**
 * A sweep's grid as a person types it, one parameter a line:
 * `lr=0.1,0.01` → `{lr: ['0.1', '0.01']}`. Throws for a line without values.
 */
export function parseGrid(text: string): { [param: string]: string[] } {
  const grid: { [param: string]: string[] } = {};
  for (const line of text.split(/\n|;/)) {
    if (!line.trim()) {
      continue;
    }
    const eq = line.indexOf('=');
    const name = eq < 0 ? '' : line.slice(0, eq).trim();
    const values =
      eq < 0
        ? []
        : line
            .slice(eq + 1)
            .split(',')
            .map(v => v.trim())
            .filter(v => v);
    if (!name || !values.length) {
      throw new Error(trans.__('"%1" is not NAME=V1,V2', line.trim()));
    }
    grid[name] = values;
  }
  return grid;
}

/**
 * How long a queued job has waited (seconds).
 */
export function jobWaited(job: IJob, now: number = Date.now()): number | null {
  const created = parseTime(job.created_at);
  return created === null ? null : Math.max(0, (now - created) / 1000);
}

/**
 * A date for people: the local date and time, seconds included, written as
 * the UI's language writes them.
 */
export function formatDate(iso: string | null | undefined): string {
  const t = parseTime(iso);
  return t === null ? '—' : new Date(t).toLocaleString(uiLocale());
}

/**
 * Exponential moving average, debiased as TensorBoard does, skipping gaps
 * (null stays null and does not reset the average). `weight` in [0, 1).
 */
export function smooth(
  values: ReadonlyArray<number | null>,
  weight: number
): (number | null)[] {
  if (weight <= 0) {
    return values.slice();
  }
  const w = Math.min(weight, 0.999);
  let last = 0;
  let count = 0;
  return values.map(v => {
    if (v === null || !isFinite(v)) {
      return null;
    }
    last = last * w + (1 - w) * v;
    count++;
    return last / (1 - Math.pow(w, count));
  });
}

/**
 * Values fit for a log scale: a value at or below zero becomes a gap.
 */
export function positiveOnly(
  values: ReadonlyArray<number | null>
): (number | null)[] {
  return values.map(v => (v !== null && v > 0 ? v : null));
}

/**
 * A metric value for people: up to 5 significant digits.
 */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') {
    if (!isFinite(value)) {
      return String(value);
    }
    if (Number.isInteger(value)) {
      return Math.abs(value) < 1e21 ? formatNumber(value) : String(value);
    }
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-4 || abs >= 1e6)
      ? value.toExponential(4)
      : formatNumber(+value.toPrecision(5), { maximumFractionDigits: 20 });
  }
  if (value === null) {
    return 'null';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Split script arguments as a POSIX shell would (quotes and backslashes; no
 * expansions). Throws on an unterminated quote.
 */
export function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let started = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote === "'") {
      if (ch === "'") {
        quote = null;
      } else {
        current += ch;
      }
    } else if (quote === '"') {
      if (ch === '"') {
        quote = null;
      } else if (
        ch === '\\' &&
        i + 1 < text.length &&
        '"\\$`'.includes(text[i + 1])
      ) {
        current += text[++i];
      } else {
        current += ch;
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      started = true;
    } else if (/\s/.test(ch)) {
      if (started) {
        args.push(current);
        current = '';
        started = false;
      }
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote) {
    throw new Error(trans.__('Unterminated %1 quote in the arguments', quote));
  }
  if (started) {
    args.push(current);
  }
  return args;
}

/**
 * Arguments as one line a shell would split back (see splitArgs).
 */
export function joinArgs(args: ReadonlyArray<string>): string {
  return args
    .map(a =>
      a === '' || /[\s"'\\$`]/.test(a)
        ? `"${a.replace(/(["\\$`])/g, '\\$1')}"`
        : a
    )
    .join(' ');
}

/**
 * The name the server gives a job of `script` when none is given:
 * `<stem>-<n>`, n counting the names taken.
 */
export function defaultJobName(
  script: string,
  takenNames: Iterable<string>
): string {
  const base = script.split('/').pop() ?? script;
  const dot = base.lastIndexOf('.');
  const stem =
    (dot > 0 ? base.slice(0, dot) : base).replace(/[^\w.-]+/g, '-') || 'job';
  let count = 0;
  for (const name of takenNames) {
    if (name.startsWith(`${stem}-`)) {
      count++;
    }
  }
  return `${stem}-${count + 1}`;
}
