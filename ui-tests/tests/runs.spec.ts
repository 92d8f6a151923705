/**
 * The Runs view in a real JupyterLab and Chromium, against the real server
 * extension: jobs of a small learning-rate sweep, the runs table sorted by
 * best loss, three runs selected and overlaid; telemetry in the job view.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';
import * as path from 'path';

const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

/** A training loop whose loss depends on --lr: 0.01 learns best, 1.0 worst. */
const TRAIN = [
  'import argparse, json, math, time',
  'parser = argparse.ArgumentParser()',
  'parser.add_argument("--lr", type=float, default=0.1)',
  'parser.add_argument("--steps", type=int, default=12)',
  'args = parser.parse_args()',
  'quality = abs(math.log10(args.lr) + 2) + 0.2',
  'for step in range(args.steps):',
  '    loss = quality + 2.0 / (step + 1)',
  '    print(json.dumps({"metric": "loss", "value": loss, "step": step}), flush=True)',
  '    print(json.dumps({"metric": "accuracy", "value": 1 / (1 + loss), "step": step}), flush=True)',
  '    time.sleep(0.1)',
  ''
].join('\n');

const RATES = ['1.0', '0.1', '0.01', '0.003'];

async function submit(
  page: IJupyterLabPageFixture,
  script: string,
  name: string,
  args: string[],
  resource: 'cpu' | 'gpu' = 'cpu'
): Promise<string> {
  return page.evaluate(
    async ({ script, name, args, resource }) => {
      const job = await (window as any).jupyterapp.commands.execute('momo-jobs:create-job', {
        path: script,
        resource,
        name,
        args,
        dialog: false
      });
      return job.id as string;
    },
    { script, name, args, resource }
  );
}

function sidebarRow(page: IJupyterLabPageFixture, id: string): Locator {
  return page.locator(`#momo-jobs-sidebar .jp-MomoJobs-row[data-job-id="${id}"]`);
}

test.describe('Runs view', () => {
  test.use({ autoGoto: true });

  test('sort by best loss, select 3 runs, their losses overlaid', async ({ page, tmpPath }) => {
    await page.contents.uploadContent(TRAIN, 'text', `${tmpPath}/sweep_train.py`);
    // names of their own: a retry runs against the same server
    const tag = `lr${Date.now().toString(36)}`;
    const ids: string[] = [];
    for (const lr of RATES) {
      ids.push(await submit(page, `${tmpPath}/sweep_train.py`, `${tag}-${lr}`, ['--lr', lr]));
    }
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('momo-jobs:show-jobs'));
    for (const id of ids) {
      await expect(sidebarRow(page, id)).toHaveAttribute('data-status', 'completed', { timeout: 60000 });
    }

    // opened from the sidebar's button
    await page.locator('#momo-jobs-sidebar').getByRole('button', { name: /Open the Runs view/ }).click();
    const view = page.locator('.jp-MomoRuns-view');
    await expect(view).toBeVisible();
    const grid = view.getByRole('grid', { name: 'Runs' });
    await view.getByLabel('Filter').fill(tag);
    const rows = grid.locator('.jp-MomoRuns-row[data-job-id]');
    await expect(rows).toHaveCount(4);
    // the params and the metric columns come from the server's runs table
    await expect(grid.locator('[role="columnheader"][data-column="param:lr"]')).toBeVisible();

    await grid.locator('[role="columnheader"][data-column="best:loss"] button').click();
    await expect(grid.locator('[role="columnheader"][data-column="best:loss"]')).toHaveAttribute(
      'aria-sort',
      'ascending'
    );
    const names = rows.locator('[data-column="name"]');
    await expect(names).toHaveText([`${tag}-0.01`, `${tag}-0.003`, `${tag}-0.1`, `${tag}-1.0`]);
    const best = await rows.locator('[data-column="best:loss"]').allTextContents();
    const values = best.map(Number);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    // scrolled sideways to the last column, each run's name stays in view beside its checkbox
    await grid.evaluate(node => (node.scrollLeft = node.scrollWidth));
    const gridBox = (await grid.boundingBox())!;
    const nameBox = (await names.nth(0).boundingBox())!;
    expect(nameBox.x).toBeGreaterThanOrEqual(gridBox.x);
    expect(nameBox.x).toBeLessThan(gridBox.x + 40);
    await expect(names.nth(0)).toBeVisible();
    await grid.evaluate(node => (node.scrollLeft = 0));

    // the three best: a click, then a shift-click
    await rows.nth(0).locator('[data-column="name"]').click();
    await rows.nth(2).locator('[data-column="name"]').click({ modifiers: ['Shift'] });
    await expect(grid.locator('.jp-MomoRuns-row.jp-mod-selected')).toHaveCount(3);

    const chart = view.locator('.jp-MomoRuns-overlay[data-metric="loss"]');
    await expect(chart).toHaveAttribute('data-lines', '3');
    await expect(chart.locator('canvas')).toBeVisible();
    const legend = chart.locator('.u-legend .u-series');
    // the x-axis, then one entry per run, named
    await expect(legend).toHaveCount(4);
    await expect(legend.nth(1)).toContainText(`${tag}-0.01`);
    await expect(legend.nth(2)).toContainText(`${tag}-0.003`);
    await expect(legend.nth(3)).toContainText(`${tag}-0.1`);
    // the lines were drawn: the canvas is not blank
    const inked = await chart.locator('canvas').evaluate((canvas: HTMLCanvasElement) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) {
        n += data[i] > 0 ? 1 : 0;
      }
      return n;
    });
    expect(inked).toBeGreaterThan(500);

    // hovering shows every run's value at that step
    // out of the chart, the legend holds each run's last value
    for (const i of [1, 2, 3]) {
      await expect(legend.nth(i).locator('.u-value')).toHaveText(/^\d/);
    }
    await view.getByLabel('x-axis').selectOption('step');
    await expect(legend.nth(0)).toContainText('step'); // the chart of the new axis
    await expect(chart).toHaveAttribute('data-lines', '3');
    const over = chart.locator('.u-over');
    await over.scrollIntoViewIfNeeded();
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width * 0.5, y: box.height / 2 } });
    await over.hover({ position: { x: box.width * 0.55, y: box.height / 2 } });
    // a step in the middle is hovered: every run's value at that step
    await expect(legend.nth(0).locator('.u-value')).toHaveText(/^([5-8])$/);
    for (const i of [1, 2, 3]) {
      await expect(legend.nth(i).locator('.u-value')).toHaveText(/^\d/);
    }

    // the sidebar shares the selection: a ctrl-click there adds the fourth run
    await sidebarRow(page, ids[0]).click({ modifiers: ['Control'] });
    await expect(chart).toHaveAttribute('data-lines', '4');
    await expect(page.locator('#momo-jobs-sidebar .jp-MomoJobs-selectionBar')).toContainText('4');
    await sidebarRow(page, ids[0]).click({ modifiers: ['Control'] });
    await expect(chart).toHaveAttribute('data-lines', '3');

    await over.hover({ position: { x: box.width * 0.55, y: box.height / 2 } });
    await page.locator('.Toastify__close-button').evaluateAll(buttons =>
      buttons.forEach(b => (b as HTMLElement).click())
    );
    await page.waitForTimeout(300);
    await page.locator('#jp-main-content-panel').screenshot({ path: path.join(SCREENSHOTS, 'runs-view.png') });
  });

  test('the palette command opens the view; a job view charts its telemetry apart', async ({ page, tmpPath }) => {
    await page.contents.uploadContent(
      'import time\nx = [0] * 5_000_000\nfor i in range(15):\n    time.sleep(0.1)\n',
      'text',
      `${tmpPath}/busy.py`
    );
    const tag = `tm${Date.now().toString(36)}`;
    const cpu = await submit(page, `${tmpPath}/busy.py`, `${tag}-cpu`, []);
    // fake GPUs (MOMO_JOBS_GPUS): no NVML, which the view must say
    const gpu = await submit(page, `${tmpPath}/busy.py`, `${tag}-gpu`, [], 'gpu');
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('momo-jobs:show-jobs'));
    await expect(sidebarRow(page, cpu)).toHaveAttribute('data-status', 'completed', { timeout: 60000 });
    await expect(sidebarRow(page, gpu)).toHaveAttribute('data-status', 'completed', { timeout: 60000 });

    await page.evaluate(id => (window as any).jupyterapp.commands.execute('momo-jobs:open-job', { id }), cpu);
    const view = page.locator(`#momo-job-${cpu}`);
    const system = view.getByRole('region', { name: 'System' });
    await expect(system.locator('.jp-MomoJobs-chart[data-metric="sys/cpu_percent"]')).toBeVisible();
    await expect(system.locator('.jp-MomoJobs-chart[data-metric="sys/rss_bytes"]')).toBeVisible();
    // the user's metrics stay apart from the telemetry
    await expect(
      view.locator('.jp-MomoJobs-metrics > .jp-MomoJobs-charts .jp-MomoJobs-chart[data-metric^="sys/"]')
    ).toHaveCount(0);

    await page.evaluate(id => (window as any).jupyterapp.commands.execute('momo-jobs:open-job', { id }), gpu);
    const gpuSystem = page.locator(`#momo-job-${gpu}`).getByRole('region', { name: 'System' });
    await expect(gpuSystem.getByRole('note')).toHaveCount(1);
    await expect(gpuSystem.getByRole('note')).toContainText('NVML');

    await page.keyboard.press('Control+Shift+C');
    await page.locator('#modal-command-palette input').fill('Open the Runs view');
    await page.keyboard.press('Enter');
    const runs = page.locator('.jp-MomoRuns-view');
    await expect(runs).toBeVisible();
    await runs.getByLabel('Filter').fill(tag);
    await expect(runs.locator('.jp-MomoRuns-row[data-job-id]')).toHaveCount(2);
    // the peaks of the telemetry are columns of the table
    const peak = runs.locator(`.jp-MomoRuns-row[data-job-id="${cpu}"] [data-column="peak:rss_bytes"]`);
    await expect(peak).toHaveText(/MiB|GiB/);
  });
});
