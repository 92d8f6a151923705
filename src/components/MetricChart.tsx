/**
 * One live chart of one metric, drawn by uPlot on a canvas.
 */
import * as React from 'react';
import uPlot from 'uplot';

import type { MetricX } from '../api';
import { formatElapsedTick, formatNumber, formatValue } from '../format';
import { trans } from '../i18n';

export interface IChartColours {
  text: string;
  grid: string;
  line: string;
}

/**
 * The chart colours of the current theme, from JupyterLab's CSS variables
 * (a canvas cannot use them directly).
 */
export function themeColours(node: Element = document.body): IChartColours {
  const css = getComputedStyle(node);
  const get = (name: string, fallback: string) =>
    css.getPropertyValue(name).trim() || fallback;
  const line = get('--jp-brand-color1', '#2196f3');
  return {
    text: get('--jp-ui-font-color1', '#000'),
    grid: get('--jp-border-color2', '#e0e0e0'),
    line
  };
}

export interface IMetricChartProps {
  name: string;
  xKind: MetricX;
  x: number[];
  /** The values drawn (smoothed or not); null = gap. */
  y: (number | null)[];
  /** The raw values, drawn faint under smoothed ones. */
  raw?: (number | null)[];
  logScale: boolean;
  /** The heading shown (default: the metric's name). */
  title?: string;
  /** How values are written on the y-axis and in the legend. */
  format?: (value: number) => string;
  /** Where each retried attempt's points begin: a vertical marker each. */
  attemptStarts?: { attempt: number; x: number }[];
}

/**
 * Draws a dashed vertical line, labelled, where each later attempt of the job
 * begins (`starts` is read when drawn, so live updates need no rebuild).
 */
function attemptMarkers(
  starts: () => { attempt: number; x: number }[],
  colour: string
): (u: uPlot) => void {
  return u => {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = 1;
    ctx.font = `${10 * devicePixelRatio}px sans-serif`;
    for (const start of starts()) {
      const px = Math.round(u.valToPos(start.x, 'x', true));
      if (
        !isFinite(px) ||
        px < u.bbox.left ||
        px > u.bbox.left + u.bbox.width
      ) {
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px, top + height);
      ctx.stroke();
      ctx.fillText(trans.__('attempt %1', start.attempt), px + 3, top + 12);
    }
    ctx.restore();
  };
}

/**
 * A key that changes when JupyterLab's theme changes (it marks the body).
 */
export function useThemeKey(): string {
  const read = () =>
    `${document.body.dataset.jpThemeName ?? ''}|${document.body.dataset.jpThemeLight ?? ''}`;
  const [key, setKey] = React.useState(read);
  React.useEffect(() => {
    if (typeof MutationObserver === 'undefined') {
      return;
    }
    const observer = new MutationObserver(() => setKey(read()));
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light']
    });
    return () => observer.disconnect();
  }, []);
  return key;
}

export const CHART_HEIGHT = 180;

export function xLabel(kind: MetricX): string {
  switch (kind) {
    case 'time':
      return trans.__('time since start');
    case 'step':
      return trans.__('step');
    case 'epoch':
      return trans.__('epoch');
    default:
      return kind;
  }
}

export function makeOptions(
  props: IMetricChartProps,
  width: number,
  colours: IChartColours,
  starts: () => { attempt: number; x: number }[] = () => []
): uPlot.Options {
  const format = props.format ?? formatValue;
  const axis = {
    stroke: colours.text,
    grid: { stroke: colours.grid, width: 1 },
    ticks: { stroke: colours.grid, width: 1 }
  };
  const series: uPlot.Series[] = [
    {
      label: xLabel(props.xKind),
      value: (_u, v) =>
        v === null || v === undefined
          ? '—'
          : props.xKind === 'time'
            ? formatElapsedTick(v)
            : formatNumber(v)
    }
  ];
  if (props.raw) {
    series.push({
      label: trans.__('%1 (raw)', props.name),
      stroke: colours.line,
      alpha: 0.3,
      width: 1,
      spanGaps: false,
      value: (_u, v) => (v === null || v === undefined ? '—' : format(v))
    });
  }
  series.push({
    label: props.raw ? trans.__('%1 (smoothed)', props.name) : props.name,
    stroke: colours.line,
    width: 1.5,
    spanGaps: false,
    points: { show: props.x.length < 60 },
    value: (_u, v) => (v === null || v === undefined ? '—' : format(v))
  });
  return {
    width,
    height: CHART_HEIGHT,
    series,
    scales: {
      x: { time: false },
      y: props.logScale ? { distr: 3 } : {}
    },
    axes: [
      {
        ...axis,
        values: (_u, splits) =>
          splits.map(v =>
            props.xKind === 'time' ? formatElapsedTick(v) : formatNumber(v)
          )
      },
      { ...axis, size: 60, values: (_u, splits) => splits.map(format) }
    ],
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    hooks: { ready: [showLatest], draw: [attemptMarkers(starts, colours.text)] }
  };
}

/**
 * Show the values of the last point in the legend.
 */
export function showLatest(chart: uPlot): void {
  const n = chart.data[0]?.length ?? 0;
  if (n > 0) {
    chart.setLegend({ idx: n - 1 });
  }
}

function chartData(props: IMetricChartProps): uPlot.AlignedData {
  const data: (number | null)[][] = [props.x];
  if (props.raw) {
    data.push(props.raw);
  }
  data.push(props.y);
  return data as uPlot.AlignedData;
}

/**
 * Mounts a uPlot chart in `container`: built anew from `options` (at the
 * container's width) when one of `rebuildOn` changes and fed `data` in place
 * otherwise, so live updates stay cheap. It follows the container's width and,
 * out of the plot, its legend shows the latest values (live training).
 */
export function useLivePlot(
  container: React.RefObject<HTMLDivElement>,
  options: (node: HTMLDivElement, width: number) => uPlot.Options,
  data: uPlot.AlignedData,
  rebuildOn: React.DependencyList,
  size: { minWidth: number; height: number }
): void {
  const plot = React.useRef<uPlot | null>(null);
  const hovering = React.useRef(false);
  const latest = React.useRef(data);
  latest.current = data;

  React.useEffect(() => {
    const node = container.current;
    if (!node) {
      return;
    }
    const width = Math.max(
      size.minWidth,
      node.clientWidth || 2 * size.minWidth
    );
    const chart = new uPlot(options(node, width), latest.current, node);
    plot.current = chart;
    hovering.current = false;
    const over = chart.over;
    const enter = () => {
      hovering.current = true;
    };
    const leave = () => {
      hovering.current = false;
      showLatest(chart);
    };
    over.addEventListener('mouseenter', enter);
    over.addEventListener('mouseleave', leave);
    showLatest(chart);
    let observer: ResizeObserver | null = null;
    if (typeof ResizeObserver !== 'undefined') {
      observer = new ResizeObserver(entries => {
        const w = Math.floor(entries[0].contentRect.width);
        if (w > 0 && Math.abs(w - chart.width) > 2) {
          chart.setSize({ width: w, height: size.height });
        }
      });
      observer.observe(node);
    }
    return () => {
      over.removeEventListener('mouseenter', enter);
      over.removeEventListener('mouseleave', leave);
      observer?.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, rebuildOn);

  React.useEffect(() => {
    const chart = plot.current;
    if (chart) {
      chart.setData(data);
      if (!hovering.current) {
        showLatest(chart);
      }
    }
  }, [data]);
}

/** One metric's chart in the job view. */
export function MetricChart(props: IMetricChartProps): JSX.Element {
  const container = React.useRef<HTMLDivElement>(null);
  const themeKey = useThemeKey();
  const starts = React.useRef(props.attemptStarts ?? []);
  starts.current = props.attemptStarts ?? [];
  const data = React.useMemo(
    () => chartData(props),
    [props.x, props.y, props.raw]
  );
  useLivePlot(
    container,
    (node, width) =>
      makeOptions(props, width, themeColours(node), () => starts.current),
    data,
    [props.xKind, props.logScale, themeKey, !!props.raw, props.name],
    { minWidth: 200, height: CHART_HEIGHT }
  );

  return (
    <figure
      className="jp-MomoJobs-chart"
      aria-label={trans.__('Chart of %1', props.name)}
      data-metric={props.name}
      data-points={props.x.length}
      data-attempt-starts={(props.attemptStarts ?? []).map(s => s.x).join(',')}
    >
      <figcaption className="jp-MomoJobs-chartTitle" title={props.name}>
        {props.title ?? props.name}
      </figcaption>
      <div ref={container} className="jp-MomoJobs-chartCanvas" />
    </figure>
  );
}
