// Coordination boards: the election (TPS) and flood boards with their report forms, and the
// situation report. All of it is the radio's own messages (docs/protocol.md): board_request →
// board, tps_report / flood_report → report_accepted or error, sitrep_request → sitrep.

import { app, describe, person } from './app.js';
import { b64d } from './bytes.js';
import { dateTime, lang, number, t, time } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** Roles that may report (siaga/election.py ELECTION_REPORTERS, siaga/flood.py FLOOD_REPORTERS). */
export const ELECTION_REPORTERS = ['governor', 'regional_head', 'staff', 'kpu', 'bawaslu', 'police', 'admin'];
export const FLOOD_REPORTERS = ['governor', 'regional_head', 'staff', 'police', 'fire', 'bpbd', 'admin'];
export const TPS_STATUS = ['preparing', 'open', 'voting', 'counting', 'finished', 'disrupted', 'relocated'];
export const INCIDENTS = ['flooding', 'logistics_delay', 'security', 'power', 'other'];
export const LOGISTICS = ['dispatched', 'arrived', 'returned'];
export const FLOOD_STATUS = ['active', 'receding', 'closed'];

const REFRESH_MS = 10000;
let timer = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

function table(caption, head, rows, cls = '') {
  const tb = el('table', { class: `grid ${cls}` });
  tb.createCaption().textContent = caption;
  const tr = tb.createTHead().insertRow();
  // A break allowed after each slash, so "Terdampak/dievakuasi" wraps on a narrow column.
  for (const h of head) tr.append(el('th', { scope: 'col', text: h.replaceAll('/', '/\u200b') }));
  const body = tb.createTBody();
  for (const row of rows) {
    const r = body.insertRow();
    if (row.cls) r.className = row.cls;
    if (row.id) r.dataset.id = row.id;
    row.cells.forEach((c, i) => {
      const cell = i === 0 ? el('th', { scope: 'row' }) : r.insertCell();
      if (i === 0) r.append(cell);
      if (c instanceof Node) cell.append(c); else cell.textContent = c ?? '—';
    });
  }
  return el('div', { class: 'table-wrap' }, tb);
}

const pct = (x) => (x === null || x === undefined ? '—' : `${number(x * 100, 1)}%`);
const word = (prefix, v) => (v ? t(`${prefix}_${v}`) : '—');
const me = () => app.welcome?.member;
const regionName = (code) => app.roster.regions.find((r) => r.code === code)?.name ?? code;

/** The regency shown: a regency member's own, or the one a province-level member chose. */
function chosen(selectId) {
  if (me()?.region) return me().region;
  return $(selectId).value || '';
}

function fillRegencies(selectId, withAll) {
  const select = $(selectId);
  const keep = select.value;
  const opts = app.roster.regions.map((r) => new Option(r.name, r.code));
  select.replaceChildren(...(withAll ? [new Option(t('allRegencies'), '')] : []), ...opts);
  if (me()?.region) { select.value = me().region; select.disabled = true; } else if (keep) select.value = keep;
}

// ---- loading ------------------------------------------------------------------------------

export async function load(which) {
  if (!app.conn) return;
  try {
    const answer = await app.conn.request({ type: 'board_request', board: which });
    app.coord[which] = answer.data;
    if (which === 'election') renderElection(); else renderFlood();
  } catch (e) {
    $(`${which}-status`).textContent = `${t('error')}: ${e.message}`;
  }
}

/** Called when a tab is shown: refresh now and every ~10 s while that tab stays open. */
export function tabShown(tabId) {
  clearInterval(timer);
  const which = { 'tab-election': 'election', 'tab-flood': 'flood' }[tabId];
  if (!which) return;
  load(which);
  timer = setInterval(() => { if (!$(`panel-${which}`).hidden && !document.hidden) load(which); }, REFRESH_MS);
}

// ---- election -------------------------------------------------------------------------------

export function renderElection() {
  const data = app.coord.election;
  const may = ELECTION_REPORTERS.includes(me()?.role);
  $('tps-form').hidden = !may;
  fillRegencies('election-regency', false);
  if (!data) return;
  $('election-status').textContent = data.as_of ? t('asOf', { t: dateTime(data.as_of) }) : t('noReports');
  const summary = (r, cls = '') => ({
    cls, id: r.code,
    cells: [r.name || t('province'), `${number(r.tps_reported)}/${number(r.tps_total)}`, pct(r.turnout),
      number(r.disrupted.length), number(r.relocated.length)],
  });
  $('election-summary').replaceChildren(table(t('electionSummary'),
    [t('regency'), t('tpsReported'), t('turnout'), t('disrupted'), t('relocated')],
    [...data.regencies.map((r) => summary(r)), summary({ ...data.province, name: data.province.name || t('province') }, 'total')]));
  const code = chosen('election-regency');
  const stations = data.stations.filter((s) => s.regency === code);
  const rows = stations.map((s) => {
    const where = el('span', {}, s.relocated_to
      ? `→ ${s.relocated_to.place} (${number(s.relocated_to.lat, 4)}, ${number(s.relocated_to.lon, 4)})` : '');
    if (s.note) where.append(el('small', { text: s.note }));
    if (s.updated_at) where.append(el('small', { text: `${time(s.updated_at)} · ${person(s.reporter).name}` }));
    return {
      id: s.id, cls: s.status === 'disrupted' || s.status === 'relocated' ? 'warn' : '',
      cells: [el('span', {}, `${s.village} TPS ${s.number}`, el('small', { text: s.district })), word('tps', s.status),
        `${s.ballots_cast === null ? '—' : number(s.ballots_cast)}/${number(s.voters)}`,
        s.incidents.map((k) => t(`inc_${k}`)).join(', ') || '—', word('log', s.logistics), where],
    };
  });
  $('election-stations').replaceChildren(table(t('tpsOf', { r: regionName(code) }),
    ['TPS', t('status'), t('ballotsVoters'), t('incidents'), t('logistics'), t('details')], rows, 'stations'));
  // The form offers the TPS shown.
  const select = $('tps-id');
  const keep = select.value;
  select.replaceChildren(...stations.map((s) => new Option(`${s.village} TPS ${s.number} (${s.id})`, s.id)));
  if (stations.some((s) => s.id === keep)) select.value = keep;
}

function fieldError(form, message) {
  // The server's message starts with the field name ("ballots_cast: ...", "relocated_to.lat:
  // ..."), or, when the wire decoder refused it, ends with its path ("... - at `$.ballots_cast`").
  for (const x of form.querySelectorAll('[aria-invalid]')) x.removeAttribute('aria-invalid');
  const name = /at `\$\.([a-z_]+)(?:\.([a-z_]+))?`/.exec(message || '') || /^([a-z_]+)(?:\.([a-z_]+))?:/.exec(message || '');
  const field = name ? form.querySelector(`[data-field="${name[1]}${name[2] ? `.${name[2]}` : ''}"]`)
    || form.querySelector(`[data-field="${name[1]}"]`) : null;
  if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); }
  return field;
}

const intOrNull = (v) => (v.trim() === '' ? null : Number(v));
const numOrNull = (v) => (v.trim() === '' ? null : Number(v));
const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => 'abcdefghijklmnopqrstuvwxyz234567'[b & 31]).join('');

async function onTpsReport(ev) {
  ev.preventDefault();
  const form = $('tps-form');
  const msg = { type: 'tps_report', id: newId(), tps: $('tps-id').value };
  if ($('tps-status').value) msg.status = $('tps-status').value;
  const ballots = intOrNull($('tps-ballots').value);
  if (ballots !== null) msg.ballots_cast = ballots;
  msg.incidents = [...form.querySelectorAll('#tps-incidents input:checked')].map((x) => x.value);
  if ($('tps-logistics').value) msg.logistics = $('tps-logistics').value;
  const place = $('tps-place').value.trim();
  if (place || $('tps-lat').value || $('tps-lon').value) {
    msg.relocated_to = { place, lat: numOrNull($('tps-lat').value), lon: numOrNull($('tps-lon').value) };
  }
  if ($('tps-note').value.trim()) msg.note = $('tps-note').value.trim();
  await submitReport(form, msg, 'tps-result', 'election');
}

// ---- flood ----------------------------------------------------------------------------------

/** A tiny inline SVG of the water level over an incident's timeline. */
function sparkline(points) {
  const levels = points.filter((p) => p.water_level_cm !== null);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 120 30');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('waterOverTime', { v: levels.map((p) => `${number(p.water_level_cm)} cm`).join(' → ') || '—' }));
  if (levels.length) {
    const max = Math.max(...levels.map((p) => p.water_level_cm), 1);
    const step = levels.length > 1 ? 116 / (levels.length - 1) : 0;
    const xy = levels.map((p, i) => `${(2 + i * step).toFixed(1)},${(28 - (p.water_level_cm / max) * 26).toFixed(1)}`);
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', levels.length > 1 ? xy.join(' ') : `${xy[0]} 118,${xy[0].split(',')[1]}`);
    svg.append(line);
  }
  return svg;
}

export function renderFlood() {
  const data = app.coord.flood;
  const may = FLOOD_REPORTERS.includes(me()?.role);
  $('flood-form').hidden = !may;
  fillRegencies('flood-regency', true);
  fillRegencies('flood-new-regency', false);
  if (!data) return;
  $('flood-status').textContent = data.as_of ? t('asOf', { t: dateTime(data.as_of) }) : t('noReports');
  const needs = (n) => Object.entries(n).filter(([, v]) => v > 0).map(([k, v]) => t('needsOpen', { k: t(`need_${k}`), n: number(v) })).join(', ') || '—';
  const summary = (r, cls = '') => ({
    cls, id: r.code,
    cells: [r.name || t('province'), `${number(r.incidents)} (${number(r.by_status.active)} ${t('flood_active')})`,
      `${number(r.affected)}/${number(r.evacuated)}`, `${number(r.sheltered)}/${number(r.shelter_capacity)}`, needs(r.needs_outstanding)],
  });
  $('flood-summary').replaceChildren(table(t('floodSummary'),
    [t('regency'), t('incidentsCol'), t('affectedEvacuated'), t('sheltered'), t('needsOutstanding')],
    [...data.regencies.filter((r) => r.incidents > 0 || data.regencies.length === 1).map((r) => summary(r)),
      summary({ ...data.province, name: data.province.name || t('province') }, 'total')]));
  const code = chosen('flood-regency');
  const list = $('flood-incidents');
  list.replaceChildren();
  for (const inc of data.incidents.filter((i) => !code || i.regency === code)) {
    const li = el('li', { class: `card incident ${inc.status}` });
    li.dataset.id = inc.id;
    li.append(el('h4', { text: `${inc.title} — ${regionName(inc.regency)}` }),
      el('p', { class: 'meta', text: `${word('flood', inc.status)} · ${t('water')}: ${inc.water_level_cm === null ? '—' : `${number(inc.water_level_cm)} cm`}`
        + ` · ${t('affected')}: ${inc.affected === null ? '—' : number(inc.affected)} · ${t('evacuated')}: ${inc.evacuated === null ? '—' : number(inc.evacuated)}` }));
    if (inc.note) li.append(el('p', { text: inc.note }));
    const tl = el('details', {}, el('summary', { text: t('timeline') }));
    const ol = el('ol', { class: 'timeline' });
    for (const p of inc.timeline) {
      ol.append(el('li', { text: `${time(p.at)} — ${word('flood', p.status)}${p.water_level_cm === null ? '' : `, ${number(p.water_level_cm)} cm`}` }));
    }
    tl.append(ol);
    li.append(el('div', { class: 'spark-row' }, sparkline(inc.timeline), tl));
    if (inc.shelters.length) {
      li.append(table(t('shelters'), [t('name'), t('occupants'), t('occupancy')], inc.shelters.map((s) => ({
        id: s.id, cells: [s.name, `${number(s.occupants)}/${number(s.capacity)}`, pct(s.occupancy)],
      }))));
    }
    if (inc.needs.length) {
      li.append(table(t('needs'), [t('need'), t('requested'), t('fulfilled'), t('outstanding')], inc.needs.map((n) => ({
        id: n.id, cls: n.outstanding > 0 ? 'warn' : '',
        cells: [t(`need_${n.kind}`), `${number(n.requested)} ${n.unit}`, `${number(n.fulfilled)} ${n.unit}`, `${number(n.outstanding)} ${n.unit}`],
      }))));
    }
    li.append(el('p', { class: 'meta', text: `${t('updated')}: ${dateTime(inc.updated_at)} · ${describe(inc.reporter)}` }));
    list.append(li);
  }
  if (!list.children.length) list.append(el('p', { class: 'hint', text: t('noIncidents') }));
  // The form: a new incident, or an update of one on the board.
  const select = $('flood-incident');
  const keep = select.value;
  select.replaceChildren(new Option(t('newIncident'), ''), ...data.incidents.map((i) => new Option(`${i.title} (${regionName(i.regency)})`, i.id)));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  floodFormMode();
}

function floodFormMode() {
  const isNew = !$('flood-incident').value;
  $('flood-new').hidden = !isNew;
}

async function onFloodReport(ev) {
  ev.preventDefault();
  const form = $('flood-form');
  const incident = $('flood-incident').value;
  const msg = { type: 'flood_report', id: newId(), report: 'incident', incident: incident || `banjir-${newId().slice(0, 8)}` };
  if (!incident) {
    msg.regency = $('flood-new-regency').value;
    msg.title = $('flood-title').value.trim();
    const lat = numOrNull($('flood-lat').value), lon = numOrNull($('flood-lon').value);
    if (lat !== null) msg.lat = lat;
    if (lon !== null) msg.lon = lon;
  }
  if ($('flood-state').value) msg.status = $('flood-state').value;
  for (const [id, key] of [['flood-water', 'water_level_cm'], ['flood-affected', 'affected'], ['flood-evacuated', 'evacuated']]) {
    const v = intOrNull($(id).value);
    if (v !== null) msg[key] = v;
  }
  if ($('flood-note').value.trim()) msg.note = $('flood-note').value.trim();
  await submitReport(form, msg, 'flood-result', 'flood');
}

/** Send a report; show "stored" or the server's error with its field marked, then reload. */
async function submitReport(form, msg, resultId, board) {
  const out = $(resultId);
  try {
    await app.conn.request(msg);
    out.textContent = t('reportStored');
    out.classList.remove('error');
    fieldError(form, '');
    form.reset();
    load(board);
  } catch (e) {
    out.textContent = `${t('error')}: ${e.message}`;
    out.classList.add('error');
    fieldError(form, e.message);
  }
}

// ---- situation report -------------------------------------------------------------------------

/** Ask for the sitrep (Markdown and PDF) in the console's language; offer both as downloads. */
async function onSitrep() {
  const box = $('sitrep-links');
  box.textContent = t('sitrepMaking');
  try {
    const [md, pdf] = await Promise.all(['markdown', 'pdf'].map((format) =>
      app.conn.request({ type: 'sitrep_request', format, lang }, 30000)));
    for (const url of app.coord.sitrepUrls || []) URL.revokeObjectURL(url);
    const stamp = new Date(md.generated_at * 1000).toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
    const blobs = {
      markdown: new Blob([md.content], { type: 'text/markdown;charset=utf-8' }),
      pdf: new Blob([b64d(pdf.content)], { type: 'application/pdf' }),
    };
    const mdUrl = URL.createObjectURL(blobs.markdown), pdfUrl = URL.createObjectURL(blobs.pdf);
    // Kept for the browser tests: the page's CSP (connect-src 'self') forbids fetch() of blob: URLs.
    app.coord.sitrep = blobs;
    app.coord.sitrepUrls = [mdUrl, pdfUrl];
    box.replaceChildren(
      el('a', { id: 'sitrep-md', href: mdUrl, download: `sitrep-${stamp}.md`, text: t('sitrepMd') }), ' · ',
      el('a', { id: 'sitrep-pdf', href: pdfUrl, download: `sitrep-${stamp}.pdf`, text: t('sitrepPdf') }),
      ` (${time(md.generated_at)})`);
  } catch (e) {
    box.textContent = `${t('error')}: ${e.message}`;
  }
}

// ---- setup ------------------------------------------------------------------------------------

export function setup() {
  app.coord = { election: null, flood: null };
  const tpsStatus = $('tps-status'), logistics = $('tps-logistics'), floodState = $('flood-state');
  const fill = () => {
    tpsStatus.replaceChildren(new Option('—', ''), ...TPS_STATUS.map((s) => new Option(t(`tps_${s}`), s)));
    logistics.replaceChildren(new Option('—', ''), ...LOGISTICS.map((s) => new Option(t(`log_${s}`), s)));
    floodState.replaceChildren(new Option('—', ''), ...FLOOD_STATUS.map((s) => new Option(t(`flood_${s}`), s)));
    const inc = $('tps-incidents');
    const checked = new Set([...inc.querySelectorAll('input:checked')].map((x) => x.value));
    inc.replaceChildren(inc.querySelector('legend'), ...INCIDENTS.map((k) => {
      const input = el('input', { type: 'checkbox', value: k });
      input.checked = checked.has(k);
      return el('label', {}, input, t(`inc_${k}`));
    }));
  };
  fill();
  app.coord.relabel = () => {
    const keep = [tpsStatus.value, logistics.value, floodState.value];
    fill();
    [tpsStatus.value, logistics.value, floodState.value] = keep;
    renderElection();
    renderFlood();
  };
  $('tps-form').addEventListener('submit', onTpsReport);
  $('flood-form').addEventListener('submit', onFloodReport);
  $('flood-incident').addEventListener('change', floodFormMode);
  $('election-regency').addEventListener('change', renderElection);
  $('flood-regency').addEventListener('change', renderFlood);
  $('sitrep').addEventListener('click', onSitrep);
}
