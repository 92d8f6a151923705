/**
 * Galata configuration: Debian's Chromium (Playwright cannot download its
 * own here), headless, one worker (2 cores), no video.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const port = process.env.MOMO_UI_PORT || '18888';
const baseURL = `http://localhost:${port}`;

module.exports = {
  ...baseConfig,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  timeout: 120 * 1000,
  expect: { timeout: 30 * 1000 },
  reporter: [[process.env.CI ? 'line' : 'list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL,
    video: 'off',
    actionTimeout: 30 * 1000,
    trace: 'retain-on-failure',
    viewport: { width: 1400, height: 850 },
    launchOptions: {
      executablePath: chromium,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    // the server's log goes to ui-tests/jupyter-server.log
    command: 'jlpm start 2> jupyter-server.log',
    url: `${baseURL}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI
  }
};
