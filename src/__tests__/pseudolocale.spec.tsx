/**
 * Every widget rendered under a pseudo-locale translator: each string that went
 * through `trans` comes out as ⟦…⟧, so visible text (and titles, labels,
 * placeholders) with words outside the brackets did not, and fails here.
 * Only data may stand outside: job names, paths, metric names, values.
 */
import { Notification, WidgetTracker } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { ApiError, IJob, IResources } from '../api';
import { addCommands, notifyFinished } from '../commands';
import { addRunsCommands } from '../runscommands';
import { RunsModel } from '../runsmodel';
import { JobLifeButtons } from '../components/common';
import { CreateJobForm } from '../components/CreateJobForm';
import { JobHeader, ResultsList } from '../components/JobDetails';
import { GpuHolders } from '../components/GpuHolders';
import { JobsPanel } from '../components/JobsPanel';
import { makeOptions, xLabel } from '../components/MetricChart';
import { MetricsPanel } from '../components/MetricsPanel';
import { errorText } from '../errors';
import { setTranslator } from '../i18n';
import { JobsModel, LogFollower, MetricsModel } from '../model';
import { TerminalBuffer } from '../terminal';
import { JobsSidebar } from '../widgets/JobsSidebar';
import { RunsView } from '../widgets/RunsView';
import { LogView } from '../widgets/LogView';
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

// react-dom ships no types here; createRoot is all the test needs of it
declare const require: (name: string) => any;
const { createRoot } = require('react-dom/client');
const act: (fn: () => Promise<void>) => Promise<void> = (React as any).act;

const fill = (text: string, args: any[]) =>
  text.replace(/%(\d+)/g, (_, i) => String(args[Number(i) - 1] ?? ''));
const pseudo = (text: string, args: any[]) => fill(`⟦${text}⟧`, args);

/** A translator whose every string is bracketed: what was not is plain. */
const pseudoTranslator: any = {
  languageCode: 'zh-CN',
  languages: {},
  load: () => ({
    __: (m: string, ...a: any[]) => pseudo(m, a),
    _n: (s: string, p: string, n: number, ...a: any[]) =>
      pseudo(n === 1 ? s : p, a),
    _p: (_c: string, m: string, ...a: any[]) => pseudo(m, a),
    _np: (_c: string, s: string, p: string, n: number, ...a: any[]) =>
      pseudo(n === 1 ? s : p, a),
    gettext: (m: string, ...a: any[]) => pseudo(m, a),
    ngettext: (s: string, p: string, n: number, ...a: any[]) =>
      pseudo(n === 1 ? s : p, a),
    pgettext: (_c: string, m: string, ...a: any[]) => pseudo(m, a),
    npgettext: (_c: string, s: string, p: string, n: number, ...a: any[]) =>
      pseudo(n === 1 ? s : p, a),
    dcnpgettext: (
      _d: string,
      _c: string,
      s: string,
      p: string,
      n: number,
      ...a: any[]
    ) => pseudo(n === 1 ? s : p, a)
  })
};

/** Words that are data, not interface: they may stand outside brackets. */
const DATA = [
  'dir/train.py',
  'dir/results',
  'results/',
  'my_model.keras',
  'python3',
  'Python 3 (ipykernel)',
  'Tesla T4',
  'optimizer',
  'adadelta',
  'loss',
  'KiB',
  'out of memory',
  'boom',
  'log?format=raw',
  '--lr 0.1',
  'user2',
  'accuracy',
  'batch_size',
  'sw1',
  'GiB'
];

function plainWords(text: string, data: string[]): string | null {
  let rest = text;
  let before = '';
  while (before !== rest) {
    before = rest;
    rest = rest.replace(/⟦[^⟦⟧]*⟧/g, '');
  }
  for (const d of [...data].sort((a, b) => b.length - a.length)) {
    rest = rest.split(d).join('');
  }
  return /[A-Za-z]{2,}/.test(rest) ? text : null;
}

/** The visible text of a node, and its titles, labels and placeholders. */
function visibleTexts(root: Element): string[] {
  const texts: string[] = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement?.closest('code')) {
      texts.push(node.textContent ?? '');
    }
  }
  for (const el of [root, ...Array.from(root.querySelectorAll('*'))]) {
    for (const attr of ['title', 'aria-label', 'placeholder']) {
      const value = el.getAttribute(attr);
      if (value) {
        texts.push(value);
      }
    }
  }
  return texts.filter(t => t.trim());
}

function untranslated(root: Element, data: string[] = []): string[] {
  return visibleTexts(root)
    .map(t => plainWords(t, [...DATA, ...data]))
    .filter((t): t is string => t !== null);
}

async function render(element: JSX.Element): Promise<HTMLElement> {
  const node = document.createElement('div');
  document.body.appendChild(node);
  const root = createRoot(node);
  await act(async () => {
    root.render(element);
  });
  await act(async () => {
    await flush();
  });
  return node;
}

function jobs(): IJob[] {
  return [
    makeJob({ status: 'queued', queue_position: 2, started_at: null }),
    makeJob({
      status: 'running',
      resource: 'gpu',
      gpus: 2,
      gpu_ids: ['0', '1']
    }),
    makeJob({
      status: 'failed',
      exit_code: 1,
      finished_at: '2026-01-01T00:03:05Z',
      reason: 'out of memory'
    }),
    makeJob({ status: 'completed', finished_at: '2026-01-01T02:00:00Z' }),
    makeJob({
      status: 'stopped',
      resource: 'console',
      finished_at: '2026-01-01T00:00:09Z'
    })
  ];
}

function names(list: IJob[]): string[] {
  return list.map(j => j.name);
}

describe('every widget under a pseudo-locale', () => {
  beforeAll(() => {
    (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
    (window as any).requestAnimationFrame = (cb: () => void) =>
      setTimeout(cb, 0);
    (window as any).cancelAnimationFrame = (id: number) => clearTimeout(id);
    setTranslator(pseudoTranslator);
  });
  afterAll(() => setTranslator(null));

  it('translates the sidebar in every state', async () => {
    const server = new FakeServer();
    const list = jobs();
    server.routes['GET jobs'] = () => ({
      body: { jobs: list, total: 12 }
    });
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    const loading = await render(
      <JobsPanel model={model} actions={noActions} />
    );
    expect(untranslated(loading)).toEqual([]);
    await model.start();
    const ready = await render(<JobsPanel model={model} actions={noActions} />);
    expect(ready.querySelectorAll('.jp-MomoJobs-row').length).toBe(5);
    expect(untranslated(ready, names(list))).toEqual([]);
    model.filter = ['stopping'];
    const empty = await render(<JobsPanel model={model} actions={noActions} />);
    expect(untranslated(empty, names(list))).toEqual([]);
    model.dispose();

    const failing = new FakeServer();
    failing.routes['GET jobs'] = () => ({
      status: 500,
      body: { message: 'boom', code: 'internal_error' }
    });
    const broken = new JobsModel({ client: failing.client(), refreshMs: 0 });
    await broken.refresh();
    const error = await render(
      <JobsPanel model={broken} actions={noActions} />
    );
    expect(error.textContent).toContain('⟦The server failed⟧');
    expect(untranslated(error)).toEqual([]);

    const sidebar = new JobsSidebar(broken, noActions);
    expect(untranslated(sidebar.node)).toEqual([]);
    expect(sidebar.title.caption).toBe('⟦Jobs⟧');
  });

  it('translates the job view: header, results, metrics, log', async () => {
    for (const job of [
      ...jobs(),
      makeJob({
        resource: 'console',
        kernel: 'python3',
        kernel_id: 'k1',
        args: ['--lr', '0.1'],
        exit_code: 0,
        status: 'completed',
        finished_at: '2026-01-01T00:00:30Z'
      })
    ]) {
      const header = await render(
        <JobHeader
          job={job}
          jobId={job.id}
          gone={true}
          error={null}
          actions={noActions}
        />
      );
      expect(untranslated(header, [job.name, job.id])).toEqual([]);
      const buttons = await render(
        <JobLifeButtons job={job} actions={noActions} />
      );
      expect(untranslated(buttons, [job.name])).toEqual([]);
    }
    const loading = await render(
      <JobHeader
        job={null}
        jobId="j9"
        gone={false}
        error={null}
        actions={noActions}
      />
    );
    expect(untranslated(loading, ['j9'])).toEqual([]);

    const results = await render(
      <ResultsList
        results={{
          dir: 'dir/results',
          files: [
            { path: 'dir/results/my_model.keras', size: 2048, modified: '' }
          ]
        }}
        job={null}
        actions={noActions}
        onRefresh={() => undefined}
      />
    );
    expect(untranslated(results)).toEqual([]);
    const noResults = await render(
      <ResultsList
        results={null}
        job={null}
        actions={noActions}
        onRefresh={() => undefined}
      />
    );
    expect(untranslated(noResults)).toEqual([]);

    for (const data of [
      null,
      { x: 'time' as const, series: [], other: [] },
      {
        x: 'epoch' as const,
        series: [],
        other: [{ name: 'optimizer', time: 3.5, value: 'adadelta' }]
      }
    ]) {
      const model = {
        data,
        x: data?.x ?? 'time',
        smoothing: 0.6,
        logScale: false,
        error: null
      } as unknown as MetricsModel;
      const metrics = await render(
        <MetricsPanel model={model} onDownloadCsv={() => undefined} />
      );
      expect(untranslated(metrics)).toEqual([]);
    }

    const follower = {
      terminal: new TerminalBuffer({ maxLines: 3 }),
      changed: new Signal<any, void>({}),
      skipped: 5,
      error: null,
      eof: false
    };
    const log = new LogView({
      follower: follower as unknown as LogFollower,
      downloadUrl: 'log?format=raw'
    });
    await act(async () => {
      Widget.attach(log, document.body);
      await new Promise(resolve => setTimeout(resolve, 10));
    });
    (log.node.querySelector('.jp-MomoJobs-jump') as HTMLElement).hidden = false;
    expect(untranslated(log.node)).toEqual([]);
    log.dispose();
  });

  it("translates the chart's axes and legend", () => {
    for (const kind of ['time', 'step', 'epoch'] as const) {
      const options = makeOptions(
        {
          name: 'loss',
          xKind: kind,
          x: [0, 90, 3700],
          y: [1, 0.5, 0.25],
          raw: [1, 0.5, 0.25],
          logScale: false
        },
        400,
        { text: '#000', grid: '#ccc', line: '#00f' }
      );
      expect(xLabel(kind)).toMatch(/^⟦.*⟧$/);
      const labels = options.series.map(s => String(s.label));
      expect(labels.every(l => plainWords(l, DATA) === null)).toBe(true);
      const ticks = (options.axes![0].values as any)(null, [0, 90, 3700]);
      expect(ticks.filter((t: string) => plainWords(t, DATA) !== null)).toEqual(
        []
      );
    }
  });

  it('translates the Create Job dialog in every state of the GPUs', async () => {
    const gpus: IResources = {
      backend: 'local',
      gpus: [
        { index: '0', name: 'Tesla T4', memory: 16e9, holder: null },
        { index: '1', name: 'Tesla T4', memory: 16e9, holder: 'job1' }
      ],
      cpu_slots: { total: 2, used: 1 },
      queues: { cpu: 0, gpu: 3 }
    };
    const none: IResources = { ...gpus, gpus: [] };
    for (const resources of [
      null,
      new ApiError('boom', 500, 'internal_error'),
      gpus,
      none
    ]) {
      const form = await render(
        <CreateJobForm
          script="dir/train.py"
          placeholderName="train-1"
          resources={resources}
          kernels={[{ name: 'python3', displayName: 'Python 3 (ipykernel)' }]}
          initial={{
            resource: 'gpu',
            name: '',
            gpus: 1,
            args: '',
            kernel: 'python3',
            sweep: resources === gpus,
            grid: 'lr=0.1,0.01',
            timeLimit: '2h',
            retries: 1
          }}
          onChange={() => undefined}
        />
      );
      // the grid's text and its example are parameters and values: data
      expect(
        untranslated(form, ['train-1', 'lr=0.1,0.01', 'batch_size=64,128'])
      ).toEqual([]);
    }
  });

  it('translates the toasts, the errors and the commands', () => {
    const shown: string[] = [];
    const spies = (['success', 'error', 'warning'] as const).map(kind =>
      jest
        .spyOn(Notification, kind)
        .mockImplementation((message: string, options?: any) => {
          shown.push(message);
          for (const action of (options as any)?.actions ?? []) {
            shown.push(action.label, action.caption);
          }
          return '';
        })
    );
    const ctx: any = { app: { commands: { execute: jest.fn() } } };
    const list = jobs();
    for (const job of list) {
      notifyFinished(ctx, job);
    }
    spies.forEach(s => s.mockRestore());
    expect(shown.length).toBeGreaterThan(6);
    expect(shown.filter(t => plainWords(t, names(list)) !== null)).toEqual([]);

    for (const code of ['no_gpus', 'notebook_malformed', 'job_not_found']) {
      const text = errorText(new ApiError('detail', 400, code));
      expect(plainWords(text, ['detail'])).toBeNull();
    }

    const commands = new CommandRegistry();
    addCommands(
      { app: { commands, shell: {} }, model: {}, tracker: {} } as any,
      { id: 'momo-jobs-sidebar' } as any
    );
    const ids = commands
      .listCommands()
      .filter(id => id.startsWith('momo-jobs:'));
    expect(ids.length).toBeGreaterThanOrEqual(8);
    for (const id of ids) {
      for (const args of [{}, { isPalette: true }]) {
        expect(plainWords(commands.label(id, args), [])).toBeNull();
        expect(plainWords(commands.caption(id, args), [])).toBeNull();
      }
    }
  });

  it('translates the Runs view: table, sweep groups, columns, overlay', async () => {
    const runs = [
      makeRun({
        name: 'lr-0.1',
        sweep_id: 'sw1',
        status: 'running',
        params: { lr: '0.1', batch_size: '64' },
        metrics: {
          loss: summary([2, 0.9]),
          accuracy: summary([0.5, 0.8]),
          'sys/cpu_percent': summary([90, 120])
        },
        peak: { cpu_percent: 120, rss_bytes: 2e9, gpu_memory_bytes: null }
      }),
      makeRun({
        name: 'lr-0.01',
        sweep_id: 'sw1',
        status: 'failed',
        params: { lr: '0.01', batch_size: '64' },
        metrics: { loss: summary([2, 0.3]) }
      }),
      makeRun({ name: 'baseline', status: 'queued', started_at: null })
    ];
    // jsdom draws no canvas: the overlay's charts get a context that does nothing
    const canvas = jest
      .spyOn(HTMLCanvasElement.prototype, 'getContext')
      .mockImplementation(
        () =>
          new Proxy({} as any, {
            get: (target, key) =>
              key in target
                ? target[key]
                : key === 'measureText'
                  ? () => ({ width: 0 })
                  : () => undefined
          })
      );
    (globalThis as any).Path2D ??= class {
      moveTo(): void {}
      lineTo(): void {}
      rect(): void {}
      arc(): void {}
      closePath(): void {}
      bezierCurveTo(): void {}
    };
    const server = new FakeServer();
    serveRuns(server, () => runs);
    serveCompare(server, () =>
      runs.map(r => ({
        job: r.id,
        name: 'loss',
        x: [0, 1],
        y: [1, 0.5],
        count: 2
      }))
    );
    const jobs = new JobsModel({ client: server.client(), refreshMs: 0 });
    const model = new RunsModel({ jobs, pollMs: 0, batchMs: 0 });
    const data = [
      'lr',
      'lr-0.1',
      'lr-0.01',
      'baseline',
      ...runs.map(r => r.id)
    ];

    const view = new RunsView({
      model,
      actions: { ...noActions, openRuns: () => undefined } as any
    });
    await act(async () => {
      Widget.attach(view, document.body);
      await new Promise(resolve => setTimeout(resolve, 10));
    });
    expect(untranslated(view.node, data)).toEqual([]); // loading
    await act(async () => {
      await model.refresh();
      await flush();
    });
    expect(view.node.querySelector('.jp-MomoRuns-group')).not.toBeNull();
    expect(untranslated(view.node, data)).toEqual([]);
    expect(view.title.label).toBe('⟦Runs⟧');
    expect(plainWords(view.title.caption, [])).toBeNull();
    await act(async () => {
      model.selection.set(runs.map(r => r.id));
      await new Promise(resolve => setTimeout(resolve, 10));
      await view.compare.refresh();
      await flush();
    });
    expect(view.node.innerHTML).toContain(
      '⟦Chart of %1 for %2 runs⟧'.replace('%1', 'loss').replace('%2', '3')
    );
    expect(view.node.textContent).toContain('⟦running⟧');
    expect(untranslated(view.node, data)).toEqual([]);
    await act(async () => {
      model.filter = 'no-such-run';
      await flush();
    });
    expect(untranslated(view.node, data)).toEqual([]);
    for (const column of model.columns) {
      expect(plainWords(column.label, [...DATA, ...data])).toBeNull();
      expect(plainWords(column.title, [...DATA, ...data])).toBeNull();
    }
    await act(async () => view.dispose());

    const empty = new RunsModel({
      jobs: new JobsModel({ client: server.client(), refreshMs: 0 }),
      pollMs: 0,
      batchMs: 0
    });
    serveRuns(server, () => []);
    await empty.refresh();
    const none = new RunsView({ model: empty, actions: noActions });
    await act(async () => {
      Widget.attach(none, document.body);
      await new Promise(resolve => setTimeout(resolve, 10));
    });
    expect(untranslated(none.node)).toEqual([]);
    await act(async () => none.dispose());

    const commands = new CommandRegistry();
    addRunsCommands(
      { app: { commands, shell: {} }, model: jobs } as any,
      new WidgetTracker({ namespace: 'momo-runs-test' }) as any
    );
    const ids = commands
      .listCommands()
      .filter(id => id.startsWith('momo-jobs:'));
    expect(ids.length).toBeGreaterThanOrEqual(1);
    for (const id of ids) {
      expect(plainWords(commands.label(id, {}), [])).toBeNull();
      expect(plainWords(commands.caption(id, {}), [])).toBeNull();
    }
    canvas.mockRestore();
  });

  it('translates who holds each GPU, and a job’s attempts and time left', async () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    const holders = await render(
      <GpuHolders
        now={now}
        jobs={id =>
          id === 'j1' ? makeJob({ id: 'j1', name: 'train-3' }) : undefined
        }
        gpus={[
          { index: '0', name: 'Tesla T4', memory: null, holder: 'j1' },
          {
            index: '1',
            name: 'Tesla T4',
            memory: null,
            holder: null,
            held_by: { user: 'user2', since: '2026-12-01T10:00:00Z', job: null }
          },
          {
            index: '2',
            name: 'Tesla T4',
            memory: null,
            holder: null,
            held_by: { user: null, since: null, job: null }
          },
          { index: '3', name: 'Tesla T4', memory: null, holder: null }
        ]}
      />
    );
    expect(holders.querySelectorAll('li').length).toBe(4);
    expect(untranslated(holders, ['train-3'])).toEqual([]);

    const retried = makeJob({
      status: 'running',
      attempt: 2,
      retries: 2,
      time_limit: 3600,
      deadline: '2099-01-01T00:00:00Z',
      attempts: [
        {
          attempt: 1,
          exit_code: 1,
          reason: 'boom',
          started_at: '2026-01-01T00:00:00Z',
          finished_at: '2026-01-01T00:01:00Z'
        }
      ]
    });
    const header = await render(
      <JobHeader
        job={retried}
        jobId={retried.id}
        gone={false}
        error={null}
        actions={noActions}
      />
    );
    expect(untranslated(header, [retried.name, retried.id])).toEqual([]);
    const server = new FakeServer();
    server.routes['GET jobs'] = () => ({ body: { jobs: [retried], total: 1 } });
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.start();
    const panel = await render(<JobsPanel model={model} actions={noActions} />);
    expect(untranslated(panel, [retried.name])).toEqual([]);
    model.dispose();
  });
});
