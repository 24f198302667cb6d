// A complete host app that embeds Chorus's participant page (`/p/{uid}`)
// for its signed-in user — the whole integration in one file and one page
// (host-page.html), with Node ≥ 20 and nothing to install:
//
// * it is the identity provider: an RSA key, published as a JWKS at
//   /jwks.json, signs RS256 user tokens (`sub`, `given_name`, `picture`
//   when the user has one, `iss`, `aud`, 10 minutes) that POST /token
//   hands to the signed-in user;
// * its page (host-page.html, served at /) frames Chorus's page, answers
//   each `chorus:token-needed` with a fresh token, and moves on at
//   `chorus:finished`.
//
// Run it, then Chorus pointed at it, then open http://127.0.0.1:3000/:
//
//   node examples/embed/host.mjs --chorus http://127.0.0.1:8080 --prompt ip_…
//
//   CHORUS_PROMPT_JWT_SECRET=… CHORUS_ADMIN_TOKEN=… chorus serve \
//     --user-jwks-url http://127.0.0.1:3000/jwks.json \
//     --user-jwt-issuer http://127.0.0.1:3000 --user-jwt-audience chorus \
//     --embed-origin http://127.0.0.1:3000
//
// (Start the host first: Chorus fetches the JWKS when it starts, and again
// when a token names a key it does not know.) A real app keeps its key
// elsewhere, signs tokens only for a signed-in session (a cookie), and
// usually lets its identity provider do both; see docs/integrate.md.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const PAGE = new URL('./host-page.html', import.meta.url);
/** The `aud` of the tokens, as Chorus is told (`--user-jwt-audience`). */
export const AUDIENCE = 'chorus';

/** A fresh RSA signing key and its public JWK (with its `kid`). */
export function makeKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/**
 * An RS256 user token for `user` ({sub, name, picture?}: `picture` an
 * https URL, which Chorus shows as the user's face) signed with `keys`,
 * valid from `now` (seconds) for `lifetimeSeconds`.
 */
export function mintToken(keys, user, { issuer, lifetimeSeconds = 600, now = Math.floor(Date.now() / 1000) } = {}) {
  const header = { alg: 'RS256', typ: 'JWT', kid: keys.kid };
  const claims = {
    sub: user.sub, given_name: user.name, iss: issuer, aud: AUDIENCE, iat: now, exp: now + lifetimeSeconds,
    ...(user.picture ? { picture: user.picture } : {}),
  };
  const signed = `${b64url(header)}.${b64url(claims)}`;
  return `${signed}.${sign('sha256', Buffer.from(signed), keys.privateKey).toString('base64url')}`;
}

/**
 * Serves the host app on `host:port` (port 0: a free one). `settings`
 * ({chorus, promptUid}) is what the page embeds; it may be changed later.
 * `mint(n)` makes the n-th token (from 1) handed out; by default a fresh
 * one for `user`. Resolves to `{origin, keys, settings, minted, close()}`.
 */
export async function startHost({
  chorus, promptUid, port = 3000, host = '127.0.0.1',
  user = { sub: 'host-user-ada', name: 'Ada' }, keys = makeKeys(), mint,
} = {}) {
  const app = { origin: '', keys, user, settings: { chorus, promptUid }, minted: 0 };
  app.mint = mint || (() => mintToken(keys, user, { issuer: app.origin }));
  const page = await readFile(PAGE);
  const server = createServer(async (req, res) => {
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (body) => send(200, 'application/json', JSON.stringify(body));
    const path = new URL(req.url, app.origin).pathname;
    try {
      if (req.method === 'GET' && path === '/') return send(200, 'text/html; charset=utf-8', page);
      if (req.method === 'GET' && path === '/config.json') return json(app.settings);
      // What Chorus fetches (--user-jwks-url): the public key only.
      if (req.method === 'GET' && path === '/jwks.json') return json({ keys: [keys.jwk] });
      // A real app checks its sign-in cookie here.
      if (req.method === 'POST' && path === '/token') return json({ token: await app.mint(++app.minted) });
      send(404, 'text/plain', 'not found');
    } catch (e) {
      send(500, 'text/plain', String(e));
    }
  });
  await new Promise((ok, fail) => server.once('error', fail).listen(port, host, ok));
  app.origin = `http://${host}:${server.address().port}`;
  app.close = () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); });
  return app;
}

/** `--name value` pairs of the command line. */
function options(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = options(process.argv.slice(2));
  if (!o.chorus || !o.prompt) {
    console.error('usage: node examples/embed/host.mjs --chorus http://127.0.0.1:8080 --prompt ip_… [--port 3000]');
    process.exit(2);
  }
  const app = await startHost({ chorus: o.chorus.replace(/\/$/, ''), promptUid: o.prompt, port: Number(o.port || 3000) });
  console.log(`host app on ${app.origin}/ (JWKS at ${app.origin}/jwks.json); start Chorus with
  --user-jwks-url ${app.origin}/jwks.json --user-jwt-issuer ${app.origin} --user-jwt-audience ${AUDIENCE} --embed-origin ${app.origin}`);
}
