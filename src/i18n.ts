/**
 * The translator of every string momo-jobs shows, in one domain (`momo_jobs`).
 * `setTranslator` is called once at activation with JupyterLab's ITranslator;
 * until then (and in unit tests) strings pass through untranslated.
 *
 * Use: `import { trans } from './i18n'` and `trans.__('Create Job')`,
 * `trans._n('%1 job', '%1 jobs', n)`, `trans.__('GPU %1', index)`.
 */
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

export const DOMAIN = 'momo_jobs';

let bundle: TranslationBundle = nullTranslator.load(DOMAIN);
let language = 'en';

/** The current bundle: always read through this object, so a later setTranslator applies. */
export const trans: TranslationBundle = {
  __: (msgid: string, ...args: any[]) => bundle.__(msgid, ...args),
  _n: (msgid: string, msgidPlural: string, n: number, ...args: any[]) =>
    bundle._n(msgid, msgidPlural, n, ...args),
  _p: (msgctxt: string, msgid: string, ...args: any[]) =>
    bundle._p(msgctxt, msgid, ...args),
  _np: (
    msgctxt: string,
    msgid: string,
    msgidPlural: string,
    n: number,
    ...args: any[]
  ) => bundle._np(msgctxt, msgid, msgidPlural, n, ...args),
  gettext: (msgid: string, ...args: any[]) => bundle.gettext(msgid, ...args),
  ngettext: (msgid: string, msgidPlural: string, n: number, ...args: any[]) =>
    bundle.ngettext(msgid, msgidPlural, n, ...args),
  pgettext: (msgctxt: string, msgid: string, ...args: any[]) =>
    bundle.pgettext(msgctxt, msgid, ...args),
  npgettext: (
    msgctxt: string,
    msgid: string,
    msgidPlural: string,
    n: number,
    ...args: any[]
  ) => bundle.npgettext(msgctxt, msgid, msgidPlural, n, ...args),
  dcnpgettext: (
    domain: string,
    msgctxt: string,
    msgid: string,
    msgidPlural: string,
    n: number,
    ...args: any[]
  ) => bundle.dcnpgettext(domain, msgctxt, msgid, msgidPlural, n, ...args)
};

/** Called once at activation with JupyterLab's translator (or a test's). */
export function setTranslator(translator: ITranslator | null): void {
  bundle = (translator ?? nullTranslator).load(DOMAIN);
  language = (translator?.languageCode || 'en').replace('_', '-');
}

/**
 * The UI's language as a BCP 47 tag (`en`, `zh-CN`): the locale that times and
 * numbers are written in. JupyterLab's `default` means the browser's own.
 */
export function uiLocale(): string | undefined {
  return language === 'default' || !language ? undefined : language;
}

/** The UI's language, or the browser's when JupyterLab follows it. */
export function uiLanguage(): string {
  return (
    uiLocale() ??
    (typeof navigator === 'undefined' ? 'en' : navigator.language || 'en')
  );
}
