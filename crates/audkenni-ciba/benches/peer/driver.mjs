// The reference client of the vs_openid_client bench: openid-client 6
// running the same CIBA poll flows as audkenni-ciba (see README.md).
//
// Discovery once at start (JWKS fetched on the first id_token, then cached
// by openid-client). Then, for each line {"flows": N, "concurrency": C} on
// stdin, runs N flows, C at a time, and answers one line
// {"cpu_us": ..., "wall_ms": ..., "flows": N} with this process's CPU time
// (process.cpuUsage(): user + system, all threads) over those N flows.
//
// One flow: a request object signed RS256 (oauth4webapi's issueRequestObject,
// the function openid-client's own JAR support uses), bc-authorize with
// client_secret_basic, the poll loop (one authorization_pending, then the
// tokens), id_token validation: signature against the provider's JWKS
// (enableNonRepudiationChecks), iss, aud, exp, iat, azp as openid-client does.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET, RP_KEY (PKCS#8 PEM path),
// LOGIN_HINT; NODE_EXTRA_CA_CERTS names the provider's root certificate.
import fs from 'node:fs';
import readline from 'node:readline';
import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, RP_KEY, LOGIN_HINT } = process.env;

const pem = fs.readFileSync(RP_KEY, 'utf8');
const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
const key = await crypto.subtle.importKey(
  'pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign'],
);

const config = await client.discovery(
  new URL(ISSUER), CLIENT_ID, undefined, client.ClientSecretBasic(CLIENT_SECRET),
  { execute: [client.enableNonRepudiationChecks] },
);
const as = config.serverMetadata();
const rp = { client_id: CLIENT_ID };

async function flow() {
  const request = await oauth.issueRequestObject(as, rp, {
    login_hint: LOGIN_HINT,
    scope: 'openid profile signature',
    acr_values: 'sim-auth',
    binding_message: 'Samþykki leigusamning nr. 42',
  }, { key });
  const started = await client.initiateBackchannelAuthentication(config, { request });
  const tokens = await client.pollBackchannelAuthenticationGrant(config, started);
  const claims = tokens.claims();
  if (claims?.sub !== LOGIN_HINT) {
    throw new Error(`unexpected subject ${claims?.sub}`);
  }
}

async function run(flows, concurrency) {
  let next = 0;
  const worker = async () => {
    while (next < flows) {
      next += 1;
      await flow();
    }
  };
  const workers = [];
  for (let i = 0; i < Math.min(concurrency, flows); i += 1) workers.push(worker());
  await Promise.all(workers);
}

console.log(JSON.stringify({ ready: true }));
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { flows, concurrency } = JSON.parse(line);
  const wall = performance.now();
  const cpu = process.cpuUsage();
  try {
    await run(flows, concurrency);
  } catch (e) {
    console.log(JSON.stringify({ error: String(e?.stack ?? e) }));
    continue;
  }
  const used = process.cpuUsage(cpu);
  console.log(JSON.stringify({
    cpu_us: used.user + used.system,
    wall_ms: performance.now() - wall,
    flows,
  }));
}
