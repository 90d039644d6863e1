#!/usr/bin/env node
// A lab NRF's access tokens (TS 33.501 13.4.1.1, TS 29.510 AccessTokenClaims), minted with the
// npm `jose` package -- a JOSE implementation that is not the gateway's -- so that what the
// gateway accepts on north.listen.oauth2 is produced independently. Runs on Node 18.
//
// usage:
//   nrf-token.js keygen DIR
//       DIR/nrf.jwks.json: the NRF's public keys (an ES256 key, kid nrf-es, and an RS256 key,
//       kid nrf-rs) to give the gateway as oauth2.nrf_keys; DIR/nrf.private.jwks.json (0600)
//       to sign with; DIR/nrf-es.pem: the ES256 public key as PEM; DIR/rogue.private.jwks.json
//       (0600): keys of the same kids that the gateway does not know.
//   nrf-token.js mint --keys FILE [--alg ES256|RS256] [--kid KID] [--iss ISS] [--sub SUB]
//                     [--aud A[,B...]] [--scope "S1 S2"] [--exp SECONDS] [--nbf SECONDS]
//                     [--no-kid] [--attack none|hs256-pubkey --pub FILE] [--claims-out F]
//       A compact JWS on stdout (claims also written to F). --exp/--nbf are offsets from now
//       (default exp +300, no nbf); iss, sub and aud default to the lab's NRF, M5S and
//       gateway instance ids below (aud as an array); --aud with a comma gives an array. --attack none makes an unsecured JWT
//       (alg "none"); hs256-pubkey an HS256 token whose HMAC key is the text of FILE (the
//       NRF's public key file: the alg-confusion attack).
// Usage errors exit 2.
'use strict';
const fs = require('fs');
const path = require('path');
const jose = require('jose');

// NF instance ids (TS 29.571 NfInstanceId: a UUID) of the lab's NRF, M5S and gateway
const NRF_ID = '5f0c0b6e-1c1e-4e5e-9a53-3a8e1f0e6a01';
const M5S_ID = '5f0c0b6e-1c1e-4e5e-9a53-3a8e1f0e6a02';
const GW_ID = '5f0c0b6e-1c1e-4e5e-9a53-3a8e1f0e6a03';

function die(msg) {
  process.stderr.write('nrf-token: ' + msg + '\n');
  process.exit(2);
}

function args(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--no-kid') o['no-kid'] = true;
    else if (a.startsWith('--')) {
      if (i + 1 >= argv.length) die(a + ' needs a value');
      o[a.slice(2)] = argv[++i];
    } else o._.push(a);
  }
  return o;
}

async function pair(alg, kid) {
  const opts = { extractable: true };
  if (alg === 'RS256') opts.modulusLength = 2048;
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, opts);
  const pub = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  const priv = { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { pub, priv, spki: await jose.exportSPKI(publicKey) };
}

async function keygen(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const es = await pair('ES256', 'nrf-es');
  const rs = await pair('RS256', 'nrf-rs');
  const rogueEs = await pair('ES256', 'nrf-es');
  const rogueRs = await pair('RS256', 'nrf-rs');
  const w = (f, v, mode) => fs.writeFileSync(path.join(dir, f), v, { mode });
  w('nrf.jwks.json', JSON.stringify({ keys: [es.pub, rs.pub] }, null, 1) + '\n', 0o644);
  w('nrf.private.jwks.json', JSON.stringify({ keys: [es.priv, rs.priv] }) + '\n', 0o600);
  w('rogue.private.jwks.json', JSON.stringify({ keys: [rogueEs.priv, rogueRs.priv] }) + '\n', 0o600);
  w('nrf-es.pem', es.spki, 0o644);
}

async function mint(o) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: o.iss || NRF_ID,
    sub: o.sub || M5S_ID,
    aud: o.aud === undefined ? [GW_ID] : o.aud.includes(',') ? o.aud.split(',') : o.aud,
    scope: o.scope === undefined ? 'msgg-l3gdelivery msgg-n3gdelivery' : o.scope,
    exp: now + Number(o.exp === undefined ? 300 : o.exp),
    iat: now,
  };
  if (o.nbf !== undefined) claims.nbf = now + Number(o.nbf);
  if (o['claims-out']) fs.writeFileSync(o['claims-out'], JSON.stringify(claims) + '\n');
  if (o.attack === 'none') return new jose.UnsecuredJWT(claims).encode();
  if (o.attack === 'hs256-pubkey') {
    if (!o.pub) die('--attack hs256-pubkey needs --pub FILE');
    const secret = new Uint8Array(fs.readFileSync(o.pub));
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: o.kid || 'nrf-es' })
      .sign(secret);
  }
  if (o.attack) die('unknown --attack ' + o.attack);
  if (!o.keys) die('mint needs --keys FILE');
  const alg = o.alg || 'ES256';
  const kid = o.kid || (alg === 'ES256' ? 'nrf-es' : 'nrf-rs');
  const jwks = JSON.parse(fs.readFileSync(o.keys, 'utf8'));
  const jwk = jwks.keys.find((k) => k.kid === kid && k.alg === alg);
  if (!jwk) die('no ' + alg + ' key with kid ' + kid + ' in ' + o.keys);
  const key = await jose.importJWK(jwk, alg);
  const hdr = { alg, typ: 'JWT' };
  if (!o['no-kid']) hdr.kid = kid;
  return new jose.SignJWT(claims).setProtectedHeader(hdr).sign(key);
}

async function main() {
  const o = args(process.argv.slice(2));
  const cmd = o._[0];
  if (cmd === 'keygen' && o._[1]) return keygen(o._[1]);
  if (cmd === 'mint') return process.stdout.write((await mint(o)) + '\n');
  die('usage: nrf-token.js keygen DIR | mint --keys FILE [options] (see the head of this file)');
}

main().catch((e) => die(e.message));
