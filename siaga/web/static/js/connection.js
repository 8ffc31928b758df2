// One WebSocket to the server, speaking docs/protocol.md: the challenge, enrollment and signed
// login, requests matched to answers by `ref`, and every other message handed to listeners.

import { b64d, b64e } from './bytes.js';
import { normalizeCode, signEnroll, signLogin } from './crypto.js';

export class Refused extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

export class Connection {
  constructor(url) {
    this.url = url;
    this.refs = 1;
    this.waiting = new Map(); // ref -> {resolve, reject}
    this.listeners = new Map(); // type -> [fn]
    this.onaudio = null;
    this.closed = new Promise((resolve) => { this._closed = resolve; });
  }

  /** Open the socket and wait for the server's challenge. */
  static async open(url) {
    const conn = new Connection(url);
    const ws = conn.ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    conn.challenge = await new Promise((resolve, reject) => {
      ws.onerror = () => reject(new Refused('connection', 'cannot reach the server'));
      ws.onclose = () => reject(new Refused('connection', 'the server closed the connection'));
      ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        if (msg.type === 'challenge') resolve(msg);
      };
    });
    ws.onmessage = (ev) => conn._receive(ev.data);
    ws.onclose = (ev) => {
      for (const w of conn.waiting.values()) w.reject(new Refused('connection', 'connection closed'));
      conn.waiting.clear();
      conn._closed(ev);
    };
    return conn;
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  send(msg) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  sendAudio(bytes) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  /** Send with a fresh ref; resolve with the answer carrying it, reject on an `error`. */
  request(msg, timeoutMs = 15000) {
    const ref = this.refs++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new Refused('timeout', `no answer to ${msg.type}`));
      }, timeoutMs);
      this.waiting.set(ref, {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.send({ ...msg, ref });
    });
  }

  close() { this.ws.close(1000, 'sign out'); }

  _receive(data) {
    if (typeof data !== 'string') {
      if (this.onaudio) this.onaudio(data);
      return;
    }
    let msg;
    try { msg = JSON.parse(data); } catch { return; }
    const waiter = msg.ref !== undefined ? this.waiting.get(msg.ref) : undefined;
    if (waiter) {
      this.waiting.delete(msg.ref);
      if (msg.type === 'error') waiter.reject(new Refused(msg.code, msg.message));
      else waiter.resolve(msg);
    }
    for (const fn of this.listeners.get(msg.type) || []) fn(msg);
    for (const fn of this.listeners.get('*') || []) fn(msg);
  }
}

/** Redeem a one-time code for this browser's new keys (the private halves stay here). */
export async function enroll(url, device, member, code, label) {
  const clean = normalizeCode(code);
  if (!clean) throw new Refused('enrollment_invalid', 'malformed code');
  const conn = await Connection.open(url);
  try {
    const proof = await signEnroll(device, clean, member);
    return await conn.request({
      type: 'enroll', code, member, sign_pub: b64e(device.signPub), dh_pub: b64e(device.dhPub),
      proof: b64e(proof), label,
    });
  } finally { conn.close(); }
}

/** Sign in as an enrolled device: sign the connection's challenge nonce. */
export async function signIn(url, device, setup = () => {}) {
  const conn = await Connection.open(url);
  setup(conn); // listeners first: group keys follow the welcome at once
  const auth = b64e(await signLogin(device, b64d(conn.challenge.nonce), device.member));
  try {
    conn.welcome = await conn.request({ type: 'hello', v: 1, member: device.member, device: device.deviceId, auth });
  } catch (e) { conn.close(); throw e; }
  return conn;
}
