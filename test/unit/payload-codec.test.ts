import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  KEY_ID_FIELD,
  NoKeyCodec,
  payloadKeysFromEnv,
  type PayloadKeys,
} from '../../infra/payload-codec';
import { temporalSettingsFromEnv } from '../../infra/temporal-connection';

const newKey = (): string => randomBytes(32).toString('base64');
const keysOf = (env: NodeJS.ProcessEnv): PayloadKeys => {
  const keys = payloadKeysFromEnv(env);
  if (!keys) throw new Error('expected keys');
  return keys;
};
const SECRET = 'def parse_config(path): # private repository code';
const plain = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const text = (bytes: Uint8Array | null | undefined): string => Buffer.from(bytes ?? []).toString('utf8');

describe('EncryptionCodec', () => {
  const keys = keysOf({ SERA_PAYLOAD_KEY: newKey(), SERA_PAYLOAD_KEY_ID: 'k1' });
  const codec = new EncryptionCodec(keys);

  it('round-trips payloads of every shape, hiding content and original encoding', async () => {
    const originals = [plain({ code: SECRET, n: 3 }), plain(null), plain(undefined), plain('')];
    const encoded = await codec.encode(originals);
    for (const payload of encoded) {
      expect(text(payload.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(payload.metadata?.[KEY_ID_FIELD])).toBe('k1');
      expect(Buffer.from(payload.data ?? []).includes(Buffer.from('parse_config'))).toBe(false);
      expect(Buffer.from(payload.data ?? []).includes(Buffer.from('json/plain'))).toBe(false);
    }
    const decoded = await codec.decode(encoded);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([
      { code: SECRET, n: 3 },
      null,
      undefined,
      '',
    ]);
  });

  it('uses a fresh IV for every payload, so equal values do not look equal', async () => {
    const [a, b] = await codec.encode([plain(SECRET), plain(SECRET)]);
    const dataA = Buffer.from(a!.data!);
    const dataB = Buffer.from(b!.data!);
    expect(dataA.subarray(0, 12).equals(dataB.subarray(0, 12))).toBe(false);
    expect(dataA.equals(dataB)).toBe(false);
  });

  it('refuses a payload whose ciphertext was altered', async () => {
    const [encoded] = await codec.encode([plain(SECRET)]);
    const data = Buffer.from(encoded!.data!);
    data[20] = data[20]! ^ 0x01;
    await expect(codec.decode([{ ...encoded, data }])).rejects.toThrow(
      /key id "k1" could not be decrypted: .*altered/,
    );
  });

  it('refuses a payload relabelled with another known key id', async () => {
    const both = new EncryptionCodec(
      keysOf({
        SERA_PAYLOAD_KEY: newKey(),
        SERA_PAYLOAD_KEY_ID: 'k2',
        SERA_PAYLOAD_PREVIOUS_KEYS: `k1:${keys.current.key.toString('base64')}`,
      }),
    );
    const [encoded] = await codec.encode([plain(SECRET)]);
    const relabelled = { ...encoded, metadata: { ...encoded!.metadata, [KEY_ID_FIELD]: Buffer.from('k2') } };
    await expect(both.decode([relabelled])).rejects.toThrow(/could not be decrypted/);
  });

  it('names an unknown key id and what to set', async () => {
    const other = new EncryptionCodec(keysOf({ SERA_PAYLOAD_KEY: newKey(), SERA_PAYLOAD_KEY_ID: 'k9' }));
    const encoded = await codec.encode([plain(SECRET)]);
    await expect(other.decode(encoded)).rejects.toThrow(
      /encrypted with key id "k1", which this process does not have \(it has "k9"\).*SERA_PAYLOAD_PREVIOUS_KEYS/,
    );
  });

  it('after a rotation encrypts with the new key and still reads the old one', async () => {
    const rotated = new EncryptionCodec(
      keysOf({
        SERA_PAYLOAD_KEY: newKey(),
        SERA_PAYLOAD_KEY_ID: 'k2',
        SERA_PAYLOAD_PREVIOUS_KEYS: `k1:${keys.current.key.toString('base64')}`,
      }),
    );
    const old = await codec.encode([plain(SECRET)]);
    expect(defaultPayloadConverter.fromPayload((await rotated.decode(old))[0]!)).toBe(SECRET);
    const [fresh] = await rotated.encode([plain(SECRET)]);
    expect(text(fresh!.metadata?.[KEY_ID_FIELD])).toBe('k2');
  });

  it('leaves payloads that are not encrypted as they are when decoding', async () => {
    const payload = plain({ a: 1 });
    expect(await codec.decode([payload])).toEqual([payload]);
  });
});

describe('payloadKeysFromEnv', () => {
  it('is off without a key: clients and workers keep plain payloads', async () => {
    expect(payloadKeysFromEnv({})).toBeUndefined();
    expect(temporalSettingsFromEnv({}).payloadKeys).toBeUndefined();
    const payload = plain(SECRET);
    expect(await new NoKeyCodec().encode([payload])).toEqual([payload]);
  });

  it('refuses a key that is not base64 or not 32 bytes, naming the variable', () => {
    expect(() => payloadKeysFromEnv({ SERA_PAYLOAD_KEY: 'not a key!' })).toThrow(
      /SERA_PAYLOAD_KEY is not valid base64/,
    );
    expect(() => payloadKeysFromEnv({ SERA_PAYLOAD_KEY: randomBytes(16).toString('base64') })).toThrow(
      /SERA_PAYLOAD_KEY is 16 bytes, AES-256 needs 32/,
    );
    expect(() => temporalSettingsFromEnv({ SERA_PAYLOAD_KEY: randomBytes(31).toString('base64') })).toThrow(
      /31 bytes/,
    );
    expect(() =>
      payloadKeysFromEnv({ SERA_PAYLOAD_KEY: newKey(), SERA_PAYLOAD_PREVIOUS_KEYS: 'old:abc' }),
    ).toThrow(/SERA_PAYLOAD_PREVIOUS_KEYS \(key id "old"\) is not valid base64/);
    expect(() => payloadKeysFromEnv({ SERA_PAYLOAD_KEY_ID: 'k1' })).toThrow(/SERA_PAYLOAD_KEY is not/);
  });

  it('names a key by a fingerprint when no id is given, and refuses a repeated id', () => {
    const key = newKey();
    const a = keysOf({ SERA_PAYLOAD_KEY: key });
    expect(a.current.id).toMatch(/^key-[0-9a-f]{12}$/);
    expect(keysOf({ SERA_PAYLOAD_KEY: key }).current.id).toBe(a.current.id);
    expect(keysOf({ SERA_PAYLOAD_KEY: newKey() }).current.id).not.toBe(a.current.id);
    expect(() =>
      payloadKeysFromEnv({
        SERA_PAYLOAD_KEY: key,
        SERA_PAYLOAD_KEY_ID: 'k',
        SERA_PAYLOAD_PREVIOUS_KEYS: `k:${key}`,
      }),
    ).toThrow(/key id "k" is given twice/);
  });
});

describe('NoKeyCodec', () => {
  it('says a key is missing instead of failing on an unknown encoding', async () => {
    const encoded = await new EncryptionCodec(
      keysOf({ SERA_PAYLOAD_KEY: newKey(), SERA_PAYLOAD_KEY_ID: 'k1' }),
    ).encode([plain(SECRET)]);
    await expect(new NoKeyCodec().decode(encoded)).rejects.toThrow(
      /payload is encrypted \(key id "k1"\) and this process has no key: set SERA_PAYLOAD_KEY/,
    );
  });
});
