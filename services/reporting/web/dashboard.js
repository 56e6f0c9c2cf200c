// The sales dashboard's one script: reads the view and its filters from the URL, asks the reporting
// service for report tables (/dashboard/api/report: the same tables as gRPC's GetReportTable),
// draws them as tables (sortable, each with its CSV) and charts (Apache ECharts, served by the
// service), and polls /dashboard/api/status to show how fresh the data is and to redraw when new
// events have been applied. No framework, no build step.
//
// URL: /dashboard/[managers|products|clients|lost-reasons]?period=2026&region=GR-ATT&manager=...
//      &product=...   (filters; a bookmark or a link shows the same view)
//      &as_of=2026-11-27T10:00:00Z   figures as of a moment (fixed: no live refresh)
//      &refresh=10    seconds between freshness checks (0: never)
//      &lang=el-GR    number and date formats (default: the browser's language)
//
// For tests and tools, every figure carries its machine value: table cells and KPIs have
// data-raw (money: minor units, with data-currency; numbers as JSON gives them; text as is), each
// table and KPI the query it came from (data-query), each chart the number of points it drew
// (data-points); <body data-state="ready" data-renders="N"> once a render is complete.
'use strict';

(() => {
  const params = new URLSearchParams(location.search);
  const locale = params.get('lang') || navigator.language || 'en-GB';
  const asOf = params.get('as_of') || '';
  const refreshSeconds = params.has('refresh') && params.get('refresh') !== '' ? Number(params.get('refresh')) : 10;
  const FILTERS = ['region', 'manager', 'product'];
  const period = params.get('period') || String(new Date().getFullYear());

  const PAGES = [
    { path: '', title: 'Overview', build: overview },
    { path: 'managers', title: 'Managers', build: managers },
    { path: 'products', title: 'Products', build: products },
    { path: 'clients', title: 'Clients', build: clients },
    { path: 'lost-reasons', title: 'Lost reasons', build: lostReasons },
  ];
  const pagePath = location.pathname.replace(/^\/dashboard\/?/, '').replace(/\/$/, '');
  const page = PAGES.find((p) => p.path === pagePath) || PAGES[0];

  let status = null;       // the last /dashboard/api/status answer
  let shownPosition = -1;  // the projection position the figures on screen were read at
  let renders = 0;
  let charts = [];
  let managerNames = new Map();  // id -> name, from lead acquisition's roster (the reports know ids)
  const MANAGER_COLUMNS = new Set(['Manager', 'Owner']);

  // ---- Periods ----

  // Buckets for "dynamics" charts: days for a month or a week, months for longer periods.
  function dynamicsFor(p) {
    if (/^\d{4}-\d{2}$/.test(p) || /^\d{4}-W\d{2}$/.test(p)) return 'day';
    if (/^\d{4}-\d{2}-\d{2}$/.test(p)) return 'day';
    const range = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(p);
    if (range) return (Date.parse(range[2]) - Date.parse(range[1])) / 864e5 <= 45 ? 'day' : 'month';
    return 'month';
  }
  const dynamics = dynamicsFor(period);
  const bucketWord = { day: 'day', week: 'week', month: 'month' }[dynamics];

  // ---- Formatting (Intl: the locale's separators, the currency's symbol and decimals) ----

  const formats = new Map();
  function nf(key, options) {
    if (!formats.has(key)) formats.set(key, new Intl.NumberFormat(locale, options));
    return formats.get(key);
  }
  function currencyDigits(currency) {
    try {
      return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch (e) {
      return 2;
    }
  }
  function moneyValue(m) {
    return Number(m.units || 0) / 10 ** currencyDigits(m.currency);
  }
  function formatMoneyValue(v, currency) {
    const d = currencyDigits(currency);
    return nf(`m${currency}`, { style: 'currency', currency, minimumFractionDigits: d, maximumFractionDigits: d }).format(v);
  }
  function formatMoney(m) {
    return formatMoneyValue(moneyValue(m), m.currency);
  }
  function formatCompactMoney(v, currency) {
    return nf(`cm${currency}`, { style: 'currency', currency, notation: 'compact', maximumFractionDigits: 1 }).format(v);
  }
  const formatCount = (n) => nf('count', { maximumFractionDigits: 0 }).format(n);
  const formatDecimal = (n) => nf('decimal', { maximumFractionDigits: 2 }).format(n);
  const formatRatio = (n) => nf('ratio', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(n);
  function formatSeconds(s) {
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${formatCount(d)} d ${h} h`;
    if (h > 0) return `${h} h ${m} min`;
    if (m > 0) return `${m} min`;
    return `${formatCount(s)} s`;
  }
  function formatTime(iso) {
    if (!iso) return '–';
    return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(iso));
  }
  function ago(iso) {
    const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
    if (seconds < 60) return rtf.format(-Math.round(seconds), 'second');
    if (seconds < 3600) return rtf.format(-Math.round(seconds / 60), 'minute');
    if (seconds < 86400) return rtf.format(-Math.round(seconds / 3600), 'hour');
    return rtf.format(-Math.round(seconds / 86400), 'day');
  }
  // "DISQUALIFICATION_REASON_NO_BUDGET" -> "No budget"; other text as it is.
  function words(text) {
    const m = /^[A-Z_]+?_REASON_([A-Z_]+)$/.exec(text) || /^(?:LEAD_SOURCE|PIPELINE_STAGE)_([A-Z_]+)$/.exec(text);
    if (!m) return text;
    const w = m[1].toLowerCase().replace(/_/g, ' ');
    return w.charAt(0).toUpperCase() + w.slice(1);
  }

  // ---- Report tables ----

  const NUMERIC = new Set(['COLUMN_KIND_COUNT', 'COLUMN_KIND_DECIMAL', 'COLUMN_KIND_MONEY', 'COLUMN_KIND_RATIO', 'COLUMN_KIND_SECONDS']);

  // A cell as shown: its machine value (raw), a number for charts and sorting (value), its text.
  function cell(table, row, i) {
    const column = table.columns[i];
    const kind = column.kind || 'COLUMN_KIND_UNSPECIFIED';
    const c = (row.cells || [])[i] || {};
    if (c.money !== undefined) {
      const currency = c.money.currency || column.currency;
      return { kind, raw: String(c.money.units || 0), currency, value: moneyValue({ units: c.money.units, currency }), text: formatMoney({ units: c.money.units, currency }) };
    }
    if (c.number !== undefined) {
      const n = Number(c.number);
      const text = kind === 'COLUMN_KIND_RATIO' ? formatRatio(n)
        : kind === 'COLUMN_KIND_SECONDS' ? formatSeconds(n)
        : kind === 'COLUMN_KIND_DECIMAL' ? formatDecimal(n) : formatCount(n);
      return { kind, raw: String(c.number), value: n, text };
    }
    if (c.text !== undefined) return { kind, raw: c.text, value: c.text, text: words(c.text) };
    return { kind, raw: '', value: null, text: '–', none: true };
  }
  const col = (table, name) => table.columns.findIndex((c) => c.name === name);
  const rows = (table) => table.rows || [];
  function values(table, name) {
    const i = col(table, name);
    return rows(table).map((r) => (i < 0 ? null : cell(table, r, i).value));
  }
  // A column's values as labels: managers by name.
  function labels(table, name) {
    return values(table, name).map((v) => (MANAGER_COLUMNS.has(name) && managerNames.has(v) ? managerNames.get(v) : v));
  }

  // ---- Tokens ----
  // With tokens on (--auth-jwt-key), the data needs "Authorization: Bearer <token>" with the head or
  // readonly role; the page asks for one once and keeps it for the tab (sessionStorage), the way a
  // gRPC caller holds its token. The page and its files themselves are open.
  const TOKEN_KEY = 'sales-dashboard-token';
  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }
  async function api(url) {
    const t = token();
    const res = await fetch(url, { cache: 'no-store', headers: t ? { Authorization: `Bearer ${t}` } : {} });
    if (res.status === 401) askForToken(res);
    return res;
  }
  let asking = false;
  async function askForToken(res) {
    if (asking) return;
    asking = true;
    const body = await res.clone().json().catch(() => ({}));
    const why = (body.error && body.error.message) || 'a token is needed';
    const input = el('input', { type: 'password', id: 'token', autocomplete: 'off', size: 40, placeholder: 'eyJ…' });
    const form = el('form', { id: 'signin', class: 'signin' },
      el('p', {}, `This service checks tokens (${why}). Paste a token with the head or readonly role, `,
        'e.g. from ', el('code', {}, 'salesctl token sign --roles=head'), '.'),
      el('label', {}, 'Token ', input), el('button', { type: 'submit' }, 'Use it'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      try { sessionStorage.setItem(TOKEN_KEY, input.value.trim()); } catch (e) { /* private mode: asked again */ }
      location.reload();
    });
    document.getElementById('page').before(form);
    document.body.dataset.signin = 'asked';
  }

  async function loadManagers() {
    const base = status && status.lead_acquisition_url;
    if (!base) return;
    try {
      const res = await api(`${base}/api/managers`);
      const body = await res.json();
      managerNames = new Map((body.managers || []).map((m) => [m.id, m.name]));
    } catch (e) {
      // Lead acquisition unreachable: managers are shown by id.
    }
  }

  // The query of a report request: the page's period and filters, plus the report's own words.
  function reportQuery(req) {
    const q = new URLSearchParams();
    q.set('name', req.name);
    q.set('period', req.period || period);
    for (const k of ['metric', 'by', 'dynamics']) if (req[k]) q.set(k, req[k]);
    for (const f of FILTERS) {
      const v = params.get(f);
      if (v && !(req.without || []).includes(f)) q.set(f, v);
    }
    if (asOf) q.set('as_of', asOf);
    return q.toString();
  }

  async function fetchTable(query) {
    const res = await api(`/dashboard/api/report?${query}`);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const e = body.error || {};
      const fields = (e.fields || []).map((f) => `${f.field}: ${f.description}`).join('; ');
      throw new Error(fields || e.message || `HTTP ${res.status}`);
    }
    body.columns = body.columns || [];
    return body;
  }

  // ---- Drawing ----

  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  // The table as HTML: typed cells right-aligned, sortable by clicking a header.
  function tableView(table, query, { sortBy, descending = true } = {}) {
    const head = el('tr');
    const body = el('tbody');
    const t = el('table', { class: 'report', 'data-query': query, 'data-report': table.report }, el('thead', {}, head), body);
    table.columns.forEach((c, i) => {
      const th = el('th', { class: NUMERIC.has(c.kind) ? 'num' : '', text: c.name, scope: 'col', 'data-column': c.name });
      th.addEventListener('click', () => sortTable(t, i, th.getAttribute('aria-sort') !== 'descending'));
      head.append(th);
    });
    for (const r of rows(table)) {
      const tr = el('tr');
      table.columns.forEach((c, i) => {
        const v = cell(table, r, i);
        const name = MANAGER_COLUMNS.has(c.name) ? managerNames.get(v.raw) : undefined;
        const td = el('td', { class: `${NUMERIC.has(c.kind) ? 'num' : ''}${v.none ? ' none' : ''}`, 'data-raw': v.raw, 'data-currency': v.currency, title: name ? v.raw : undefined, text: name || v.text });
        td.sortValue = v.value;
        tr.append(td);
      });
      body.append(tr);
    }
    if (sortBy !== undefined && col(table, sortBy) >= 0) sortTable(t, col(table, sortBy), descending);
    return el('div', { class: 'table-wrap' }, t);
  }

  function sortTable(t, i, descending) {
    const body = t.tBodies[0];
    const list = [...body.rows];
    list.sort((a, b) => {
      const x = a.cells[i].sortValue, y = b.cells[i].sortValue;
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), locale);
      return descending ? -order : order;
    });
    for (const r of list) body.append(r);
    [...t.tHead.rows[0].cells].forEach((th, k) => {
      if (k === i) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
  }

  // The table's files: CSV (for programs and any spreadsheet) and the workbook (for people).
  function csvLink(query) {
    return el('span', { class: 'csv' },
      download(el('a', { class: 'csv', href: `/dashboard/api/report.csv?${query}`, download: '', text: 'CSV' })), ' · ',
      download(el('a', { class: 'xlsx', href: `/dashboard/api/report.xlsx?${query}`, download: '', text: 'Excel' })));
  }
  // A download link that sends the token: a plain link cannot carry the Authorization header, so
  // with a token the file is fetched and handed to the browser as a blob.
  function download(a) {
    a.addEventListener('click', async (ev) => {
      if (!token()) return;
      ev.preventDefault();
      const res = await api(a.href);
      if (!res.ok) return;
      const name = (/filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '') || [])[1] || 'report';
      const url = URL.createObjectURL(await res.blob());
      const save = el('a', { href: url, download: name });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
    return a;
  }

  // A headline figure: `column` of the table's row `rowIndex` (or, with `sum`, of all its rows).
  function kpi(label, table, query, column, rowIndex = 0, extra = null, sum = false) {
    const i = col(table, column);
    const r = rows(table)[rowIndex];
    const v = i >= 0 && r ? cell(table, r, i) : { raw: '', text: '–' };
    return el('div', { class: 'kpi' }, el('div', { class: 'label', text: label }),
      el('div', { class: 'value', 'data-query': query, 'data-column': column, 'data-row': rowIndex, 'data-sum': sum ? '1' : undefined, 'data-raw': v.raw, 'data-currency': v.currency, text: v.text }),
      extra);
  }

  // An ECharts chart in `parent`; data-points counts what it drew (a test checks it is not empty).
  function chart(parent, option, height) {
    const div = el('div', { class: 'chart' });
    if (height) div.style.height = `${height}px`;
    parent.append(div);
    const c = echarts.init(div, null, { renderer: 'canvas', locale: 'EN' });
    c.setOption(Object.assign({ animation: false, grid: { left: 70, right: 60, top: 40, bottom: 40 }, tooltip: { trigger: 'axis' }, legend: { top: 0 } }, option));
    const points = (option.series || []).reduce((n, s) => n + (s.data || []).filter((d) => d !== null && d !== undefined).length, 0);
    div.setAttribute('data-points', points);
    charts.push(c);
    return c;
  }

  const currency = () => (status && status.reporting_currency) || 'EUR';
  const moneyAxis = () => ({ type: 'value', axisLabel: { formatter: (v) => formatCompactMoney(v, currency()) } });
  const ratioAxis = (max) => ({ type: 'value', max, axisLabel: { formatter: (v) => formatRatio(v) } });
  const moneyTooltip = () => ({ trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '–' : formatMoneyValue(v, currency())) });

  function notes(table) {
    return (table.notes || []).length ? el('div', { class: 'notes', text: table.notes.join(' · ') }) : '';
  }

  // A panel: a title, its CSV, and what draw() puts in it from the tables of its requests.
  // spec: {title, wide, requests: {key: {name, by, dynamics, ...}}, csv: key, draw(tables, body, queries)}
  function panelShell(spec) {
    const body = el('div', { class: 'panel-body' });
    const title = el('h2', { text: spec.title });
    const section = el('section', { class: `panel${spec.wide ? ' wide' : ''}`, 'data-panel': spec.id }, title, body);
    return { spec, section, title, body };
  }

  // ---- The pages ----

  function overview() {
    return [
      {
        id: 'plan', title: 'Plan against actual: revenue', wide: true,
        requests: { plan: { name: 'plan-vs-actual' }, pipeline: { name: 'pipeline' }, conc: { name: 'concentration' } },
        csv: 'plan',
        draw(t, body, q) {
          const conc = t.conc;
          const concentrated = rows(conc).length && cell(conc, rows(conc)[0], col(conc, 'Concentrated')).raw === 'yes';
          const box = el('div', { class: 'kpis' },
            kpi('Actual', t.plan, q.plan, 'Actual'),
            kpi('Target', t.plan, q.plan, 'Target'),
            kpi('Attainment', t.plan, q.plan, 'Attainment'),
            kpi('Forecast (straight line)', t.plan, q.plan, 'Forecast'),
            col(t.plan, 'Weighted forecast') >= 0 ? kpi('Forecast with weighted pipeline', t.plan, q.plan, 'Weighted forecast') : null,
            kpi('Open pipeline, weighted', pipelineTotal(t.pipeline), q.pipeline, 'Weighted', 0, null, true),
            kpi('Client concentration (HHI)', conc, q.conc, 'HHI', 0,
              el('span', { class: `badge ${concentrated ? 'bad' : 'good'}`, 'data-flag': concentrated ? 'concentrated' : 'not-concentrated', text: concentrated ? 'concentrated' : 'not concentrated' })));
          body.append(box, el('div', { class: 'subtitle', text: t.plan.title }), tableView(t.plan, q.plan), notes(t.plan));
        },
      },
      {
        id: 'dynamics', title: `Revenue by ${bucketWord}: actual, target and forecast`, wide: true,
        requests: { dyn: { name: 'plan-vs-actual', dynamics } }, csv: 'dyn',
        draw(t, body, q) {
          const d = t.dyn;
          chart(body, {
            xAxis: { type: 'category', data: values(d, 'Period') },
            yAxis: moneyAxis(),
            tooltip: moneyTooltip(),
            series: [
              { name: 'Actual', type: 'bar', data: values(d, 'Actual'), itemStyle: { color: '#2458c6' } },
              { name: 'Target', type: 'line', step: 'middle', data: values(d, 'Target'), itemStyle: { color: '#b54708' } },
              { name: 'Forecast', type: 'line', data: values(d, 'Forecast'), lineStyle: { type: 'dashed' }, itemStyle: { color: '#1b7f3b' } },
            ],
          });
          body.append(tableView(d, q.dyn), notes(d));
        },
      },
      {
        id: 'funnel', title: 'The funnel: leads captured in the period and how far they got',
        requests: { funnel: { name: 'funnel' } }, csv: 'funnel',
        draw(t, body, q) {
          const f = t.funnel;
          const stages = ['Captured', 'Qualified', 'First offer', 'Won'];
          const data = stages.map((s) => ({ name: s, value: values(f, `${s} (cohort)`)[0] || 0 }));
          chart(body, {
            tooltip: { trigger: 'item' },
            legend: { show: false },
            series: [{ name: 'Leads', type: 'funnel', sort: 'none', left: '10%', width: '80%', top: 10, bottom: 10, minSize: '8%', gap: 2,
              label: { formatter: (p) => `${p.name}: ${formatCount(p.value)}` }, data }],
          }, 260);
          body.append(tableView(f, q.funnel));
        },
      },
      {
        id: 'pipeline', title: 'Open pipeline by stage: value and weighted value',
        requests: { p: { name: 'pipeline' } }, csv: 'p',
        draw(t, body, q) {
          const p = t.p;
          chart(body, {
            xAxis: { type: 'category', data: values(p, 'Stage').map((s) => words(String(s))) },
            yAxis: moneyAxis(),
            tooltip: moneyTooltip(),
            series: [
              { name: 'Value', type: 'bar', data: values(p, 'Value'), itemStyle: { color: '#98a2b3' } },
              { name: 'Weighted', type: 'bar', data: values(p, 'Weighted'), itemStyle: { color: '#2458c6' } },
            ],
          }, 240);
          body.append(tableView(p, q.p), notes(p));
        },
      },
      {
        id: 'cycle-times', title: 'Cycle times: how long each step takes (median, p90)',
        requests: { c: { name: 'cycle-times' } }, csv: 'c',
        draw(t, body, q) {
          const c = t.c;
          // Bottom to top on the chart: the first step on top.
          const steps = ['Captured to won', 'Sent to accepted', 'Qualified to first offer', 'Captured to qualified'];
          const days = (name) => steps.map((s) => { const v = values(c, `${s}: ${name}`)[0]; return v === null || v === undefined ? null : Math.round(v / 864) / 100; });
          chart(body, {
            grid: { left: 170, right: 40, top: 30, bottom: 30 },
            xAxis: { type: 'value', name: 'days' },
            yAxis: { type: 'category', data: steps },
            tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null ? '–' : `${formatDecimal(v)} d`) },
            series: [
              { name: 'Median', type: 'bar', data: days('median'), itemStyle: { color: '#2458c6' } },
              { name: 'p90', type: 'bar', data: days('p90'), itemStyle: { color: '#f2c48d' } },
            ],
          }, 240);
          body.append(tableView(c, q.c));
        },
      },
      {
        id: 'concentration', title: `Concentration risk: dependence on the largest clients, by ${bucketWord}`,
        requests: { conc: { name: 'concentration', dynamics } }, csv: 'conc',
        draw(t, body, q) {
          const c = t.conc;
          const threshold = status ? status.concentration_threshold : null;
          chart(body, {
            xAxis: { type: 'category', data: values(c, 'Window (12 months)').map((w) => String(w).split('..').pop()) },
            yAxis: [{ type: 'value', name: 'HHI', max: 10000 }, ratioAxis(1)],
            series: [
              { name: 'HHI', type: 'line', data: values(c, 'HHI'), itemStyle: { color: '#b42318' },
                markLine: threshold === null ? undefined : { symbol: 'none', label: { position: 'insideEndTop', formatter: `concentrated above ${threshold}` }, data: [{ yAxis: threshold }], lineStyle: { type: 'dashed', color: '#b42318' } } },
              { name: 'Largest client', type: 'bar', yAxisIndex: 1, data: values(c, 'Largest client'), itemStyle: { color: '#98a2b3' } },
            ],
          }, 260);
          body.append(tableView(c, q.conc), notes(c));
        },
      },
    ];
  }

  // The pipeline table's total row for a KPI: the sum of its weighted values (one row per stage).
  function pipelineTotal(p) {
    const i = col(p, 'Weighted');
    if (i < 0) return { columns: [], rows: [] };
    let units = 0, cur = (p.columns[i] && p.columns[i].currency) || currency();
    for (const r of rows(p)) {
      const c = (r.cells || [])[i] || {};
      if (c.money) { units += Number(c.money.units || 0); cur = c.money.currency || cur; }
    }
    return { columns: [{ name: 'Weighted', kind: 'COLUMN_KIND_MONEY', currency: cur }], rows: [{ cells: [{ money: { units: String(units), currency: cur } }] }] };
  }

  function managers() {
    return [
      {
        id: 'scorecards', title: 'Scorecards', wide: true,
        requests: { s: { name: 'scorecards' } }, csv: 's',
        draw(t, body, q) { body.append(el('div', { class: 'subtitle', text: `${t.s.title} · click a header to sort` }), tableView(t.s, q.s, { sortBy: 'Revenue' }), notes(t.s)); },
      },
      {
        id: 'selling-time', title: 'Time with prospects and clients, against the 80 % line',
        requests: { s: { name: 'scorecards' } }, csv: 's',
        draw(t, body) {
          const s = t.s;
          const target = values(s, 'Target').find((v) => v !== null) ?? 0.8;
          chart(body, {
            xAxis: { type: 'category', data: labels(s, 'Manager') },
            yAxis: ratioAxis(1),
            tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null ? '–' : formatRatio(v)) },
            series: [{ name: 'Time with prospects', type: 'bar', data: values(s, 'Time with prospects'),
              itemStyle: { color: (p) => (p.value >= target ? '#1b7f3b' : '#b54708') },
              markLine: { symbol: 'none', label: { position: 'insideEndTop', formatter: formatRatio(target) }, data: [{ yAxis: target }], lineStyle: { type: 'dashed', color: '#b42318' } } }],
          });
        },
      },
      {
        id: 'activity', title: `Activity by ${bucketWord}`,
        requests: { a: { name: 'scorecards', dynamics } }, csv: 'a',
        draw(t, body, q) {
          const a = t.a;
          const periods = [...new Set(values(a, 'Period'))];
          const sum = (name) => periods.map((p) => rows(a).reduce((n, r) => (cell(a, r, col(a, 'Period')).value === p ? n + (cell(a, r, col(a, name)).value || 0) : n), 0));
          chart(body, {
            xAxis: { type: 'category', data: periods },
            yAxis: { type: 'value', minInterval: 1 },
            series: ['Calls logged', 'Calls from the PBX', 'Meetings', 'E-mails', 'Offers sent'].map((n) => ({ name: n, type: 'bar', stack: n === 'Offers sent' ? 'offers' : 'activity', data: sum(n) })),
          });
          body.append(tableView(a, q.a));
        },
      },
      {
        id: 'manager-plan', title: 'Plan against actual by manager: revenue',
        requests: { p: { name: 'plan-vs-actual', by: 'manager' } }, csv: 'p',
        draw(t, body, q) {
          const p = t.p;
          chart(body, {
            xAxis: { type: 'category', data: labels(p, 'Manager') },
            yAxis: moneyAxis(),
            tooltip: moneyTooltip(),
            series: [
              { name: 'Actual', type: 'bar', data: values(p, 'Actual'), itemStyle: { color: '#2458c6' } },
              { name: 'Target', type: 'bar', data: values(p, 'Target'), itemStyle: { color: '#f2c48d' } },
              { name: 'Forecast', type: 'scatter', data: values(p, 'Forecast'), itemStyle: { color: '#1b7f3b' } },
            ],
          });
          body.append(tableView(p, q.p), notes(p));
        },
      },
      {
        id: 'inbound-calls', title: 'Inbound calls: answered, missed and returned', wide: true,
        requests: { c: { name: 'inbound-calls' } }, csv: 'c',
        draw(t, body, q) { body.append(tableView(t.c, q.c), notes(t.c)); },
      },
    ];
  }

  function products() {
    return [
      {
        id: 'products', title: 'Revenue and margin by product', wide: true,
        requests: { p: { name: 'products' } }, csv: 'p',
        draw(t, body, q) {
          const p = t.p;
          chart(body, {
            xAxis: { type: 'category', data: values(p, 'Product').map((v) => v || '(no product)') },
            yAxis: [moneyAxis(), { type: 'value', axisLabel: { formatter: (v) => formatRatio(v) } }],
            tooltip: moneyTooltip(),
            series: [
              { name: 'Revenue', type: 'bar', data: values(p, 'Revenue'), itemStyle: { color: '#2458c6' } },
              { name: 'Margin', type: 'bar', data: values(p, 'Margin'), itemStyle: { color: '#1b7f3b' } },
              { name: 'Previous revenue', type: 'bar', data: values(p, 'Previous revenue'), itemStyle: { color: '#c5cbd6' } },
              { name: 'Growth', type: 'line', yAxisIndex: 1, data: values(p, 'Growth'), itemStyle: { color: '#b54708' }, tooltip: { valueFormatter: (v) => (v === null ? '–' : formatRatio(v)) } },
            ],
          });
          body.append(tableView(p, q.p), notes(p));
        },
      },
      {
        id: 'share', title: 'Share of revenue',
        requests: { p: { name: 'products' } }, csv: 'p',
        draw(t, body) {
          const p = t.p;
          const names = values(p, 'Product').map((v) => v || '(no product)');
          chart(body, {
            tooltip: { trigger: 'item', valueFormatter: (v) => formatMoneyValue(v, currency()) },
            legend: { top: 0, type: 'scroll' },
            series: [{ name: 'Revenue', type: 'pie', radius: ['35%', '65%'], top: 20, data: values(p, 'Revenue').map((v, i) => ({ name: names[i], value: v })),
              label: { formatter: (x) => `${x.name}: ${formatRatio(x.percent / 100)}` } }],
          });
        },
      },
      {
        id: 'product-dynamics', title: `Revenue by ${bucketWord} and product`,
        requests: { d: { name: 'products', dynamics }, all: { name: 'plan-vs-actual', dynamics } }, csv: 'd',
        draw(t, body, q) {
          const d = t.d;
          const periods = bucketsOf(t.all, d);
          const names = [...new Set(values(d, 'Product'))];
          const at = (p, n) => {
            const r = rows(d).find((x) => cell(d, x, col(d, 'Period')).value === p && cell(d, x, col(d, 'Product')).value === n);
            return r ? cell(d, r, col(d, 'Revenue')).value : 0;
          };
          chart(body, {
            xAxis: { type: 'category', data: periods },
            yAxis: moneyAxis(),
            tooltip: moneyTooltip(),
            series: names.map((n) => ({ name: n || '(no product)', type: 'bar', stack: 'revenue', data: periods.map((p) => at(p, n)) })),
          });
          body.append(tableView(d, q.d));
        },
      },
    ];
  }

  function clients() {
    return [
      {
        id: 'top-clients', title: 'Top clients by revenue',
        requests: { c: { name: 'plan-vs-actual', by: 'client' } }, csv: 'c',
        draw(t, body, q) {
          const c = t.c;
          const top = rows(c).map((r) => ({ name: cell(c, r, col(c, 'Company')).value || cell(c, r, col(c, 'Client')).value, value: cell(c, r, col(c, 'Actual')).value || 0 }))
            .sort((a, b) => b.value - a.value).slice(0, 10).reverse();
          chart(body, {
            grid: { left: 180, right: 40, top: 10, bottom: 30 },
            xAxis: moneyAxis(),
            yAxis: { type: 'category', data: top.map((x) => x.name) },
            tooltip: moneyTooltip(),
            legend: { show: false },
            series: [{ name: 'Revenue', type: 'bar', data: top.map((x) => x.value), itemStyle: { color: '#2458c6' } }],
          });
          body.append(tableView(c, q.c, { sortBy: 'Actual' }), notes(c));
        },
      },
      {
        id: 'new-regular', title: `New and regular clients' revenue, by ${bucketWord}`,
        requests: { r: { name: 'client-revenue', dynamics } }, csv: 'r',
        draw(t, body, q) {
          const r = t.r;
          chart(body, {
            xAxis: { type: 'category', data: values(r, 'Period') },
            yAxis: [moneyAxis(), ratioAxis(1)],
            tooltip: { trigger: 'axis' },
            series: [
              { name: 'New clients', type: 'bar', stack: 'rev', data: values(r, 'New clients'), itemStyle: { color: '#7aa2f7' }, tooltip: { valueFormatter: (v) => formatMoneyValue(v, currency()) } },
              { name: 'Regular clients', type: 'bar', stack: 'rev', data: values(r, 'Regular clients'), itemStyle: { color: '#2458c6' }, tooltip: { valueFormatter: (v) => formatMoneyValue(v, currency()) } },
              { name: 'Regular share', type: 'line', yAxisIndex: 1, data: values(r, 'Regular share'), itemStyle: { color: '#b54708' }, tooltip: { valueFormatter: (v) => (v === null ? '–' : formatRatio(v)) } },
            ],
          });
          body.append(tableView(r, q.r), notes(r));
        },
      },
      {
        id: 'concentration-time', title: `Concentration over time (trailing 12 months), by ${bucketWord}`, wide: true,
        requests: { c: { name: 'concentration', dynamics } }, csv: 'c',
        draw(t, body, q) {
          const c = t.c;
          const threshold = status ? status.concentration_threshold : null;
          chart(body, {
            xAxis: { type: 'category', data: values(c, 'Window (12 months)').map((w) => String(w).split('..').pop()) },
            yAxis: [{ type: 'value', name: 'HHI', max: 10000 }, ratioAxis(1)],
            series: [
              { name: 'HHI', type: 'line', data: values(c, 'HHI'), itemStyle: { color: '#b42318' },
                markLine: threshold === null ? undefined : { symbol: 'none', label: { position: 'insideEndTop', formatter: `concentrated above ${threshold}` }, data: [{ yAxis: threshold }], lineStyle: { type: 'dashed', color: '#b42318' } } },
              { name: 'Largest client', type: 'line', yAxisIndex: 1, data: values(c, 'Largest client'), itemStyle: { color: '#2458c6' } },
              { name: 'Top 5', type: 'line', yAxisIndex: 1, data: values(c, 'Top 5'), itemStyle: { color: '#98a2b3' } },
            ],
          });
          body.append(tableView(c, q.c), notes(c));
        },
      },
      attentionPanel(),
    ];
  }

  // Client support's attention list, read by the browser from client support's HTTP port (the
  // address is in the status): health is computed there, from interactions and tickets.
  function attentionPanel() {
    const q = new URLSearchParams();
    for (const f of ['manager', 'region']) if (params.get(f)) q.set(f, params.get(f));
    const source = `client-support:${q}`;
    let csv = '';
    return {
      id: 'attention', title: 'Clients needing attention (client support, as of now)', wide: true,
      async load() {
        const base = status && status.client_support_url;
        if (!base) throw new Error('the reporting service does not know client support\'s address (--client-support-url)');
        const res = await api(`${base}/api/clients/attention?${q}`);
        const body = await res.json().catch(() => ({}));
        if (!res.ok) throw new Error((body.error && body.error.message) || `HTTP ${res.status}`);
        const t = {
          report: 'clients-needing-attention',
          columns: [
            { name: 'Client', kind: 'COLUMN_KIND_TEXT' }, { name: 'Company', kind: 'COLUMN_KIND_TEXT' },
            { name: 'Owner', kind: 'COLUMN_KIND_TEXT' }, { name: 'Region', kind: 'COLUMN_KIND_TEXT' },
            { name: 'Why', kind: 'COLUMN_KIND_TEXT' }, { name: 'Days since contact', kind: 'COLUMN_KIND_COUNT' },
            { name: 'Open tickets', kind: 'COLUMN_KIND_COUNT' }, { name: 'Revenue, 12 months', kind: 'COLUMN_KIND_TEXT' },
          ],
          rows: (body.clients || []).map((c) => ({ cells: [
            { text: c.clientId }, { text: c.company || '' }, { text: c.ownerManagerId || '' }, { text: c.region || '' },
            { text: (c.attentionReasons || []).join('; ') }, { number: Number(c.daysSinceContact ?? -1) },
            { number: Number(c.openTickets || 0) }, { text: (c.revenue12m || []).map(formatMoney).join(' + ') },
          ] })),
        };
        const field = (v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
        csv = [t.columns.map((c) => c.name), ...t.rows.map((r) => r.cells.map((c) => String(c.text ?? c.number)))]
          .map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
        return t;
      },
      csvLink() {
        return el('a', { class: 'csv', href: URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' })), download: 'clients-needing-attention.csv', text: 'CSV' });
      },
      draw(t, body) {
        body.append(el('div', { class: 'subtitle', text: 'Regular clients not contacted for 30 days, tickets past an SLA target or open for a week, order rhythms that stopped (docs/CLIENTS.md); filtered by manager and region' }));
        if (!rows(t).length) body.append(el('div', { class: 'empty', text: 'No client needs attention.' }));
        body.append(tableView(t, source, { sortBy: 'Open tickets' }));
      },
    };
  }

  function lostReasons() {
    return [
      {
        id: 'lost', title: 'Why leads and offers were lost', wide: true,
        requests: { l: { name: 'lost-reasons' } }, csv: 'l',
        draw(t, body, q) {
          const l = t.l;
          const kinds = [...new Set(values(l, 'Lost'))];
          const wrap = el('div', { style: 'display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:12px' });
          body.append(wrap);
          for (const k of kinds.length ? kinds : ['(none)']) {
            const box = el('div', {}, el('div', { class: 'subtitle', text: words(String(k)) }));
            wrap.append(box);
            const list = rows(l).filter((r) => cell(l, r, col(l, 'Lost')).value === k);
            chart(box, {
              grid: { left: 160, right: 40, top: 10, bottom: 30 },
              xAxis: { type: 'value', minInterval: 1 },
              yAxis: { type: 'category', data: list.map((r) => words(cell(l, r, col(l, 'Reason')).value)).reverse() },
              legend: { show: false },
              series: [{ name: 'Count', type: 'bar', data: list.map((r) => cell(l, r, col(l, 'Count')).value).reverse(), itemStyle: { color: k === kinds[0] ? '#b54708' : '#b42318' } }],
            }, 220);
          }
          body.append(tableView(l, q.l));
        },
      },
      {
        id: 'lost-dynamics', title: `Lost by ${bucketWord} and reason`, wide: true,
        requests: { d: { name: 'lost-reasons', dynamics }, all: { name: 'plan-vs-actual', dynamics } }, csv: 'd',
        draw(t, body, q) {
          const d = t.d;
          const periods = bucketsOf(t.all, d);
          const reasons = [...new Set(values(d, 'Reason'))].filter((r) => r !== null);
          const at = (p, reason) => rows(d).filter((x) => cell(d, x, col(d, 'Period')).value === p && cell(d, x, col(d, 'Reason')).value === reason)
            .reduce((n, x) => n + (cell(d, x, col(d, 'Count')).value || 0), 0);
          chart(body, {
            xAxis: { type: 'category', data: periods },
            yAxis: { type: 'value', minInterval: 1 },
            legend: { top: 0, type: 'scroll' },
            series: reasons.map((r) => ({ name: words(r), type: 'bar', stack: 'lost', data: periods.map((p) => at(p, r)) })),
          });
          body.append(tableView(d, q.d));
        },
      },
    ];
  }

  // Every bucket of the period, also those without a row in `table` (a month without a lost lead
  // shows as 0): plan against actual lists every bucket.
  function bucketsOf(all, table) {
    return [...new Set([...values(all, 'Period'), ...values(table, 'Period')])].sort();
  }

  // ---- The page ----

  const shells = page.build().map(panelShell);

  function setup() {
    const nav = document.getElementById('nav');
    const keep = new URLSearchParams();
    for (const k of ['period', ...FILTERS, 'as_of', 'refresh', 'lang']) if (params.get(k)) keep.set(k, params.get(k));
    const suffix = keep.toString() ? `?${keep}` : '';
    for (const p of PAGES) {
      nav.append(el('a', { href: `/dashboard/${p.path}${suffix}`, class: p === page ? 'active' : '', 'data-page': p.path || 'overview', text: p.title }));
    }
    document.title = `${page.title} · Sales dashboard`;
    document.documentElement.lang = locale;
    for (const k of ['period', ...FILTERS, 'as_of', 'refresh', 'lang']) {
      const input = document.getElementById(`f-${k}`);
      if (input) input.value = params.get(k) || '';
    }
    document.getElementById('f-period').placeholder = period;
    const form = document.getElementById('filters');
    form.addEventListener('submit', (e) => {
      // Empty fields are left out of the URL, so that a bookmark holds only what was chosen.
      e.preventDefault();
      const q = new URLSearchParams();
      for (const input of form.querySelectorAll('input[name]')) {
        let v = input.value.trim();
        if (input.name === 'manager') {
          // A manager may be typed by name; the URL keeps the id.
          const byName = [...managerNames].find(([, n]) => n.toLocaleLowerCase(locale) === v.toLocaleLowerCase(locale));
          if (byName) v = byName[0];
        }
        if (v) q.set(input.name, v);
      }
      location.search = q.toString();
    });
    const main = document.getElementById('page');
    for (const s of shells) main.append(s.section);
    window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
  }

  // Fetches every panel's tables, then redraws them all at once (no half-updated page).
  async function render() {
    document.body.dataset.state = 'loading';
    const cache = new Map();
    const roster = loadManagers();
    const results = await Promise.all(shells.map(async (s) => {
      const queries = {};
      const tables = {};
      try {
        if (s.spec.load) return { s, queries, tables: await s.spec.load() };
        for (const [k, req] of Object.entries(s.spec.requests)) {
          queries[k] = reportQuery(req);
          if (!cache.has(queries[k])) cache.set(queries[k], fetchTable(queries[k]));
        }
        for (const k of Object.keys(queries)) tables[k] = await cache.get(queries[k]);
        return { s, queries, tables };
      } catch (e) {
        return { s, queries, error: e };
      }
    }));
    await roster;
    const managerInput = document.getElementById('f-manager');
    if (managerNames.has(managerInput.value)) managerInput.value = managerNames.get(managerInput.value);  // the URL keeps the id
    charts.forEach((c) => c.dispose());
    charts = [];
    let errors = 0;
    for (const { s, queries, tables, error } of results) {
      s.body.replaceChildren();
      s.title.querySelector('.csv')?.remove();
      if (error) {
        errors++;
        s.body.append(el('div', { class: 'error', 'data-error': 'panel', text: `Could not load this panel: ${error.message}` }));
        continue;
      }
      s.title.append(s.spec.csvLink ? s.spec.csvLink(tables) : csvLink(queries[s.spec.csv]));
      try {
        s.spec.draw(tables, s.body, queries);
      } catch (e) {
        errors++;
        s.body.append(el('div', { class: 'error', 'data-error': 'panel', text: `Could not draw this panel: ${e.message}` }));
      }
    }
    renders++;
    document.body.dataset.renders = String(renders);
    document.body.dataset.errors = String(errors);
    document.body.dataset.state = 'ready';
  }

  async function fetchStatus() {
    const res = await api('/dashboard/api/status');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  }

  function showFreshness(s, failure) {
    const box = document.getElementById('freshness');
    if (failure) {
      box.classList.add('stale');
      box.textContent = `reporting service unreachable (${failure.message}); figures as last shown`;
      return;
    }
    const parts = [];
    if (asOf) parts.push(`Figures as of ${formatTime(asOf)} (fixed)`);
    parts.push(s.last_event_at ? `Data as of ${formatTime(s.last_event_at)} (${ago(s.last_event_at)}), the last event applied` : 'No events applied yet');
    const behind = s.lag !== null && s.lag > 0;
    if (behind) parts.push(`catching up: ${formatCount(s.lag)} events behind`);
    if (s.health) parts.push(`projection stalled: ${s.health}`);
    box.textContent = parts.join(' · ');
    box.title = `Checked ${formatTime(s.now)}; refreshed every ${refreshSeconds} s`;
    box.dataset.lastEventAt = s.last_event_at || '';
    box.dataset.position = String(s.position);
    box.classList.toggle('stale', behind || !!s.health);
  }

  async function poll() {
    try {
      status = await fetchStatus();
      showFreshness(status);
      if (!asOf && status.position !== shownPosition) {
        shownPosition = status.position;
        await render();
      }
    } catch (e) {
      showFreshness(null, e);
    }
    if (refreshSeconds > 0) setTimeout(poll, refreshSeconds * 1000);
  }

  // The filters' suggestions: the keys that have figures in the period (unfiltered).
  async function suggestions() {
    for (const [by, list] of [['region', 'regions'], ['manager', 'managers'], ['product', 'products']]) {
      try {
        const q = new URLSearchParams({ name: 'plan-vs-actual', period, by });
        const t = await fetchTable(q.toString());
        const box = document.getElementById(list);
        for (const v of values(t, by.charAt(0).toUpperCase() + by.slice(1))) {
          if (v) box.append(el('option', { value: v, label: by === 'manager' ? managerNames.get(v) : undefined }));
        }
      } catch (e) {
        // Suggestions are a convenience; the filter fields still take any value.
      }
    }
  }

  async function start() {
    setup();
    if (typeof echarts === 'undefined') {
      const box = document.getElementById('error');
      box.hidden = false;
      box.textContent = 'The charting library (echarts.min.js) did not load: run `make deps` and rebuild.';
    }
    try {
      status = await fetchStatus();
      showFreshness(status);
      shownPosition = status.position;
    } catch (e) {
      showFreshness(null, e);
    }
    await render();
    suggestions();
    if (refreshSeconds > 0) setTimeout(poll, refreshSeconds * 1000);
  }

  start();
})();
