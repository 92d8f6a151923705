/**
 * The telemetry series momo-jobs writes for each job (DESIGN §4: `sys/…`):
 * their names for people and how their values are written.
 */
import { formatBytes } from './format';
import { trans } from './i18n';

/**
 * The text series in which the job's supervisor says what telemetry it could
 * not take (no NVML for a GPU job, no psutil).
 */
export const TELEMETRY_NOTICE = 'sys/notice';

/** Telemetry series written by momo-jobs itself (DESIGN §4). */
export function isSystemMetric(name: string): boolean {
  return name.startsWith('sys/');
}

export interface ISystemSeriesInfo {
  title: string;
  format: (value: number) => string;
  /** Sorts CPU, memory, then each GPU's series. */
  order: string;
}

const percent = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)}%`;
const bytes = (value: number) => formatBytes(value);

/** How a `sys/…` series is titled and written; null for other names. */
export function systemSeriesInfo(name: string): ISystemSeriesInfo | null {
  if (name === 'sys/cpu_percent') {
    return {
      title: trans.__('CPU % (100 = one core)'),
      format: percent,
      order: '0'
    };
  }
  if (name === 'sys/rss_bytes') {
    return { title: trans.__('Memory (resident)'), format: bytes, order: '1' };
  }
  const gpu = name.match(
    /^sys\/gpu(\d+)\/(util_percent|memory_bytes|device_memory_bytes)$/
  );
  if (!gpu) {
    return null;
  }
  const [, index, kind] = gpu;
  const order = `2-${index.padStart(3, '0')}-${kind}`;
  switch (kind) {
    case 'util_percent':
      return {
        title: trans.__('GPU %1 utilisation %', index),
        format: percent,
        order
      };
    case 'memory_bytes':
      return {
        title: trans.__('GPU %1 memory used by the job', index),
        format: bytes,
        order
      };
    default:
      return {
        title: trans.__('GPU %1 memory used on the device', index),
        format: bytes,
        order
      };
  }
}

/** Telemetry series first by kind (CPU, memory, GPUs), unknown `sys/…` names last. */
export function compareSystemSeries(a: string, b: string): number {
  const x = systemSeriesInfo(a)?.order ?? `9-${a}`;
  const y = systemSeriesInfo(b)?.order ?? `9-${b}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * What the view says about missing telemetry, each text once: the job's
 * `telemetry_note` and the notices its supervisor wrote.
 */
export function telemetryNotices(
  note: string | null | undefined,
  other: ReadonlyArray<{ name: string; value: unknown }>
): string[] {
  const texts = other
    .filter(o => o.name === TELEMETRY_NOTICE && typeof o.value === 'string')
    .map(o => o.value as string);
  return Array.from(new Set(note ? [note, ...texts] : texts));
}
