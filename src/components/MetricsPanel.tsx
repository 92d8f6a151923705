/**
 * The metrics of a job: chart options, one chart per numeric metric, and a
 * table of the values that cannot be plotted.
 */
import * as React from 'react';

import type { IMetricSeries, IOtherValue, MetricX } from '../api';
import {
  formatElapsedTick,
  formatNumber,
  formatValue,
  positiveOnly,
  smooth
} from '../format';
import { trans } from '../i18n';
import { MetricsModel } from '../model';
import { MetricChart } from './MetricChart';

export interface IMetricsPanelProps {
  model: MetricsModel;
  onDownloadCsv: () => void;
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
  return (
    <MetricChart
      name={series.name}
      xKind={props.xKind}
      x={series.x}
      y={y}
      raw={raw}
      logScale={logScale}
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
  const other = data?.other ?? [];
  const series = plottable(data?.series ?? [], other);
  const id = React.useId();
  return (
    <section className="jp-MomoJobs-metrics" aria-label={trans.__('Metrics')}>
      <div className="jp-MomoJobs-controls">
        <label htmlFor={`${id}-x`}>{trans.__('x-axis')}</label>
        <select
          id={`${id}-x`}
          className="jp-mod-styled"
          value={model.x}
          onChange={e => {
            model.x = e.target.value as MetricX;
          }}
        >
          <option value="time">{trans.__('time')}</option>
          <option value="step">{trans.__('step')}</option>
          <option value="epoch">{trans.__('epoch')}</option>
        </select>
        <label htmlFor={`${id}-smooth`}>{trans.__('smoothing')}</label>
        <input
          id={`${id}-smooth`}
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={model.smoothing}
          onChange={e => {
            model.smoothing = parseFloat(e.target.value);
          }}
        />
        <span className="jp-MomoJobs-smoothValue">
          {formatNumber(model.smoothing, {
            minimumFractionDigits: 2,
            maximumFractionDigits: 2
          })}
        </span>
        <label className="jp-MomoJobs-check">
          <input
            type="checkbox"
            checked={model.logScale}
            onChange={e => {
              model.logScale = e.target.checked;
            }}
          />
          {trans.__('log scale')}
        </label>
        <button
          className="jp-mod-styled jp-MomoJobs-button"
          onClick={props.onDownloadCsv}
          disabled={!series.length && !other.length}
        >
          {trans.__('Download CSV')}
        </button>
      </div>
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
          {trans.__('No metrics yet. A line like this in the output adds one:')}{' '}
          <code>{'{"metric": "loss", "value": 0.5}'}</code>
        </div>
      )}
      <div className="jp-MomoJobs-charts">
        {series.map(s => (
          <SeriesChart
            key={s.name}
            series={s}
            xKind={data!.x}
            smoothing={model.smoothing}
            logScale={model.logScale}
          />
        ))}
      </div>
      {other.length > 0 && <OtherTable rows={other} />}
    </section>
  );
}
