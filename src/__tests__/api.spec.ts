import {
  ACTIVE_STATUSES,
  ApiError,
  FINAL_STATUSES,
  isFinal,
  JOB_STATUSES,
  queryString
} from '../api';
import { FakeServer, makeJob } from './fakeserver';

describe('JobsClient', () => {
  it('builds URLs under the API prefix with queries', () => {
    const client = new FakeServer().client();
    expect(client.url('jobs', { limit: 5, status: undefined })).toBe(
      'http://localhost:8888/lab-base/momo-jobs/api/jobs?limit=5'
    );
  });

  describe('download URLs', () => {
    const expireXsrf = () => {
      document.cookie = '_xsrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/';
    };
    afterEach(expireXsrf);

    it('carry no token and no _xsrf without the cookie', () => {
      expireXsrf();
      const client = new FakeServer().client();
      expect(client.serverSettings.token).toBe('secret');
      const url = client.downloadUrl('jobs/a b/log', { format: 'raw' });
      expect(url).toBe(
        'http://localhost:8888/lab-base/momo-jobs/api/jobs/a b/log?format=raw'
      );
      expect(url).not.toContain('secret');
    });

    it('carry the _xsrf cookie as JupyterLab downloads do, never the token', () => {
      document.cookie = 'other=1; path=/';
      document.cookie = '_xsrf=2|ab|cd|17; path=/';
      const client = new FakeServer().client();
      const url = client.downloadUrl('jobs/a b/log', { format: 'raw' });
      expect(url).toBe(
        'http://localhost:8888/lab-base/momo-jobs/api/jobs/a b/log?format=raw&_xsrf=2%7Cab%7Ccd%7C17'
      );
      const query = new URL(url).searchParams;
      expect(query.get('_xsrf')).toBe('2|ab|cd|17');
      expect(query.get('format')).toBe('raw');
      expect(query.has('token')).toBe(false);
      expect(url).not.toContain('secret');
      document.cookie = 'other=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/';
    });
  });

  it('lists jobs with a status filter', async () => {
    const server = new FakeServer();
    const job = makeJob();
    server.routes['GET jobs'] = () => ({ body: { jobs: [job], total: 1 } });
    const list = await server.client().listJobs({
      status: ['queued', 'running'],
      limit: 10
    });
    expect(list.jobs[0].id).toBe(job.id);
    expect(server.requests[0].query.get('status')).toBe('queued,running');
    expect(server.requests[0].query.get('limit')).toBe('10');
  });

  it('posts JSON bodies', async () => {
    const server = new FakeServer();
    server.routes['POST jobs'] = r => ({ status: 201, body: makeJob(r.body) });
    const job = await server
      .client()
      .submit({ script: 'a/nb.ipynb', resource: 'gpu', gpus: 2, args: ['-x'] });
    expect(job.script).toBe('a/nb.ipynb');
    expect(server.requests[0].body).toEqual({
      script: 'a/nb.ipynb',
      resource: 'gpu',
      gpus: 2,
      args: ['-x']
    });
  });

  it('encodes the job id and the log query', async () => {
    const server = new FakeServer();
    server.routes['jobs/a%2Fb/log'] = () => ({
      body: { text: 'x', offset: 3, next_offset: 4, eof: false }
    });
    const chunk = await server
      .client()
      .log('a/b', { offset: 3, limit: 10, wait: 5 });
    expect(chunk.next_offset).toBe(4);
    const q = server.requests[0].query;
    expect([q.get('offset'), q.get('limit'), q.get('wait')]).toEqual([
      '3',
      '10',
      '5'
    ]);
  });

  it('asks metrics by x and names', async () => {
    const server = new FakeServer();
    server.routes['jobs/j/metrics'] = () => ({
      body: { x: 'step', series: [] }
    });
    await server
      .client()
      .metrics('j', { x: 'step', names: ['loss', 'acc'], max_points: 100 });
    const q = server.requests[0].query;
    expect(q.get('x')).toBe('step');
    expect(q.get('names')).toBe('loss,acc');
    expect(q.get('max_points')).toBe('100');
  });

  it('throws ApiError with the server message and status', async () => {
    const server = new FakeServer();
    server.routes['DELETE jobs/j'] = () => ({
      status: 409,
      body: { message: 'job j is running' }
    });
    const error = await server
      .client()
      .remove('j')
      .catch(e => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(409);
    expect(error.message).toBe('job j is running');
  });

  it('says when the server extension is missing', async () => {
    const server = new FakeServer();
    server.routes['jobs'] = () => ({
      status: 404,
      text: '<html><body>404 Not Found</body></html>'
    });
    await expect(server.client().listJobs()).rejects.toThrow(
      /server extension is not running/
    );
  });

  it('turns network failures into ApiError status 0', async () => {
    const server = new FakeServer();
    server.routes['resources'] = () => {
      throw new TypeError('Failed to fetch');
    };
    const error = await server
      .client()
      .resources()
      .catch(e => e);
    expect(error.status).toBe(0);
  });

  it('returns nothing for 204', async () => {
    const server = new FakeServer();
    server.routes['DELETE jobs/j'] = () => ({ status: 204 });
    await expect(server.client().remove('j')).resolves.toBeUndefined();
  });

  it('creates the MNIST example, exports notebooks, reads resources', async () => {
    const server = new FakeServer();
    server.routes['POST examples'] = r => ({
      status: 201,
      body: { notebook: `${r.body.dir}/How_Train_Model.ipynb` }
    });
    server.routes['POST export'] = r => ({
      status: 201,
      body: { path: r.body.path.replace('.ipynb', '.py') }
    });
    const client = server.client();
    await expect(client.createExample('mnist', 'work/mnist')).resolves.toEqual({
      notebook: 'work/mnist/How_Train_Model.ipynb'
    });
    expect(server.requests[0].body).toEqual({
      name: 'mnist',
      dir: 'work/mnist'
    });
    await expect(client.exportNotebook('a/nb.ipynb', true)).resolves.toEqual({
      path: 'a/nb.py'
    });
    expect(server.requests[1].body).toEqual({
      path: 'a/nb.ipynb',
      overwrite: true
    });
  });

  it('gets the metrics CSV as text', async () => {
    const server = new FakeServer();
    server.routes['jobs/j/metrics'] = () => ({ text: 'name,x,y\n' });
    await expect(server.client().metricsCsv('j')).resolves.toBe('name,x,y\n');
    expect(server.requests[0].query.get('format')).toBe('csv');
  });
});

describe('helpers', () => {
  it('queryString skips undefined values and encodes', () => {
    expect(queryString({})).toBe('');
    expect(queryString({ a: 'x y', b: undefined, c: 0 })).toBe('?a=x%20y&c=0');
  });

  it('isFinal', () => {
    expect(isFinal('completed')).toBe(true);
    expect(isFinal('stopping')).toBe(false);
  });

  it('lists every status once, the final ones last', () => {
    expect(new Set(JOB_STATUSES).size).toBe(JOB_STATUSES.length);
    expect(JOB_STATUSES.slice(-FINAL_STATUSES.length)).toEqual(FINAL_STATUSES);
    expect(ACTIVE_STATUSES.every(s => !isFinal(s))).toBe(true);
  });
});
