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

/** A Keras-like run: a progress bar rewritten with \b and \r, per-epoch metrics. */
const DEMO_CODE = [
  'import json, math, sys, time',
  'print(json.dumps({"metric": "optimizer", "value": "adadelta"}), flush=True)',
  'width, batches, shown = 30, 20, 0',
  'for epoch in range(1, 9):',
  '    print(f"\\x1b[1mEpoch {epoch}/8\\x1b[0m", flush=True)',
  '    for b in range(1, batches + 1):',
  '        loss = 2.3 * math.exp(-((epoch - 1) * batches + b) / 40) + 0.03',
  '        done = b * width // batches',
  '        bar = f"{b}/{batches} [" + "=" * done + ">" * (done < width) + "." * (width - done - 1) + f"] - 3ms/step - loss: {loss:.4f}"',
  '        sys.stdout.write("\\b" * shown + "\\r" + bar)',
  '        sys.stdout.flush()',
  '        shown = len(bar)',
  '        time.sleep(0.02)',
  '    acc = 1 - loss / 2.5',
  '    sys.stdout.write("\\n")',
  '    shown = 0',
  '    for name, value in [("loss", loss), ("accuracy", acc), ("val_loss", loss * 0.9), ("val_accuracy", min(0.995, acc + 0.01))]:',
  '        print(json.dumps({"metric": name, "value": value, "epoch": epoch}), flush=True)',
  'import os',
  'os.makedirs("results", exist_ok=True)',
  'with open("results/my_model.keras", "wb") as f:',
  '    f.write(bytes(4096))',
  'print("\\x1b[32mSaved results/my_model.keras\\x1b[0m", flush=True)'
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

/** Close the toasts, so that screenshots show the views beneath. */
async function dismissToasts(page: IJupyterLabPageFixture): Promise<void> {
  await page
    .locator('.Toastify__close-button')
    .evaluateAll(buttons => buttons.forEach(b => (b as HTMLElement).click()));
  await expect(page.locator('.Toastify__toast')).toHaveCount(0);
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

  test.describe('MNIST tutorial', () => {
    // requests sent through a service worker would escape page.route
    test.use({ serviceWorkers: 'block' });

  test('The MNIST tutorial card asks for a folder and opens the notebook', async ({ page, tmpPath }) => {
    // the server's copy and data preparation are its own tests: answer for it here
    const target = `${tmpPath}/mnist-tutorial/How_Train_Model.ipynb`;
    await page.contents.createDirectory(`${tmpPath}/mnist-tutorial`);
    await upload(page, target, notebook('print("tutorial")'));
    let asked = 0;
    await page.route(/\/momo-jobs\/api\/examples/, async route => {
      asked++;
      await route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ notebook: target }) });
    });
    await page.locator('.jp-LauncherCard', { hasText: 'MNIST training tutorial' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('input')).toHaveValue(/mnist-tutorial$/);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await expect(page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'How_Train_Model.ipynb' })).toBeVisible();
    expect(asked).toBe(1);
  });
  });

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
    const jobRow = sidebar.locator('.jp-MomoJobs-row', { hasText: 'ui-train' }).first();
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

  test('Create Job from the file browser, stop it from the sidebar', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/sleepy.py`, 'import time\nprint("sleeping", flush=True)\ntime.sleep(600)\n');
    await page.filebrowser.openDirectory(tmpPath);
    await page.locator('.jp-DirListing-item', { hasText: 'sleepy.py' }).click({ button: 'right' });
    await page.locator('.lm-Menu-item', { hasText: 'Create Job' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('sleepy.py');
    await dialog.getByLabel('CPU machine').check();
    await dialog.getByLabel('Name').fill('ui-sleepy');
    await dialog.getByLabel('Script arguments').fill('--epochs 2 "a b"');
    await dialog.getByRole('button', { name: 'Create' }).click();
    const sidebar = page.locator('#momo-jobs-sidebar');
    await expect(sidebar).toBeVisible();
    // newest first: a retry's job comes before the first try's
    const jobRow = sidebar.locator('.jp-MomoJobs-row', { hasText: 'ui-sleepy' }).first();
    await expect(jobRow).toHaveAttribute('data-status', 'running', { timeout: 30000 });
    await expect(jobRow.locator('.jp-MomoJobs-time')).not.toBeEmpty();
    await jobRow.getByRole('button', { name: /Open job/ }).click();
    const header = page.locator('.jp-MomoJobs-jobHeader', { hasText: 'ui-sleepy' });
    await expect(header.locator('.jp-MomoJobs-fact', { hasText: 'Arguments' })).toContainText(
      '--epochs 2 "a b"'
    );
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

    // the job view comes back on reload
    await page.waitForTimeout(2000); // the workspace is saved shortly after a change
    await page.evaluate(() => window.location.reload());
    await expect(page.locator(`#momo-job-${id} .jp-MomoJobs-logScroll`)).toContainText('about to fail');
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

  test('Open console attaches to a console job\'s kernel', async ({ page, tmpPath }) => {
    await upload(page, `${tmpPath}/console_train.py`, 'model_accuracy = 0.99\nprint("trained", flush=True)\n');
    const id = await submit(page, `${tmpPath}/console_train.py`, 'console', 'ui-console');
    await page.evaluate(id => (window as any).jupyterapp.commands.execute('momo-jobs:open-job', { id }), id);
    const view = page.locator(`#momo-job-${id}`);
    await expect(view.locator('.jp-MomoJobs-logScroll')).toContainText('trained', { timeout: 60000 });
    const open = view.getByRole('button', { name: /Open console/ });
    await expect(open).toBeEnabled();
    await open.click();
    const console = page.locator('.jp-CodeConsole');
    await expect(console).toBeVisible();
    const prompt = console.locator('.jp-CodeConsole-promptCell .cm-content');
    await prompt.click();
    await page.keyboard.type('print(model_accuracy * 100)');
    await page.keyboard.press('Shift+Enter');
    await expect(console.locator('.jp-OutputArea-output', { hasText: '99.0' })).toBeVisible({ timeout: 30000 });
    await stopJob(page, id);
  });

  test('Screenshots: toolbar, sidebar, job view (light and dark)', async ({ page }) => {
    const dir = 'mnist-tutorial';
    await page.contents.createDirectory(dir);
    await upload(page, `${dir}/How_Train_Model.ipynb`, notebook(DEMO_CODE));
    await upload(page, `${dir}/wait.py`, 'import time\nprint("waiting", flush=True)\ntime.sleep(600)\n');
    await page.notebook.openByPath(`${dir}/How_Train_Model.ipynb`);
    const id = await submit(page, `${dir}/How_Train_Model.ipynb`, 'cpu', 'mnist-classic');
    const waiting: string[] = [];
    try {
      for (const n of [1, 2, 3]) {
        waiting.push(await submit(page, `${dir}/wait.py`, 'gpu', `mnist-gpu-${n}`));
      }
      await openSidebar(page);
      await expect(row(page, id)).toHaveAttribute('data-status', 'completed', { timeout: 60000 });
      await expect(row(page, waiting[2])).toHaveAttribute('data-status', 'queued');
      await dismissToasts(page);

      await page.locator('.jp-NotebookPanel-toolbar').screenshot({ path: path.join(SCREENSHOTS, 'toolbar.png') });
      await page.locator('#momo-jobs-sidebar').screenshot({ path: path.join(SCREENSHOTS, 'sidebar.png') });

      await page.evaluate(id => (window as any).jupyterapp.commands.execute('momo-jobs:open-job', { id }), id);
      const view = page.locator(`#momo-job-${id}`);
      await expect(view.locator('.jp-MomoJobs-chart[data-metric="val_accuracy"]')).toHaveAttribute('data-points', '8');
      await expect(view.locator('.jp-MomoJobs-table')).toContainText('adadelta');
      await expect(view.locator('.jp-MomoJobs-files')).toContainText('my_model.keras');
      await expect(view.locator('.jp-MomoJobs-logScroll')).toContainText('20/20 [==============================] - 3ms/step');
      // the progress bar rewrote its line: one line per epoch, not per batch
      await expect(view.locator('.jp-MomoLog-line', { hasText: '/20 [' })).toHaveCount(8);
      await expect(view.locator('.jp-MomoJobs-chart[data-metric="optimizer"]')).toHaveCount(0);
      await view.getByLabel('smoothing').fill('0.6');
      await dismissToasts(page);
      await page.waitForTimeout(300);
      await page.locator('#jp-main-content-panel').screenshot({ path: path.join(SCREENSHOTS, 'job-view-light.png') });

      await page.theme.setDarkTheme();
      await page.waitForTimeout(500);
      await page.locator('#jp-main-content-panel').screenshot({ path: path.join(SCREENSHOTS, 'job-view-dark.png') });
      await page.locator('#momo-jobs-sidebar').screenshot({ path: path.join(SCREENSHOTS, 'sidebar-dark.png') });
      await page.theme.setLightTheme();

      // a saved model in the results is shown in the file browser
      await view.locator('.jp-MomoJobs-files').getByRole('button', { name: /my_model\.keras/ }).click();
      await expect(
        page.locator('.jp-DirListing-item.jp-mod-selected', { hasText: 'my_model.keras' })
      ).toBeVisible();
    } finally {
      for (const job of waiting) {
        await stopJob(page, job);
      }
    }
  });
});
