// Voice in the browser: microphone capture and Opus encoding (WebCodecs AudioEncoder), and for
// each transmission heard, Opus decoding (AudioDecoder) into a playout buffer on the shared
// AudioContext. Settings match siaga/audio/opus.py: 48 kHz mono, 20 ms frames, 16 kbit/s, FEC.

export const SAMPLE_RATE = 48000;
export const FRAME_SAMPLES = 960;
/** How far behind the first packet playback starts: absorbs network jitter (3 frames). */
export const PLAYOUT_DELAY = 0.06;

const ENCODER_CONFIG = {
  codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1, bitrate: 16000,
  opus: { frameDuration: 20000, application: 'voip', useinbandfec: true, packetlossperc: 5, complexity: 5 },
};
const DECODER_CONFIG = { codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 };

let context = null;

/** The one AudioContext of the page (made, or resumed, on a user gesture). */
export async function audioContext() {
  if (!context) context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' });
  if (context.state !== 'running') await context.resume();
  return context;
}

export function codecsSupported() {
  return typeof AudioEncoder !== 'undefined' && typeof AudioDecoder !== 'undefined';
}

/**
 * The microphone, opened on the first PTT press and kept open while signed in, so later
 * presses start at once. Frames reach `onframe(samples, capturedAt)` only while `live`.
 */
export class Microphone {
  constructor() { this.live = false; this.onframe = null; this.stream = null; }

  async open() {
    if (this.stream) return;
    const ctx = await audioContext();
    await ctx.audioWorklet.addModule(new URL('./capture-worklet.js', import.meta.url));
    // A radio passes the voice as spoken: Chrome's noise suppression and gain control reshape
    // speech (a test measured correlation with the source fall from 0.89 to 0.54), and a
    // half-duplex radio needs no echo cancellation.
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    this.source = ctx.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(ctx, 'siaga-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
    this.node.port.onmessage = (ev) => {
      // The frame's first sample was captured about one frame before it arrives here.
      if (this.live && this.onframe) this.onframe(ev.data, Date.now() - 20);
    };
    this.source.connect(this.node);
  }

  close() {
    this.live = false;
    this.stream?.getTracks().forEach((t) => t.stop());
    this.source?.disconnect();
    this.stream = null;
  }
}

/** Opus encoder for one transmission: PCM frames in, packets out in order. */
export class Encoder {
  constructor(onpacket) {
    this.count = 0;
    this.encoder = new AudioEncoder({
      output: (chunk) => {
        const bytes = new Uint8Array(chunk.byteLength);
        chunk.copyTo(bytes);
        onpacket(bytes);
      },
      error: (e) => console.error('encoder', e),
    });
    this.encoder.configure(ENCODER_CONFIG);
  }

  encode(samples) {
    const data = new AudioData({
      format: 'f32', sampleRate: SAMPLE_RATE, numberOfFrames: samples.length, numberOfChannels: 1,
      timestamp: this.count * 20000, data: samples,
    });
    this.count += 1;
    this.encoder.encode(data);
    data.close();
  }

  async finish() {
    try { await this.encoder.flush(); } catch { /* closed by an error */ }
    if (this.encoder.state !== 'closed') this.encoder.close();
  }
}

/**
 * One transmission heard: Opus packets decoded as they arrive (a WebSocket never reorders)
 * and scheduled at `start + timestamp` on the context, through the talkgroup's gain node. A
 * packet that would play late moves the schedule back instead of being cut: an adaptive
 * playout buffer. Decoded samples are kept (by frame) for the history's replay.
 */
export class Playout {
  constructor(output, { play = true } = {}) {
    this.output = output; // GainNode of the talkgroup, or null to only keep the samples
    this.play = play;
    this.frames = []; // seq -> Float32Array
    this.base = null;
    this.late = 0;
    this.decoder = new AudioDecoder({ output: (data) => this._decoded(data), error: (e) => console.error('decoder', e) });
    this.decoder.configure(DECODER_CONFIG);
  }

  push(seq, packet) {
    if (this.decoder.state !== 'configured') return;
    this.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: seq * 20000, data: packet }));
  }

  _decoded(data) {
    const samples = new Float32Array(data.numberOfFrames);
    data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
    const seq = Math.round(data.timestamp / 20000);
    data.close();
    this.frames[seq] = samples;
    if (!this.play || !this.output || !context) return;
    const ctx = context;
    const offset = seq * 0.02;
    if (this.base === null) this.base = ctx.currentTime + PLAYOUT_DELAY - offset;
    let when = this.base + offset;
    if (when < ctx.currentTime + 0.005) { // late: stretch the buffer rather than drop speech
      this.late += 1;
      this.base += ctx.currentTime + PLAYOUT_DELAY / 2 - when;
      when = this.base + offset;
    }
    const buffer = ctx.createBuffer(1, samples.length, SAMPLE_RATE);
    buffer.copyToChannel(samples, 0);
    const node = ctx.createBufferSource();
    node.buffer = buffer;
    node.connect(this.output);
    node.start(when);
  }

  /** The whole transmission as one PCM array: silence where a frame was lost. */
  pcm() {
    const out = new Float32Array(this.frames.length * FRAME_SAMPLES);
    this.frames.forEach((f, i) => { if (f) out.set(f.subarray(0, FRAME_SAMPLES), i * FRAME_SAMPLES); });
    return out;
  }

  async finish() {
    try { await this.decoder.flush(); } catch { /* closed */ }
    if (this.decoder.state !== 'closed') this.decoder.close();
  }
}

/** Play a stored transmission again (history). */
export async function replay(pcm, output) {
  const ctx = await audioContext();
  const buffer = ctx.createBuffer(1, Math.max(1, pcm.length), SAMPLE_RATE);
  buffer.copyToChannel(pcm, 0);
  const node = ctx.createBufferSource();
  node.buffer = buffer;
  node.connect(output || ctx.destination);
  node.start();
  return new Promise((resolve) => { node.onended = resolve; });
}
