/**
 * The options of metric charts, shared by the job view and the Runs view's
 * overlay: the x-axis (time, step, epoch), smoothing and log scale.
 */
import * as React from 'react';

import type { MetricX } from '../api';
import { formatNumber } from '../format';
import { trans } from '../i18n';
import { Check } from './common';

/** What the controls change: MetricsModel and CompareModel both are one. */
export interface IChartOptions {
  x: MetricX;
  smoothing: number;
  logScale: boolean;
}

export function ChartControls(props: {
  options: IChartOptions;
  children?: React.ReactNode;
}): JSX.Element {
  const { options } = props;
  const id = React.useId();
  return (
    <div className="jp-MomoJobs-controls">
      <label htmlFor={`${id}-x`}>{trans.__('x-axis')}</label>
      <select
        id={`${id}-x`}
        className="jp-mod-styled"
        value={options.x}
        onChange={e => {
          options.x = e.target.value as MetricX;
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
        value={options.smoothing}
        onChange={e => {
          options.smoothing = parseFloat(e.target.value);
        }}
      />
      <span className="jp-MomoJobs-smoothValue">
        {formatNumber(options.smoothing, {
          minimumFractionDigits: 2,
          maximumFractionDigits: 2
        })}
      </span>
      <Check
        checked={options.logScale}
        onChange={checked => {
          options.logScale = checked;
        }}
      >
        {trans.__('log scale')}
      </Check>
      {props.children}
    </div>
  );
}
