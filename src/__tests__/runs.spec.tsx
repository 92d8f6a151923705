import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';

import { IRun } from '../api';
import { MetricsPanel } from '../components/MetricsPanel';
import { RunsTable, visibleRange } from '../components/RunsTable';
import { JobsModel, MetricsModel } from '../model';
import { buildOverlay, overlayNames, valueAt } from '../overlay';
import {
  bestIsMax,
  compareRuns,
  matchesFilter,
  parseFilter,
  runColumns
} from '../runtable';
import { CompareModel, RunsModel } from '../runsmodel';
import { JobSelection } from '../selection';
import { systemSeriesInfo } from '../telemetry';
import {
  FakeServer,
  flush,
  makeJob,
  makeRun,
  noActions,
  serveCompare,
  serveRuns,
  summary
} from './fakeserver';

(globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;

/** Four runs of a learning-rate sweep and one alone. */
function sampleRuns(): IRun[] {
  return [
    makeRun({
      name: 'lr-0.1',
      sweep_id: 'sw1',
      started_at: '2026-01-01T00:00:01Z',
      params: { lr: '0.1', batch_size: '64' },
      metrics: { loss: summary([2, 0.9, 0.7]), accuracy: summary([0.5, 0.8]) }
    }),
    makeRun({
      name: 'lr-0.01',
      sweep_id: 'sw1',
      started_at: '2026-01-01T00:00:02Z',
      params: { lr: '0.01', batch_size: '64' },
      metrics: { loss: summary([2, 0.3, 0.4]), accuracy: summary([0.5, 0.95]) }
    }),
    makeRun({
      name: 'lr-0.001',
      sweep_id: 'sw1',
      started_at: '2026-01-01T00:00:03Z',
      params: { lr: '0.001', batch_size: '128' },
      metrics: {
        loss: summary([2, 0.5]),
        'sys/cpu_percent': summary([90, 150])
      },
      peak: { cpu_percent: 150, rss_bytes: 2 ** 30, gpu_memory_bytes: null }
    }),
    makeRun({
      name: 'baseline',
      status: 'running',
      started_at: '2026-01-01T00:00:04Z',
      params: { lr: '0.05' },
      metrics: {}
    })
  ];
}

async function loadedModel(
  runs: IRun[],
  options: Partial<RunsModel.IOptions> = {}
): Promise<{ server: FakeServer; jobs: JobsModel; model: RunsModel }> {
  const server = new FakeServer();
  serveRuns(server, () => runs);
  const jobs = new JobsModel({ client: server.client(), refreshMs: 0 });
  const model = new RunsModel({ jobs, pollMs: 0, batchMs: 0, ...options });
  await model.refresh();
  return { server, jobs, model };
}

describe('JobSelection', () => {
  it('selects one, toggles with ctrl, extends with shift in the list order', () => {
    const selection = new JobSelection();
    const order = ['a', 'b', 'c', 'd', 'e'];
    selection.click('b', 'only', order);
    expect(selection.ids).toEqual(['b']);
    selection.click('d', 'range', order);
    expect(selection.ids).toEqual(['b', 'c', 'd']);
    expect(selection.current).toBe('d');
    selection.click('a', 'range', order); // from the same anchor, b
    expect(selection.ids).toEqual(['a', 'b']);
    selection.click('e', 'toggle', order);
    expect(selection.ids).toEqual(['a', 'b', 'e']);
    selection.click('a', 'toggle', order);
    expect(selection.ids).toEqual(['b', 'e']);
    selection.remove('e');
    expect(selection.ids).toEqual(['b']);
    expect(selection.current).toBe('b');
  });

  it('is the Jobs model’s selection: `selected` is its current job', () => {
    const server = new FakeServer();
    const jobs = new JobsModel({ client: server.client(), refreshMs: 0 });
    let changes = 0;
    jobs.changed.connect(() => changes++);
    jobs.selection.set(['x', 'y']);
    expect(jobs.selected).toBe('y');
    jobs.selected = 'z';
    expect(jobs.selection.ids).toEqual(['z']);
    expect(changes).toBe(2);
    jobs.handleEvent({
      action: 'deleted',
      job_id: 'z',
      status: 'completed',
      job: null
    });
    expect(jobs.selected).toBeNull();
  });
});

describe('runs table columns, sorting and filters', () => {
  it('lists the params, each metric’s last and best, and the peaks', () => {
    const keys = runColumns(sampleRuns()).map(c => c.key);
    expect(keys).toEqual([
      'status',
      'name',
      'duration',
      'started',
      'sweep',
      'param:batch_size',
      'param:lr',
      'last:accuracy',
      'best:accuracy',
      'last:loss',
      'best:loss',
      'last:sys/cpu_percent',
      'best:sys/cpu_percent',
      'peak:cpu_percent',
      'peak:rss_bytes',
      'peak:gpu_memory_bytes'
    ]);
  });

  it('knows which metrics are maximised', () => {
    expect(bestIsMax('loss')).toBe(false);
    expect(bestIsMax('val_loss')).toBe(false);
    expect(bestIsMax('accuracy')).toBe(true);
    expect(bestIsMax('val_accuracy')).toBe(true);
    expect(bestIsMax('f1')).toBe(true);
    expect(bestIsMax('error_rate')).toBe(false);
  });

  it('sorts params as numbers and puts empty cells last both ways', () => {
    const runs = sampleRuns();
    const columns = runColumns(runs);
    const lr = columns.find(c => c.key === 'param:lr')!;
    const acc = columns.find(c => c.key === 'best:accuracy')!;
    const names = (col: typeof lr, dir: 'asc' | 'desc') =>
      runs
        .slice()
        .sort((a, b) => compareRuns(a, b, col, dir))
        .map(r => r.name);
    expect(names(lr, 'asc')).toEqual([
      'lr-0.001',
      'lr-0.01',
      'baseline',
      'lr-0.1'
    ]);
    expect(names(acc, 'desc')).toEqual([
      'lr-0.01',
      'lr-0.1',
      'baseline',
      'lr-0.001'
    ]);
    expect(names(acc, 'asc')).toEqual([
      'lr-0.1',
      'lr-0.01',
      'baseline',
      'lr-0.001'
    ]);
  });

  it('filters by text, param, metric and status', () => {
    const runs = sampleRuns();
    const keep = (text: string) =>
      runs.filter(r => matchesFilter(r, parseFilter(text))).map(r => r.name);
    expect(keep('')).toHaveLength(4);
    expect(keep('lr=0.01')).toEqual(['lr-0.01']);
    expect(keep('lr<0.05')).toEqual(['lr-0.01', 'lr-0.001']);
    expect(keep('loss<0.6')).toEqual(['lr-0.01', 'lr-0.001']);
    expect(keep('loss.last<0.45')).toEqual(['lr-0.01']);
    expect(keep('status:running')).toEqual(['baseline']);
    expect(keep('BASE')).toEqual(['baseline']);
    expect(keep('sweep=sw1 batch_size=64')).toEqual(['lr-0.1', 'lr-0.01']);
  });
});

describe('RunsModel', () => {
  it('loads every run page by page', async () => {
    const runs = Array.from({ length: 5 }, () => makeRun());
    const { server, model } = await loadedModel(runs, { pageSize: 2 });
    expect(model.state).toBe('ready');
    expect(model.total).toBe(5);
    expect(model.filteredRuns).toHaveLength(5);
    const pages = server.requests.filter(r => r.path === 'runs');
    expect(pages.map(r => r.query.get('offset'))).toEqual(['0', '2', '4']);
  });

  it('sorts by a column, flips on a second click, and filters', async () => {
    const { model } = await loadedModel(sampleRuns());
    model.groupBySweep = false;
    model.sortBy('best:loss');
    expect(model.sort).toEqual({ key: 'best:loss', direction: 'asc' });
    expect(model.filteredRuns.map(r => r.name)).toEqual([
      'lr-0.01',
      'lr-0.001',
      'lr-0.1',
      'baseline'
    ]);
    model.sortBy('best:loss');
    expect(model.filteredRuns.map(r => r.name)).toEqual([
      'lr-0.1',
      'lr-0.001',
      'lr-0.01',
      'baseline'
    ]);
    model.filter = 'batch_size=64';
    expect(model.filteredRuns.map(r => r.name)).toEqual(['lr-0.1', 'lr-0.01']);
  });

  it('shows the chosen columns; sys metrics and the start time wait to be chosen', async () => {
    const { model } = await loadedModel(sampleRuns());
    const visible = () => model.visibleColumns.map(c => c.key);
    expect(visible()).toContain('best:loss');
    expect(visible()).toContain('peak:rss_bytes');
    expect(visible()).not.toContain('last:sys/cpu_percent');
    expect(visible()).not.toContain('started');
    // the same array until the columns change: rows re-render only when needed
    expect(model.visibleColumns).toBe(model.visibleColumns);
    model.setVisible('last:sys/cpu_percent', true);
    model.setVisible('param:lr', false);
    expect(visible()).toContain('last:sys/cpu_percent');
    expect(visible()).not.toContain('param:lr');
  });

  it('groups a sweep under its heading, collapsed or not', async () => {
    const { model } = await loadedModel(sampleRuns());
    model.sortBy('param:lr'); // 0.001, 0.01 (sweep), 0.05 (alone), 0.1 (sweep)
    const shape = () =>
      model.rows.map(row =>
        row.kind === 'group' ? `[${row.sweep}]` : row.run.name
      );
    // the sweep sits where its first run sorts, its runs beneath in order
    expect(shape()).toEqual([
      '[sw1]',
      'lr-0.001',
      'lr-0.01',
      'lr-0.1',
      'baseline'
    ]);
    model.toggleGroup('sw1');
    expect(shape()).toEqual(['[sw1]', 'baseline']);
    // a collapsed sweep's runs still count as shown (for shift-click, select all)
    expect(model.filteredRuns).toHaveLength(4);
    model.selectGroup('sw1');
    expect(model.selection.size).toBe(3);
    await model.showSweep('sw1');
    expect(shape()).toEqual(['[sw1]', 'lr-0.001', 'lr-0.01', 'lr-0.1']);
    model.groupBySweep = false;
    expect(shape()).toEqual(['lr-0.001', 'lr-0.01', 'lr-0.1']);
  });

  it('selects with shift in the table’s order, shared with the sidebar', async () => {
    const { jobs, model } = await loadedModel(sampleRuns());
    model.groupBySweep = false;
    model.sortBy('best:loss');
    const [first, , third] = model.filteredRuns;
    model.click(first.id, 'only');
    model.click(third.id, 'range');
    expect(jobs.selection.ids).toEqual(
      model.filteredRuns.slice(0, 3).map(r => r.id)
    );
    expect(jobs.selected).toBe(third.id);
  });

  it('fetches a run again when its job changes, drops it when deleted', async () => {
    const runs = sampleRuns();
    const { server, jobs, model } = await loadedModel(runs);
    const baseline = runs[3];
    baseline.status = 'completed';
    baseline.metrics = { loss: summary([0.2]) };
    jobs.handleEvent({
      action: 'status',
      job_id: baseline.id,
      status: 'completed',
      job: makeJob({ id: baseline.id, status: 'completed' })
    });
    await new Promise(resolve => setTimeout(resolve, 5));
    await flush();
    const last = server.requests[server.requests.length - 1];
    expect(last.query.get('ids')).toBe(baseline.id);
    expect(model.get(baseline.id)?.status).toBe('completed');
    expect(model.columns.some(c => c.key === 'best:loss')).toBe(true);
    jobs.handleEvent({
      action: 'deleted',
      job_id: baseline.id,
      status: 'completed',
      job: null
    });
    expect(model.get(baseline.id)).toBeUndefined();
  });
});

describe('RunsTable (virtualised)', () => {
  let root: Root;
  let container: HTMLDivElement;

  beforeEach(() => {
    container = document.createElement('div');
    document.body.appendChild(container);
    root = createRoot(container);
  });

  afterEach(() => {
    act(() => root.unmount());
    container.remove();
  });

  it('computes the rows in view with overscan', () => {
    expect(visibleRange(0, 260, 10000, 26, 8)).toEqual([0, 19]);
    expect(visibleRange(26 * 5000, 260, 10000, 26, 8)).toEqual([4992, 5019]);
    expect(visibleRange(26 * 9999, 260, 10000, 26, 8)).toEqual([9991, 10000]);
    expect(visibleRange(0, 260, 3, 26, 8)).toEqual([0, 3]);
  });

  it('renders only the visible rows of 10,000 runs, and others on scroll', async () => {
    const runs = Array.from({ length: 10000 }, (_, i) =>
      makeRun({
        name: `run-${String(i).padStart(5, '0')}`,
        params: { lr: String(i / 10000) },
        metrics: { loss: summary([1, 1 / (i + 1)]) }
      })
    );
    const { model } = await loadedModel(runs, { pageSize: 5000 });
    model.sortBy('name');
    act(() => {
      root.render(
        <RunsTable model={model} actions={noActions} initialHeight={430} />
      );
    });
    const rendered = () =>
      Array.from(container.querySelectorAll('.jp-MomoRuns-row[data-job-id]'));
    const names = () =>
      rendered().map(r => r.querySelector('[data-column="name"]')!.textContent);
    // 400 px of rows at 26 px: 16 rows and one cut, plus 8 of overscan below
    expect(rendered().length).toBe(25);
    expect(names()[0]).toBe('run-00000');
    const grid = container.querySelector('.jp-MomoRuns-scroll') as HTMLElement;
    expect(grid.getAttribute('aria-rowcount')).toBe('10001');
    const sizer = container.querySelector('.jp-MomoRuns-sizer') as HTMLElement;
    expect(sizer.style.height).toBe(`${30 + 10000 * 26}px`);

    grid.scrollTop = 26 * 7000;
    await act(async () => {
      grid.dispatchEvent(new Event('scroll'));
      await new Promise(resolve => setTimeout(resolve, 30));
    });
    expect(rendered().length).toBe(33);
    expect(names()[0]).toBe('run-06992');
    expect(names()).toContain('run-07000');
    const row7000 = rendered().find(r =>
      r.textContent!.includes('run-07000')
    ) as HTMLElement;
    expect(row7000.style.transform).toBe(`translateY(${7000 * 26}px)`);

    // a click selects, a ctrl-click adds
    act(() => {
      row7000.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    });
    const next = rendered().find(r => r.textContent!.includes('run-07001'))!;
    act(() => {
      next.dispatchEvent(
        new MouseEvent('click', { bubbles: true, ctrlKey: true })
      );
    });
    expect(model.selection.size).toBe(2);
  });

  it('sorts when a header is clicked', async () => {
    const { model } = await loadedModel(sampleRuns());
    model.groupBySweep = false;
    act(() => {
      root.render(
        <RunsTable model={model} actions={noActions} initialHeight={300} />
      );
    });
    const header = container.querySelector(
      '[role="columnheader"][data-column="best:loss"] button'
    ) as HTMLButtonElement;
    act(() => header.click());
    act(() => {
      root.render(
        <RunsTable model={model} actions={noActions} initialHeight={300} />
      );
    });
    expect(model.sort.key).toBe('best:loss');
    const first = container.querySelector(
      '.jp-MomoRuns-row[data-job-id] [data-column="name"]'
    );
    expect(first?.textContent).toBe('lr-0.01');
    expect(
      container
        .querySelector('[data-column="best:loss"]')!
        .getAttribute('aria-sort')
    ).toBe('ascending');
  });
});

describe('the overlay of runs', () => {
  const series = [
    { job: 'a', name: 'loss', x: [0, 1, 2], y: [3, 2, 1], count: 3 },
    { job: 'b', name: 'loss', x: [0, 2, 4], y: [4, null, 2], count: 3 },
    { job: 'c', name: 'loss', x: [1, 3], y: [5, 4], count: 2 },
    { job: 'a', name: 'accuracy', x: [0, 1], y: [0.5, 0.7], count: 2 },
    { job: 'a', name: 'sys/rss_bytes', x: [0], y: [100], count: 1 }
  ];

  it('builds one line per run on the union of their x values', () => {
    const overlay = buildOverlay(
      { x: 'step', series },
      'loss',
      ['c', 'a', 'b'],
      id => `run ${id}`
    );
    expect(overlay.x).toEqual([0, 1, 2, 3, 4]);
    expect(overlay.lines.map(l => l.label)).toEqual([
      'run c',
      'run a',
      'run b'
    ]);
    expect(overlay.lines[1].y).toEqual([3, 2, 1, undefined, undefined]);
    // a NaN point stays a gap (null); no point at an x is undefined
    expect(overlay.lines[2].y).toEqual([4, undefined, null, undefined, 2]);
    // hovering x=3 shows every run's value there or just before
    expect(overlay.lines.map(l => valueAt(l.y, 3))).toEqual([4, 1, null]);
    expect(overlayNames({ x: 'step', series })).toEqual([
      'accuracy',
      'loss',
      'sys/rss_bytes'
    ]);
  });

  it('skips runs without the metric; smooths each run on its own points', () => {
    const overlay = buildOverlay(
      { x: 'step', series },
      'accuracy',
      ['a', 'b', 'c'],
      id => id,
      {
        smoothing: 0.5
      }
    );
    expect(overlay.lines).toHaveLength(1);
    expect(overlay.lines[0].y[0]).toBeCloseTo(0.5);
  });

  it('CompareModel asks /compare for the selected runs and their metrics', async () => {
    const runs = sampleRuns();
    const { server, model } = await loadedModel(runs);
    serveCompare(server, () =>
      runs
        .map(r => [
          { job: r.id, name: 'loss', x: [0, 1], y: [1, 0.5], count: 2 },
          { job: r.id, name: 'sys/cpu_percent', x: [0], y: [100], count: 1 }
        ])
        .reduce((all, two) => all.concat(two), [])
    );
    const compare = new CompareModel({ runs: model, minIntervalMs: 0 });
    model.selection.set(runs.slice(0, 3).map(r => r.id));
    await new Promise(resolve => setTimeout(resolve, 5));
    await compare.refresh();
    const asked = server.requests.filter(r => r.path === 'compare').pop()!;
    expect(asked.query.get('ids')).toBe(
      runs
        .slice(0, 3)
        .map(r => r.id)
        .join(',')
    );
    expect(asked.query.get('names')!.split(',').sort()).toEqual([
      'accuracy',
      'loss'
    ]);
    const overlay = buildOverlay(compare.data!, 'loss', compare.ids, id =>
      model.label(id)
    );
    expect(overlay.lines.map(l => l.label)).toEqual([
      'lr-0.1',
      'lr-0.01',
      'lr-0.001'
    ]);
    // more runs than an overlay takes: the first ones, and a count of the rest
    const few = new CompareModel({ runs: model, minIntervalMs: 0, maxRuns: 2 });
    expect(few.ids).toHaveLength(2);
    expect(few.omitted).toBe(1);
    few.dispose();
    compare.x = 'step';
    await compare.refresh();
    expect(
      server.requests
        .filter(r => r.path === 'compare')
        .pop()!
        .query.get('x')
    ).toBe('step');
    compare.dispose();
  });

  it('CompareModel fetches the runs already selected when it is made', async () => {
    const runs = sampleRuns();
    const { server, model } = await loadedModel(runs);
    serveCompare(server, () => [
      { job: runs[0].id, name: 'loss', x: [0, 1], y: [1, 0.5], count: 2 }
    ]);
    model.selection.set([runs[0].id]);
    const compare = new CompareModel({ runs: model, minIntervalMs: 0 });
    await new Promise(resolve => setTimeout(resolve, 5));
    await flush();
    expect(compare.ids).toEqual([runs[0].id]);
    expect(compare.data).not.toBeNull();
    compare.dispose();
  });
});

describe('telemetry in the job view', () => {
  it('names the sys/… series for people', () => {
    expect(systemSeriesInfo('sys/cpu_percent')?.title).toMatch(/CPU/);
    expect(systemSeriesInfo('sys/gpu1/device_memory_bytes')?.title).toMatch(
      /GPU 1/
    );
    expect(systemSeriesInfo('sys/rss_bytes')?.format(1536)).toBe('1.5 KiB');
    expect(systemSeriesInfo('loss')).toBeNull();
  });

  it('says once why GPU telemetry is missing, in a System group', async () => {
    const server = new FakeServer();
    server.routes['GET jobs/j1/metrics'] = () => ({
      body: { x: 'time', series: [], other: [] }
    });
    const metrics = new MetricsModel({ client: server.client(), jobId: 'j1' });
    await metrics.refresh();
    const container = document.createElement('div');
    const root = createRoot(container);
    act(() => {
      root.render(
        <MetricsPanel
          model={metrics}
          onDownloadCsv={() => undefined}
          telemetryNote="GPU telemetry is off: NVML is not available on this server"
        />
      );
    });
    const system = container.querySelector('section[aria-label="System"]');
    expect(system).not.toBeNull();
    expect(system!.querySelectorAll('[role="note"]')).toHaveLength(1);
    expect(system!.textContent).toContain('NVML is not available');
    act(() => {
      root.render(
        <MetricsPanel model={metrics} onDownloadCsv={() => undefined} />
      );
    });
    expect(container.querySelector('section[aria-label="System"]')).toBeNull();

    // the notice the supervisor printed says it too, once, and is no user metric
    const notice = 'GPU telemetry off: NVML is not available (NVMLError)';
    server.routes['GET jobs/j1/metrics'] = () => ({
      body: {
        x: 'time',
        series: [{ name: 'sys/notice', x: [0], y: [null], count: 2 }],
        other: [
          { name: 'sys/notice', time: 0, value: notice },
          { name: 'sys/notice', time: 1, value: notice }
        ]
      }
    });
    await act(() => metrics.refresh());
    act(() => {
      root.render(
        <MetricsPanel model={metrics} onDownloadCsv={() => undefined} />
      );
    });
    const notes = container.querySelectorAll(
      'section[aria-label="System"] [role="note"]'
    );
    expect(Array.from(notes).map(n => n.textContent)).toEqual([notice]);
    expect(container.querySelector('.jp-MomoJobs-table')).toBeNull();
    act(() => root.unmount());
  });
});
