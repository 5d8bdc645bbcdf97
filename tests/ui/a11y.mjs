// Accessibility of the triage web UI in real headless Chromium: axe-core (npm) on the main
// pages — signed out, as support, as a product manager and as an admin — must find no
// WCAG 2.0/2.1 A or AA violation; and the daily work is done with the keyboard alone (tab
// through the backlog into a theme, change its status, file a ticket, answer a survey),
// each focused control visibly marked. Started by tests/tests/web_ui.rs after run.mjs, on
// the same demo data.
//
// Input (environment): TRIAGE_URL, PM_EMAIL, PM_PASSWORD, SUPPORT_EMAIL, SUPPORT_PASSWORD,
// ADMIN_EMAIL, ADMIN_PASSWORD, SURVEY_ID, CHROMIUM, SCREENSHOTS (optional). Output: one JSON line on stdout; any
// violation or failed step throws, printing what and where, and exits non-zero.

import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const base = env('TRIAGE_URL');
const done = { audited: [], keyboard: {} };
let step = 'start';

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** axe-core on the page at `path`; returns the violations, one line each. */
async function audit(page, who, path) {
  await page.goto(`${base}${path}`);
  await page.waitForLoadState('load');
  // The pages' CSP allows no inline script; this context bypasses it for axe only.
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  }, WCAG);
  done.audited.push(`${who} ${path}`);
  return result.map((v) => `${who} ${path}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.join('; ')}`);
}

async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** Presses Tab until the focused element matches `selector`; checks the focus is visible. */
async function tabTo(page, selector, max = 200) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    const state = await page.evaluate((sel) => {
      const el = document.activeElement;
      if (!el || !el.matches(sel)) return null;
      const s = getComputedStyle(el);
      const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
      return { ring };
    }, selector);
    if (state) {
      check(state.ring, `the focused ${selector} is visibly marked (outline or shadow)`);
      return i;
    }
  }
  throw new Error(`Tab never reached ${selector} in ${max} presses`);
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const violations = [];
  const context = () => browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });

  step = 'axe: signed out';
  const anon = await (await context()).newPage();
  for (const path of ['/login', `/s/${env('SURVEY_ID')}`]) violations.push(...await audit(anon, 'signed out', path));
  // The survey page after an empty answer: the error message must be announced too.
  await anon.getByRole('button', { name: 'Send' }).click();
  await anon.waitForLoadState('load');
  await anon.addScriptTag({ content: axeSource });
  const refused = await anon.evaluate(async (tags) => (await axe.run(document, { runOnly: { type: 'tag', values: tags } })).violations.map((v) => v.id), WCAG);
  violations.push(...refused.map((id) => `signed out /s/… refused answer: ${id}`));

  step = 'axe: support';
  const support = await (await context()).newPage();
  await signIn(support, env('SUPPORT_EMAIL'), env('SUPPORT_PASSWORD'));
  for (const path of ['/backlog', '/tickets/new', '/tickets', '/search?q=card+arrived', '/unthemed']) {
    violations.push(...await audit(support, 'support', path));
  }

  step = 'axe: product manager';
  const pm = await (await context()).newPage();
  await signIn(pm, env('PM_EMAIL'), env('PM_PASSWORD'));
  await pm.goto(`${base}/backlog?status=shipped&period=all`);
  const shipped = await pm.locator('table.stack > tbody > tr td[data-label=Theme] > a').first().getAttribute('href');
  await pm.goto(`${base}/search?q=card`);
  const item = await pm.locator('ol[aria-label=Results] > li a[href^="/items/"]').first().getAttribute('href');
  for (const path of ['/backlog', '/backlog?view=areas', shipped, item, '/search?q=card+declined',
    '/unthemed', '/teach', '/settings', '/digest/preview', '/tickets/new']) {
    violations.push(...await audit(pm, 'pm', path));
  }

  step = 'axe: admin';
  const admin = await (await context()).newPage();
  await signIn(admin, env('ADMIN_EMAIL'), env('ADMIN_PASSWORD'));
  await admin.goto(`${base}/settings/webhooks`);
  await admin.getByLabel('URL').fill('http://127.0.0.1:9/triage');
  await admin.getByRole('button', { name: 'Add webhook' }).click();
  await admin.waitForURL(/done=Webhook/);
  check(await admin.getByRole('heading', { name: 'http://127.0.0.1:9/triage' }).isVisible(), 'the subscription is listed');
  violations.push(...await audit(admin, 'admin', '/settings/webhooks'));
  if (process.env.SCREENSHOTS) await admin.screenshot({ path: `${process.env.SCREENSHOTS}/webhooks.png`, fullPage: true });

  check(violations.length === 0, `no WCAG 2.1 A/AA violations, found ${violations.length}:\n  ${violations.join('\n  ')}`);

  step = 'keyboard: through the backlog into a theme';
  const kb = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(kb, env('PM_EMAIL'), env('PM_PASSWORD'));
  // A theme still "new": run.mjs planned one and checks it stays planned.
  await kb.goto(`${base}/backlog?status=new&period=90d`);
  const presses = await tabTo(kb, 'table.stack td[data-label=Theme] > a');
  const href = await kb.evaluate(() => document.activeElement.getAttribute('href'));
  await Promise.all([kb.waitForURL(new RegExp(`${href}$`)), kb.keyboard.press('Enter')]);
  done.keyboard.tabs_to_first_theme = presses;

  step = 'keyboard: change the status';
  await tabTo(kb, 'select[name=status]');
  const before = await kb.evaluate(() => document.activeElement.value);
  await kb.keyboard.press('ArrowDown');
  const after = await kb.evaluate(() => document.activeElement.value);
  check(after !== before, `the arrow key changes the status (${before} → ${after})`);
  await tabTo(kb, 'form button[type=submit]');
  check((await kb.evaluate(() => document.activeElement.textContent.trim())) === 'Save', 'Save is reached');
  await Promise.all([kb.waitForURL(/done=/), kb.keyboard.press('Enter')]);
  check((await kb.locator('#hist-h + ul').textContent()).includes('→'), 'the change is in the history');
  done.keyboard.status = `${before} → ${after}`;

  step = 'keyboard: file a ticket';
  const sk = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(sk, env('SUPPORT_EMAIL'), env('SUPPORT_PASSWORD'));
  await sk.goto(`${base}/tickets/new`);
  await tabTo(sk, '#subject');
  await sk.keyboard.type('Keyboard only: transfer stuck');
  await tabTo(sk, '#body');
  await sk.keyboard.type('My transfer has been pending for three days');
  await tabTo(sk, 'button[type=submit]');
  await Promise.all([sk.waitForURL(/\/tickets\?done=/), sk.keyboard.press('Enter')]);
  const filed = ((await sk.locator('.flash').textContent()) ?? '').match(/Ticket #(\d+) filed/);
  check(filed, 'the ticket is filed with the keyboard alone');
  done.keyboard.ticket_id = Number(filed[1]);

  step = 'keyboard: answer the survey';
  const visitor = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await visitor.goto(`${base}/s/${env('SURVEY_ID')}`);
  await tabTo(visitor, 'input[type=radio]');
  await visitor.keyboard.press('Space');
  await visitor.keyboard.press('ArrowRight');
  const picked = await visitor.evaluate(() => document.querySelector('input[type=radio]:checked')?.value);
  check(picked !== undefined, 'a score is picked with the keyboard');
  await tabTo(visitor, 'textarea');
  await visitor.keyboard.type('Answered without a mouse');
  await tabTo(visitor, 'button[type=submit]');
  await Promise.all([visitor.waitForLoadState('load'), visitor.keyboard.press('Enter')]);
  await visitor.getByRole('heading', { name: 'Thank you' }).waitFor();
  done.keyboard.survey_score = Number(picked);

  console.log(JSON.stringify(done));
} catch (e) {
  console.error(`FAILED at step "${step}": ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
