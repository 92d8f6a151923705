import { IJob, ILogChunk } from '../api';
import {
  compareJobs,
  isOlder,
  JobsModel,
  JobViewModel,
  LogFollower,
  MetricsModel,
  parseJobEvent
} from '../model';
import { FakeServer, flush, makeJob } from './fakeserver';

function listing(server: FakeServer, jobs: IJob[]): void {
  server.routes['GET jobs'] = () => ({ body: { jobs, total: jobs.length } });
}

describe('parseJobEvent', () => {
  it('reads the data at the top level (jupyter_server) or nested', () => {
    const job = makeJob();
    const top = parseJobEvent({
      schema_id: 'urn:momo-jobs:events:job',
      action: 'status',
      job_id: job.id,
      status: 'running',
      job
    });
    expect(top?.job?.id).toBe(job.id);
    const nested = parseJobEvent({
      data: { action: 'deleted', job_id: 'x', status: 'completed', job: null }
    });
    expect(nested?.action).toBe('deleted');
    expect(parseJobEvent({ action: 'other', job_id: 'x' })).toBeNull();
    expect(parseJobEvent(null)).toBeNull();
  });
});

describe('JobsModel', () => {
  it('loads the jobs newest first and reports its state', async () => {
    const server = new FakeServer();
    const older = makeJob({ created_at: '2026-01-01T00:00:00Z' });
    const newer = makeJob({ created_at: '2026-01-02T00:00:00Z' });
    listing(server, [older, newer]);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    expect(model.state).toBe('loading');
    await model.start();
    expect(model.state).toBe('ready');
    expect(model.jobs.map(j => j.id)).toEqual([newer.id, older.id]);
    expect(compareJobs(newer, older)).toBeLessThan(0);
    model.dispose();
  });

  it('reports an error state when the server fails', async () => {
    const server = new FakeServer();
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    expect(model.state).toBe('error');
    expect(model.error).toMatch(/no route/);
  });

  it('applies created, status and deleted events', async () => {
    const server = new FakeServer();
    listing(server, []);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    let changes = 0;
    model.changed.connect(() => changes++);
    const job = makeJob({ status: 'queued', queue_position: 1 });
    model.handleEvent({
      action: 'created',
      job_id: job.id,
      status: 'queued',
      job
    });
    expect(model.get(job.id)?.queue_position).toBe(1);
    expect(model.total).toBe(1);
    const running = {
      ...job,
      status: 'running' as const,
      queue_position: null
    };
    model.handleEvent({
      action: 'status',
      job_id: job.id,
      status: 'running',
      job: running
    });
    expect(model.get(job.id)?.status).toBe('running');
    model.handleEvent({
      action: 'deleted',
      job_id: job.id,
      status: 'running',
      job: null
    });
    expect(model.get(job.id)).toBeUndefined();
    expect(model.total).toBe(0);
    expect(changes).toBe(3);
  });

  it('fetches the job when an event carries none', async () => {
    const server = new FakeServer();
    const job = makeJob({ status: 'completed' });
    server.routes[`jobs/${job.id}`] = () => ({ body: job });
    listing(server, []);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    model.handleEvent({
      action: 'status',
      job_id: job.id,
      status: 'completed',
      job: null
    });
    await flush();
    expect(model.get(job.id)?.status).toBe('completed');
  });

  it('emits finished once when a job seen running ends', async () => {
    const server = new FakeServer();
    const job = makeJob({ status: 'running' });
    listing(server, [job]);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    const ended: string[] = [];
    model.finished.connect((_, j) => ended.push(`${j.id}:${j.status}`));
    const failed = { ...job, status: 'failed' as const, reason: 'boom' };
    model.handleEvent({
      action: 'status',
      job_id: job.id,
      status: 'failed',
      job: failed
    });
    model.handleEvent({
      action: 'status',
      job_id: job.id,
      status: 'failed',
      job: { ...failed, exit_code: 1 }
    });
    listing(server, [failed]);
    await model.refresh();
    expect(ended).toEqual([`${job.id}:failed`]);
  });

  it('notices an end missed by events on the safety refresh', async () => {
    const server = new FakeServer();
    const job = makeJob({ status: 'running' });
    listing(server, [job]);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    const ended: string[] = [];
    model.finished.connect((_, j) => ended.push(j.status));
    listing(server, [{ ...job, status: 'completed' }]);
    await model.refresh();
    expect(ended).toEqual(['completed']);
  });

  it('does not toast jobs that ended before the list was loaded', async () => {
    const server = new FakeServer();
    listing(server, [makeJob({ status: 'completed' })]);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    const ended: IJob[] = [];
    model.finished.connect((_, j) => ended.push(j));
    await model.refresh();
    expect(ended).toEqual([]);
  });

  it('keeps an event newer than a refresh answer in flight', async () => {
    const server = new FakeServer();
    const job = makeJob({ status: 'queued' });
    let release: () => void = () => undefined;
    server.routes['GET jobs'] = () =>
      new Promise(resolve => {
        release = () => resolve({ body: { jobs: [job], total: 1 } });
      });
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    const refreshing = model.refresh();
    await flush();
    const running = { ...job, status: 'running' as const };
    model.handleEvent({
      action: 'status',
      job_id: job.id,
      status: 'running',
      job: running
    });
    release();
    await refreshing;
    expect(model.get(job.id)?.status).toBe('running');
  });

  it('keeps a status newer than a late answer (a stop after its event)', async () => {
    const server = new FakeServer();
    const job = makeJob({ status: 'running' });
    listing(server, [job]);
    let answer: () => void = () => undefined;
    server.routes[`POST jobs/${job.id}/stop`] = () =>
      new Promise(resolve => {
        answer = () =>
          resolve({ status: 202, body: { ...job, status: 'stopping' } });
      });
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    const ended: string[] = [];
    model.finished.connect((_, j) => ended.push(j.status));
    const stopping = model.stop(job.id);
    await flush();
    model.handleEvent({
      action: 'status',
      job_id: job.id,
      status: 'stopped',
      job: { ...job, status: 'stopped' }
    });
    answer();
    await stopping;
    expect(model.get(job.id)?.status).toBe('stopped');
    expect(ended).toEqual(['stopped']);
  });

  it('filters by status and counts', async () => {
    const server = new FakeServer();
    const a = makeJob({ status: 'queued' });
    const b = makeJob({ status: 'completed' });
    listing(server, [a, b]);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    model.filter = ['queued'];
    expect(model.jobs.map(j => j.id)).toEqual([a.id]);
    expect(model.counts).toEqual({ queued: 1, completed: 1 });
    model.filter = [];
    expect(model.jobs.length).toBe(2);
  });

  it('stops, reruns and removes through the client', async () => {
    const server = new FakeServer();
    const job = makeJob({ status: 'running' });
    listing(server, [job]);
    server.routes[`POST jobs/${job.id}/stop`] = () => ({
      status: 202,
      body: { ...job, status: 'stopping' }
    });
    const copy = makeJob({ status: 'queued' });
    server.routes[`POST jobs/${job.id}/rerun`] = () => ({
      status: 201,
      body: copy
    });
    server.routes[`DELETE jobs/${job.id}`] = () => ({ status: 204 });
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.refresh();
    await model.stop(job.id);
    expect(model.get(job.id)?.status).toBe('stopping');
    await model.rerun(job.id);
    expect(model.get(copy.id)).toBeDefined();
    await model.remove(job.id);
    expect(model.get(job.id)).toBeUndefined();
  });

  it('refreshes on a timer once started, until disposed', async () => {
    jest.useFakeTimers();
    try {
      const server = new FakeServer();
      listing(server, []);
      const model = new JobsModel({ client: server.client(), refreshMs: 1000 });
      void model.start();
      jest.advanceTimersByTime(3100);
      expect(server.requests.length).toBe(4);
      model.dispose();
      jest.advanceTimersByTime(3000);
      expect(server.requests.length).toBe(4);
    } finally {
      jest.useRealTimers();
    }
  });
});

function logServer(chunks: ILogChunk[]): FakeServer {
  const server = new FakeServer();
  let i = 0;
  server.routes['jobs/j/log'] = () => ({
    body: chunks[Math.min(i++, chunks.length - 1)]
  });
  return server;
}

describe('LogFollower', () => {
  it('reads by offset until eof, long-polling once caught up', async () => {
    const server = logServer([
      { text: 'epoch 1\r', offset: 0, next_offset: 8, eof: false },
      { text: 'epoch 2\n', offset: 8, next_offset: 16, eof: false },
      { text: 'done\n', offset: 16, next_offset: 21, eof: true }
    ]);
    const follower = new LogFollower({
      client: server.client(),
      jobId: 'j',
      chunkBytes: 8,
      waitSeconds: 20
    });
    let changes = 0;
    follower.changed.connect(() => changes++);
    await follower.start();
    expect(follower.eof).toBe(true);
    expect(follower.offset).toBe(21);
    expect(follower.terminal.toPlainText()).toBe('epoch 2\ndone\n');
    const asked = server.requests.map(r => [
      r.query.get('offset'),
      r.query.get('wait')
    ]);
    // full chunks are read back to back; the short one means caught up
    expect(asked).toEqual([
      ['0', '0'],
      ['8', '0'],
      ['16', '0']
    ]);
    expect(changes).toBe(3);
  });

  it('waits on the server once it has read everything', async () => {
    const server = logServer([
      { text: 'a', offset: 0, next_offset: 1, eof: false },
      { text: '', offset: 1, next_offset: 1, eof: false },
      { text: '', offset: 1, next_offset: 1, eof: true }
    ]);
    const follower = new LogFollower({
      client: server.client(),
      jobId: 'j',
      waitSeconds: 25,
      idleMs: 1
    });
    await follower.start();
    expect(server.requests.map(r => r.query.get('wait'))).toEqual([
      '0',
      '25',
      '25'
    ]);
  });

  it('starts a huge log at its tail', async () => {
    const server = logServer([
      { text: 'head', offset: 0, next_offset: 4, eof: false, size: 1000 },
      { text: 'tail\n', offset: 900, next_offset: 1000, eof: true, size: 1000 }
    ]);
    const follower = new LogFollower({
      client: server.client(),
      jobId: 'j',
      tailBytes: 100
    });
    await follower.start();
    expect(follower.skipped).toBe(900);
    expect(server.requests[1].query.get('offset')).toBe('900');
    expect(follower.terminal.toPlainText()).toBe('tail\n');
  });

  it('retries after an error and clears it', async () => {
    const server = new FakeServer();
    let calls = 0;
    server.routes['jobs/j/log'] = () =>
      ++calls === 1
        ? { status: 500, body: { message: 'busy' } }
        : { body: { text: 'ok\n', offset: 0, next_offset: 3, eof: true } };
    const follower = new LogFollower({
      client: server.client(),
      jobId: 'j',
      retryMs: 1
    });
    const errors: (string | null)[] = [];
    follower.changed.connect(() => errors.push(follower.error));
    await follower.start();
    expect(errors).toEqual(['busy', null]);
    expect(follower.terminal.toPlainText()).toBe('ok\n');
  });

  it('stops on dispose', async () => {
    const server = logServer([
      { text: '', offset: 0, next_offset: 0, eof: false }
    ]);
    const follower = new LogFollower({
      client: server.client(),
      jobId: 'j',
      idleMs: 5
    });
    const done = follower.start();
    await new Promise(resolve => setTimeout(resolve, 20));
    follower.dispose();
    await done;
    expect(follower.isDisposed).toBe(true);
    const n = server.requests.length;
    expect(n).toBeLessThan(10);
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(server.requests.length).toBe(n);
  });
});

describe('MetricsModel', () => {
  it('fetches by x-axis and folds concurrent refreshes into one more', async () => {
    const server = new FakeServer();
    server.routes['jobs/j/metrics'] = r => ({
      body: {
        x: r.query.get('x'),
        series: [{ name: 'loss', x: [0, 1], y: [1, 0.5], count: 2 }]
      }
    });
    const model = new MetricsModel({
      client: server.client(),
      jobId: 'j',
      maxPoints: 500
    });
    await Promise.all([model.refresh(), model.refresh(), model.refresh()]);
    expect(server.requests.length).toBe(2);
    expect(server.requests[0].query.get('max_points')).toBe('500');
    expect(model.data?.series[0].name).toBe('loss');
    model.x = 'epoch';
    expect(model.data).toBeNull();
    await flush();
    await flush();
    expect(model.data?.x).toBe('epoch');
  });

  it('keeps options and reports errors', async () => {
    const server = new FakeServer();
    const model = new MetricsModel({ client: server.client(), jobId: 'j' });
    model.smoothing = 2;
    expect(model.smoothing).toBe(0.99);
    model.logScale = true;
    await model.refresh();
    expect(model.error).toMatch(/no route/);
  });

  it('throttles scheduled refreshes', async () => {
    jest.useFakeTimers();
    try {
      const server = new FakeServer();
      server.routes['jobs/j/metrics'] = () => ({
        body: { x: 'time', series: [] }
      });
      const model = new MetricsModel({
        client: server.client(),
        jobId: 'j',
        minIntervalMs: 1000
      });
      model.schedule();
      model.schedule();
      await jest.advanceTimersByTimeAsync(0);
      expect(server.requests.length).toBe(1);
      model.schedule();
      await jest.advanceTimersByTimeAsync(500);
      expect(server.requests.length).toBe(1);
      await jest.advanceTimersByTimeAsync(600);
      expect(server.requests.length).toBe(2);
      model.dispose();
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('JobViewModel', () => {
  it('follows the job through the jobs model and refreshes results at the end', async () => {
    const server = new FakeServer();
    const job = makeJob({ id: 'j', status: 'running' });
    listing(server, [job]);
    server.routes['jobs/j'] = () => ({ body: job });
    server.routes['jobs/j/log'] = () => ({
      body: { text: 'hi\n', offset: 0, next_offset: 3, eof: true }
    });
    server.routes['jobs/j/metrics'] = () => ({
      body: { x: 'time', series: [] }
    });
    let resultCalls = 0;
    server.routes['jobs/j/results'] = () => {
      resultCalls++;
      return { body: { dir: 'dir/results', files: [] } };
    };
    const jobs = new JobsModel({ client: server.client(), refreshMs: 0 });
    await jobs.refresh();
    const view = new JobViewModel({ jobs, jobId: 'j' });
    await view.start();
    expect(view.job?.status).toBe('running');
    expect(resultCalls).toBe(1);
    jobs.handleEvent({
      action: 'status',
      job_id: 'j',
      status: 'completed',
      job: { ...job, status: 'completed' }
    });
    expect(view.job?.status).toBe('completed');
    await flush();
    expect(resultCalls).toBe(2);
    jobs.handleEvent({
      action: 'deleted',
      job_id: 'j',
      status: 'completed',
      job: null
    });
    expect(view.gone).toBe(true);
    view.dispose();
    expect(view.log.isDisposed).toBe(true);
  });

  it('marks an unknown job as gone', async () => {
    const server = new FakeServer();
    listing(server, []);
    const jobs = new JobsModel({ client: server.client(), refreshMs: 0 });
    const view = new JobViewModel({ jobs, jobId: 'nope' });
    await view.start();
    expect(view.gone).toBe(true);
    expect(view.error).toMatch(/no route/);
    view.dispose();
  });
});

describe('isOlder', () => {
  it('lets a retried attempt go back to queued but never a final job', () => {
    const running = makeJob({ status: 'running', attempt: 1 });
    const retried = { ...running, status: 'queued' as const, attempt: 2 };
    const staleQueued = { ...running, status: 'queued' as const, attempt: 1 };
    const done = { ...running, status: 'completed' as const, attempt: 2 };
    expect(isOlder(retried, running)).toBe(false);
    expect(isOlder(staleQueued, running)).toBe(true);
    expect(isOlder(running, retried)).toBe(true);
    expect(isOlder(done, retried)).toBe(false);
    expect(isOlder({ ...done, status: 'queued', attempt: 3 }, done)).toBe(true);
    expect(isOlder({ ...done, status: 'running', attempt: 3 }, done)).toBe(
      true
    );
  });

  it('keeps a job model on the newest attempt', async () => {
    const server = new FakeServer();
    const running = makeJob({ status: 'running', attempt: 1 });
    listing(server, [running]);
    const model = new JobsModel({ client: server.client(), refreshMs: 0 });
    await model.start();
    model.handleEvent({
      action: 'status',
      job_id: running.id,
      status: 'queued',
      job: { ...running, status: 'queued', attempt: 2 }
    });
    expect(model.get(running.id)?.status).toBe('queued');
    model.handleEvent({
      action: 'status',
      job_id: running.id,
      status: 'running',
      job: { ...running, status: 'running', attempt: 1 }
    });
    expect(model.get(running.id)?.attempt).toBe(2);
    model.dispose();
  });
});
