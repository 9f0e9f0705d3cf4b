/* global document, Blob */
// The history views: a meter's reading history (from the archive), a feeder's voltage profile
// (from InfluxDB) as uPlot charts, and the IEEE 1366 reliability table with its CSV export. uPlot
// is served by central from node_modules (/vendor/uplot/), so the page keeps its strict CSP.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { authHeaders } from './auth.js';

const $ = (id) => document.getElementById(id);
const DAY_MS = 86_400_000;

/** `datetime-local` value (UTC) of an epoch-ms time, and back. */
const toLocalInput = (ms) => new Date(ms).toISOString().slice(0, 16);
const fromInput = (v) => Date.parse(`${v}:00Z`);

function setStatus(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.dataset.error = isError ? 'true' : 'false';
}

async function getOrSay(path, accept) {
  const res = await fetch(path, { headers: authHeaders({ accept }), cache: 'no-store' });
  if (!res.ok) {
    let reason = `HTTP ${res.status}`;
    try {
      reason = (await res.json()).reason ?? reason;
    } catch {
      /* not JSON */
    }
    throw new Error(reason);
  }
  return res;
}

function chart(holder, series, data) {
  holder.replaceChildren();
  const width = Math.max(320, holder.clientWidth || 640);
  return new uPlot({ width, height: 260, series: [{ label: 'time (UTC)' }, ...series], axes: [{}, { label: 'V' }], scales: { x: { time: true } } }, data, holder);
}

/** Reads the JSON-lines answer: readings, the gaps the archive reported, the closing totals. */
export function parseHistory(text) {
  const ts = [];
  const volts = [];
  const gaps = [];
  let end = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line);
    if (r._gap) gaps.push(r._gap);
    else if (r._end) end = r._end;
    else if (typeof r.ts === 'number') {
      ts.push(r.ts / 1000);
      volts.push(typeof r.voltage === 'number' ? r.voltage : null);
    }
  }
  return { ts, volts, gaps, end };
}

async function showMeter(ev) {
  ev.preventDefault();
  const id = $('meter-id').value.trim();
  const from = fromInput($('meter-from').value);
  const to = fromInput($('meter-to').value);
  setStatus('meter-status', 'Reading the archive…');
  try {
    const res = await getOrSay(`/api/meters/${encodeURIComponent(id)}/readings?from=${from}&to=${to}`, 'application/x-ndjson');
    const h = parseHistory(await res.text());
    chart($('meter-chart'), [{ label: `${id} voltage`, stroke: '#2563eb' }], [h.ts, h.volts]);
    const cut = h.end === null ? ' The answer was cut before its end: some readings may be missing.' : '';
    const gaps = h.gaps.length ? ` ${h.gaps.length} archive object(s) could not be read: ${h.gaps.map((g) => `${g.key} (${g.reason})`).join('; ')}` : '';
    setStatus('meter-status', `${h.ts.length} readings.${gaps}${cut}`, h.gaps.length > 0 || h.end === null);
  } catch (err) {
    setStatus('meter-status', `Meter history: ${err.message}`, true);
  }
}

async function showProfile(ev) {
  ev.preventDefault();
  const id = $('feeder-id').value.trim();
  const from = fromInput($('feeder-from').value);
  const to = fromInput($('feeder-to').value);
  const every = $('feeder-every').value;
  setStatus('feeder-status', 'Asking InfluxDB…');
  try {
    const p = await (await getOrSay(`/api/feeders/${encodeURIComponent(id)}/profile?from=${from}&to=${to}&every=${encodeURIComponent(every)}`, 'application/json')).json();
    const b = p.buckets;
    chart(
      $('feeder-chart'),
      [
        { label: 'min', stroke: '#dc2626' },
        { label: 'mean', stroke: '#111827' },
        { label: 'max', stroke: '#16a34a' },
      ],
      [b.map((x) => x.ts / 1000), b.map((x) => x.vMin), b.map((x) => x.vMean), b.map((x) => x.vMax)],
    );
    setStatus('feeder-status', `${b.length} buckets of ${every}, ${b.reduce((n, x) => n + x.readings, 0)} readings.`);
  } catch (err) {
    setStatus('feeder-status', `Feeder profile: ${err.message}`, true);
  }
}

const fmt = (v) => (v === null || v === undefined ? '–' : String(Math.round(v * 1000) / 1000));

function reliabilityQuery() {
  return `from=${fromInput($('rel-from').value)}&to=${fromInput($('rel-to').value)}&by=${$('rel-by').value}&per=${$('rel-per').value}`;
}

async function showReliability(ev) {
  ev.preventDefault();
  setStatus('rel-status', 'Computing…');
  try {
    const r = await (await getOrSay(`/api/reliability?${reliabilityQuery()}`, 'application/json')).json();
    const body = $('rel-body');
    body.replaceChildren(
      ...r.rows.map((row) => {
        const tr = document.createElement('tr');
        const cells = [row.period, row.id, row.customersServed, row.unplanned.saifi, row.unplanned.saidi, row.unplanned.caidi, row.unplanned.maifiE, row.planned.saifi, row.planned.saidi];
        for (const [i, c] of cells.entries()) {
          const td = document.createElement('td');
          td.textContent = i < 2 ? String(c) : fmt(c);
          if (i >= 2) td.className = 'num';
          tr.append(td);
        }
        return tr;
      }),
    );
    const gaps = typeof r.archive === 'object' && r.archive.gaps.length ? ` ${r.archive.gaps.length} archive object(s) could not be read.` : '';
    setStatus('rel-status', `${r.rows.length} rows; ${r.openOutagesNotCounted} outage(s) still open, not counted.${gaps}`, gaps !== '');
  } catch (err) {
    setStatus('rel-status', `Reliability: ${err.message}`, true);
  }
}

async function downloadCsv() {
  try {
    const text = await (await getOrSay(`/api/reliability?${reliabilityQuery()}`, 'text/csv')).text();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
    a.download = 'reliability.csv';
    a.click();
    URL.revokeObjectURL(a.href);
  } catch (err) {
    setStatus('rel-status', `Reliability CSV: ${err.message}`, true);
  }
}

export function startHistory(now = Date.now()) {
  for (const [a, b] of [['meter-from', 'meter-to'], ['feeder-from', 'feeder-to']]) {
    $(a).value = toLocalInput(now - DAY_MS);
    $(b).value = toLocalInput(now);
  }
  $('rel-from').value = toLocalInput(now - 30 * DAY_MS);
  $('rel-to').value = toLocalInput(now);
  $('meter-form').addEventListener('submit', showMeter);
  $('feeder-form').addEventListener('submit', showProfile);
  $('rel-form').addEventListener('submit', showReliability);
  $('rel-csv').addEventListener('click', downloadCsv);
}

/** Opens a meter's page from elsewhere in the console (the tree). */
export function openMeter(meterId) {
  $('meter-id').value = meterId;
  $('meter-form').requestSubmit();
  $('history').scrollIntoView();
}

