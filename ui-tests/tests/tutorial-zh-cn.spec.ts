/**
 * The tutorial's flow as the platform's tutorial says it: Export, the .py
 * opens, Create Job above the Python editor, a CPU machine, the job completes;
 * in English, and in Chinese (JupyterLab's language set to zh_CN, as Settings →
 * Language does), with the toolbar, the dialog, the sidebar and the job view
 * in Chinese. Screenshots land in docs/screenshots/.
 */
import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

const CODE = [
  'import json, time',
  'for epoch in range(1, 4):',
  '    print(f"Epoch {epoch}/3", flush=True)',
  '    print(json.dumps({"metric": "loss", "value": 1.0 / epoch, "epoch": epoch}), flush=True)',
  '    time.sleep(0.2)',
  'print("training done", flush=True)'
].join('\n');

function notebook(source: string): string {
  return JSON.stringify({
    cells: [{ cell_type: 'code', execution_count: null, id: 'c1', metadata: {}, outputs: [], source }],
    metadata: {
      kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  });
}

interface IWords {
  exportLabel: string;
  createJob: string;
  cpuMachine: string;
  gpuMachine: string;
  create: string;
  completed: string;
  openJob: RegExp;
  timeLimit: string;
  retries: string;
}

const ENGLISH: IWords = {
  exportLabel: 'Export to .py',
  createJob: 'Create Job',
  cpuMachine: 'CPU machine',
  gpuMachine: 'GPU machine',
  create: 'Create',
  completed: 'completed',
  openJob: /Open job/,
  timeLimit: 'Time limit',
  retries: 'Retries'
};

const CHINESE: IWords = {
  exportLabel: '导出为 .py',
  createJob: '创建任务',
  cpuMachine: 'CPU 机器',
  gpuMachine: 'GPU 机器',
  create: '创建',
  completed: '已完成',
  openJob: /查看任务/,
  timeLimit: '时间限制',
  retries: '重试'
};

/** Export, then Create Job above the .py's editor, on a CPU machine, until it completes. */
async function tutorialFlow(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  words: IWords,
  shots: string | null
): Promise<void> {
  const stem = shots ? 'train_zh' : 'train_en';
  await page.contents.uploadContent(notebook(CODE), 'text', `${tmpPath}/${stem}.ipynb`);
  // opened by its command: Galata's own helpers look for English menu items
  await page.evaluate(
    path => (window as any).jupyterapp.commands.execute('docmanager:open', { path }),
    `${tmpPath}/${stem}.ipynb`
  );
  await expect(page.locator('.jp-NotebookPanel:visible .jp-Cell')).toHaveCount(1);
  const notebookToolbar = page.locator('.jp-NotebookPanel-toolbar');
  const exportButton = notebookToolbar.getByRole('button', { name: words.exportLabel });
  await expect(exportButton).toBeVisible();
  await expect(notebookToolbar.getByRole('button', { name: words.createJob })).toBeVisible();
  if (shots) {
    await notebookToolbar.screenshot({ path: path.join(SCREENSHOTS, `${shots}-notebook-toolbar.png`) });
  }
  await exportButton.click();

  // the script opens in the Python editor, with Create Job above it
  const tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: `${stem}.py` });
  await expect(tab).toBeVisible();
  const editor = page.locator('.jp-MainAreaWidget:visible').filter({ has: page.locator('.jp-FileEditor') });
  await expect(editor.locator('.jp-FileEditor .cm-content')).toContainText('training done');
  const createJob = editor.locator('.jp-Toolbar').getByRole('button', { name: words.createJob });
  await expect(createJob).toBeVisible();
  if (shots) {
    await editor.locator('.jp-Toolbar').screenshot({ path: path.join(SCREENSHOTS, `${shots}-editor-toolbar.png`) });
  }
  await createJob.click();

  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-MomoJobs-createForm')).toBeVisible();
  await expect(dialog.locator('.jp-MomoJobs-script')).toContainText(`${stem}.py`);
  await expect(dialog.getByLabel(words.gpuMachine)).toBeEnabled();
  await expect(dialog.getByLabel(words.timeLimit)).toBeVisible();
  await expect(dialog.getByLabel(words.retries)).toBeVisible();
  await dialog.getByLabel(words.cpuMachine).check();
  if (shots) {
    await dialog.locator('.jp-Dialog-content').screenshot({ path: path.join(SCREENSHOTS, `${shots}-create-job.png`) });
  }
  await dialog.getByRole('button', { name: words.create, exact: true }).click();
  await expect(dialog).toHaveCount(0);

  const sidebar = page.locator('#momo-jobs-sidebar');
  await expect(sidebar).toBeVisible();
  const jobRow = sidebar.locator('.jp-MomoJobs-row', { hasText: stem }).first();
  await expect(jobRow).toHaveAttribute('data-status', 'completed', { timeout: 60000 });
  await expect(jobRow.locator('.jp-MomoJobs-statusText')).toHaveText(words.completed);

  await jobRow.getByRole('button', { name: words.openJob }).click();
  const view = page.locator('.jp-MomoJobs-jobView:visible');
  await expect(view.locator('.jp-MomoJobs-logScroll')).toContainText('training done');
  await expect(view.locator('.jp-MomoJobs-chart[data-metric="loss"]')).toHaveAttribute('data-points', '3');
  if (shots) {
    await page.locator('.Toastify__close-button').evaluateAll(b => b.forEach(x => (x as HTMLElement).click()));
    await sidebar.screenshot({ path: path.join(SCREENSHOTS, `${shots}-sidebar.png`) });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${shots}-job-view.png`) });
  }
}

test.describe('the tutorial flow', () => {
  test.use({ autoGoto: true });

  test('Export, then Create Job above the Python editor, on a CPU machine', async ({ page, tmpPath }) => {
    await tutorialFlow(page, tmpPath, ENGLISH, null);
  });
});

test.describe('a notebook Python 3 cannot compile', () => {
  test.use({ autoGoto: true });

  test('Export says where, and Create Job asks before queuing it', async ({ page, tmpPath }) => {
    await page.contents.uploadContent(notebook('x = 1\nprint "hello"'), 'text', `${tmpPath}/old.ipynb`);
    await page.notebook.openByPath(`${tmpPath}/old.ipynb`);
    const toolbar = page.locator('.jp-NotebookPanel-toolbar');
    await toolbar.getByRole('button', { name: 'Export to .py' }).click();
    await expect(page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'old.py' })).toBeVisible();
    await expect(page.locator('.Toastify__toast')).toContainText('cell 1, line 2');

    await page.notebook.activate('old.ipynb');
    await toolbar.getByRole('button', { name: 'Create Job' }).click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.getByLabel('CPU machine').check();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const warning = page.locator('.jp-Dialog', { hasText: 'This script may not run' });
    await expect(warning).toContainText("cell 1, line 2: Missing parentheses in call to 'print' (Python 2 print?)");
    await warning.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.locator('.jp-Dialog')).toHaveCount(0);
    const total = await page.evaluate(async () => {
      const answer = await fetch('/momo-jobs/api/jobs').then(r => r.json());
      return (answer.jobs as { script: string }[]).filter(j => j.script.endsWith('old.ipynb')).length;
    });
    expect(total).toBe(0);
  });
});

test.describe('the tutorial flow in Chinese', () => {
  test.use({
    autoGoto: true,
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      '@jupyterlab/translation-extension:plugin': { locale: 'zh_CN' }
    },
    // Galata waits for a tab named "Launcher"; in Chinese it is 启动页
    waitForApplication: async ({ baseURL }, use) => {
      await use(async page => {
        await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
        await page.locator('.lm-TabBar-tab', { hasText: '启动页' }).first().waitFor();
      });
    }
  });

  test('导出为 .py, then 创建任务 above the Python editor, on a CPU 机器', async ({ page, tmpPath }) => {
    await tutorialFlow(page, tmpPath, CHINESE, 'zh-CN');
    // the job view in Chinese
    const view = page.locator('.jp-MomoJobs-jobView:visible');
    await expect(view.locator('.jp-MomoJobs-facts')).toContainText('脚本');
    await expect(view.getByRole('heading', { name: '结果' })).toBeVisible();
    await expect(view.getByText('下载日志')).toBeVisible();
    await expect(page.locator('#momo-jobs-sidebar .jp-MomoJobs-title')).toHaveText('任务');

    // the Runs view in Chinese: its tab, its columns, the run's status
    await page.locator('#momo-jobs-sidebar').getByRole('button', { name: /打开运行记录视图/ }).click();
    const runs = page.locator('.jp-MomoRuns-view');
    await expect(runs).toBeVisible();
    await expect(page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: '运行记录' })).toBeVisible();
    const grid = runs.getByRole('grid', { name: '运行记录' });
    await runs.getByLabel('筛选').fill('train_zh');
    const row = grid.locator('.jp-MomoRuns-row[data-job-id]').first();
    await expect(row.locator('[data-column="status"]')).toHaveText('已完成');
    await expect(grid.locator('[role="columnheader"][data-column="status"]')).toHaveText('状态');
    await expect(grid.locator('[role="columnheader"][data-column="best:loss"]')).toContainText('loss 最佳');
    await row.locator('[data-column="name"]').click();
    await expect(runs.locator('.jp-MomoRuns-overlay[data-metric="loss"]')).toHaveAttribute('data-lines', '1');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'zh-CN-runs-view.png') });
  });
});
