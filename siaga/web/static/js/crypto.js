// End-to-end encryption for the browser: the formats of siaga/crypto.py and docs/security.md,
// built on WebCrypto only (Ed25519, X25519, HKDF-SHA256, AES-256-GCM). Private keys and group
// secrets live in non-extractable CryptoKey objects: page scripts can use them, not read them.

import { b64d, b64e, base32, concat, randomBytes, text, u32, untext } from './bytes.js';

const subtle = crypto.subtle;

export const LABEL = {
  login: 'siaga/v1/login',
  enroll: 'siaga/v1/enroll',
  stream: 'siaga/v1/stream',
  deviceId: 'siaga/v1/device-id',
  fingerprint: 'siaga/v1/fingerprint',
  seal: 'siaga/v1/seal',
  groupKey: 'siaga/v1/group-key',
  keyGrant: 'siaga/v1/key-grant',
  message: 'siaga/v1/message',
  messageKey: 'siaga/v1/message-key',
  audio: 'siaga/v1/audio',
};

export const ENVELOPE_NONCE = 16;
const GCM_NONCE = 12;
const SIGNATURE = 64;
const ENVELOPE_HEAD = 1 + 16 + 4 + 8; // version, nonce, epoch u32, started_at f64

/** frame(label, parts) = label ‖ 00 ‖ (len u32 ‖ part)*: one unambiguous byte string. */
export function frame(label, parts) {
  const out = [text(label), new Uint8Array([0])];
  for (const p of parts) out.push(u32(p.length), p);
  return concat(...out);
}

const sha256 = async (bytes) => new Uint8Array(await subtle.digest('SHA-256', bytes));

export async function deviceId(signPub, dhPub) {
  return 'd' + base32(await sha256(concat(text(LABEL.deviceId), signPub, dhPub))).slice(0, 20);
}

export async function fingerprint(signPub, dhPub) {
  const t = base32(await sha256(concat(text(LABEL.fingerprint), signPub, dhPub))).slice(0, 16).toUpperCase();
  return t.match(/.{4}/g).join('-');
}

/** A new device: Ed25519 to sign, X25519 to receive sealed keys; private halves never leave. */
export async function generateDevice() {
  const sign = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const dh = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
  const signPub = new Uint8Array(await subtle.exportKey('raw', sign.publicKey));
  const dhPub = new Uint8Array(await subtle.exportKey('raw', dh.publicKey));
  return { signKey: sign.privateKey, dhKey: dh.privateKey, signPub, dhPub, deviceId: await deviceId(signPub, dhPub) };
}

export async function sign(privateKey, label, ...parts) {
  return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, privateKey, frame(label, parts)));
}

export async function verify(signPub, signature, label, ...parts) {
  if (signature.length !== SIGNATURE) return false;
  try {
    const key = await subtle.importKey('raw', signPub, { name: 'Ed25519' }, false, ['verify']);
    return await subtle.verify({ name: 'Ed25519' }, key, signature, frame(label, parts));
  } catch { return false; }
}

export const signLogin = (device, nonce, member) =>
  sign(device.signKey, LABEL.login, nonce, text(member), text(device.deviceId));

export const signEnroll = (device, code, member) =>
  sign(device.signKey, LABEL.enroll, text(code), text(member), device.signPub, device.dhPub);

/** Codes are typed by people: any case, spaces or dashes, O for 0 and I/L for 1 (as the server). */
export function normalizeCode(code) {
  const c = code.toUpperCase().replace(/[-\s]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{10}$/.test(c) ? c : null;
}

// ---- key derivation ----------------------------------------------------------------------

async function hkdfKey(secret, salt, info, usages) {
  const base = secret instanceof CryptoKey ? secret
    : await subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  return subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info }, base,
    { name: 'AES-GCM', length: 256 }, false, usages);
}

/** A 32-byte group secret kept only as an HKDF key: usable for derivation, never readable. */
export const importSecret = (secret) => subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);

/** open_sealed: 01 | eph_pub (32) | nonce (12) | AES-GCM(ct ‖ tag); key from X25519 + HKDF. */
export async function openSealed(device, blob, context) {
  if (blob.length < 61 || blob[0] !== 1) throw new Error('sealed blob is malformed');
  const ephPub = blob.subarray(1, 33);
  const peer = await subtle.importKey('raw', ephPub, { name: 'X25519' }, false, []);
  // WebCrypto refuses an all-zero shared secret (a low-order point), as the Python side does.
  const shared = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: peer }, device.dhKey, 256));
  const key = await hkdfKey(shared, concat(ephPub, device.dhPub), concat(text(LABEL.seal), context), ['decrypt']);
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: blob.subarray(33, 45), additionalData: context },
    key, blob.subarray(45)));
}

export const groupKeyContext = (talkgroup, epoch) => frame(LABEL.groupKey, [text(talkgroup), u32(epoch)]);

/** A `keys` message: verify the keeper's grant, then open the group secret sealed to us. */
export async function openGroupKey(device, msg) {
  const keeperSign = b64d(msg.keeper_sign), keeperDh = b64d(msg.keeper_dh);
  if (await deviceId(keeperSign, keeperDh) !== msg.keeper) throw new Error('keeper keys do not match its id');
  const sealed = b64d(msg.sealed);
  const ok = await verify(keeperSign, b64d(msg.sig), LABEL.keyGrant, text(msg.talkgroup), u32(msg.epoch),
    text(device.deviceId), sealed);
  if (!ok) throw new Error('group key grant does not verify');
  const secret = await openSealed(device, sealed, groupKeyContext(msg.talkgroup, msg.epoch));
  if (secret.length !== 32) throw new Error('group key has the wrong size');
  return importSecret(secret);
}

// ---- transmissions -----------------------------------------------------------------------

/** The signed envelope of a floor request (base64url), and its nonce for the stream key. */
export async function makeEnvelope(device, talkgroup, epoch, startedAt) {
  const nonce = randomBytes(ENVELOPE_NONCE);
  const tg = text(talkgroup), dev = text(device.deviceId);
  const head = new Uint8Array(ENVELOPE_HEAD);
  const view = new DataView(head.buffer);
  head[0] = 1;
  head.set(nonce, 1);
  view.setUint32(17, epoch);
  view.setFloat64(21, startedAt);
  const body = concat(head, new Uint8Array([tg.length]), tg, new Uint8Array([dev.length]), dev);
  const signature = await sign(device.signKey, LABEL.stream, body);
  return { e2e: b64e(concat(body, signature)), nonce };
}

/** Parse an envelope without trusting it (peek_envelope); null if malformed. */
export function parseEnvelope(raw) {
  if (raw.length < ENVELOPE_HEAD + 2 + SIGNATURE || raw[0] !== 1) return null;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const tgEnd = ENVELOPE_HEAD + 1 + raw[ENVELOPE_HEAD];
  if (tgEnd >= raw.length) return null;
  const devEnd = tgEnd + 1 + raw[tgEnd];
  if (devEnd + SIGNATURE !== raw.length) return null;
  try {
    return {
      nonce: raw.slice(1, 17), epoch: view.getUint32(17), startedAt: view.getFloat64(21),
      talkgroup: untext(raw.subarray(ENVELOPE_HEAD + 1, tgEnd)), deviceId: untext(raw.subarray(tgEnd + 1, devEnd)),
      body: raw.subarray(0, devEnd), signature: raw.subarray(devEnd),
    };
  } catch { return null; }
}

export const verifyEnvelope = (env, signPub) => verify(signPub, env.signature, LABEL.stream, env.body);

/** The AES-GCM key of one transmission, bound to its envelope nonce and sender device. */
export function streamKey(groupSecret, talkgroup, epoch, nonce, senderDevice) {
  return hkdfKey(groupSecret, new Uint8Array(0),
    frame(LABEL.audio, [text(talkgroup), u32(epoch), nonce, text(senderDevice)]), ['encrypt', 'decrypt']);
}

const frameIv = (header) => concat(new Uint8Array(4), header.subarray(4, 12));

/** Seal one Opus packet; the 16-byte header (SEALED flag set) is the associated data. */
export async function sealFrame(key, header, packet) {
  return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: frameIv(header), additionalData: header }, key, packet));
}

export async function openFrame(key, header, payload) {
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: frameIv(header), additionalData: header }, key, payload));
}

/** Sliding window of 256 sequence numbers: rejects repeats and frames older than the window. */
export class ReplayWindow {
  constructor(size = 256) { this.size = size; this.top = -1; this.seen = new Set(); }
  check(seq) {
    if (seq > this.top) {
      this.top = seq;
      for (const s of this.seen) if (s <= seq - this.size) this.seen.delete(s);
    } else if (this.top - seq >= this.size || this.seen.has(seq)) {
      return false;
    }
    this.seen.add(seq);
    return true;
  }
}

// ---- sealed messages and orders ------------------------------------------------------------

const messageParts = (talkgroup, epoch, id, senderDevice) => [text(talkgroup), u32(epoch), text(id), text(senderDevice)];

/** seal_message: signed by the sender, then encrypted under a key derived from the group key. */
export async function sealMessage(groupSecret, talkgroup, epoch, id, device, payload) {
  const parts = messageParts(talkgroup, epoch, id, device.deviceId);
  const signature = await sign(device.signKey, LABEL.message, ...parts, payload);
  const key = await hkdfKey(groupSecret, new Uint8Array(0), frame(LABEL.messageKey, parts), ['encrypt']);
  const nonce = randomBytes(GCM_NONCE);
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: frame(LABEL.message, parts) },
    key, concat(signature, payload));
  return concat(nonce, new Uint8Array(ct));
}

export async function openMessage(groupSecret, talkgroup, epoch, id, senderDevice, senderSignPub, blob) {
  const parts = messageParts(talkgroup, epoch, id, senderDevice);
  const key = await hkdfKey(groupSecret, new Uint8Array(0), frame(LABEL.messageKey, parts), ['decrypt']);
  const plain = new Uint8Array(await subtle.decrypt(
    { name: 'AES-GCM', iv: blob.subarray(0, GCM_NONCE), additionalData: frame(LABEL.message, parts) },
    key, blob.subarray(GCM_NONCE)));
  const payload = plain.subarray(SIGNATURE);
  if (!await verify(senderSignPub, plain.subarray(0, SIGNATURE), LABEL.message, ...parts, payload)) {
    throw new Error('message is not signed by its sender');
  }
  return payload;
}


// ---- direct messages (seal_direct / open_direct) ---------------------------------------------

LABEL.direct = 'siaga/v1/direct';

/** seal_to: a fresh X25519 key agreed with the recipient's, HKDF, AES-GCM; context as AAD. */
export async function sealTo(recipientDhPub, plaintext, context) {
  const eph = await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
  const ephPub = new Uint8Array(await subtle.exportKey('raw', eph.publicKey));
  const peer = await subtle.importKey('raw', recipientDhPub, { name: 'X25519' }, false, []);
  const shared = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: peer }, eph.privateKey, 256));
  const key = await hkdfKey(shared, concat(ephPub, recipientDhPub), concat(text(LABEL.seal), context), ['encrypt']);
  const nonce = randomBytes(GCM_NONCE);
  const ct = await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: context }, key, plaintext);
  return concat(new Uint8Array([1]), ephPub, nonce, new Uint8Array(ct));
}

const directParts = (id, senderDevice, recipientDevice) => [text(id), text(senderDevice), text(recipientDevice)];

/** seal_direct: signed by the sender over (id, sender device, recipient device, payload),
 * then sealed to that one recipient device under frame("siaga/v1/direct", parts). */
export async function sealDirect(id, device, recipientDevice, recipientDhPub, payload) {
  const parts = directParts(id, device.deviceId, recipientDevice);
  const signature = await sign(device.signKey, LABEL.direct, ...parts, payload);
  return sealTo(recipientDhPub, concat(signature, payload), frame(LABEL.direct, parts));
}

/** open_direct: open the copy sealed to this device, then check the sender's signature. */
export async function openDirect(device, id, senderDevice, senderSignPub, blob) {
  const parts = directParts(id, senderDevice, device.deviceId);
  const plain = await openSealed(device, blob, frame(LABEL.direct, parts));
  const payload = plain.subarray(SIGNATURE);
  if (!await verify(senderSignPub, plain.subarray(0, SIGNATURE), LABEL.direct, ...parts, payload)) {
    throw new Error('direct message is not signed by its sender');
  }
  return payload;
}
