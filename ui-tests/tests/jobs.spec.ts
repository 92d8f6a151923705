/**
 * momo-jobs in a real JupyterLab and Chromium, against the real server
 * extension (two fake GPUs: MOMO_JOBS_GPUS=0,1, set by the server config).
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';
import * as path from 'path';

const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

const METRICS_CODE = [
  'import json, time',
  'print("\\x1b[32mstarting\\x1b[0m", flush=True)',
  'for step in range(5):',
  '    print(json.dumps({"metric": "loss", "value": 1.0 / (step + 1), "step": step}), flush=True)',
  '    print(json.dumps({"metric": "accuracy", "value": 0.5 + step / 10, "step": step}), flush=True)',
  '    time.sleep(0.3)',
  'print("training done", flush=True)'
].join('\n');

function notebook(source: string): string {
  return JSON.stringify({
    cells: [
      {
        cell_type: 'code',
        execution_count: null,
        id: 'c1',
        metadata: {},
        outputs: [],
        source
      }
    ],
    metadata: {
      kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

async function upload(page: IJupyterLabPageFixture, file: string, text: string): Promise<void> {
  await page.contents.uploadContent(text, 'text', file);
}

/** Submit a job through the command others can call (no dialog). */
async function submit(
  page: IJupyterLabPageFixture,
  script: string,
  resource: 'cpu' | 'gpu' | 'console',
  name?: string
): Promise<string> {
  return page.evaluate(
    async ({ script, resource, name }) => {
      const job = await (window as any).jupyterapp.commands.execute('momo-jobs:create-job', {
        path: script,
        resource,
        name,
        dialog: false
      });
      return job.id as string;
    },
    { script, resource, name }
  );
}

async function stopJob(page: IJupyterLabPageFixture, id: string): Promise<void> {
  await page.evaluate(
    id => (window as any).jupyterapp.commands.execute('momo-jobs:stop-job', { id }),
    id
  );
}

function row(page: IJupyterLabPageFixture, id: string): Locator {
  return page.locator(`.jp-MomoJobs-row[data-job-id="${id}"]`);
}

async function openSidebar(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('momo-jobs:show-jobs'));
  const sidebar = page.locator('#momo-jobs-sidebar');
  await expect(sidebar).toBeVisible();
  return sidebar;
}

test.describe('momo-jobs', () => {
  test.use({ autoGoto: true });

  test('Export to .py shows the script', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/export_me.ipynb`, notebook('x = 41\nprint(x + 1)'));
    await page.notebook.openByPath(`${tmpPath}/export_me.ipynb`);
    const button = page.locator('.jp-NotebookPanel-toolbar').getByRole('button', { name: /Export to \.py/ });
    await expect(button).toBeVisible();
    await button.click();
    const tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'export_me.py' });
    await expect(tab).toBeVisible();
    await expect(page.locator('.jp-FileEditor .cm-content')).toContainText('print(x + 1)');

    // exporting again asks before overwriting
    await page.notebook.activate('export_me.ipynb');
    await button.click();
    await expect(page.locator('.jp-Dialog')).toContainText('export_me.py exists');
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Overwrite' }).click();
    await expect(page.locator('.jp-Dialog')).toHaveCount(0);
  });

  test('Create Job on CPU: completes, with its log and a chart of its points', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/train.ipynb`, notebook(METRICS_CODE));
    await page.notebook.openByPath(`${tmpPath}/train.ipynb`);
    const toolbar = page.locator('.jp-NotebookPanel-toolbar');
    await toolbar.getByRole('button', { name: /Create Job/ }).click();

    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-MomoJobs-createForm')).toBeVisible();
    // the GPU choice is there (two GPUs), the number of GPUs asked for it
    await expect(dialog.getByLabel('GPU machine')).toBeEnabled();
    await dialog.getByLabel('CPU machine').check();
    await dialog.getByLabel('Name').fill('ui-train');
    await dialog.getByRole('button', { name: 'Create' }).click();

    const sidebar = page.locator('#momo-jobs-sidebar');
    await expect(sidebar).toBeVisible();
    const jobRow = sidebar.locator('.jp-MomoJobs-row', { hasText: 'ui-train' });
    await expect(jobRow).toBeVisible();
    await expect(jobRow).toHaveAttribute('data-status', 'completed', { timeout: 60000 });
    await expect(jobRow).toHaveClass(/jp-mod-selected/);

    await jobRow.getByRole('button', { name: /Open job/ }).click();
    const view = page.locator('.jp-MomoJobs-jobView').filter({ hasText: 'ui-train' });
    await expect(view.locator('.jp-MomoJobs-logScroll')).toContainText('training done');
    await expect(view.locator('.jp-MomoJobs-logScroll')).toContainText('starting');
    await expect(view.locator('.jp-MomoLog-fg2', { hasText: 'starting' })).toBeVisible();
    const chart = view.locator('.jp-MomoJobs-chart[data-metric="loss"]');
    await expect(chart).toHaveAttribute('data-points', '5');
    await expect(chart.locator('canvas')).toBeVisible();
    await expect(view.locator('.jp-MomoJobs-chart[data-metric="accuracy"]')).toHaveAttribute('data-points', '5');

    // the x-axis switches to step
    await view.getByLabel('x-axis').selectOption('step');
    await expect(chart).toHaveAttribute('data-points', '5');
  });

  test('Stop a running job from the sidebar', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/sleepy.py`, 'import time\nprint("sleeping", flush=True)\ntime.sleep(600)\n');
    const id = await submit(page, `${tmpPath}/sleepy.py`, 'cpu', 'ui-sleepy');
    const sidebar = await openSidebar(page);
    const jobRow = row(page, id);
    await expect(jobRow).toHaveAttribute('data-status', 'running', { timeout: 30000 });
    await expect(jobRow.locator('.jp-MomoJobs-time')).not.toBeEmpty();
    await jobRow.getByRole('button', { name: 'Stop job ui-sleepy' }).click();
    await expect(jobRow).toHaveAttribute('data-status', 'stopped', { timeout: 30000 });
    await expect(page.locator('.Toastify__toast', { hasText: 'ui-sleepy was stopped' })).toBeVisible();
    await expect(sidebar).toBeVisible();
  });

  test('A failing script raises a failure toast', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/broken.py`, 'print("about to fail", flush=True)\nraise SystemExit(3)\n');
    const id = await submit(page, `${tmpPath}/broken.py`, 'cpu', 'ui-broken');
    const toast = page.locator('.Toastify__toast', { hasText: 'ui-broken failed' });
    await expect(toast).toBeVisible({ timeout: 30000 });
    await toast.getByRole('button', { name: 'Open job' }).click();
    const view = page.locator(`#momo-job-${id}`);
    await expect(view.locator('.jp-MomoJobs-jobHeader')).toHaveAttribute('data-status', 'failed');
    await expect(view.locator('.jp-MomoJobs-logScroll')).toContainText('about to fail');
  });

  test('A third GPU job on two GPUs is queued with its position', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/gpu.py`, 'import os, time\nprint("GPU", os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)\ntime.sleep(600)\n');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      ids.push(await submit(page, `${tmpPath}/gpu.py`, 'gpu', `ui-gpu-${n}`));
    }
    try {
      await openSidebar(page);
      await expect(row(page, ids[0])).toHaveAttribute('data-status', 'running', { timeout: 30000 });
      await expect(row(page, ids[1])).toHaveAttribute('data-status', 'running', { timeout: 30000 });
      const third = row(page, ids[2]);
      await expect(third).toHaveAttribute('data-status', 'queued');
      await expect(third.locator('.jp-MomoJobs-statusText')).toHaveText('queued #1');
      const gpus = await Promise.all(ids.slice(0, 2).map(id => row(page, id).locator('.jp-MomoJobs-resource').textContent()));
      expect(gpus.sort()).toEqual(['GPU 0', 'GPU 1']);

      // freeing a GPU starts the queued job
      await stopJob(page, ids[0]);
      await expect(third).toHaveAttribute('data-status', 'running', { timeout: 30000 });
    } finally {
      for (const id of ids) {
        await stopJob(page, id);
      }
    }
  });

  test('Screenshots: toolbar, sidebar, job view (light and dark)', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/How_Train_Model.ipynb`, notebook(METRICS_CODE));
    await page.notebook.openByPath(`${tmpPath}/How_Train_Model.ipynb`);
    const id = await submit(page, `${tmpPath}/How_Train_Model.ipynb`, 'cpu', 'mnist-demo');
    await upload(page, `${tmpPath}/wait.py`, 'import time\nprint("waiting", flush=True)\ntime.sleep(600)\n');
    const waiting = await submit(page, `${tmpPath}/wait.py`, 'gpu', 'gpu-demo');
    try {
      await openSidebar(page);
      await expect(row(page, id)).toHaveAttribute('data-status', 'completed', { timeout: 60000 });
      await expect(row(page, waiting)).toHaveAttribute('data-status', 'running', { timeout: 30000 });

      await page.locator('.jp-NotebookPanel-toolbar').screenshot({ path: path.join(SCREENSHOTS, 'toolbar.png') });
      await page.locator('#momo-jobs-sidebar').screenshot({ path: path.join(SCREENSHOTS, 'sidebar.png') });

      await page.evaluate(id => (window as any).jupyterapp.commands.execute('momo-jobs:open-job', { id }), id);
      const view = page.locator(`#momo-job-${id}`);
      await expect(view.locator('.jp-MomoJobs-chart[data-metric="loss"]')).toHaveAttribute('data-points', '5');
      await page.waitForTimeout(300);
      await page.locator('#jp-main-content-panel').screenshot({ path: path.join(SCREENSHOTS, 'job-view-light.png') });

      await page.theme.setDarkTheme();
      await page.waitForTimeout(500);
      await page.locator('#jp-main-content-panel').screenshot({ path: path.join(SCREENSHOTS, 'job-view-dark.png') });
      await page.locator('#momo-jobs-sidebar').screenshot({ path: path.join(SCREENSHOTS, 'sidebar-dark.png') });
      await page.theme.setLightTheme();
    } finally {
      await stopJob(page, waiting);
    }
  });
});
