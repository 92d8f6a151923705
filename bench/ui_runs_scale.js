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
const { inLab, run } = require('./ui_lab');

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
  /**
   * Scroll `node` by `step` px a frame for `frames` frames, or until its end;
   * the gaps between frames, ms (only frames that scrolled).
   */
  window.__scroll = async (node, step, frames) => {
    node.scrollTop = 0;
    await frame();
    await frame();
    const gaps = [];
    let last = await frame();
    for (let i = 0; i < frames; i++) {
      const before = node.scrollTop;
      node.scrollTop = before + step;
      if (node.scrollTop === before) {
        break; // the end
      }
      const now = await frame();
      gaps.push(now - last);
      last = now;
    }
    return gaps;
  };
}

run(() =>
  inLab('lab?reset', 'momo-jobs:open-runs', async page => {
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
      // the list, or the first box above it that scrolls
      let list = document.querySelector('#momo-jobs-sidebar .jp-MomoJobs-list');
      while (list && list.scrollHeight <= list.clientHeight + 1) {
        list = list.parentElement;
      }
      out.scroll_gaps = list ? await window.__scroll(list, 60, 120) : [];
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
      // the first page is drawn first; the rest follow
      out.loaded_ms = await window.__until(
        () => model.state === 'ready' && model.filteredRuns.length >= model.total,
        start
      );
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
  })
);
