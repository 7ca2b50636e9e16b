// Optional encryption of every payload Temporal stores (inputs, results, signals, queries,
// heartbeat details, memos, failure details): AES-256-GCM with a key the user gives. It runs in
// the SDK's PayloadCodec step, outside the workflow sandbox, so workflow code does not change.
import { createCipheriv, createDecipheriv, createHash, randomBytes, type CipherGCM } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

/** The metadata encoding of an encrypted payload; the UI shows it until a codec endpoint decodes it. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata field naming the key a payload was encrypted with, so keys can rotate. */
export const KEY_ID_FIELD = 'encryption-key-id';
const CIPHER_FIELD = 'encryption-cipher';
const CIPHER_NAME = 'AES-256-GCM';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** The key new payloads are encrypted with, and older keys kept only to read what they encrypted. */
export interface PayloadKeys {
  current: PayloadKey;
  previous: PayloadKey[];
}

/**
 * Reads SERA_PAYLOAD_KEY (base64 of 32 random bytes), SERA_PAYLOAD_KEY_ID (its name, recorded in
 * every payload; a fingerprint of the key by default) and SERA_PAYLOAD_PREVIOUS_KEYS
 * (`id:base64,id:base64`, for reading payloads written before a rotation). Undefined without a key:
 * payloads stay as they are. A malformed key is an error here, at startup, not at the first payload.
 */
export function payloadKeysFromEnv(env: NodeJS.ProcessEnv = process.env): PayloadKeys | undefined {
  const encoded = env.SERA_PAYLOAD_KEY?.trim();
  if (!encoded) {
    for (const name of ['SERA_PAYLOAD_KEY_ID', 'SERA_PAYLOAD_PREVIOUS_KEYS']) {
      if (env[name]?.trim()) throw new Error(`${name} is set but SERA_PAYLOAD_KEY is not: set the key too`);
    }
    return undefined;
  }
  const key = parseKey(encoded, 'SERA_PAYLOAD_KEY');
  const current = {
    id: parseKeyId(env.SERA_PAYLOAD_KEY_ID?.trim() || fingerprint(key), 'SERA_PAYLOAD_KEY_ID'),
    key,
  };
  const previous = (env.SERA_PAYLOAD_PREVIOUS_KEYS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      if (colon < 1) {
        throw new Error('SERA_PAYLOAD_PREVIOUS_KEYS: expected entries of the form <key id>:<base64 key>');
      }
      const id = parseKeyId(entry.slice(0, colon), 'SERA_PAYLOAD_PREVIOUS_KEYS');
      return { id, key: parseKey(entry.slice(colon + 1), `SERA_PAYLOAD_PREVIOUS_KEYS (key id "${id}")`) };
    });
  const ids = [current.id, ...previous.map((k) => k.id)];
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new Error(`payload key id "${repeated}" is given twice: each key needs its own id`);
  return { current, previous };
}

function parseKey(encoded: string, source: string): Buffer {
  const key = Buffer.from(encoded, 'base64');
  // Buffer.from skips characters it does not know; a strict check keeps a typo from becoming a different key.
  if (!BASE64_PATTERN.test(encoded) || key.toString('base64') !== encoded) {
    throw new Error(`${source} is not valid base64: create a key with \`openssl rand -base64 32\``);
  }
  if (key.length !== KEY_BYTES) {
    throw new Error(
      `${source} is ${key.length} bytes, AES-256 needs ${KEY_BYTES}: create a key with \`openssl rand -base64 32\``,
    );
  }
  return key;
}

function parseKeyId(id: string, source: string): string {
  if (!KEY_ID_PATTERN.test(id)) {
    throw new Error(`${source}: key id "${id}" must be 1 to 64 letters, digits, '.', '_' or '-'`);
  }
  return id;
}

/** A key's default id: names the key without revealing it, so a rotation changes the id by itself. */
function fingerprint(key: Buffer): string {
  return `key-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

const text = (value: string): Uint8Array => Buffer.from(value, 'utf8');

function metadataText(payload: Payload, field: string): string | undefined {
  const value = payload.metadata?.[field];
  return value ? Buffer.from(value).toString('utf8') : undefined;
}

export function isEncrypted(payload: Payload): boolean {
  return metadataText(payload, 'encoding') === ENCRYPTED_ENCODING;
}

/**
 * Encrypts each whole payload (its metadata too, so the original encoding is hidden) under the
 * current key with a fresh random IV; decrypts with whichever known key the payload names.
 * The key id is bound into the authentication tag, so relabelling a payload is detected.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  constructor(private readonly payloadKeys: PayloadKeys) {
    this.keys = new Map([payloadKeys.current, ...payloadKeys.previous].map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.payloadKeys.current;
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }) as CipherGCM;
    cipher.setAAD(text(id));
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: text(ENCRYPTED_ENCODING),
        [KEY_ID_FIELD]: text(id),
        [CIPHER_FIELD]: text(CIPHER_NAME),
      },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    const id = metadataText(payload, KEY_ID_FIELD) ?? '';
    const key = this.keys.get(id);
    if (!key) {
      throw new Error(
        `payload was encrypted with key id "${id}", which this process does not have (it has ${[...this.keys.keys()].map((k) => `"${k}"`).join(', ')}): ` +
          'set SERA_PAYLOAD_KEY / SERA_PAYLOAD_KEY_ID to that key, or list it in SERA_PAYLOAD_PREVIOUS_KEYS',
      );
    }
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    try {
      if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(text(id));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return proto.temporal.api.common.v1.Payload.decode(plain);
    } catch {
      throw new Error(
        `payload encrypted with key id "${id}" could not be decrypted: the key given for that id is not the one it was encrypted with, or the payload was altered`,
      );
    }
  }
}

/**
 * Used where no key is set: payloads pass unchanged, but an encrypted one read by mistake gets a
 * message that says what is missing instead of the converter's "unknown encoding".
 */
export class NoKeyCodec implements PayloadCodec {
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    const encrypted = payloads.find(isEncrypted);
    if (encrypted) {
      throw new Error(
        `payload is encrypted (key id "${metadataText(encrypted, KEY_ID_FIELD) ?? '?'}") and this process has no key: set SERA_PAYLOAD_KEY and SERA_PAYLOAD_KEY_ID as the workers have them`,
      );
    }
    return payloads;
  }
}

/** The one data converter of every client and worker of this project. */
export function dataConverterFor(keys: PayloadKeys | undefined): DataConverter {
  return { payloadCodecs: [keys ? new EncryptionCodec(keys) : new NoKeyCodec()] };
}
