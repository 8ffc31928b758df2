// What this device knows for end-to-end encryption: group keys per talkgroup and epoch, the
// keeper it trusts, and the directory of enrolled devices whose transmissions it can verify.
// The receive path mirrors siaga/client/keyring.py: envelope verified against the directory,
// stream key derived, every frame opened with its header as associated data, replay window.

import { b64d, b64e } from './bytes.js';
import {
  ReplayWindow, makeEnvelope, openDirect, openFrame, openGroupKey, openMessage, parseEnvelope, sealDirect,
  sealFrame, sealMessage, streamKey, verifyEnvelope,
} from './crypto.js';

/** A listener may hear a transmission up to its time limit after it began (late entry). */
const ENVELOPE_MAX_AGE = 600;

export class UnknownDevice extends Error {}

export class Keyring {
  constructor(device, onKeeperPinned) {
    this.device = device;
    this.keeper = device.keeper || null; // trusted on first use, then pinned (like an SSH host key)
    this.onKeeperPinned = onKeeperPinned;
    this.groupKeys = new Map(); // "talkgroup/epoch" -> HKDF CryptoKey
    this.directory = new Map(); // device id -> {member, role, signPub}
    this.seen = new Map(); // envelope nonce (b64) -> stream
    this.rejected = 0;
  }

  async addSealed(msg) {
    try {
      if (this.keeper && this.keeper !== msg.keeper) throw new Error('key from a keeper this device does not trust');
      const secret = await openGroupKey(this.device, msg);
      if (!this.keeper) { this.keeper = msg.keeper; this.onKeeperPinned?.(msg.keeper); }
      this.groupKeys.set(`${msg.talkgroup}/${msg.epoch}`, secret);
      return true;
    } catch (e) {
      this.rejected += 1;
      console.warn('group key refused', e);
      return false;
    }
  }

  updateDirectory(msg) {
    for (const d of msg.devices) {
      try {
        this.directory.set(d.device, { member: d.member, role: d.role, signPub: b64d(d.sign_pub), dhPub: b64d(d.dh_pub) });
      } catch { /* skip */ }
    }
  }

  latest(talkgroup) {
    let best = null;
    for (const [k, secret] of this.groupKeys) {
      const [tg, epoch] = [k.slice(0, k.lastIndexOf('/')), Number(k.slice(k.lastIndexOf('/') + 1))];
      if (tg === talkgroup && (!best || epoch > best.epoch)) best = { epoch, secret };
    }
    return best;
  }

  /** A fresh envelope for a PTT press and the key to seal its frames, or null without a key. */
  async begin(talkgroup) {
    const gk = this.latest(talkgroup);
    if (!gk) return null;
    const { e2e, nonce } = await makeEnvelope(this.device, talkgroup, gk.epoch, Date.now() / 1000);
    const key = await streamKey(gk.secret, talkgroup, gk.epoch, nonce, this.device.deviceId);
    return { e2e, seal: (header, packet) => sealFrame(key, header, packet) };
  }

  /** Verify a talker's envelope; return who it is and how to open its frames. */
  async receiver(start) {
    const env = parseEnvelope(b64d(start.e2e));
    if (!env) throw new Error('malformed envelope');
    const entry = this.directory.get(env.deviceId);
    if (!entry) throw new UnknownDevice(env.deviceId);
    const secret = this.groupKeys.get(`${start.talkgroup}/${env.epoch}`);
    if (!secret) throw new Error(`no key for ${start.talkgroup} epoch ${env.epoch}`);
    if (!await verifyEnvelope(env, entry.signPub)) throw new Error('envelope signature does not verify');
    if (env.talkgroup !== start.talkgroup) throw new Error('envelope is for another talkgroup');
    if (!(Math.abs(Date.now() / 1000 - env.startedAt) <= ENVELOPE_MAX_AGE)) throw new Error('envelope is stale');
    const nonceKey = b64e(env.nonce);
    if ((this.seen.get(nonceKey) ?? start.stream) !== start.stream) throw new Error('envelope replayed');
    this.seen.set(nonceKey, start.stream);
    const key = await streamKey(secret, start.talkgroup, env.epoch, env.nonce, env.deviceId);
    const window = new ReplayWindow();
    return {
      member: entry.member,
      /** The Opus packet of a sealed frame, or null if forged, tampered or replayed. */
      open: async (frame) => {
        try {
          const plain = await openFrame(key, frame.header, frame.payload);
          return window.check(frame.seq) ? plain : null;
        } catch { return null; }
      },
    };
  }

  async sealMessage(talkgroup, id, payload) {
    const gk = this.latest(talkgroup);
    if (!gk) return null;
    return { epoch: gk.epoch, blob: await sealMessage(gk.secret, talkgroup, gk.epoch, id, this.device, payload) };
  }

  /** Open a sealed message or order; null while the key or the sender's device is unknown. */
  async openMessage(msg, senderField) {
    const secret = this.groupKeys.get(`${msg.talkgroup}/${msg.epoch}`);
    const sender = this.directory.get(msg.sender_device);
    if (!secret || !sender) return null;
    if (sender.member !== msg[senderField]) throw new Error('sealed by another member than the server claims');
    const payload = await openMessage(secret, msg.talkgroup, msg.epoch, msg.id, msg.sender_device, sender.signPub,
      b64d(msg.sealed));
    return JSON.parse(new TextDecoder().decode(payload));
  }

  /** A direct message's copies, one per listed device of the recipient (as Client.send_direct). */
  async sealDirect(id, devices, payload) {
    const out = [];
    for (const d of devices) {
      const entry = this.directory.get(d.device);
      if (!entry?.dhPub || entry.dhPub.length !== 32) continue; // malformed keys: nothing to seal to
      out.push({ device: d.device, sealed: b64e(await sealDirect(id, this.device, d.device, entry.dhPub, payload)) });
    }
    return out;
  }

  /** Open the copy of a direct message sealed to this device; null while the sender's device is unknown. */
  async openDirect(msg) {
    const mine = (msg.sealed_for || []).find((s) => s.device === this.device.deviceId);
    if (!mine) throw new Error('not sealed to this device');
    const sender = this.directory.get(msg.sender_device);
    if (!sender) return null;
    if (sender.member !== msg.sender) throw new Error('sealed by another member than the server claims');
    const payload = await openDirect(this.device, msg.id, msg.sender_device, sender.signPub, b64d(mine.sealed));
    return JSON.parse(new TextDecoder().decode(payload));
  }
}
