// The sales dashboard's browser test (run by dashboard_browser_test.sh, which starts the services
// and records the demo sales). Headless Chromium through puppeteer-core; the expected figures come
// from the reporting service's gRPC API (GetReportTable through grpcurl), never from the page's
// own JSON. Checks, in order:
//   1. every page, as of a fixed moment: each table's cells and each headline figure equal the gRPC
//      table of the same request (money to the cent, with the currency; the text shown is the same
//      figure in the page's locale, Greek here: "1.234,50 €"); every chart drew points on a
//      non-blank canvas; no panel failed; Greek names are shown as written; a screenshot per page;
//   2. every panel's CSV link answers an RFC 4180 CSV whose header and rows are the gRPC table's;
//      one of them is downloaded for real by a click (Chromium's download to a folder) and parsed;
//   3. filters: the form's region changes the URL and the figures, which equal gRPC's with the filter;
//   4. bad parameters answer 400 with JSON naming the parameter;
//   5. live: a new target recorded over gRPC reaches the open page without a reload, and the
//      "data as of" time moves.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.SALES_WEB_DIR, 'package.json'));
const puppeteer = require('puppeteer-core');

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  return [m[1], m[2]];
}));
const { base, grpc, grpcurl, chromium, out, period, work } = args;
const supportGrpc = args['support-grpc'];
const LANG = 'el-GR';
const PAGES = ['overview', 'managers', 'products', 'clients', 'lost-reasons'];
const started = Date.now();
let failures = 0;

function log(...a) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s]`, ...a);
}
function check(ok, what) {
  if (!ok) {
    failures++;
    console.error(`FAIL: ${what}`);
  }
  return ok;
}
function must(ok, what) {
  if (!ok) throw new Error(`FAIL: ${what}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- gRPC: the expected tables ----

const CASES = {
  'plan-vs-actual': 'planVsActual', funnel: 'funnel', 'cycle-times': 'cycleTimes', 'lost-reasons': 'lostReasons',
  scorecards: 'scorecards', products: 'products', 'client-revenue': 'clientRevenue', concentration: 'concentration',
  'inbound-calls': 'inboundCalls', pipeline: 'pipeline',
};
const KEYED = new Set(['plan-vs-actual', 'funnel', 'cycle-times', 'client-revenue', 'pipeline']);

// The ReportRequest (protobuf JSON) a dashboard query stands for, written out here independently
// of the service's own parameter parsing.
function grpcRequest(query) {
  const q = new URLSearchParams(query);
  const name = q.get('name');
  const r = { period: q.get('period') };
  if (KEYED.has(name)) r.by = `PLAN_DIMENSION_${(q.get('by') || 'company').toUpperCase()}`;
  if (name === 'plan-vs-actual') r.metric = `PLAN_METRIC_${(q.get('metric') || 'revenue').toUpperCase().replace(/-/g, '_')}`;
  if (q.get('dynamics')) r.dynamics = `BUCKET_${q.get('dynamics').toUpperCase()}`;
  if (q.get('as_of')) r.asOf = q.get('as_of');
  const filters = {};
  for (const [p, f] of [['manager', 'managerId'], ['region', 'region'], ['product', 'productCode'], ['client', 'clientId'], ['source', 'source']]) {
    if (q.get(p)) filters[f] = q.get(p);
  }
  if (Object.keys(filters).length) r.filters = filters;
  return { [CASES[name]]: r };
}

function grpcCall(method, request, target = grpc, service = 'sales.api.v1.Reporting') {
  const json = execFileSync(grpcurl, ['-plaintext', '-d', '@', target, `${service}/${method}`], { input: JSON.stringify(request) });
  return JSON.parse(json.toString());
}
// Client support's attention list over gRPC (every page).
function attentionList(query) {
  const q = new URLSearchParams(query);
  const clients = [];
  let pageToken = '';
  do {
    const r = grpcCall('ListClients', { onlyNeedingAttention: true, ownerManagerId: q.get('manager') || '', region: q.get('region') || '', pageSize: 500, pageToken },
      supportGrpc, 'sales.api.v1.ClientSupport');
    clients.push(...(r.clients || []));
    pageToken = r.next_page_token || r.nextPageToken || '';
  } while (pageToken);
  return clients;
}
function checkAttention(table, what) {
  const want = attentionList(table.query.slice('client-support:'.length));
  const got = table.rows.map((r) => `${r[0].raw} | ${r[4].raw}`).sort();
  // grpcurl prints the proto's field names.
  const expected = want.map((c) => `${c.client_id} | ${(c.attention_reasons || []).join('; ')}`).sort();
  check(JSON.stringify(got) === JSON.stringify(expected), `${what}: clients needing attention ${JSON.stringify(got)}, gRPC ${JSON.stringify(expected)}`);
  return want.length;
}
const expectedTables = new Map();
function expectedTable(query) {
  if (!expectedTables.has(query)) {
    const t = grpcCall('GetReportTable', grpcRequest(query));
    t.columns = t.columns || [];
    t.rows = t.rows || [];
    expectedTables.set(query, t);
  }
  return expectedTables.get(query);
}

// A gRPC cell as the page's data-raw writes it: money in minor units, numbers, text, '' for none.
function raw(c = {}) {
  if (c.money !== undefined) return { raw: String(c.money.units || 0), currency: c.money.currency };
  if (c.number !== undefined) return { raw: String(c.number) };
  if (c.text !== undefined) return { raw: c.text };
  return { raw: '' };
}
function sameRaw(shown, expected) {
  if (shown === expected) return true;
  return shown !== '' && expected !== '' && !Number.isNaN(Number(shown)) && Number(shown) === Number(expected);
}
// The figure in the text shown: its digits (the locale's separators and the currency sign removed).
const digits = (text) => text.replace(/[^0-9]/g, '');
function textMatches(kind, rawValue, text) {
  if (kind === 'COLUMN_KIND_TEXT' || kind === 'COLUMN_KIND_DAY') return true;  // words may be prettified
  if (rawValue === '') return text === '–';
  const n = Number(rawValue);
  if (kind === 'COLUMN_KIND_MONEY' || kind === 'COLUMN_KIND_COUNT') return BigInt(digits(text) || '0') === BigInt(Math.abs(Math.round(n)));
  if (kind === 'COLUMN_KIND_RATIO') return Number(digits(text)) === Math.round(Math.abs(n) * 1000);
  return true;
}
const header = (c) => (c.kind === 'COLUMN_KIND_MONEY' && c.currency ? `${c.name} (${c.currency})` : c.name);

// ---- CSV (RFC 4180) ----

function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    if (c === '\n') throw new Error('a bare LF: CSV lines must end with CRLF');
    field += c; i++;
  }
  if (field !== '' || row.length) throw new Error('the last line has no CRLF');
  return rows;
}
// A gRPC cell as the CSV writes it: money in major units ("1234.50"; the currency after it when
// the column has none of its own), numbers plain.
function csvValue(c = {}, column = {}) {
  if (c.money !== undefined) {
    const units = BigInt(c.money.units || 0);
    const neg = units < 0n;
    const s = (neg ? -units : units).toString().padStart(3, '0');
    const major = `${neg ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
    return c.money.currency !== column.currency ? `${major} ${c.money.currency}` : major;
  }
  if (c.number !== undefined) return Number(c.number);
  if (c.text !== undefined) return c.text;
  return '';
}
function checkCsv(text, query, what) {
  const t = expectedTable(query);
  let rows;
  try {
    rows = parseCsv(text);
  } catch (e) {
    return check(false, `${what}: the CSV does not parse: ${e.message}`);
  }
  let ok = check(JSON.stringify(rows[0]) === JSON.stringify(t.columns.map(header)), `${what}: CSV header ${JSON.stringify(rows[0])}`);
  ok = check(rows.length - 1 === t.rows.length, `${what}: CSV has ${rows.length - 1} rows, gRPC ${t.rows.length}`) && ok;
  t.rows.forEach((r, i) => {
    t.columns.forEach((c, j) => {
      const want = csvValue((r.cells || [])[j], c);
      const got = rows[i + 1] ? rows[i + 1][j] : undefined;
      const same = typeof want === 'number' ? Number(got) === want : got === want;
      ok = check(same, `${what}: CSV row ${i + 1} ${c.name}: ${got} (gRPC ${want})`) && ok;
    });
  });
  return ok;
}

// ---- The page ----

async function waitReady(page, renders = 1) {
  await page.waitForFunction((n) => document.body.dataset.state === 'ready' && Number(document.body.dataset.renders || 0) >= n, { timeout: 30000 }, renders);
}

// Everything the page shows, with its machine values.
function readPage(page) {
  return page.evaluate(() => {
    const tables = [...document.querySelectorAll('table.report')].map((t) => ({
      query: t.dataset.query,
      headers: [...t.tHead.rows[0].cells].map((th) => th.dataset.column),
      rows: [...t.tBodies[0].rows].map((tr) => [...tr.cells].map((td) => ({ raw: td.dataset.raw, currency: td.dataset.currency || undefined, text: td.textContent }))),
    }));
    const kpis = [...document.querySelectorAll('.kpi .value')].map((k) => ({
      query: k.dataset.query, column: k.dataset.column, row: Number(k.dataset.row), sum: k.dataset.sum === '1', raw: k.dataset.raw, currency: k.dataset.currency || undefined, text: k.textContent,
    }));
    const charts = [...document.querySelectorAll('.chart')].map((div) => {
      const canvas = div.querySelector('canvas');
      let painted = 0;
      if (canvas && canvas.width && canvas.height) {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
      }
      return { panel: div.closest('[data-panel]').dataset.panel, points: Number(div.dataset.points || 0), painted, width: canvas ? canvas.width : 0 };
    });
    const csv = [...document.querySelectorAll('section.panel')].map((s) => ({ panel: s.dataset.panel, href: s.querySelector('h2 a.csv')?.getAttribute('href') }));
    return { tables, kpis, charts, csv, errors: [...document.querySelectorAll('[data-error]')].map((e) => e.textContent), text: document.body.innerText };
  });
}

function checkTables(shown, what) {
  for (const t of shown.tables) {
    if (t.query.startsWith('client-support:')) {
      checkAttention(t, what);
      continue;
    }
    const e = expectedTable(t.query);
    const name = `${what} table ${new URLSearchParams(t.query).get('name')} (${t.query})`;
    check(JSON.stringify(t.headers) === JSON.stringify(e.columns.map((c) => c.name)), `${name}: columns ${t.headers}`);
    check(t.rows.length === e.rows.length, `${name}: ${t.rows.length} rows, gRPC ${e.rows.length}`);
    // The page may sort rows (e.g. top clients by revenue): compare them as sets.
    const key = (cells) => JSON.stringify(cells.map((c) => (c.raw === '' || Number.isNaN(Number(c.raw)) ? c.raw : Number(c.raw))));
    const want = e.rows.map((r) => key(e.columns.map((c, j) => raw((r.cells || [])[j])))).sort();
    const got = t.rows.map((r) => key(r)).sort();
    check(JSON.stringify(got) === JSON.stringify(want), `${name}: cells differ from gRPC\n  page ${got.join('\n       ')}\n  gRPC ${want.join('\n       ')}`);
    for (const r of t.rows) {
      r.forEach((c, j) => {
        const col = e.columns[j];
        if (!col) return;
        if (col.kind === 'COLUMN_KIND_MONEY' && c.raw !== '') check(c.currency === (col.currency || c.currency), `${name}: ${col.name} in ${c.currency}, not ${col.currency}`);
        check(textMatches(col.kind, c.raw, c.text), `${name}: ${col.name} shows "${c.text}" for ${c.raw}`);
      });
    }
  }
  for (const k of shown.kpis) {
    const e = expectedTable(k.query);
    const j = e.columns.findIndex((c) => c.name === k.column);
    const col = e.columns[j];
    let want;
    if (k.sum) {
      want = { raw: String(e.rows.reduce((n, r) => n + Number(raw((r.cells || [])[j]).raw || 0), 0)), currency: col.currency };
    } else {
      want = raw(((e.rows[k.row] || {}).cells || [])[j]);
    }
    check(j >= 0 && sameRaw(k.raw, want.raw), `${what} headline ${k.column}: ${k.raw}, gRPC ${want.raw}`);
    if (col && col.kind === 'COLUMN_KIND_MONEY') check(k.currency === want.currency, `${what} headline ${k.column}: currency ${k.currency}`);
    if (col) check(textMatches(col.kind, k.raw, k.text), `${what} headline ${k.column} shows "${k.text}" for ${k.raw}`);
  }
}

async function settle() {
  // Every recorded event applied: the lag is 0 and the position has stopped moving.
  let last = -1;
  for (let i = 0; i < 150; i++) {
    const s = await (await fetch(`${base}/dashboard/api/status`)).json();
    if (s.lag === 0 && s.position === last && s.last_event_at) return s;
    last = s.position;
    await sleep(400);
  }
  throw new Error('the reporting projection did not settle');
}

async function main() {
  const status = await settle();
  const asOf = status.now;
  log(`settled at position ${status.position}, last event ${status.last_event_at}; checking as of ${asOf}`);
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--lang=${LANG}`, '--font-render-hinting=none'],
    env: { ...process.env, LANG: 'el_GR.UTF-8' },
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    const fixed = new URLSearchParams({ period, as_of: asOf, lang: LANG, refresh: '0' });

    // 1. Every page.
    const csvLinks = [];
    for (const name of PAGES) {
      const url = `${base}/dashboard/${name === 'overview' ? '' : name}?${fixed}`;
      await page.goto(url, { waitUntil: 'load' });
      await waitReady(page);
      const shown = await readPage(page);
      await page.screenshot({ path: path.join(out, `dashboard-${name}.png`), fullPage: true });
      if (name === 'overview') await page.screenshot({ path: path.join(out, 'dashboard-overview-top.png') });  // the README's
      check(shown.errors.length === 0, `${name}: panels failed: ${shown.errors.join(' | ')}`);
      check(shown.tables.length > 0, `${name}: no table`);
      check(shown.charts.length > 0, `${name}: no chart`);
      for (const c of shown.charts) {
        check(c.points > 0, `${name}: chart in ${c.panel} drew no points`);
        check(c.painted > 2000, `${name}: chart in ${c.panel} is blank (${c.painted} painted pixels)`);
      }
      checkTables(shown, name);
      for (const c of shown.csv) {
        check(!!c.href, `${name}: panel ${c.panel} has no CSV link`);
        if (c.href) csvLinks.push({ page: name, ...c });
      }
      log(`${name}: ${shown.tables.length} tables, ${shown.kpis.length} headline figures, ${shown.charts.length} charts checked`);
      if (name === 'overview') {
        // The locale's separators and the currency: Greek writes 1.234,50 €.
        const money = shown.kpis.find((k) => k.column === 'Actual');
        check(/^-?\d{1,3}(\.\d{3})*,\d{2}\s€$/.test(money.text), `overview: Actual shows "${money.text}", not Greek style "1.234,50 €"`);
      }
      if (name === 'managers') {
        // Managers by name (lead acquisition's roster), in Greek as registered by the demo.
        for (const who of ['Άννα Κωστάκη', 'Νίκος Δημητρίου']) check(shown.text.includes(who), `managers: "${who}" is not shown`);
      }
      if (name === 'clients') {
        const attention = shown.tables.find((t) => t.query.startsWith('client-support:'));
        if (check(!!attention, 'clients: no attention list')) {
          check(checkAttention(attention, name) > 0, 'clients: the demo client with a ticket open for 10 days does not need attention');
        }
        const c = shown.csv.find((x) => x.panel === 'attention');
        if (c && c.href) {
          // Made in the page from client support's list (a blob: link).
          const text = await page.evaluate(async (href) => (await fetch(href)).text(), c.href).catch((e) => `${e}`);
          let rows = [];
          try { rows = parseCsv(text); } catch (e) { check(false, `attention CSV does not parse: ${e.message}`); }
          check(rows.length >= 2 && rows[0][0] === 'Client', `attention CSV: ${JSON.stringify(rows[0])}`);
          check(rows.length - 1 === attentionList('').length, `attention CSV has ${rows.length - 1} rows`);
        }
        // Greek as written by demo.sh, in the table and in the chart's labels (the table's text).
        check(shown.text.includes('Παππάς & Υιοί Α.Ε.'), 'clients: the Greek company "Παππάς & Υιοί Α.Ε." is not shown');
      }
    }

    // 2. CSV: every panel's link, the file as the browser gets it.
    for (const c of csvLinks) {
      if (c.panel === 'attention') continue;  // checked on its page (a blob: link lives with it)
      const res = await page.evaluate(async (href) => {
        const r = await fetch(href);
        return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), text: await r.text() };
      }, c.href);
      check(res.status === 200 && /^text\/csv/.test(res.type), `${c.page} ${c.panel}: CSV answered ${res.status} ${res.type}`);
      check(/^attachment; filename="[a-z-]+-.*\.csv"$/.test(res.disposition || ''), `${c.page} ${c.panel}: Content-Disposition ${res.disposition}`);
      checkCsv(res.text, c.href.split('?')[1], `${c.page} ${c.panel}`);
    }
    log(`${csvLinks.length} CSV links checked`);
    {
      // The workbook beside each CSV: the same request as .xlsx (a zip: "PK").
      await page.goto(`${base}/dashboard/?${fixed}`, { waitUntil: 'load' });
      await waitReady(page);
      const hrefs = await page.$$eval('section.panel h2 a.xlsx', (as) => as.map((a) => a.getAttribute('href')));
      check(hrefs.length >= 5, `overview: ${hrefs.length} Excel links`);
      for (const href of hrefs) {
        const res = await page.evaluate(async (h) => {
          const r = await fetch(h);
          const bytes = new Uint8Array(await r.arrayBuffer());
          return { status: r.status, type: r.headers.get('content-type'), magic: String.fromCharCode(bytes[0], bytes[1]), size: bytes.length };
        }, href);
        check(res.status === 200 && res.type === 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' && res.magic === 'PK',
          `${href}: ${res.status} ${res.type} ${res.magic} ${res.size} bytes`);
      }
      log(`${hrefs.length} Excel links checked`);
    }
    {
      // A real download: click the overview's first CSV link.
      const downloads = path.join(work, 'downloads');
      fs.mkdirSync(downloads, { recursive: true });
      await page.goto(`${base}/dashboard/?${fixed}`, { waitUntil: 'load' });
      await waitReady(page);
      const cdp = await page.createCDPSession();
      try {
        await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
      } catch (e) {
        await cdp.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
      }
      const href = await page.$eval('section.panel h2 a.csv', (a) => a.getAttribute('href'));
      await page.click('section.panel h2 a.csv');
      let file;
      for (let i = 0; i < 100 && !file; i++) {
        file = fs.readdirSync(downloads).find((f) => f.endsWith('.csv'));
        if (!file) await sleep(100);
      }
      if (check(!!file, 'the CSV download did not arrive')) {
        await sleep(200);
        check(/^plan-vs-actual-.*\.csv$/.test(file), `downloaded file name ${file}`);
        checkCsv(fs.readFileSync(path.join(downloads, file), 'utf8'), href.split('?')[1], `downloaded ${file}`);
        log(`downloaded ${file}`);
      }
    }

    // 3. Filters: the form's region.
    {
      await page.goto(`${base}/dashboard/?${fixed}`, { waitUntil: 'load' });
      await waitReady(page);
      const before = await readPage(page);
      await page.type('#f-region', 'GR-MAC');
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#filters button[type=submit]')]);
      await waitReady(page);
      check(new URL(page.url()).searchParams.get('region') === 'GR-MAC', `the filter is not in the URL: ${page.url()}`);
      check(new URL(page.url()).searchParams.get('as_of') === asOf, 'the filter form dropped as_of');
      const after = await readPage(page);
      await page.screenshot({ path: path.join(out, 'dashboard-overview-region-GR-MAC.png'), fullPage: true });
      check(after.errors.length === 0, `filtered overview: panels failed: ${after.errors.join(' | ')}`);
      checkTables(after, 'filtered overview');
      const actual = (s) => s.kpis.find((k) => k.column === 'Actual').raw;
      const captured = (s) => s.tables.find((t) => t.query.includes('name=funnel')).rows[0][1].raw;
      check(after.kpis.every((k) => new URLSearchParams(k.query).get('region') === 'GR-MAC'), 'filtered overview: a figure was asked without the region');
      check(actual(after) !== actual(before), `the region filter did not change the actual (${actual(before)})`);
      check(captured(after) !== captured(before), `the region filter did not change the funnel (${captured(before)})`);
      log(`filters: actual ${actual(before)} -> ${actual(after)}, captured ${captured(before)} -> ${captured(after)}`);
      // A manager typed by name on the managers page: the URL holds the id, the figures are hers.
      await page.goto(`${base}/dashboard/managers?${fixed}`, { waitUntil: 'load' });
      await waitReady(page);
      const all = await readPage(page);
      await page.type('#f-manager', 'Άννα Κωστάκη');
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('#filters button[type=submit]')]);
      await waitReady(page);
      const manager = new URL(page.url()).searchParams.get('manager');
      check(/^[0-9a-f-]{36}$/.test(manager || ''), `the manager filter is not an id in the URL: ${page.url()}`);
      const anna = await readPage(page);
      await page.screenshot({ path: path.join(out, 'dashboard-managers-anna.png'), fullPage: true });
      check(anna.errors.length === 0, `managers filtered: panels failed: ${anna.errors.join(' | ')}`);
      checkTables(anna, 'managers filtered by Anna');
      const scoreRows = (s) => s.tables.find((t) => t.query.startsWith('name=scorecards&') && !t.query.includes('dynamics')).rows.length;
      check(scoreRows(anna) < scoreRows(all), `the manager filter did not narrow the scorecards (${scoreRows(all)} rows)`);
      // A product filter in the URL (a bookmark) on the products page.
      await page.goto(`${base}/dashboard/products?${fixed}&product=erp-lite`, { waitUntil: 'load' });
      await waitReady(page);
      const products = await readPage(page);
      check(products.errors.length === 0, `products filtered: panels failed: ${products.errors.join(' | ')}`);
      checkTables(products, 'products filtered by erp-lite');
      check(products.tables.every((t) => t.rows.every((r) => !r.some((c) => c.raw === 'crm-pro'))), 'products filtered by erp-lite still shows crm-pro');
    }

    // 4. Bad parameters: 400 with JSON naming the parameter.
    for (const [query, field] of [
      [`name=plan-vs-actual&period=2026-13`, 'period'],
      [`name=nope&period=2026`, 'name'],
      [`name=funnel&period=2026&by=planet`, 'by'],
      [`name=products&period=2026&dynamics=hourly`, 'dynamics'],
      [`name=scorecards&period=2026&as_of=yesterday`, 'as_of'],
      [`name=products&period=2026&regoin=GR-ATT`, 'regoin'],
      [`name=plan-vs-actual&period=2026&metric=happiness`, 'metric'],
    ]) {
      for (const ext of ['', '.csv']) {
        const res = await fetch(`${base}/dashboard/api/report${ext}?${query}`);
        const body = await res.json().catch(() => null);
        check(res.status === 400, `${query}: HTTP ${res.status}, not 400`);
        check(body && body.error && body.error.code === 'INVALID_ARGUMENT' && body.error.fields.some((f) => f.field === field && f.description),
          `${query}: the 400 does not name ${field}: ${JSON.stringify(body)}`);
      }
    }
    log('bad parameters answered 400 naming the parameter');

    // 5. Live: a new target for this month reaches the open page by itself.
    {
      const month = new Date().toISOString().slice(0, 7);
      await page.goto(`${base}/dashboard/?period=${month}&lang=${LANG}&refresh=1`, { waitUntil: 'load' });
      await waitReady(page);
      const renders = Number(await page.$eval('body', (b) => b.dataset.renders));
      const before = await page.$eval('#freshness', (f) => f.dataset.lastEventAt);
      const units = String(1000000 + Math.floor(Math.random() * 1000000) * 100);
      grpcCall('SetTarget', {
        idempotencyKey: `dashboard-test-${Date.now()}`, period: month, metric: 'PLAN_METRIC_REVENUE', dimension: 'PLAN_DIMENSION_COMPANY',
        amount: { units, currency: 'EUR' },
      });
      const t0 = Date.now();
      try {
        await page.waitForFunction((u) => document.querySelector('.kpi .value[data-column="Target"]')?.dataset.raw === u, { timeout: 20000 }, units);
        await waitReady(page, renders + 1);
        const after = await page.$eval('#freshness', (f) => ({ at: f.dataset.lastEventAt, text: f.textContent }));
        check(after.at && after.at !== before, `the last event time did not move (${before} -> ${after.at})`);
        check(/Data as of/.test(after.text), `the freshness line says "${after.text}"`);
        log(`live: the new target appeared after ${Date.now() - t0} ms; "${after.text}"`);
        await page.screenshot({ path: path.join(out, 'dashboard-live.png') });
      } catch (e) {
        check(false, `live: the new target ${units} never appeared on the open page (${e.message})`);
      }
    }
    check(consoleErrors.length === 0, `browser errors: ${consoleErrors.join(' | ')}`);

    // 6. With tokens: a reporting service that checks them (--token-base) refuses the page's data
    // until a token is given; the page asks for one, keeps it for the tab and then shows the figures.
    if (args['token-base']) {
      const tab = await browser.newPage();  // a tab of its own: no token kept yet
      await tab.setViewport({ width: 1400, height: 900 });
      await tab.goto(`${args['token-base']}/dashboard/?${fixed}`, { waitUntil: 'load' });
      try {
        await tab.waitForFunction(() => document.body.dataset.signin === 'asked', { timeout: 20000 });
        const prompt = await tab.$eval('#signin', (f) => f.textContent);
        check(/no bearer token/.test(prompt), `the sign-in box does not say why: "${prompt}"`);
        await tab.type('#token', args.token);
        await Promise.all([tab.waitForNavigation({ waitUntil: 'load' }), tab.click('#signin button')]);
        await waitReady(tab);
        const shown = await readPage(tab);
        check(shown.errors.length === 0, `with a token the page shows errors: ${shown.errors.join(' | ')}`);
        check(shown.kpis.length > 0 && shown.tables.length > 0, 'with a token the page shows no figures');
        check(!(await tab.$('#signin')), 'with a token the page still asks for one');
        await tab.screenshot({ path: path.join(out, 'dashboard-with-token.png') });
        log(`tokens: asked for one, then ${shown.kpis.length} headlines and ${shown.tables.length} tables`);
      } catch (e) {
        check(false, `tokens: ${e.message}`);
      }
      await tab.close();
    }
  } finally {
    await browser.close();
  }
}

main().then(() => {
  log(failures ? `${failures} checks failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}, (e) => {
  console.error(e);
  process.exit(1);
});
