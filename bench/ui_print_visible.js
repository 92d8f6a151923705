/**
 * The UI half of bench/print_visible.py: in Chromium, opens JupyterLab on the
 * bench's server, creates the printing job through the extension's own command,
 * opens its view, and, at every animation frame, notes each new "line <i> <t>"
 * the log view shows. Prints one latency (ms: shown minus printed, same clock)
 * per line on stdout.
 *
 * Environment: MOMO_BENCH_URL, MOMO_BENCH_TOKEN, MOMO_BENCH_SCRIPT (relative to
 * the server root), MOMO_BENCH_LINES, MOMO_BENCH_DELAY (seconds the script waits
 * before printing, so the view is open), CHROMIUM (the browser).
 */
const { inLab, run } = require('./ui_lab');

run(() =>
  inLab('lab', 'momo-jobs:open-job', async page => {
    const env = process.env;
    const lines = Number(env.MOMO_BENCH_LINES);
    await page.evaluate(
      async ({ script, lines, delay }) => {
        const commands = window.jupyterapp.commands;
        const job = await commands.execute('momo-jobs:create-job', {
          path: script,
          resource: 'cpu',
          dialog: false,
          args: [String(lines), String(delay)]
        });
        await commands.execute('momo-jobs:open-job', { id: job.id });
      },
      { script: env.MOMO_BENCH_SCRIPT, lines, delay: env.MOMO_BENCH_DELAY || '3' }
    );
    const latencies = await page.evaluate(
      ({ lines, timeoutMs }) =>
        new Promise(resolve => {
          const seen = new Map();
          const start = Date.now();
          const frame = () => {
            const now = Date.now();
            const view = document.querySelector('.jp-MomoJobs-logScroll');
            if (view) {
              for (const m of view.textContent.matchAll(/line (\d+) (\d+\.\d+)/g)) {
                if (!seen.has(m[1])) {
                  seen.set(m[1], now - parseFloat(m[2]) * 1000);
                }
              }
            }
            if (seen.size >= lines || now - start > timeoutMs) {
              resolve([...seen.values()]);
            } else {
              requestAnimationFrame(frame);
            }
          };
          requestAnimationFrame(frame);
        }),
      { lines, timeoutMs: 60000 + lines * 20 }
    );
    if (!latencies.length) {
      throw new Error('the log view showed none of the lines');
    }
    process.stdout.write(latencies.map(ms => ms.toFixed(1)).join('\n') + '\n');
  })
);
