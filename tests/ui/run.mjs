// Browser tests of the triage web UI, in real headless Chromium (the Debian package),
// driven by playwright-core. Started by tests/tests/web_ui.rs, which serves the demo data
// and afterwards checks through the API that what was done in the browser was stored.
//
// Input (environment): TRIAGE_URL, PM_EMAIL, PM_PASSWORD, SUPPORT_EMAIL,
// SUPPORT_PASSWORD, SURVEY_ID, SCREENSHOTS (directory), CHROMIUM (default
// /usr/bin/chromium). Output: one JSON line on stdout with what was done; any failed
// check throws, printing the step, and exits non-zero.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const base = env('TRIAGE_URL');
const shots = env('SCREENSHOTS');
mkdirSync(shots, { recursive: true });
const done = {};
let step = 'start';

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function signIn(page, email, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
}

async function flash(page) {
  return (await page.locator('.flash').textContent()) ?? '';
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });

  step = 'sign-in is required and wrong passwords are refused';
  await page.goto(`${base}/backlog`);
  check(page.url().includes('/login?next=%2Fbacklog'), `redirected to sign-in, got ${page.url()}`);
  await page.screenshot({ path: `${shots}/login.png` });
  await page.getByLabel('Email').fill(env('PM_EMAIL'));
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  check((await page.getByRole('alert').textContent()).includes('Wrong email or password'), 'wrong password is refused');

  step = 'the backlog';
  await signIn(page, env('PM_EMAIL'), env('PM_PASSWORD'));
  check(new URL(page.url()).pathname === '/backlog', `lands on the backlog, got ${page.url()}`);
  const rows = page.locator('table.stack > tbody > tr');
  const count = await rows.count();
  check(count >= 10, `at least 10 themes on the backlog, got ${count}`);
  check(await rows.first().locator('svg[role=img]').count() === 1, 'each row has a trend sparkline');
  const firstScore = parseFloat(await rows.first().locator('summary strong').textContent());
  const secondScore = parseFloat(await rows.nth(1).locator('summary strong').textContent());
  check(firstScore >= secondScore && firstScore > 0, `ranked by score: ${firstScore} ≥ ${secondScore}`);
  await rows.first().locator('summary').click();
  check(await rows.first().getByText('rating impact').isVisible(), 'the breakdown names its components');
  await page.screenshot({ path: `${shots}/backlog.png`, fullPage: false });
  done.backlog_rows = count;

  step = 'backlog filters';
  await page.getByLabel('Period').selectOption('90d');
  await page.getByLabel('Status').selectOption('all');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/period=90d/);
  check(page.url().includes('status=all'), 'filters are in the URL');

  step = 'the backlog by area';
  await page.getByLabel('View').selectOption('areas');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/view=areas/);
  const areas = page.locator('section[aria-label^="Area "]');
  const areaCount = await areas.count();
  check(areaCount >= 2, `themes grouped into areas, got ${areaCount}`);
  const areaThemes = await areas.first().locator('table.stack > tbody > tr').count();
  check(areaThemes >= 1, 'an area lists its themes');
  await areas.first().locator('h2 a').click();
  await page.waitForURL(/area=\d+/);
  const filtered = await page.locator('table.stack > tbody > tr').count();
  check(filtered === areaThemes, `the area filter shows that area's ${areaThemes} themes, got ${filtered}`);
  done.areas = areaCount;

  step = 'impact of the shipped fix';
  await page.goto(`${base}/backlog?status=shipped&period=all`);
  const shippedRow = page.locator('table.stack > tbody > tr').first();
  const impactCell = (await shippedRow.locator('td[data-label=Impact]').textContent()).trim();
  check(/^[−-]\d+ %/.test(impactCell), `the backlog shows the shipped theme's measured fall, got "${impactCell}"`);
  await shippedRow.locator('td[data-label=Theme] > a').click();
  await page.waitForURL(/\/themes\/\d+/);
  const impactCard = page.locator('section[aria-labelledby=impact-h]');
  check(await impactCard.isVisible(), 'the theme page has an impact card');
  const cohorts = await impactCard.locator('h3').allTextContents();
  check(cohorts.some((h) => h.startsWith('consumer — from')) && cohorts.some((h) => h.startsWith('everyone else')),
    `one section per cohort: ${cohorts}`);
  check((await impactCard.textContent()).includes('Reports fell'), 'the effect in one sentence');
  check(await impactCard.locator('svg[role=img]').count() >= 1, 'a before/after chart');
  await impactCard.screenshot({ path: `${shots}/theme-impact.png` });
  step = 'recording a rollout in the browser';
  // Enterprise 20 days ago: before everyone (14 days ago), so its own cohort, with 6 days
  // until everyone else was reached — less than the week it needs.
  const day = new Date(Date.now() - 20 * 86400e3).toISOString().slice(0, 10);
  await page.getByLabel('Reached customers on').fill(day);
  await page.getByLabel(/Segments/).fill('enterprise');
  await page.getByRole('button', { name: 'Record rollout' }).click();
  await page.waitForURL(/done=Rollout/);
  check((await impactCard.textContent()).includes('Not measured yet in enterprise'), 'a new cohort waits a week');
  check((await page.locator('#hist-h + ul').textContent()).includes(`rollout: — → enterprise from ${day}`), 'the rollout is in the history');
  done.rollout_theme = Number(page.url().match(/\/themes\/(\d+)/)[1]);

  await page.goto(`${base}/backlog?period=90d&status=open`);

  step = 'a theme page and a status change';
  const firstLink = rows.first().locator('td[data-label=Theme] > a');
  const targetLabel = (await firstLink.textContent()).trim();
  await firstLink.click();
  await page.waitForURL(/\/themes\/\d+/);
  const targetId = Number(page.url().match(/\/themes\/(\d+)/)[1]);
  check(await page.getByRole('heading', { name: /Score/ }).isVisible(), 'score breakdown shown');
  check(await page.locator('section[aria-labelledby=weeks-h] svg').count() === 1, 'weekly volume chart shown');
  check(await page.locator('blockquote').count() >= 1, 'representative quotes shown');
  await page.screenshot({ path: `${shots}/theme.png`, fullPage: true });
  await page.getByLabel('Status').selectOption('planned');
  await page.getByLabel('Owner').fill('Dana Okafor');
  await page.getByRole('button', { name: 'Save' }).click();
  // "Planned" mails the customers who asked to hear back: first the note and how many.
  const notify = page.getByRole('heading', { name: /and tell customers\?$/ });
  await Promise.race([notify.waitFor(), page.waitForURL(/done=/)]);
  if (await notify.count()) {
    const card = page.locator('section[aria-labelledby=notify-h]');
    const says = await card.textContent();
    check(/\d+ customers? who asked to hear back will get this/.test(says), `the count of recipients is shown, got "${says}"`);
    check(says.includes(targetLabel) && says.includes('is now planned'), 'the note itself is shown before it is sent');
    await page.screenshot({ path: `${shots}/status-notify.png` });
    await page.getByRole('button', { name: 'Save and send' }).click();
    await page.waitForURL(/done=/);
  }
  check((await flash(page)).includes('Saved'), 'the change is confirmed');
  check((await page.locator('#hist-h + ul').textContent()).includes('new → planned'), 'history records before and after');
  done.planned_theme = targetId;

  step = 'a merge';
  await page.goto(`${base}/backlog?status=open&period=90d`);
  const secondLink = page.locator('table.stack > tbody > tr').nth(1).locator('td[data-label=Theme] > a');
  await secondLink.click();
  await page.waitForURL(/\/themes\/\d+/);
  const fromId = Number(page.url().match(/\/themes\/(\d+)/)[1]);
  check(fromId !== targetId, 'merging two different themes');
  const forged = await page.evaluate(async ([from, into]) => (await fetch(`/themes/${from}/merge`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `into=${into}`,
  })).status, [fromId, targetId]);
  check(forged === 403, `a post without the CSRF token is refused (got ${forged})`);
  const fromLabel = (await page.locator('h1').first().textContent()).trim();
  // A merge first says what it will do, and happens only when confirmed.
  const mergeOnce = async () => {
    await page.getByLabel('Merge this theme into').selectOption({ label: targetLabel });
    await page.getByRole('button', { name: 'Merge', exact: true }).click();
    await page.getByRole('heading', { name: /^Merge .* into .*\?$/ }).waitFor();
    const says = await page.locator('section[aria-labelledby=merge-h] p').first().textContent();
    check(/\d+ items? moves? from/.test(says) && says.includes('keeps its name'), `the confirmation says what moves, got "${says}"`);
    return says;
  };
  await mergeOnce();
  await page.screenshot({ path: `${shots}/merge-confirm.png` });
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.waitForURL(new RegExp(`/themes/${fromId}$`));
  check(page.url().endsWith(`/themes/${fromId}`), 'cancel leaves the theme as it was');
  await mergeOnce();
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.waitForURL(new RegExp(`/themes/${targetId}\\?done=`));
  check((await flash(page)).includes('Merged'), 'the merge is confirmed');
  const history = page.locator('section[aria-labelledby=hist-h]');
  check((await history.textContent()).includes('merged \u201c'), 'the history says what the merge did');
  await history.scrollIntoViewIfNeeded();
  await history.screenshot({ path: `${shots}/history-undo.png` });
  step = 'undo a merge, then merge again';
  await history.getByRole('button', { name: /^Undo merge: merged/ }).first().click();
  await page.waitForURL(/done=/);
  check((await flash(page)).includes('undid: merged'), `the undo is confirmed, got "${await flash(page)}"`);
  check((await history.textContent()).includes('(undone)'), 'the merge is marked undone');
  await page.goto(`${base}/themes/${fromId}`);
  check((await page.locator('h1').first().textContent()).trim() === fromLabel, 'the merged theme is back');
  await mergeOnce();
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.waitForURL(new RegExp(`/themes/${targetId}\\?done=`));
  done.merged = { from: fromId, into: targetId };

  step = 'user text is escaped';
  await page.getByLabel('Name', { exact: true }).fill('<img src=x onerror=alert(1)> Ünïcödé 日本語 ' + 'x'.repeat(120));
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.waitForURL(/done=Renamed/);
  check((await page.locator('h1').textContent()).includes('<img src=x onerror=alert(1)>'), 'the label is shown as text');
  check(await page.locator('h1 img').count() === 0, 'no element was injected');
  await page.goto(`${base}/backlog?status=all&period=90d`);
  check(dialogs.length === 0, `no script ran: ${dialogs}`);

  step = 'search';
  await page.goto(`${base}/search`);
  await page.getByLabel(/Search by words/).fill('card not arived');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/q=card/);
  const hits = await page.locator('ol[aria-label=Results] > li').count();
  check(hits > 0, 'search finds demo items');
  check(await page.locator('.snippet b').count() > 0, 'matches are highlighted');
  const notices = (await page.locator('p.flash').allTextContents()).join(' | ');
  check(notices.includes('No item has all of card, not, arived'), `the relaxed query is explained: ${notices}`);
  check(notices.includes('search instead for arived'), `the correction is named: ${notices}`);
  check(/Showing results for [^|]*\barriv\w+/.test(notices) && !/\barriv\b/.test(notices), `the correction reads as a word (arrived, arrive…), not the stem arriv: ${notices}`);
  await page.screenshot({ path: `${shots}/search.png` });
  const itemLink = await page.locator('ol[aria-label=Results] > li a[href^="/items/"]').first().getAttribute('href');
  await page.getByRole('link', { name: 'arived' }).click();
  await page.waitForURL(/exact=1/);
  check(!(await page.locator('p.flash').allTextContents()).join(' ').includes('search instead'), 'exact search: no correction');
  await page.goto(`${base}/search?q=zzqx+vvbn&mode=keyword`);
  check(await page.getByText('Nothing found').isVisible(), 'an empty result explains itself');

  step = 'the item page';
  await page.goto(`${base}${itemLink}`);
  check(await page.getByRole('heading', { name: 'Similar feedback' }).isVisible(), 'the item page has similar feedback');
  const similar = page.locator('section[aria-labelledby=similar-h] li a[href^="/items/"]');
  check(await similar.count() > 0, 'similar items are listed, each linking to its page');
  check((await similar.first().getAttribute('href')) !== itemLink, 'an item is not similar to itself');
  await page.screenshot({ path: `${shots}/item.png`, fullPage: true });

  step = 'the unthemed queue';
  await page.goto(`${base}/unthemed`);
  check(await page.getByRole('heading', { name: 'Unthemed feedback' }).isVisible(), 'queue page');
  const put = page.getByRole('button', { name: /^Put it there: item \d+ in/ });
  check(await put.count() >= 1, 'items in the queue come with a suggested theme');
  await page.screenshot({ path: `${shots}/unthemed.png` });
  const queued = Number((await page.locator('nav.pager span.muted').textContent()).match(/of (\d+)/)?.[1] ?? NaN);
  await put.first().click();
  await page.waitForURL(/\/unthemed\?done=/);
  check((await flash(page)).includes('1 item placed'), 'one click puts the item in its suggested theme');
  const left = Number((await page.locator('nav.pager span.muted').textContent()).match(/of (\d+)/)?.[1] ?? NaN);
  check(Number.isNaN(queued) || left === queued - 1, `the queue is one shorter (${queued} → ${left})`);

  step = 'teaching the granularity';
  await page.goto(`${base}/teach`);
  await page.getByRole('heading', { name: 'Teach triage' }).waitFor();
  check(await page.getByRole('heading', { name: /^Now \d+ themes$/ }).isVisible(), 'the page says how many themes now');
  check(await page.getByRole('heading', { name: 'Same problem?' }).isVisible(), 'a question is asked');
  check(await page.locator('blockquote').count() === 2, 'with two customer messages');
  await page.screenshot({ path: `${shots}/teach.png`, fullPage: true });
  await page.getByRole('button', { name: 'Yes, same problem' }).click();
  await page.waitForURL(/\/teach\?done=/);
  const taught = await flash(page);
  check(/Recorded\. (Now \d+ themes, was \d+|Still \d+ themes)\./.test(taught), `the answer is confirmed with the count: ${taught}`);
  check(await page.getByRole('button', { name: /^Withdraw answer/ }).count() >= 1, 'the answer is listed, with Withdraw');
  done.taught = true;

  step = 'look-alike themes on the backlog';
  await page.goto(`${base}/backlog`);
  const lookalikes = page.getByRole('heading', { name: 'These themes look like one problem' });
  check(await lookalikes.isVisible(), 'the backlog offers look-alike themes to a PM');
  const offered = page.locator('.lookalike');
  const pairs = await offered.count();
  check(pairs >= 1 && await offered.first().locator('blockquote').count() === 2, 'each with a quote from each theme');
  check(await offered.first().getByRole('button', { name: /^Merge into/ }).isVisible(), 'with a Merge button');
  await lookalikes.scrollIntoViewIfNeeded();
  await page.locator('section[aria-labelledby=lookalikes]').screenshot({ path: `${shots}/lookalikes.png` });
  await offered.first().getByRole('button', { name: 'Different problems' }).click();
  await page.waitForURL(/\/backlog\?done=/);
  check(/different problems/i.test(await flash(page)), 'a dismissal is confirmed');

  step = 'digest settings and preview';
  await page.goto(`${base}/settings`);
  check(await page.getByLabel(/Email me the weekly digest/).isChecked(), 'a new PM is subscribed by default');
  await page.getByLabel('Hour').selectOption('7');
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/done=Saved/);
  check(await page.getByLabel('Time zone').inputValue() === 'Europe/Berlin', 'the time zone is saved');
  await page.getByRole('link', { name: /Preview/ }).click();
  await page.getByRole('heading', { name: /Digest preview/ }).waitFor();
  const frame = page.frameLocator('iframe[title="The HTML part"]');
  check(await frame.getByText('Top of the backlog').count() === 1, 'the preview shows the HTML part');
  check(await frame.getByText('Shipped and measured').count() === 1, 'the digest reports the shipped fix');
  await frame.getByText('Shipped and measured').scrollIntoViewIfNeeded();
  await page.locator('iframe[title="The HTML part"]').screenshot({ path: `${shots}/digest-measured.png` });
  check((await page.locator('pre').textContent()).includes('Unsubscribe: http'), 'and the text part');
  await page.screenshot({ path: `${shots}/digest-preview.png` });

  step = 'the layout on a phone';
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/backlog`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `no horizontal scrolling on a phone (${overflow}px too wide)`);
  await page.screenshot({ path: `${shots}/backlog-phone.png` });
  await page.setViewportSize({ width: 1280, height: 900 });
  await signOut(page);

  step = 'support files a ticket with suggestions';
  await signIn(page, env('SUPPORT_EMAIL'), env('SUPPORT_PASSWORD'));
  await page.goto(`${base}/tickets/new`);
  await page.getByLabel('Subject').fill('Card not arrived');
  await page.getByLabel('What the customer says').pressSequentially('I ordered a new card two weeks ago and it still has not arrived', { delay: 5 });
  await page.locator('#suggestions a').first().waitFor({ timeout: 10000 });
  const suggested = await page.locator('#suggestions a').count();
  check(suggested >= 1, 'matching themes are suggested while typing');
  check(await page.locator('#suggestions li').count() > suggested, 'similar past tickets are listed too');
  await page.screenshot({ path: `${shots}/ticket-form.png` });
  await page.getByLabel('Customer email').fill('lena.fischer@example.com');
  await page.getByRole('button', { name: 'File ticket' }).click();
  await page.waitForURL(/\/tickets\?done=/);
  const filed = (await flash(page)).match(/Ticket #(\d+) filed/);
  check(filed, 'the ticket is confirmed');
  done.ticket_id = Number(filed[1]);
  check(await page.getByRole('cell', { name: 'Card not arrived' }).count() >= 1, 'the ticket is listed');
  await page.screenshot({ path: `${shots}/tickets.png` });

  step = 'support staff cannot edit themes';
  await page.goto(`${base}/themes/${targetId}`);
  check(await page.getByRole('button', { name: 'Merge' }).count() === 0, 'no merge control for support');
  check(await page.getByRole('button', { name: 'Save' }).count() === 0, 'no workflow form for support');

  step = 'a customer answers the survey';
  const anon = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const survey = await anon.newPage();
  await survey.goto(`${base}/s/${env('SURVEY_ID')}`);
  await survey.getByRole('button', { name: 'Send' }).click();
  check(survey.url().endsWith(`/s/${env('SURVEY_ID')}`) && (await survey.getByRole('alert').count()) === 1,
    'an empty answer is refused with a message');
  await survey.locator('input[type=radio][value="3"]').first().check();
  await survey.locator('textarea').first().fill('The card took three weeks to arrive');
  await survey.getByLabel('Your email (optional)').fill('sam.survey@example.com');
  await survey.getByLabel(/Tell me when/).check();
  await survey.screenshot({ path: `${shots}/survey.png`, fullPage: true });
  await survey.getByRole('button', { name: 'Send' }).click();
  await survey.getByRole('heading', { name: 'Thank you' }).waitFor();
  done.survey_email = 'sam.survey@example.com';
  await anon.close();

  console.log(JSON.stringify(done));
} catch (e) {
  console.error(`FAILED at step "${step}": ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
