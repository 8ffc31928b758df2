// The wire protocol's binary audio frames (docs/protocol.md): a 16-byte big-endian header
// followed by one Opus packet or its sealed form. Control messages are plain JSON objects.

export const VERSION = 1;
export const HEADER_SIZE = 16;
export const FLAG_END = 0x01;
export const FLAG_SEALED = 0x02;
export const FRAME_MS = 20;
export const MAX_PAYLOAD = 1500;

/** The header bytes: the associated data that a sealed payload is bound to. */
export function header({ flags, talkgroup, stream, seq, timestamp }) {
  const out = new Uint8Array(HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint8(0, VERSION);
  v.setUint8(1, flags);
  v.setUint16(2, talkgroup);
  v.setUint32(4, stream);
  v.setUint32(8, seq);
  v.setUint32(12, timestamp);
  return out;
}

export function encodeFrame(fields, payload) {
  if (payload.length > MAX_PAYLOAD) throw new RangeError('audio payload too large');
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  out.set(header(fields));
  out.set(payload, HEADER_SIZE);
  return out;
}

/** Parse a binary frame; null for anything the server would not have relayed. */
export function decodeFrame(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < HEADER_SIZE || bytes.length > HEADER_SIZE + MAX_PAYLOAD) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = v.getUint8(1);
  if (v.getUint8(0) !== VERSION || flags & ~(FLAG_END | FLAG_SEALED)) return null;
  return {
    flags, talkgroup: v.getUint16(2), stream: v.getUint32(4), seq: v.getUint32(8), timestamp: v.getUint32(12),
    header: bytes.subarray(0, HEADER_SIZE), payload: bytes.subarray(HEADER_SIZE),
  };
}
