/**
 * The selected runs' metrics overlaid: one chart per metric with one line
 * per run, a legend of the runs' names, and on hover every run's value.
 */
import * as React from 'react';
import uPlot from 'uplot';

import type { MetricX } from '../api';
import { formatElapsedTick, formatValue } from '../format';
import { trans } from '../i18n';
import { buildOverlay, IOverlay, overlayNames, valueAt } from '../overlay';
import { CompareModel } from '../runsmodel';
import { systemSeriesInfo } from '../telemetry';
import { ChartControls } from './ChartControls';
import { Check } from './common';
import {
  CHART_HEIGHT,
  IChartColours,
  showLatest,
  themeColours,
  useLivePlot,
  useThemeKey,
  xLabel
} from './MetricChart';

/** JupyterLab's colour variables a run's line takes, in turn. */
const RUN_COLOURS: [string, string][] = [
  ['--jp-brand-color1', '#1976d2'],
  ['--jp-warn-color1', '#f57c00'],
  ['--jp-success-color1', '#388e3c'],
  ['--jp-error-color1', '#d32f2f'],
  ['--jp-mirror-editor-keyword-color', '#008000'],
  ['--jp-mirror-editor-variable-2-color', '#05a'],
  ['--jp-mirror-editor-string-color', '#ba2121'],
  ['--jp-mirror-editor-builtin-color', '#008000'],
  ['--jp-mirror-editor-number-color', '#080'],
  ['--jp-mirror-editor-meta-color', '#a2f']
];

/** The colour of the i-th run and, past the palette, a dash to tell it apart. */
export function runStyle(
  i: number,
  node: Element = document.body
): { stroke: string; dash?: number[] } {
  const css = getComputedStyle(node);
  const [name, fallback] = RUN_COLOURS[i % RUN_COLOURS.length];
  const stroke = css.getPropertyValue(name).trim() || fallback;
  const round = Math.floor(i / RUN_COLOURS.length);
  return round ? { stroke, dash: [2 + 4 * round, 3] } : { stroke };
}

function tick(kind: MetricX, v: number): string {
  return kind === 'time' ? formatElapsedTick(v) : String(v);
}

function makeOptions(
  overlay: IOverlay,
  xKind: MetricX,
  logScale: boolean,
  width: number,
  colours: IChartColours,
  node: Element
): uPlot.Options {
  const format = systemSeriesInfo(overlay.name)?.format ?? formatValue;
  const axis = {
    stroke: colours.text,
    grid: { stroke: colours.grid, width: 1 },
    ticks: { stroke: colours.grid, width: 1 }
  };
  const series: uPlot.Series[] = [
    {
      label: xLabel(xKind),
      value: (_u, v) => (v === null || v === undefined ? '—' : tick(xKind, v))
    },
    ...overlay.lines.map((line, i) => ({
      label: line.label,
      ...runStyle(i, node),
      width: 1.5,
      spanGaps: false,
      points: { show: overlay.x.length < 60 },
      // every run's value at the hovered x: its point there or its last before
      value: (
        u: uPlot,
        _v: number | null,
        seriesIdx: number,
        idx: number | null
      ) => {
        if (idx === null || idx === undefined) {
          return '—';
        }
        const value = valueAt(
          u.data[seriesIdx] as (number | null | undefined)[],
          idx
        );
        return value === null ? '—' : format(value);
      }
    }))
  ];
  return {
    width,
    height: CHART_HEIGHT + 40,
    series,
    scales: { x: { time: false }, y: logScale ? { distr: 3 } : {} },
    axes: [
      { ...axis, values: (_u, splits) => splits.map(v => tick(xKind, v)) },
      { ...axis, size: 60, values: (_u, splits) => splits.map(format) }
    ],
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    hooks: { ready: [showLatest] }
  };
}

/**
 * One uPlot chart of several runs; rebuilt when its lines or options change.
 */
export function OverlayChart(props: {
  overlay: IOverlay;
  xKind: MetricX;
  logScale: boolean;
}): JSX.Element {
  const { overlay } = props;
  const container = React.useRef<HTMLDivElement>(null);
  const themeKey = useThemeKey();
  const labels = overlay.lines.map(l => `${l.job}:${l.label}`).join('|');
  const data = React.useMemo(
    () => [overlay.x, ...overlay.lines.map(l => l.y)] as uPlot.AlignedData,
    [overlay]
  );
  useLivePlot(
    container,
    (node, width) =>
      makeOptions(
        overlay,
        props.xKind,
        props.logScale,
        width,
        themeColours(node),
        node
      ),
    data,
    [labels, props.xKind, props.logScale, themeKey, overlay.name],
    { minWidth: 240, height: CHART_HEIGHT + 40 }
  );

  const info = systemSeriesInfo(overlay.name);
  return (
    <figure
      className="jp-MomoJobs-chart jp-MomoRuns-overlay"
      aria-label={trans.__(
        'Chart of %1 for %2 runs',
        overlay.name,
        overlay.lines.length
      )}
      data-metric={overlay.name}
      data-lines={overlay.lines.length}
      data-runs={overlay.lines.map(l => l.job).join(',')}
    >
      <figcaption className="jp-MomoJobs-chartTitle" title={overlay.name}>
        {info?.title ?? overlay.name}
      </figcaption>
      <div ref={container} className="jp-MomoJobs-chartCanvas" />
    </figure>
  );
}

export function OverlayPanel(props: { model: CompareModel }): JSX.Element {
  const { model } = props;
  const data = model.data;
  const ids = model.ids;
  const overlays = React.useMemo(
    () =>
      data
        ? overlayNames(data).map(name =>
            buildOverlay(data, name, ids, id => model.runs.label(id), {
              smoothing: model.smoothing,
              logScale: model.logScale
            })
          )
        : [],
    [data, ids, model.smoothing, model.logScale]
  );
  return (
    <section
      className="jp-MomoRuns-compare"
      aria-label={trans.__('Compare runs')}
    >
      <ChartControls options={model}>
        <Check
          checked={model.showSystem}
          onChange={checked => {
            model.showSystem = checked;
          }}
        >
          {trans.__('system (CPU, memory, GPU)')}
        </Check>
        <span className="jp-MomoJobs-count">
          {ids.length
            ? trans._n('%1 run overlaid', '%1 runs overlaid', ids.length)
            : ''}
        </span>
      </ChartControls>
      {model.omitted > 0 && (
        <div className="jp-MomoJobs-note" role="note">
          {trans.__(
            'The first %1 selected runs are charted; %2 more are selected.',
            ids.length,
            model.omitted
          )}
        </div>
      )}
      {model.error && (
        <div className="jp-MomoJobs-error" role="alert">
          {model.error}
        </div>
      )}
      {!ids.length && (
        <div className="jp-MomoJobs-empty">
          {trans.__(
            'Select runs in the table or in the Jobs sidebar (ctrl-click or shift-click for several) to chart their metrics together.'
          )}
        </div>
      )}
      {ids.length > 0 && !data && !model.error && (
        <div className="jp-MomoJobs-empty">{trans.__('Loading metrics…')}</div>
      )}
      {ids.length > 0 && data && !overlays.length && (
        <div className="jp-MomoJobs-empty">
          {trans.__('The selected runs have no metrics yet.')}
        </div>
      )}
      <div className="jp-MomoJobs-charts jp-MomoRuns-charts">
        {overlays.map(overlay => (
          <OverlayChart
            key={overlay.name}
            overlay={overlay}
            xKind={data!.x}
            logScale={model.logScale}
          />
        ))}
      </div>
    </section>
  );
}
