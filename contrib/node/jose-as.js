#!/usr/bin/env node
// An Application Server's side of the JOSE protection profiles (doc/internals/jose.md),
// on the npm `jose` package: a JOSE library that is not the gateway's (cjose), so that
// what the gateway signs and encrypts is checked by an independent implementation, and
// what the gateway accepts is produced by one.
//
// usage:
//   jose-as.js keygen DIR [--name AS]
//       a signing (ES256) and an encryption (ECDH-ES, P-256) key for the AS: DIR/AS.jwks.json
//       (public, give it to the gateway) and DIR/AS.private.jwks.json (mode 0600)
//   jose-as.js verify --gw-jwks FILE [--as-keys FILE] [--ori T:A] [--dest T:A] [--msg-id ID]
//                     [--skew S] [IN]
//       IN (default stdin): a JWS, or a JWE of a JWS (decrypted with the AS's key named by
//       the header's kid), from the gateway: verified with the gateway's public JWKS
//       (ES256 only, typ msgin5g+jwt, iat within S seconds, default 300) and the claims
//       compared with the given envelope. Prints {"encrypted":..,"header":..,"claims":..}.
//   jose-as.js make --as-keys FILE --ori T:A --dest T:A --msg-id ID [--app-id X]
//                   [--payload TEXT] [--iat SECONDS] [--kid KID] [--encrypt --gw-jwks FILE]
//                   [--attack none|hs256-pubkey|wrong-enc-key]
//       A downlink payload signed by the AS (and encrypted to the gateway's encryption key):
//       the compact serialization on stdout. --attack makes what the gateway must refuse.
// Refusals print "REFUSED <jose error code>: <message>" on stderr and exit 1; usage errors
// exit 2.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const jose = require('jose');

const TYP = 'msgin5g+jwt';

function die(code, msg) {
  process.stderr.write(msg + '\n');
  process.exit(code);
}

function args(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--encrypt') o.encrypt = true;
    else if (a.startsWith('--')) {
      if (i + 1 >= argv.length) die(2, 'jose-as: ' + a + ' needs a value');
      o[a.slice(2)] = argv[++i];
    } else o._.push(a);
  }
  return o;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    die(2, 'jose-as: ' + file + ': ' + e.message);
  }
}

function addr(s, what) {
  const i = s ? s.indexOf(':') : -1;
  if (i <= 0) die(2, 'jose-as: ' + what + ' must be TYPE:addr');
  return { addrType: s.slice(0, i), addr: s.slice(i + 1) };
}

function findKey(jwks, use) {
  const k = jwks.keys.find((x) => x.use === use);
  if (!k) die(2, 'jose-as: no key with use ' + use);
  return k;
}

async function keygen(o) {
  const dir = o._[0];
  const name = o.name || 'as-1';
  if (!dir) die(2, 'jose-as: keygen DIR');
  const sig = await jose.generateKeyPair('ES256', { extractable: true });
  const enc = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  const meta = [
    { kid: name + '-sig-1', use: 'sig', alg: 'ES256' },
    { kid: name + '-enc-1', use: 'enc', alg: 'ECDH-ES' },
  ];
  const pub = { keys: [] };
  const priv = { keys: [] };
  for (const [i, kp] of [sig, enc].entries()) {
    pub.keys.push({ ...(await jose.exportJWK(kp.publicKey)), ...meta[i] });
    priv.keys.push({ ...(await jose.exportJWK(kp.privateKey)), ...meta[i] });
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name + '.jwks.json'), JSON.stringify(pub) + '\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, name + '.private.jwks.json'), JSON.stringify(priv) + '\n',
    { mode: 0o600 });
}

function refuse(e) {
  die(1, 'REFUSED ' + (e.code || 'ERROR') + ': ' + e.message);
}

async function verify(o) {
  if (!o['gw-jwks']) die(2, 'jose-as: verify needs --gw-jwks');
  const gw = jose.createLocalJWKSet(readJson(o['gw-jwks']));
  const skew = Number(o.skew || 300);
  let compact = fs.readFileSync(o._[0] || 0, 'utf8').trim();
  let encrypted = false;
  try {
    if (compact.split('.').length === 5) {
      if (!o['as-keys']) die(2, 'jose-as: a JWE needs --as-keys');
      const priv = readJson(o['as-keys']);
      const { plaintext, protectedHeader } = await jose.compactDecrypt(compact, async (h) => {
        const k = priv.keys.find((x) => x.kid === h.kid && x.use === 'enc');
        if (!k) throw Object.assign(new Error('no AS key ' + h.kid), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
        return jose.importJWK(k, 'ECDH-ES');
      }, { keyManagementAlgorithms: ['ECDH-ES'], contentEncryptionAlgorithms: ['A256GCM'] });
      if (protectedHeader.cty !== 'JWT')
        throw Object.assign(new Error('cty is not JWT'), { code: 'ERR_NOT_NESTED' });
      compact = new TextDecoder().decode(plaintext);
      encrypted = true;
    }
    const { payload, protectedHeader } = await jose.jwtVerify(compact, gw, {
      algorithms: ['ES256'], typ: TYP, maxTokenAge: skew, clockTolerance: skew,
    });
    const env = [['ori', 'oriAddr'], ['dest', 'destAddr']];
    for (const [opt, claim] of env) {
      if (!o[opt]) continue;
      const want = addr(o[opt], '--' + opt);
      const got = payload[claim] || {};
      if (got.addrType !== want.addrType || got.addr !== want.addr)
        throw Object.assign(new Error(claim + ' differs'), { code: 'ERR_CLAIM_MISMATCH' });
    }
    if (o['msg-id'] && payload.msgId !== o['msg-id'])
      throw Object.assign(new Error('msgId differs'), { code: 'ERR_CLAIM_MISMATCH' });
    process.stdout.write(JSON.stringify({ encrypted, header: protectedHeader, claims: payload }) + '\n');
  } catch (e) {
    refuse(e);
  }
}

async function make(o) {
  for (const r of ['as-keys', 'ori', 'dest', 'msg-id'])
    if (!o[r]) die(2, 'jose-as: make needs --' + r);
  const priv = readJson(o['as-keys']);
  const sk = findKey(priv, 'sig');
  const iat = o.iat !== undefined ? Number(o.iat) : Math.floor(Date.now() / 1000);
  const claims = { oriAddr: addr(o.ori, '--ori'), destAddr: addr(o.dest, '--dest'), msgId: o['msg-id'] };
  if (o['app-id']) claims.appId = o['app-id'];
  if (o.payload !== undefined) claims.payload = o.payload;
  claims.jti = crypto.randomBytes(16).toString('base64url');
  const kid = o.kid || sk.kid;
  let jws;
  if (o.attack === 'none') {
    jws = new jose.UnsecuredJWT(claims).setIssuedAt(iat).encode();
  } else if (o.attack === 'hs256-pubkey') {
    // algorithm confusion: HMAC keyed with the AS's *public* key, which the gateway holds
    const { d, ...pub } = sk;
    const pem = crypto.createPublicKey({ key: pub, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    jws = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: TYP })
      .setIssuedAt(iat).sign(new TextEncoder().encode(pem));
  } else {
    jws = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: TYP })
      .setIssuedAt(iat).sign(await jose.importJWK(sk, 'ES256'));
  }
  let out = jws;
  if (o.encrypt || o.attack === 'wrong-enc-key') {
    if (!o['gw-jwks']) die(2, 'jose-as: --encrypt needs --gw-jwks');
    const ek = findKey(readJson(o['gw-jwks']), 'enc');
    let key = await jose.importJWK(ek, 'ECDH-ES');
    if (o.attack === 'wrong-enc-key')
      key = (await jose.generateKeyPair('ECDH-ES', { crv: 'P-256' })).publicKey;
    // PartyUInfo/PartyVInfo (RFC 7518 4.6.1.2/3) name the two parties: the gateway must
    // feed them into the Concat KDF as sent
    out = await new jose.CompactEncrypt(new TextEncoder().encode(jws))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: ek.kid, cty: 'JWT' })
      .setKeyManagementParameters({ apu: new TextEncoder().encode(claims.oriAddr.addr),
        apv: new TextEncoder().encode(ek.kid) })
      .encrypt(key);
  }
  process.stdout.write(out + '\n');
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const o = args(rest);
  if (cmd === 'keygen') return keygen(o);
  if (cmd === 'verify') return verify(o);
  if (cmd === 'make') return make(o);
  die(2, 'usage: jose-as.js keygen|verify|make ... (see the top of the file)');
}

main().catch((e) => die(2, 'jose-as: ' + (e.stack || e)));
