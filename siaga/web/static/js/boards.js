// The boards beside the radio: positions, roll calls, orders, messages, public alerts and the
// history of transmissions. Each render function rebuilds one list from the state in `app`.

import { ackOrder, answerRollcall, describe, person, tgName } from './app.js';
import { dateTime, lang, number, t, time } from './i18n.js';

const $ = (id) => document.getElementById(id);

function item(cls, ...children) {
  const li = document.createElement('li');
  li.className = `card ${cls}`;
  li.append(...children);
  return li;
}

function line(text, cls = '') {
  const p = document.createElement('p');
  p.textContent = text;
  if (cls) p.className = cls;
  p.style.margin = '.15rem 0';
  return p;
}

function button(text, onclick, label = text) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onclick);
  return b;
}

function empty(list, key) {
  if (!list.children.length) list.append(line(t(key), 'hint'));
}

function statusText(app, code) {
  const s = app.welcome?.status_codes.find((x) => x.code === code);
  return s ? (lang === 'en' ? s.text_en : s.text_id) : code;
}

const bodyText = (app, body) => (body.text ?? (body.status ? `[${statusText(app, body.status)}]` : ''));

export function renderPositions(app) {
  const list = $('position-list');
  list.replaceChildren();
  for (const p of [...app.positions.values()].sort((a, b) => b.at - a.at)) {
    const who = person(p.member);
    app.map.place(p.member, p.lat, p.lon, who.name);
    list.append(item('position', line(`${describe(p.member)}`),
      line(`${number(p.lat, 3)}, ${number(p.lon, 3)} ± ${number(p.accuracy)} m — ${time(p.at)}`, 'meta')));
  }
  empty(list, 'noPositions');
}

export function renderRollcall(app) {
  const box = $('rollcall-boards');
  box.replaceChildren();
  for (const b of [...app.boards.values()].reverse()) {
    const card = document.createElement('div');
    card.className = 'card rollcall-board';
    card.dataset.id = b.id;
    card.append(line(`${tgName(b.talkgroup)} — ${person(b.by).name}, ${time(b.started_at)} (${b.closed ? t('closed') : t('open')})`));
    const table = document.createElement('table');
    const rows = b.answered.map((a) => [describe(a.member), `${t('answered')}: ${t('seconds', { s: number(a.seconds, 1) })}`]);
    rows.push(...b.silent.map((m) => [describe(m), t('silent')]));
    for (const [who, state] of rows) {
      const tr = table.insertRow();
      tr.insertCell().textContent = who;
      tr.insertCell().textContent = state;
    }
    card.append(table);
    box.append(card);
  }
  for (const p of app.polls.values()) {
    if (p.by === app.welcome?.member.id) continue;
    const card = document.createElement('div');
    card.className = 'card';
    card.append(line(t('rollcallAsk', { tg: tgName(p.talkgroup), who: person(p.by).name, t: time(p.deadline) })),
      button(t('answer'), () => answerRollcall(p.id)));
    box.prepend(card);
  }
  if (!box.children.length) box.append(line(t('noRollcall'), 'hint'));
}

export function renderOrders(app) {
  const mine = $('orders-for');
  mine.replaceChildren();
  for (const o of [...app.orders.values()].reverse()) {
    const m = o.raw;
    const text = o.body ? bodyText(app, o.body) : `[E2E] ${o.problem ?? '…'}`;
    const li = item(m.repeat > 0 ? 'escalated' : '', line(text),
      line(`${tgName(m.talkgroup)} — ${person(m.by).name}, ${dateTime(m.sent_at)}; ${t('dueAt', { t: dateTime(m.due_at) })}`
        + (m.repeat > 0 ? `; ${t('repeat', { n: m.repeat })}` : '') + (o.verified ? ' [E2E]' : ''), 'meta'));
    li.dataset.id = m.id;
    if (o.state) li.append(line(`${t('state_' + o.state)}`, 'state'));
    if (o.state !== 'done') {
      if (o.state !== 'copied') li.append(button(t('copied'), () => ackOrder(m.id, 'copied')));
      li.append(button(t('done'), () => ackOrder(m.id, 'done')));
    }
    mine.append(li);
  }
  empty(mine, 'noOrders');
  const issued = $('orders-by');
  issued.replaceChildren();
  for (const o of [...app.issued.values()].reverse()) {
    const li = item('', line(o.text ?? o.id));
    for (const [member, st] of o.members) li.append(line(`${describe(member)}: ${t('state_' + st.state)} (${time(st.at)})`, st.state === 'escalated' ? 'state' : 'meta'));
    issued.append(li);
  }
  empty(issued, 'noOrders');
  renderOrderForm(app);
}

/** The order form offers the members of the selected talkgroup (not oneself). */
export function renderOrderForm(app) {
  const box = $('order-to');
  const legend = box.querySelector('legend');
  const group = app.roster.talkgroups.find((g) => g.id === app.selected);
  const me = app.welcome?.member.id;
  const checked = new Set([...box.querySelectorAll('input:checked')].map((x) => x.value));
  const labels = (group ? group.members : []).filter((m) => m !== me).map((m) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = m;
    input.checked = checked.has(m);
    label.append(input, person(m).name);
    return label;
  });
  box.replaceChildren(legend, ...labels);
}

export function renderMessages(app) {
  const list = $('message-list');
  list.replaceChildren();
  const all = [
    ...[...app.inbox.values()].map((x) => ({ at: x.raw.sent_at, x, mine: false })),
    ...[...app.sent.values()].map((x) => ({ at: x.at, x, mine: true })),
  ].sort((a, b) => b.at - a.at);
  for (const { x, mine } of all) {
    if (mine) {
      const receipts = [...x.receipts.entries()].map(([m, s]) => `${person(m).name}: ${t(s)}`).join(', ');
      const where = x.to ? `${person(x.to).name} [${t('direct')}]` : tgName(x.talkgroup);
      const li = item(x.to ? 'sent direct' : 'sent', line(`${t('me')} → ${where}: ${bodyText(app, x.body)} [E2E]`),
        line(`${dateTime(x.at)} — ${receipts || '…'}`, 'meta'));
      li.dataset.id = x.id;
      list.append(li);
    } else {
      const m = x.raw;
      const text = x.body ? bodyText(app, x.body) : `[E2E] ${x.problem ?? '…'}`;
      const where = x.direct ? `${t('me')} [${t('direct')}]` : tgName(m.talkgroup);
      const li = item(x.direct ? 'received direct' : 'received', line(`${describe(m.sender)} → ${where}: ${text}${x.verified ? ' [E2E]' : ''}`),
        line(dateTime(m.sent_at), 'meta'));
      li.dataset.id = m.id;
      list.append(li);
    }
  }
  empty(list, 'noMessages');
}

/** The public CAP feed (Atom): title, time and summary of each alert. */
export function parseFeed(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  return [...doc.getElementsByTagNameNS('*', 'entry')].map((e) => {
    const get = (name) => e.getElementsByTagNameNS('*', name)[0]?.textContent ?? '';
    return { title: get('title'), updated: Date.parse(get('updated')) / 1000, summary: get('summary') || get('content'), id: get('id') };
  });
}

export function renderAlerts(app) {
  const list = $('alert-list');
  list.replaceChildren();
  for (const a of app.liveAlerts) {
    const li = item('alert live', line(`${t('liveAlert')}: ${a.headline}`),
      line(`${t(`alertKind_${a.kind}`)} · ${app.roster.regions.find((r) => r.code === a.region)?.name ?? a.region} · ${person(a.sender).name} · ${time(a.at)}`, 'meta'));
    const link = document.createElement('a');
    link.href = a.url;
    link.textContent = t('alertOpen');
    li.append(link);
    li.dataset.id = a.id;
    list.append(li);
  }
  for (const a of app.alerts) {
    if (app.liveAlerts.some((x) => a.id.includes(x.id))) continue; // shown above
    list.append(item('alert', line(a.title), line(a.summary), line(Number.isFinite(a.updated) ? dateTime(a.updated) : '', 'meta')));
  }
  empty(list, 'noAlerts');
}

export function renderHistory(app, play) {
  const list = $('history-list');
  list.replaceChildren();
  for (const r of app.listener.history) {
    const secs = r.playout ? r.playout.frames.length * 0.02 : 0;
    const who = describe(r.verified || r.claimed.id);
    const li = item(r.emergency ? 'escalated' : '', line(`${tgName(r.talkgroup)} — ${who}${r.verified ? ' [E2E]' : r.sealed ? '' : ` (${t('unsealed')})`}`),
      line(`${time(r.heardAt)} · ${t('seconds', { s: number(secs, 1) })} · ${t('outcome_' + r.outcome)}`, 'meta'));
    if (r.playout) li.append(button(`▶ ${t('replay')}`, () => play(r), `${t('replay')}: ${who}, ${time(r.heardAt)}`));
    list.append(li);
  }
  empty(list, 'noHistory');
}

export function renderAll(app) {
  renderPositions(app);
  renderRollcall(app);
  renderOrders(app);
  renderMessages(app);
  renderAlerts(app);
}
