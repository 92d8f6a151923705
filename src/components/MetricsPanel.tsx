/**
 * The metrics of a job: chart options, one chart per numeric metric, and a
 * table of the values that cannot be plotted.
 */
import * as React from 'react';

import type { IMetricSeries, IOtherValue, MetricX } from '../api';
import {
  formatElapsedTick,
  formatValue,
  positiveOnly,
  smooth
} from '../format';
import { trans } from '../i18n';
import { MetricsModel } from '../model';
import {
  compareSystemSeries,
  isSystemMetric,
  systemSeriesInfo,
  TELEMETRY_NOTICE,
  telemetryNotices
} from '../telemetry';
import { ChartControls } from './ChartControls';
import { MetricChart } from './MetricChart';

export interface IMetricsPanelProps {
  model: MetricsModel;
  onDownloadCsv: () => void;
  /** Why some of the job's telemetry is missing (from the server), if so. */
  telemetryNote?: string | null;
}

function SeriesChart(props: {
  series: IMetricSeries;
  xKind: MetricX;
  smoothing: number;
  logScale: boolean;
}): JSX.Element {
  const { series, smoothing, logScale } = props;
  const { y, raw } = React.useMemo(() => {
    const base = logScale ? positiveOnly(series.y) : series.y;
    return smoothing > 0
      ? { y: smooth(base, smoothing), raw: base }
      : { y: base, raw: undefined };
  }, [series, smoothing, logScale]);
  const info = systemSeriesInfo(series.name);
  return (
    <MetricChart
      name={series.name}
      title={info?.title}
      format={info?.format}
      xKind={props.xKind}
      x={series.x}
      y={y}
      raw={raw}
      logScale={logScale}
      attemptStarts={series.attempt_starts}
    />
  );
}

function OtherTable(props: { rows: IOtherValue[] }): JSX.Element {
  return (
    <table
      className="jp-MomoJobs-table"
      aria-label={trans.__('Non-numeric metrics')}
    >
      <thead>
        <tr>
          <th scope="col">{trans.__('metric')}</th>
          <th scope="col">{trans.__('time')}</th>
          <th scope="col">{trans.__('value')}</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row, i) => (
          <tr key={i}>
            <td>{row.name}</td>
            <td>
              {typeof row.time === 'number'
                ? formatElapsedTick(row.time)
                : row.time}
            </td>
            <td className="jp-MomoJobs-otherValue">{formatValue(row.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * The series worth a chart: a metric whose values are all non-numeric (listed
 * in `other`) has none; one whose values are NaN gaps keeps its chart.
 */
export function plottable(
  series: IMetricSeries[],
  other: IOtherValue[]
): IMetricSeries[] {
  const listed = new Set(other.map(o => o.name));
  return series.filter(s => !listed.has(s.name) || s.y.some(v => v !== null));
}

export function MetricsPanel(props: IMetricsPanelProps): JSX.Element {
  const { model } = props;
  const data = model.data;
  const other = (data?.other ?? []).filter(o => o.name !== TELEMETRY_NOTICE);
  const notices = telemetryNotices(props.telemetryNote, data?.other ?? []);
  const all = plottable(data?.series ?? [], data?.other ?? []);
  const series = all.filter(s => !isSystemMetric(s.name));
  const system = all
    .filter(s => isSystemMetric(s.name))
    .sort((a, b) => compareSystemSeries(a.name, b.name));
  const chart = (s: IMetricSeries) => (
    <SeriesChart
      key={s.name}
      series={s}
      xKind={data!.x}
      smoothing={model.smoothing}
      logScale={model.logScale}
    />
  );
  return (
    <section className="jp-MomoJobs-metrics" aria-label={trans.__('Metrics')}>
      <ChartControls options={model}>
        <button
          className="jp-mod-styled jp-MomoJobs-button"
          onClick={props.onDownloadCsv}
          disabled={!all.length && !other.length}
        >
          {trans.__('Download CSV')}
        </button>
      </ChartControls>
      {model.error && (
        <div className="jp-MomoJobs-error" role="alert">
          {model.error}
        </div>
      )}
      {!data && !model.error && (
        <div className="jp-MomoJobs-empty">{trans.__('Loading metrics…')}</div>
      )}
      {data && !series.length && !other.length && (
        <div className="jp-MomoJobs-empty">
          {trans.__('No metrics yet. A line like')}{' '}
          <code>{'{"metric": "loss", "value": 0.5}'}</code>{' '}
          {trans.__('in the output adds one.')}
        </div>
      )}
      <div className="jp-MomoJobs-charts">{series.map(chart)}</div>
      {other.length > 0 && <OtherTable rows={other} />}
      {(system.length > 0 || notices.length > 0) && (
        <section className="jp-MomoJobs-system" aria-label={trans.__('System')}>
          <h3 className="jp-MomoJobs-sectionTitle">{trans.__('System')}</h3>
          {notices.map(text => (
            <div key={text} className="jp-MomoJobs-note" role="note">
              {text}
            </div>
          ))}
          <div className="jp-MomoJobs-charts">{system.map(chart)}</div>
        </section>
      )}
    </section>
  );
}
