/**
 * The UI half of bench/ui_runs_scale.py: in headless Chromium, opens JupyterLab on
 * the bench's server (its store filled with N jobs), and measures the Jobs sidebar
 * and the Runs view: time to first render, to re-render after a sort or a filter,
 * and the frame times while scrolling. Prints one JSON object on stdout.
 *
 * A time "to render" runs from the action to the first frame after the DOM shows
 * its result (checked at every animation frame). Frame times are the gaps between
 * animation frames while the list is scrolled by a step each frame.
 *
 * Environment: MOMO_BENCH_URL, MOMO_BENCH_TOKEN, CHROMIUM (the browser).
 */
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'ui-tests', 'node_modules', 'playwright-core'));

/** In the page: helpers the measurements share. */
function installHelpers() {
  const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
  /** Resolves with ms from `start` to the frame after `check()` first holds. */
  window.__until = async (check, start, timeoutMs = 120000) => {
    for (;;) {
      if (check()) {
        await frame();
        return performance.now() - start;
      }
      if (performance.now() - start > timeoutMs) {
        throw new Error('timed out waiting for the view');
      }
      await frame();
    }
  };
  /** Scroll `node` by `step` px a frame for `frames` frames; the gaps between frames, ms. */
  window.__scroll = async (node, step, frames) => {
    node.scrollTop = 0;
    await frame();
    await frame();
    const gaps = [];
    let last = await frame();
    for (let i = 0; i < frames; i++) {
      node.scrollTop = Math.min(node.scrollHeight, node.scrollTop + step);
      const now = await frame();
      gaps.push(now - last);
      last = now;
    }
    return gaps;
  };
}

async function main() {
  const env = process.env;
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run']
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    await page.goto(`${env.MOMO_BENCH_URL}lab?reset&token=${env.MOMO_BENCH_TOKEN}`);
    await page.waitForFunction(
      () => window.jupyterapp && window.jupyterapp.commands.hasCommand('momo-jobs:open-runs'),
      null,
      { timeout: 120000 }
    );
    await page.evaluate(installHelpers);

    const sidebar = await page.evaluate(async () => {
      const app = window.jupyterapp;
      const out = {};
      let start = performance.now();
      await app.commands.execute('momo-jobs:show-jobs');
      out.open_ms = await window.__until(
        () => document.querySelector('#momo-jobs-sidebar .jp-MomoJobs-row'),
        start
      );
      const widget = Array.from(app.shell.widgets('left')).find(w => w.id === 'momo-jobs-sidebar');
      const model = widget.model;
      const rows = () => document.querySelectorAll('#momo-jobs-sidebar .jp-MomoJobs-row').length;
      out.rows = rows();
      out.total = model.total;
      start = performance.now();
      await model.refresh();
      out.refresh_ms = await window.__until(() => rows() === out.rows, start);
      start = performance.now();
      model.filter = ['failed'];
      out.filter_ms = await window.__until(() => rows() < out.rows, start);
      start = performance.now();
      model.filter = [];
      out.unfilter_ms = await window.__until(() => rows() === out.rows, start);
      const list = document.querySelector('#momo-jobs-sidebar .jp-MomoJobs-list');
      out.scroll_gaps = await window.__scroll(list, 60, 120);
      return out;
    });

    const runs = await page.evaluate(async () => {
      const app = window.jupyterapp;
      const out = {};
      const rowSel = '.jp-MomoRuns-row[data-job-id]';
      let start = performance.now();
      const view = await app.commands.execute('momo-jobs:open-runs');
      out.open_ms = await window.__until(() => document.querySelector(rowSel), start);
      const model = view.model;
      out.runs = model.total;
      out.rows_in_dom = document.querySelectorAll(rowSel).length;
      const firstName = () => {
        const cell = document.querySelector(`${rowSel} [data-column="name"]`);
        return cell ? cell.textContent : null;
      };
      let before = firstName();
      start = performance.now();
      document.querySelector('[role="columnheader"][data-column="best:loss"] button').click();
      out.sort_ms = await window.__until(() => model.sort.key === 'best:loss' && firstName() !== before, start);
      before = firstName();
      start = performance.now();
      model.sortBy('best:loss'); // the other way
      out.resort_ms = await window.__until(() => firstName() !== before, start);
      const count = () => model.filteredRuns.length;
      start = performance.now();
      model.filter = 'lr=0.01';
      out.filter_ms = await window.__until(
        () => count() < out.runs && document.querySelectorAll(rowSel).length > 0,
        start
      );
      out.filtered = count();
      start = performance.now();
      model.filter = '';
      out.unfilter_ms = await window.__until(() => count() === out.runs, start);
      const grid = document.querySelector('.jp-MomoRuns-scroll');
      out.scroll_gaps = await window.__scroll(grid, 40, 150);
      // a fling: the whole table in 100 frames, every frame new rows
      out.fling_gaps = await window.__scroll(grid, Math.ceil(grid.scrollHeight / 100), 100);
      out.rows_in_dom_scrolled = document.querySelectorAll(rowSel).length;
      return out;
    });
    process.stdout.write(JSON.stringify({ sidebar, runs }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
