// The talker's side of floor control: PTT pressed -> floor_request (with a signed envelope) ->
// granted / queued / denied; while granted, microphone frames are encoded, sealed and sent;
// released -> floor_release. The state shown to the user is `this.state`.

import { Encoder } from './audio.js';
import { FLAG_END, FLAG_SEALED, FRAME_MS, encodeFrame, header } from './wire.js';

export const IDLE = 'idle';

export class Talker {
  constructor(conn, keyring, mic, onchange) {
    this.conn = conn;
    this.keyring = keyring;
    this.mic = mic;
    this.onchange = onchange;
    this.state = { phase: IDLE };
    this.sent = []; // [seq, capturedAt, sentAt] of the current transmission (for measurements)
    for (const type of ['floor_granted', 'floor_queued', 'floor_denied', 'floor_revoked', 'floor_released']) {
      conn.on(type, (m) => this._floor(m));
    }
    // A request the server refuses outright (not joined, say) answers with an error.
    conn.on('error', (m) => {
      if (m.ref !== undefined && m.ref === this.requestRef && this.state.phase === 'requesting') {
        this._set({ phase: 'denied', talkgroup: this.state.talkgroup, reason: m.code, detail: m.message });
      }
    });
  }

  get busy() { return !['idle', 'denied', 'preempted'].includes(this.state.phase); }

  _set(state) { this.state = state; this.onchange(state); }

  /** PTT pressed (or the emergency button): ask for the floor on `talkgroup`. */
  async press(talkgroup, { emergency = false } = {}) {
    if (this.busy) return;
    this.pressed = true;
    this.requestSent = false;
    this._set({ phase: 'requesting', talkgroup, emergency });
    try {
      await this.mic.open();
    } catch (e) {
      this._set({ phase: 'denied', talkgroup, reason: 'microphone', detail: String(e) });
      return;
    }
    const sealing = await this.keyring.begin(talkgroup);
    if (!sealing && !emergency) { // never fall back to plaintext; only an emergency goes out unsealed
      this._set({ phase: 'denied', talkgroup, reason: 'no_key' });
      return;
    }
    if (!this.pressed && !emergency) { this._set({ phase: IDLE }); return; } // let go already
    this.sealing = sealing;
    this.requestSent = true;
    this.requestRef = this.conn.refs++;
    this.conn.send({ type: 'floor_request', talkgroup, emergency, ref: this.requestRef, ...(sealing ? { e2e: sealing.e2e } : {}) });
  }

  /** PTT released: give the floor back, or withdraw from the queue. */
  async release() {
    this.pressed = false;
    const s = this.state;
    if (s.phase === 'talking') {
      this.mic.live = false;
      this._set({ phase: IDLE });
      await this._endStream(s);
      this.conn.send({ type: 'floor_release', talkgroup: s.talkgroup });
    } else if (s.phase === 'queued' || (s.phase === 'requesting' && this.requestSent)) {
      this.conn.send({ type: 'floor_release', talkgroup: s.talkgroup });
      this._set({ phase: IDLE });
    }
  }

  _floor(m) {
    const s = this.state;
    if (m.talkgroup !== s.talkgroup) return;
    if (m.type === 'floor_granted' && (s.phase === 'requesting' || s.phase === 'queued')) {
      if (!this.pressed && !s.emergency) { // released while waiting: hand it straight back
        this.conn.send({ type: 'floor_release', talkgroup: m.talkgroup });
        this._set({ phase: IDLE });
        return;
      }
      this._startStream(m);
    } else if (m.type === 'floor_queued') {
      this._set({ ...s, phase: 'queued', position: m.position });
    } else if (m.type === 'floor_denied') {
      this._set({ phase: 'denied', talkgroup: m.talkgroup, reason: m.code, detail: m.reason });
    } else if (m.type === 'floor_revoked' && s.phase === 'talking' && m.stream === s.stream) {
      this.mic.live = false;
      this.stream = null;
      this.encoder?.finish();
      this._set({ phase: 'preempted', talkgroup: m.talkgroup, reason: m.reason });
    }
  }

  _startStream(granted) {
    const stream = { number: granted.number, stream: granted.stream, seq: 0, endAt: -1 };
    this.stream = stream;
    this.sent = [];
    const sealing = this.sealing;
    let chain = Promise.resolve();
    const captured = [];
    this.encoder = new Encoder((packet) => {
      const seq = stream.seq++;
      const end = seq === stream.endAt;
      const fields = { flags: (sealing ? FLAG_SEALED : 0) | (end ? FLAG_END : 0), talkgroup: stream.number,
        stream: stream.stream, seq, timestamp: seq * FRAME_MS };
      // Sealing is asynchronous: chain it so frames leave in sequence order.
      chain = chain.then(async () => {
        const payload = sealing ? await sealing.seal(header(fields), packet) : packet;
        if (this.stream !== stream && !end && stream.endAt < 0) return; // revoked meanwhile
        this.conn.sendAudio(encodeFrame(fields, payload));
        this.sent.push([seq, captured[seq] ?? null, Date.now()]);
      });
    });
    const encoder = this.encoder;
    this.mic.onframe = (samples, capturedAt) => {
      captured.push(capturedAt);
      encoder.encode(samples);
    };
    this.mic.live = true;
    stream.chain = () => chain;
    this._set({ phase: 'talking', talkgroup: granted.talkgroup, stream: granted.stream, emergency: granted.emergency,
      limitMs: granted.limit_ms, grantedAt: Date.now() });
  }

  /** One frame of silence marked END closes the transmission, as the Python client does. */
  async _endStream() {
    const stream = this.stream;
    if (!stream || !this.encoder) return;
    stream.endAt = this.encoder.count;
    this.encoder.encode(new Float32Array(960));
    await this.encoder.finish();
    await stream.chain();
    this.stream = null;
  }
}
