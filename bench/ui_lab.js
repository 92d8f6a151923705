/**
 * What the UI benches share: headless Chromium (CHROMIUM, default Debian's) on
 * JupyterLab of the bench's server (MOMO_BENCH_URL, MOMO_BENCH_TOKEN), waited for
 * until the extension's `command` exists and the layout is restored.
 */
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'ui-tests', 'node_modules', 'playwright-core'));

/** Runs `measure(page)` in JupyterLab at `labPath` (e.g. "lab?reset"), then closes the browser. */
async function inLab(labPath, command, measure) {
  const env = process.env;
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run']
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    const sep = labPath.includes('?') ? '&' : '?';
    await page.goto(`${env.MOMO_BENCH_URL}${labPath}${sep}token=${env.MOMO_BENCH_TOKEN}`);
    await page.waitForFunction(name => window.jupyterapp && window.jupyterapp.commands.hasCommand(name), command, {
      timeout: 120000
    });
    // the restored layout would otherwise hide a sidebar shown before it
    await page.evaluate(() => window.jupyterapp.restored);
    return await measure(page);
  } finally {
    await browser.close();
  }
}

/** Runs `main`, and on an error prints it and exits 1. */
function run(main) {
  main().catch(error => {
    console.error(error);
    process.exit(1);
  });
}

module.exports = { inLab, run };
