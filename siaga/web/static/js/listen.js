// The listening side: every transmission heard on the joined talkgroups, verified and opened
// (keyring.js), decoded and played (audio.js) through its talkgroup's volume, and kept in a
// short history for replay.

import { Playout, audioContext } from './audio.js';
import { UnknownDevice } from './keyring.js';
import { FLAG_SEALED, decodeFrame } from './wire.js';

/** How many past transmissions keep their audio for replay. */
const HISTORY = 30;

export class Listener {
  constructor(conn, keyring, onchange) {
    this.conn = conn;
    this.keyring = keyring;
    this.onchange = onchange;
    this.receptions = new Map(); // stream -> reception
    this.history = []; // newest first
    this.gains = new Map(); // talkgroup -> {gain, volume, muted}
    this.refreshing = new Set();
    conn.on('talker_start', (m) => this._start(m));
    conn.on('talker_stop', (m) => this._stop(m));
    conn.onaudio = (data) => this._audio(data);
  }

  /** The talkgroup's output level: volume 0..1, or muted. */
  setLevel(talkgroup, { volume, muted }) {
    const level = this.level(talkgroup);
    if (volume !== undefined) level.volume = volume;
    if (muted !== undefined) level.muted = muted;
    this._output(talkgroup).then((gain) => { gain.gain.value = level.muted ? 0 : level.volume; });
  }

  level(talkgroup) {
    if (!this.gains.has(talkgroup)) this.gains.set(talkgroup, { gain: null, volume: 0.8, muted: false });
    return this.gains.get(talkgroup);
  }

  /** The talkgroup's gain node, made once (concurrent callers share the same promise). */
  _output(talkgroup) {
    const level = this.level(talkgroup);
    level.ready ??= audioContext().then((ctx) => {
      level.gain = ctx.createGain();
      level.gain.gain.value = level.muted ? 0 : level.volume;
      level.gain.connect(ctx.destination);
      return level.gain;
    });
    return level.ready;
  }

  talking(talkgroup) {
    for (const r of this.receptions.values()) if (r.talkgroup === talkgroup && !r.outcome) return r;
    return null;
  }

  async _start(m) {
    const r = {
      talkgroup: m.talkgroup, stream: m.stream, claimed: m.member, priority: m.priority, emergency: m.emergency,
      late: m.late, startedAt: m.started_at, heardAt: Date.now() / 1000, e2e: m.e2e ?? null,
      sealed: Boolean(m.e2e), verified: null, problem: null, pending: [], chain: Promise.resolve(),
      rejected: 0, frames: 0, arrivals: [], outcome: null, endedAt: null,
    };
    r.playout = new Playout(null); // frames may arrive before the output exists
    this.receptions.set(m.stream, r);
    r.playout.output = await this._output(m.talkgroup);
    this.onchange();
    await this._open(r);
  }

  /** Verify a sealed transmission's envelope; ask for the directory if the talker is new. */
  async _open(r) {
    if (!r.sealed || r.receiver) return;
    try {
      r.receiver = await this.keyring.receiver({ talkgroup: r.talkgroup, stream: r.stream, e2e: r.e2e });
      r.verified = r.receiver.member;
      r.problem = null;
      const pending = r.pending;
      r.pending = [];
      for (const f of pending) this._accept(r, f);
    } catch (e) {
      r.problem = e instanceof UnknownDevice ? 'unknown_device' : String(e.message || e);
      if (e instanceof UnknownDevice && !this.refreshing.has(r.talkgroup)) {
        this.refreshing.add(r.talkgroup);
        this.conn.request({ type: 'directory_request', talkgroup: r.talkgroup })
          .finally(() => this.refreshing.delete(r.talkgroup));
      }
    }
    this.onchange();
  }

  /** New keys or directory entries arrived: transmissions waiting for them may open now. */
  retry() {
    for (const r of this.receptions.values()) if (r.sealed && !r.receiver) this._open(r);
  }

  _audio(data) {
    const f = decodeFrame(data);
    if (!f) return;
    const r = this.receptions.get(f.stream);
    if (!r) return;
    r.arrivals.push([f.seq, Date.now()]);
    if (r.sealed && !r.receiver) { r.pending.push(f); return; }
    this._accept(r, f);
  }

  _accept(r, f) {
    if (!r.sealed) {
      if (f.flags & FLAG_SEALED) { r.rejected += 1; return; }
      r.frames += 1;
      r.playout.push(f.seq, f.payload);
      return;
    }
    if (!(f.flags & FLAG_SEALED)) { r.rejected += 1; return; } // plaintext in a sealed stream
    const payload = f.payload.slice();
    const frame = { ...f, payload, header: f.header.slice() };
    // Decryption is asynchronous; chaining keeps the decoder fed in sequence order.
    r.chain = r.chain.then(async () => {
      const plain = await r.receiver.open(frame);
      if (plain === null) { r.rejected += 1; return; }
      r.frames += 1;
      r.playout.push(frame.seq, plain);
    });
  }

  async _stop(m) {
    const r = this.receptions.get(m.stream);
    if (!r) return;
    r.outcome = m.outcome;
    r.endedAt = Date.now() / 1000;
    this.receptions.delete(m.stream);
    await r.chain;
    await r.playout.finish();
    this.history.unshift(r);
    for (const old of this.history.splice(HISTORY)) old.playout = null;
    this.onchange();
  }
}
