// The console's glue: sign-in (enroll or continue with the stored device), the talkgroup list,
// push-to-talk and emergency controls, and the boards. Protocol and crypto live in the other
// modules; this file turns their state into the page.

import { Microphone, audioContext, codecsSupported, replay } from './audio.js';
import { b64e } from './bytes.js';
import { fingerprint, generateDevice } from './crypto.js';
import { enroll, signIn } from './connection.js';
import { Talker } from './floor.js';
import { lang, number, setLang, t, time, translate } from './i18n.js';
import { Keyring } from './keyring.js';
import { Listener } from './listen.js';
import { ProvinceMap } from './map.js';
import { forgetDevice, loadDevice, saveDevice } from './store.js';
import * as boards from './boards.js';
import * as coord from './coord.js';

const $ = (id) => document.getElementById(id);
const WS_URL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;

/** Everything the page shows, in one place (also read by the browser tests). */
export const app = {
  roster: null, device: null, conn: null, keyring: null, talker: null, listener: null, mic: new Microphone(),
  welcome: null, talkgroups: new Map(), selected: null, emergencies: new Map(), online: new Set(),
  polls: new Map(), boards: new Map(), orders: new Map(), issued: new Map(), inbox: new Map(), sent: new Map(),
  positions: new Map(), alerts: [], liveAlerts: [], map: null, signedOut: true, coord: {},
};
window.siagaConsole = app;

// ---- people and places --------------------------------------------------------------------

export function person(id) {
  const m = app.roster?.members.find((x) => x.id === id);
  if (!m) return { id, name: id, role: '', region: '' };
  const region = app.roster.regions.find((r) => r.code === m.region);
  return { ...m, regionName: region ? region.name : '' };
}

export function describe(id) {
  const p = person(id);
  return [p.name, p.role ? t(`role_${p.role}`) : '', p.regionName].filter(Boolean).join(' · ');
}

export const tgName = (id) => app.talkgroups.get(id)?.name ?? app.roster?.talkgroups.find((g) => g.id === id)?.name ?? id;

// ---- sign-in --------------------------------------------------------------------------------

async function showSignIn() {
  $('signin-view').hidden = false;
  $('console-view').hidden = true;
  $('signout').hidden = true;
  $('sitrep-box').hidden = true;
  $('whoami').textContent = '';
  const select = $('enroll-member');
  select.replaceChildren(...app.roster.members.map((m) => new Option(`${m.name} (${m.id})`, m.id)));
  $('enroll-label').value = $('enroll-label').value || t('labelDefault');
  app.device = await loadDevice();
  $('known-device').hidden = !app.device;
  if (app.device) {
    $('continue').textContent = `${t('continueAs')} ${person(app.device.member).name}`;
    $('known-fp').textContent = await fingerprint(app.device.signPub, app.device.dhPub);
  }
}

function status(text, error = false) {
  $('signin-status').textContent = text;
  $('signin-status').classList.toggle('error', error);
}

async function onEnroll(ev) {
  ev.preventDefault();
  audioContext().catch(() => {}); // a user gesture: let audio start later without a prompt
  status(t('enrolling'));
  try {
    const member = $('enroll-member').value;
    const device = await generateDevice();
    const label = $('enroll-label').value.trim().slice(0, 60);
    await enroll(WS_URL, device, member, $('enroll-code').value.trim(), label);
    Object.assign(device, { member, label, enrolledAt: Date.now() / 1000 });
    await saveDevice(device);
    app.device = device;
    $('enroll-code').value = '';
    await start();
  } catch (e) {
    status(`${t('error')}: ${e.message}`, true);
  }
}

async function onContinue() {
  audioContext().catch(() => {});
  await start();
}

async function start() {
  status(t('signingIn'));
  const device = app.device;
  try {
    app.keyring = new Keyring(device, (keeper) => { device.keeper = keeper; saveDevice(device); });
    app.conn = await signIn(WS_URL, device, (conn) => wire(conn));
  } catch (e) {
    status(`${t('error')}: ${e.message}`, true);
    return;
  }
  app.signedOut = false;
  status('');
  await enter(app.conn.welcome);
}

/** Hook every server message to the state, before hello so nothing after it is missed. */
function wire(conn) {
  app.conn = conn;
  app.listener = new Listener(conn, app.keyring, render);
  app.talker = new Talker(conn, app.keyring, app.mic, renderFloor);
  conn.on('keys', async (m) => {
    if (await app.keyring.addSealed(m)) { app.listener.retry(); reopenSealed(); }
    renderTalkgroups();
  });
  conn.on('directory', (m) => {
    app.keyring.updateDirectory(m);
    app.listener.retry(); // a talker's device may be known now
    reopenSealed();
  });
  conn.on('joined', (m) => {
    const g = app.talkgroups.get(m.talkgroup);
    if (g) Object.assign(g, { joined: true, number: m.number });
    if (m.emergency) app.emergencies.set(m.talkgroup, app.emergencies.get(m.talkgroup) || '');
    m.online.forEach((x) => app.online.add(x));
    render();
  });
  conn.on('left', (m) => { const g = app.talkgroups.get(m.talkgroup); if (g) g.joined = false; render(); });
  conn.on('presence', (m) => { m.online.forEach((x) => app.online.add(x)); m.offline.forEach((x) => app.online.delete(x)); });
  conn.on('emergency', (m) => {
    if (m.active) app.emergencies.set(m.talkgroup, m.member); else app.emergencies.delete(m.talkgroup);
    renderEmergency();
    renderTalkgroups();
  });
  conn.on('rollcall', (m) => { app.polls.set(m.id, m); renderRollcall(); });
  conn.on('rollcall_board', (m) => {
    app.boards.set(m.id, m);
    if (m.closed) app.polls.delete(m.id);
    renderRollcall();
  });
  conn.on('order', (m) => onOrder(m));
  conn.on('order_status', (m) => {
    if (m.ref !== undefined) return; // the answer to our own order_issue, not a recipient's state
    if (!app.issued.has(m.id)) app.issued.set(m.id, { id: m.id, members: new Map() });
    app.issued.get(m.id).members.set(m.member, m);
    boards.renderOrders(app);
  });
  conn.on('message', (m) => onMessage(m));
  conn.on('receipt_update', (m) => {
    const s = app.sent.get(m.id);
    if (s) { s.receipts.set(m.member, m.state === 'read' || s.receipts.get(m.member) === 'read' ? 'read' : m.state); }
    boards.renderMessages(app);
  });
  // A public notice published just now (ref absent: not the answer to our own alert_publish).
  conn.on('alert', (m) => {
    if (m.ref !== undefined || app.liveAlerts.some((a) => a.id === m.id)) return;
    app.liveAlerts.unshift({ ...m, at: Date.now() / 1000 });
    boards.renderAlerts(app);
  });
  // A report was stored: reload that board at once if it is on screen (else at its next open).
  conn.on('board_changed', (m) => {
    if (!document.getElementById(`panel-${m.board}`)?.hidden) coord.load(m.board);
  });
  conn.on('position_update', (m) => { app.positions.set(m.member, m); boards.renderPositions(app); });
  conn.on('positions', (m) => { m.positions.forEach((p) => app.positions.set(p.member, p)); boards.renderPositions(app); });
  // Frames already on the wire when the floor was taken away are dropped by the server with
  // not_holder: expected, not something to alarm the user with.
  conn.on('error', (m) => { if (m.ref === undefined && m.code !== 'not_holder') showError(m); });
  conn.closed.then(() => onClosed(conn));
}

async function enter(welcome) {
  app.welcome = welcome;
  $('signin-view').hidden = true;
  $('console-view').hidden = false;
  $('signout').hidden = false;
  $('whoami').textContent = `${t('signedInAs')} ${describe(welcome.member.id)}`;
  setConnection('connected');
  const previous = app.talkgroups;
  // can_transmit is left out when true (the server omits defaults).
  app.talkgroups = new Map(welcome.talkgroups.map((g) => [g.id, {
    ...g, can_transmit: g.can_transmit !== false, joined: false, number: g.number, wanted: previous.get(g.id)?.wanted ?? true,
  }]));
  if (!app.selected || !app.talkgroups.has(app.selected)) {
    app.selected = welcome.talkgroups.find((g) => g.can_transmit !== false)?.id ?? welcome.talkgroups[0]?.id ?? null;
  }
  // Roll calls and orders are for the governor, operators, BPBD and admins (the server checks).
  const commands = ['governor', 'staff', 'bpbd', 'admin'].includes(welcome.member.role);
  $('rollcall-start').hidden = !commands;
  $('order-form').hidden = !commands;
  $('sitrep-box').hidden = false;
  fillPeople();
  const statusSelect = $('message-status');
  statusSelect.replaceChildren(new Option('—', ''), ...welcome.status_codes.map((s) => new Option(lang === 'en' ? s.text_en : s.text_id, s.code)));
  buildTalkgroups();
  render();
  renderFloor(app.talker.state);
  boards.renderAll(app);
  for (const g of app.talkgroups.values()) if (g.wanted) await join(g.id);
  app.conn.request({ type: 'positions_request' }).catch(() => {}); // only some roles may see them
  loadAlerts();
}

/** People one may write to directly: members who share a talkgroup with this member. */
function fillPeople() {
  const me = app.welcome.member.id;
  const peers = new Set();
  for (const g of app.roster.talkgroups) if (g.members.includes(me)) g.members.forEach((m) => peers.add(m));
  peers.delete(me);
  const select = $('message-person');
  const keep = select.value;
  select.replaceChildren(...[...peers].map((m) => new Option(describe(m), m)).sort((a, b) => a.text.localeCompare(b.text)));
  if (peers.has(keep)) select.value = keep;
}

function messageMode() {
  $('message-person-box').hidden = !$('message-mode-person').checked;
}

async function join(id) {
  const g = app.talkgroups.get(id);
  g.wanted = true;
  try {
    await app.conn.request({ type: 'join', talkgroup: id });
    await app.conn.request({ type: 'directory_request', talkgroup: id });
  } catch (e) { showError({ message: e.message }); }
}

async function leave(id) {
  const g = app.talkgroups.get(id);
  g.wanted = false;
  await app.conn.request({ type: 'leave', talkgroup: id }).catch(() => {});
}

function onClosed(conn) {
  if (conn !== app.conn || app.signedOut) return;
  setConnection('disconnected');
  // Keep trying: a radio comes back by itself when the server does.
  setTimeout(async () => {
    if (app.signedOut) return;
    try {
      app.keyring = new Keyring(app.device, (keeper) => { app.device.keeper = keeper; saveDevice(app.device); });
      const c = await signIn(WS_URL, app.device, (x) => wire(x));
      await enter(c.welcome);
    } catch { onClosed(conn); }
  }, 2000);
}

async function signOut() {
  app.signedOut = true;
  await app.talker?.release();
  app.mic.close();
  app.conn?.close();
  app.conn = null;
  $('emergency-banner').hidden = true;
  $('rollcall-banner').hidden = true;
  await showSignIn();
}

/** 'connected' or 'disconnected', kept as a key so a language change re-words it. */
function setConnection(state) {
  app.connection = state;
  $('conn-status').textContent = t(state);
}

function showError(m) {
  $('conn-status').textContent = `${t('error')}: ${m.message}`;
}

// ---- messages and orders -----------------------------------------------------------------------

async function openSealed(item, senderField) {
  if (item.raw.sealed_for) {
    try {
      const body = await app.keyring.openDirect(item.raw);
      if (body) { item.body = body; item.verified = true; item.problem = null; }
    } catch (e) { item.problem = e.message; }
    return;
  }
  if (!item.raw.sealed) { item.body = { text: item.raw.text ?? null, status: item.raw.status ?? null }; return; }
  try {
    const body = await app.keyring.openMessage(item.raw, senderField);
    if (body) { item.body = body; item.verified = true; item.problem = null; }
  } catch (e) { item.problem = e.message; }
}

function reopenSealed() {
  const waiting = [...app.inbox.values(), ...app.orders.values()].filter((x) => !x.body);
  Promise.all(waiting.map((x) => openSealed(x, x.kind === 'order' ? 'by' : 'sender'))).then(() => {
    boards.renderMessages(app);
    boards.renderOrders(app);
  });
}

async function onMessage(m) {
  app.conn.send({ type: 'receipt', id: m.id, state: 'delivered' }); // every copy: the wire is at-least-once
  if (app.inbox.has(m.id)) return;
  const item = { kind: 'message', raw: m, body: null, verified: false, read: false, direct: Boolean(m.to || m.sealed_for) };
  app.inbox.set(m.id, item);
  await openSealed(item, 'sender');
  if (!item.body && !item.problem && !app.keyring.directory.has(m.sender_device)) {
    // A direct message's sender may share no joined talkgroup: ask for that member's devices.
    const ask = item.direct ? { member: m.sender } : { talkgroup: m.talkgroup };
    app.conn.request({ type: 'directory_request', ...ask }).catch(() => {});
  }
  boards.renderMessages(app);
  markRead();
}

async function onOrder(m) {
  const known = app.orders.get(m.id);
  if (known) { known.raw = { ...m, sealed: known.raw.sealed }; boards.renderOrders(app); return; }
  const item = { kind: 'order', raw: m, body: null, verified: false, state: null };
  app.orders.set(m.id, item);
  await openSealed(item, 'by');
  boards.renderOrders(app);
}

/** Shown on screen: tell the senders their messages were read. */
function markRead() {
  if ($('panel-messages').hidden || document.hidden) return;
  for (const item of app.inbox.values()) {
    if (!item.read && item.body) { item.read = true; app.conn.send({ type: 'receipt', id: item.raw.id, state: 'read' }); }
  }
}

function newId() { return b64e(crypto.getRandomValues(new Uint8Array(12))); }

async function sendSealed(type, talkgroup, fields, payload) {
  const id = newId();
  const sealed = await app.keyring.sealMessage(talkgroup, id, new TextEncoder().encode(JSON.stringify(payload)));
  if (!sealed) throw new Error(t('reason_no_key'));
  return app.conn.request({ type, id, talkgroup, ...fields, sealed: b64e(sealed.blob), epoch: sealed.epoch });
}

/** A direct message, as Client.send_direct: the recipient's devices from the directory, one
 * copy signed and sealed to each (at most four); the server never sees the content. */
async function sendDirect(to, payload) {
  const id = newId();
  const dir = await app.conn.request({ type: 'directory_request', member: to });
  app.keyring.updateDirectory(dir);
  const devices = dir.devices.slice(0, 4);
  const sealedFor = await app.keyring.sealDirect(id, devices, new TextEncoder().encode(JSON.stringify(payload)));
  if (!sealedFor.length) throw new Error(t('noDevices', { who: person(to).name }));
  return app.conn.request({ type: 'message_send', id, to, sealed_for: sealedFor });
}

async function onSendMessage(ev) {
  ev.preventDefault();
  const text = $('message-text').value.trim();
  const statusCode = $('message-status').value;
  if (!text && !statusCode) return;
  const payload = text ? { text, status: null } : { text: null, status: statusCode };
  const to = $('message-mode-person').checked ? $('message-person').value : null;
  try {
    const ok = to ? await sendDirect(to, payload) : await sendSealed('message_send', app.selected, {}, payload);
    app.sent.set(ok.id, { id: ok.id, talkgroup: to ? null : app.selected, to, body: payload, at: ok.stored_at, recipients: ok.recipients, receipts: new Map() });
    $('message-text').value = '';
    $('message-status').value = '';
    boards.renderMessages(app);
  } catch (e) { showError(e); $('message-error').textContent = `${t('error')}: ${e.message}`; return; }
  $('message-error').textContent = '';
}

async function onIssueOrder(ev) {
  ev.preventDefault();
  const to = [...$('order-to').querySelectorAll('input:checked')].map((x) => x.value);
  const text = $('order-text').value.trim();
  if (!to.length || !text) return;
  try {
    const ok = await sendSealed('order_issue', app.selected, { to, due_in: Number($('order-due').value) * 60, ack_within: 600 },
      { text, status: null });
    const entry = app.issued.get(ok.id) || { id: ok.id, members: new Map() };
    Object.assign(entry, { text, talkgroup: app.selected, to, at: ok.at });
    for (const member of to) if (!entry.members.has(member)) entry.members.set(member, { state: 'issued', at: ok.at });
    app.issued.set(ok.id, entry);
    $('order-text').value = '';
    boards.renderOrders(app);
  } catch (e) { showError(e); }
}

export function ackOrder(id, state) {
  app.conn.send({ type: 'order_ack', id, state });
  const item = app.orders.get(id);
  if (item) item.state = state;
  boards.renderOrders(app);
}

export function answerRollcall(id) {
  app.conn.send({ type: 'rollcall_answer', id });
  app.polls.delete(id);
  renderRollcall();
}

async function loadAlerts() {
  try {
    const res = await fetch('/alerts/feed.xml', { cache: 'no-cache' });
    app.alerts = res.ok ? boards.parseFeed(await res.text()) : [];
  } catch { app.alerts = []; }
  boards.renderAlerts(app);
}

// ---- rendering -------------------------------------------------------------------------------

export function render() {
  renderTalkgroups();
  renderTalkers();
  boards.renderHistory(app, (r) => replay(r.playout.pcm(), app.listener.level(r.talkgroup).gain));
}

/** The talkgroup list is built once per sign-in and then updated in place, so a slider being
 * dragged or a focused button is never replaced under the user's hand. */
function buildTalkgroups() {
  const items = [];
  for (const g of app.talkgroups.values()) {
    const li = document.createElement('li');
    li.dataset.talkgroup = g.id;
    li.innerHTML = `
      <div class="tg-head">
        <input type="radio" name="tg" id="sel-${g.id}" ${g.can_transmit ? '' : 'disabled'}>
        <label class="name" for="sel-${g.id}"></label>
        <span class="badge key"></span>
        <button type="button" class="join"></button>
      </div>
      <div class="tg-controls">
        <label class="visually-hidden" for="vol-${g.id}"></label>
        <input type="range" id="vol-${g.id}" min="0" max="1" step="0.05">
        <button type="button" class="mute"></button>
      </div>
      <p class="tg-talker"></p>`;
    const el = {
      li, radio: li.querySelector('input[type=radio]'), name: li.querySelector('.name'), key: li.querySelector('.key'),
      join: li.querySelector('.join'), volLabel: li.querySelector('.tg-controls label'),
      vol: li.querySelector('input[type=range]'), mute: li.querySelector('.mute'), talker: li.querySelector('.tg-talker'),
    };
    el.vol.value = app.listener.level(g.id).volume;
    el.vol.addEventListener('input', () => app.listener.setLevel(g.id, { volume: Number(el.vol.value) }));
    el.mute.addEventListener('click', () => {
      app.listener.setLevel(g.id, { muted: !app.listener.level(g.id).muted });
      renderTalkgroups();
    });
    el.join.addEventListener('click', () => (g.joined ? leave(g.id) : join(g.id)));
    el.radio.addEventListener('change', () => {
      app.selected = g.id;
      renderFloor(app.talker.state);
      boards.renderOrderForm(app);
    });
    g.el = el;
    items.push(li);
  }
  $('tg-list').replaceChildren(...items);
  renderTalkgroups();
}

function renderTalkgroups() {
  let anyKey = false;
  for (const g of app.talkgroups.values()) {
    const el = g.el;
    if (!el) continue;
    const level = app.listener.level(g.id);
    const hasKey = Boolean(app.keyring.latest(g.id));
    anyKey ||= hasKey;
    const talker = app.listener.talking(g.id);
    el.li.classList.toggle('tg-emergency', app.emergencies.has(g.id));
    el.radio.checked = app.selected === g.id;
    el.name.textContent = g.name;
    el.key.textContent = hasKey ? 'E2E' : '…';
    el.key.className = `badge key ${hasKey ? 'on' : 'off'}`;
    el.key.title = hasKey ? t('sealed') : t('waitingKeys');
    el.key.setAttribute('aria-label', el.key.title);
    // A toggle: "Listen", pressed while this talkgroup is in the scan list.
    el.join.textContent = t('join');
    el.join.setAttribute('aria-label', `${t('join')}: ${g.name}`);
    el.join.setAttribute('aria-pressed', String(g.joined));
    el.volLabel.textContent = `${t('volume')} ${g.name}`;
    el.mute.textContent = level.muted ? t('unmute') : t('mute');
    el.mute.setAttribute('aria-label', `${level.muted ? t('unmute') : t('mute')}: ${g.name}`);
    el.mute.setAttribute('aria-pressed', String(level.muted));
    el.talker.textContent = talker ? `▶ ${describe(talker.verified || talker.claimed.id)}` : '';
  }
  $('keys-note').hidden = anyKey || app.talkgroups.size === 0;
}

function renderTalkers() {
  const items = [];
  for (const r of app.listener.receptions.values()) {
    const li = document.createElement('li');
    if (r.emergency) li.classList.add('emergency');
    const who = r.verified ? describe(r.verified) : `${describe(r.claimed.id)} (${r.sealed ? '…' : t('unsealed')})`;
    li.textContent = `${tgName(r.talkgroup)}: ${who}${r.sealed && r.verified ? ' [E2E]' : ''}${r.emergency ? ` — ${t('emergency')}` : ''}`;
    li.dataset.member = r.verified || r.claimed.id;
    items.push(li);
  }
  if (!items.length) {
    const li = document.createElement('li');
    li.className = 'quiet';
    li.textContent = t('nobody');
    items.push(li);
  }
  $('talkers').replaceChildren(...items);
}

let floorTimer = null;

function renderFloor(state) {
  const s = state || { phase: 'idle' };
  const tg = tgName(s.talkgroup || app.selected || '');
  const reason = s.reason ? t(`reason_${s.reason}`) : '';
  const words = {
    idle: t('idle', { tg }), requesting: t('requesting'), talking: t('talking', { tg }),
    queued: t('queued', { n: number(s.position || 0) }), denied: t('denied', { reason: reason || s.detail || '' }),
    preempted: t('preempted', { reason }),
  };
  $('floor-status').textContent = words[s.phase] ?? s.phase;
  $('floor-status').dataset.phase = s.phase;
  $('ptt').dataset.phase = s.phase;
  $('ptt').setAttribute('aria-pressed', String(s.phase === 'talking' || s.phase === 'requesting' || s.phase === 'queued'));
  const emergencyCall = s.emergency && app.talker.busy;
  $('emergency').setAttribute('aria-pressed', String(Boolean(emergencyCall)));
  $('emergency').textContent = emergencyCall ? t('emergencyStop') : t('emergency');
  clearInterval(floorTimer);
  $('floor-time').textContent = '';
  if (s.phase === 'talking') {
    const tick = () => {
      const left = Math.max(0, (s.grantedAt + s.limitMs - Date.now()) / 1000);
      $('floor-time').textContent = t('timeLeft', { s: number(left, 0) });
    };
    tick();
    floorTimer = setInterval(tick, 250);
  } else if (s.phase === 'denied' || s.phase === 'preempted') {
    // Show the refusal for a while, then stand by again.
    floorTimer = setTimeout(() => { if (app.talker.state === s) app.talker._set({ phase: 'idle' }); }, 6000);
  }
  renderTalkgroups();
}

function renderEmergency() {
  const banner = $('emergency-banner');
  const active = [...app.emergencies.entries()];
  banner.hidden = active.length === 0;
  $('emergency-text').textContent = active.map(([tg, who]) => t('emergencyOn', { tg: tgName(tg), who: who ? describe(who) : '' })).join(' · ');
  $('clear-emergency').dataset.talkgroup = active[0]?.[0] ?? '';
}

function renderRollcall() {
  const open = [...app.polls.values()].filter((p) => p.by !== app.welcome?.member.id);
  const banner = $('rollcall-banner');
  banner.hidden = open.length === 0;
  if (open.length) {
    const p = open[0];
    $('rollcall-text').textContent = t('rollcallAsk', { tg: tgName(p.talkgroup), who: person(p.by).name, t: time(p.deadline) });
    $('rollcall-answer').dataset.id = p.id;
  }
  boards.renderRollcall(app);
}

// ---- controls ----------------------------------------------------------------------------------

function bindPtt() {
  const ptt = $('ptt');
  const down = (ev) => {
    ev.preventDefault();
    if (app.selected) app.talker.press(app.selected);
  };
  const up = (ev) => { ev.preventDefault(); if (!app.talker.state.emergency) app.talker.release(); };
  ptt.addEventListener('pointerdown', (ev) => { ptt.setPointerCapture?.(ev.pointerId); down(ev); });
  ptt.addEventListener('pointerup', up);
  ptt.addEventListener('pointercancel', up);
  ptt.addEventListener('contextmenu', (ev) => ev.preventDefault());
  // Space is the PTT key, as on a desk microphone, wherever focus is not on another control
  // (there Space keeps its usual meaning: press that button, tick that box).
  const otherControl = (el) => el && el.id !== 'ptt'
    && ['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON', 'A'].includes(el.tagName);
  const spaceKey = (ev) => ev.code === 'Space' && !otherControl(document.activeElement) && !$('console-view').hidden;
  document.addEventListener('keydown', (ev) => { if (spaceKey(ev) && !ev.repeat) down(ev); else if (spaceKey(ev)) ev.preventDefault(); });
  document.addEventListener('keyup', (ev) => { if (spaceKey(ev)) up(ev); });
  $('emergency').addEventListener('click', () => {
    if (app.talker.busy && app.talker.state.emergency) { app.talker.release(); return; }
    if (app.selected) app.talker.press(app.selected, { emergency: true });
  });
  $('clear-emergency').addEventListener('click', () => {
    const tg = $('clear-emergency').dataset.talkgroup;
    if (tg) app.conn.request({ type: 'emergency_clear', talkgroup: tg }).catch((e) => showError(e));
  });
}

function bindTabs() {
  const tabs = [...document.querySelectorAll('[role=tab]')];
  const select = (tab) => {
    for (const x of tabs) {
      const on = x === tab;
      x.setAttribute('aria-selected', String(on));
      x.tabIndex = on ? 0 : -1;
      $(x.getAttribute('aria-controls')).hidden = !on;
    }
    if (tab.id === 'tab-messages') markRead();
    if (tab.id === 'tab-alerts') loadAlerts();
    coord.tabShown(tab.id);
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => select(tab));
    tab.addEventListener('keydown', (ev) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      next.focus();
      select(next);
    });
  });
}

function relabel() {
  translate();
  document.title = t('title');
  app.map?.setTitle(`${app.roster.province} — ${t('map')}`);
  if (app.connection) setConnection(app.connection);
  if (app.welcome) {
    $('whoami').textContent = `${t('signedInAs')} ${describe(app.welcome.member.id)}`;
    render();
    renderFloor(app.talker.state);
    renderRollcall();
    renderEmergency();
    boards.renderAll(app);
    fillPeople();
    app.coord.relabel?.();
  }
}

async function main() {
  setLang(lang);
  $('lang').value = lang;
  $('lang').addEventListener('change', () => { setLang($('lang').value); relabel(); });
  app.roster = await (await fetch('/roster.json')).json();
  $('network').textContent = app.roster.network;
  app.map = new ProvinceMap($('map'), app.roster.regions, `${app.roster.province} — ${t('map')}`);
  translate();
  document.title = t('title');
  if (!codecsSupported() || !crypto.subtle) { status(t('noCodecs'), true); }
  $('enroll-form').addEventListener('submit', onEnroll);
  $('continue').addEventListener('click', onContinue);
  $('forget').addEventListener('click', async () => { await forgetDevice(); await showSignIn(); });
  $('signout').addEventListener('click', signOut);
  $('rollcall-answer').addEventListener('click', () => answerRollcall($('rollcall-answer').dataset.id));
  $('rollcall-start').addEventListener('click', () => {
    app.conn.request({ type: 'rollcall_start', id: newId(), talkgroup: app.selected, timeout: 120 }).catch((e) => showError(e));
  });
  $('message-form').addEventListener('submit', onSendMessage);
  for (const r of document.querySelectorAll('input[name=message-mode]')) r.addEventListener('change', messageMode);
  coord.setup();
  $('order-form').addEventListener('submit', onIssueOrder);
  document.addEventListener('visibilitychange', markRead);
  bindPtt();
  bindTabs();
  await showSignIn();
  document.body.dataset.ready = 'true';
}

main();
