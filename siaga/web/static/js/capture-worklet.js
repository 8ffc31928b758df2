// Runs on the audio thread: gathers microphone samples into 20 ms frames (960 at 48 kHz) and
// posts each whole frame to the page, which encodes and sends it.
const FRAME = 960;

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = new Float32Array(FRAME);
    this.filled = 0;
  }

  process(inputs) {
    const samples = inputs[0] && inputs[0][0];
    if (!samples) return true;
    let at = 0;
    while (at < samples.length) {
      const n = Math.min(FRAME - this.filled, samples.length - at);
      this.buffer.set(samples.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === FRAME) {
        this.port.postMessage(this.buffer, [this.buffer.buffer]);
        this.buffer = new Float32Array(FRAME);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('siaga-capture', Capture);
